"""The Africa's Talking simulator through plain ``requests``, as its SMS documentation shows the calls."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from simulators.africastalking import SmsSimulator
from tests.simulators.receiver import Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture(scope="module")
def sms(receiver: Receiver) -> Iterator[SmsSimulator]:
    with SmsSimulator(delivery_url=receiver.url, deliver_after=0.02, seed=1) as simulator:
        yield simulator


def send(sms: SmsSimulator, to: str, message: str = "Your code is ABCD2345", api_key: str | None = None,
         username: str = "sandbox") -> requests.Response:
    return requests.post(sms.base_url + "/version1/messaging",
                         data={"username": username, "to": to, "message": message},
                         headers={"apiKey": api_key or sms.api_key, "Accept": "application/json"}, timeout=5)


def test_send_answers_201_with_the_documented_recipient_fields(sms: SmsSimulator, receiver: Receiver) -> None:
    answer = send(sms, "+254711082111")
    assert answer.status_code == 201
    data = answer.json()["SMSMessageData"]
    assert data["Message"] == "Sent to 1/1 Total Cost: KES 0.8000"
    (recipient,) = data["Recipients"]
    assert recipient["statusCode"] == 101 and recipient["status"] == "Success"
    assert recipient["number"] == "+254711082111" and recipient["cost"] == "KES 0.8000"
    assert recipient["messageId"].startswith("ATXid_")
    reports = receiver.wait_until(lambda body: body["id"] == recipient["messageId"])
    assert reports[0]["status"] == "Success" and reports[0]["phoneNumber"] == "+254711082111"
    assert reports[0]["networkCode"] == "63902" and "failureReason" not in reports[0]


def test_long_messages_cost_per_part_and_bad_numbers_are_refused_per_recipient(sms: SmsSimulator) -> None:
    data = send(sms, "254711082112,0711", "x" * 170).json()["SMSMessageData"]
    good, bad = data["Recipients"]
    assert good["cost"] == "KES 1.6000"
    assert bad["statusCode"] == 403 and bad["status"] == "InvalidPhoneNumber"
    assert data["Message"] == "Sent to 1/2 Total Cost: KES 1.6000"


def test_failed_delivery_is_reported_with_a_reason(sms: SmsSimulator, receiver: Receiver) -> None:
    sms.set_outcome("+254711082113", "failed")
    message_id = send(sms, "+254711082113").json()["SMSMessageData"]["Recipients"][0]["messageId"]
    (report,) = receiver.wait_until(lambda body: body["id"] == message_id)
    assert report["status"] == "Failed" and report["failureReason"] == "AbsentSubscriber"


def test_send_time_refusals(sms: SmsSimulator) -> None:
    sms.set_outcome("+254711082114", "insufficient_balance")
    (recipient,) = send(sms, "+254711082114").json()["SMSMessageData"]["Recipients"]
    assert recipient["statusCode"] == 405 and recipient["status"] == "InsufficientBalance"


def test_authentication_and_missing_fields(sms: SmsSimulator) -> None:
    assert send(sms, "+254711082111", api_key="wrong").status_code == 401
    assert send(sms, "+254711082111", username="someone").status_code == 401
    missing = requests.post(sms.base_url + "/version1/messaging", data={"username": "sandbox", "to": "+254711082111"},
                            headers={"apiKey": sms.api_key}, timeout=5)
    assert missing.status_code == 400 and "message" in missing.text


def test_command_line_prints_one_json_line() -> None:
    with subprocess.Popen([sys.executable, "-m", "simulators.africastalking"], stdout=subprocess.PIPE,
                          text=True) as process:
        try:
            assert process.stdout is not None
            line = json.loads(process.stdout.readline())
            answer = requests.post(line["base_url"] + "/version1/messaging",
                                   data={"username": line["username"], "to": "+254711082111", "message": "hi"},
                                   headers={"apiKey": line["api_key"]}, timeout=5)
            assert answer.status_code == 201
        finally:
            process.terminate()
