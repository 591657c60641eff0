"""The Daraja simulator through plain ``requests``, with the request bodies of Safaricom's documentation."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from simulators.daraja import OUTCOMES, SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaSimulator, stk_password
from tests.simulators.receiver import Receiver

PHONE = "254708374149"
TIMESTAMP = "20160216165627"


@pytest.fixture(scope="module")
def daraja() -> Iterator[DarajaSimulator]:
    with DarajaSimulator(approve_after=0.05, seed=3) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


def token(daraja: DarajaSimulator) -> str:
    basic = base64.b64encode(f"{daraja.consumer_key}:{daraja.consumer_secret}".encode()).decode()
    answer = requests.get(daraja.base_url + "/oauth/v1/generate", params={"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {basic}"}, timeout=5)
    assert answer.status_code == 200
    return answer.json()["access_token"]


def push_body(callback: str, phone: str = PHONE, **changes: Any) -> dict[str, Any]:
    body = {
        "BusinessShortCode": 174379,
        "Password": stk_password(SANDBOX_SHORTCODE, SANDBOX_PASSKEY, TIMESTAMP),
        "Timestamp": TIMESTAMP,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": 1,
        "PartyA": phone,
        "PartyB": 174379,
        "PhoneNumber": phone,
        "CallBackURL": callback,
        "AccountReference": "CompanyXLTD",
        "TransactionDesc": "Payment of X",
    }
    body.update(changes)
    return body


def push(daraja: DarajaSimulator, body: dict[str, Any], bearer: str | None = None) -> requests.Response:
    return requests.post(daraja.base_url + "/mpesa/stkpush/v1/processrequest", json=body,
                         headers={"Authorization": f"Bearer {bearer or token(daraja)}"}, timeout=5)


def query(daraja: DarajaSimulator, checkout: str) -> requests.Response:
    body = {"BusinessShortCode": "174379", "Password": stk_password(SANDBOX_SHORTCODE, SANDBOX_PASSKEY, TIMESTAMP),
            "Timestamp": TIMESTAMP, "CheckoutRequestID": checkout}
    return requests.post(daraja.base_url + "/mpesa/stkpushquery/v1/query", json=body,
                         headers={"Authorization": f"Bearer {token(daraja)}"}, timeout=5)


def callbacks_for(receiver: Receiver, checkout: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    bodies = receiver.wait_until(lambda body: body["Body"]["stkCallback"]["CheckoutRequestID"] == checkout, count,
                                 timeout)
    return [body["Body"]["stkCallback"] for body in bodies]


def test_oauth_answers_a_token_for_the_right_basic_credentials_only(daraja: DarajaSimulator) -> None:
    assert len(token(daraja)) > 20
    wrong = base64.b64encode(b"sim-consumer-key:nope").decode()
    answer = requests.get(daraja.base_url + "/oauth/v1/generate", params={"grant_type": "client_credentials"},
                          headers={"Authorization": f"Basic {wrong}"}, timeout=5)
    assert answer.status_code == 400 and answer.json()["errorMessage"] == "Invalid Authentication passed"
    body = requests.get(daraja.base_url + "/oauth/v1/generate", params={"grant_type": "client_credentials"},
                        headers={"Authorization": "Basic " + base64.b64encode(
                            f"{daraja.consumer_key}:{daraja.consumer_secret}".encode()).decode()}, timeout=5).json()
    assert body["expires_in"] == "3599"


def test_paid_prompt_acknowledges_then_calls_back_with_the_documented_metadata(
        daraja: DarajaSimulator, receiver: Receiver) -> None:
    answer = push(daraja, push_body(receiver.url))
    assert answer.status_code == 200
    ack = answer.json()
    assert set(ack) == {"MerchantRequestID", "CheckoutRequestID", "ResponseCode", "ResponseDescription",
                        "CustomerMessage"}
    assert ack["ResponseCode"] == "0" and ack["CheckoutRequestID"].startswith("ws_CO_")
    (callback,) = callbacks_for(receiver, ack["CheckoutRequestID"], 1)
    assert callback["MerchantRequestID"] == ack["MerchantRequestID"]
    assert callback["ResultCode"] == 0
    assert callback["ResultDesc"] == "The service request is processed successfully."
    items = {item["Name"]: item.get("Value") for item in callback["CallbackMetadata"]["Item"]}
    assert items["Amount"] == 1.0 and items["PhoneNumber"] == 254708374149
    assert len(items["MpesaReceiptNumber"]) == 10 and items["MpesaReceiptNumber"].isalnum()
    assert len(str(items["TransactionDate"])) == 14
    settled = query(daraja, ack["CheckoutRequestID"]).json()
    assert settled["ResultCode"] == "0" and settled["ResponseCode"] == "0"


def test_buy_goods_uses_the_till_as_party_b(daraja: DarajaSimulator, receiver: Receiver) -> None:
    answer = push(daraja, push_body(receiver.url, TransactionType="CustomerBuyGoodsOnline", PartyB="600000"))
    assert answer.status_code == 200
    assert daraja.transaction(answer.json()["CheckoutRequestID"])["PartyB"] == "600000"
    assert push(daraja, push_body(receiver.url, PartyB="600000")).json()["errorMessage"] == \
        "Bad Request - Invalid PartyB"


@pytest.mark.parametrize(("outcome", "code", "desc"), [
    ("cancelled", 1032, "Request cancelled by user"),
    ("timeout", 1037, "DS timeout user cannot be reached"),
    ("insufficient_funds", 1, "The balance is insufficient for the transaction."),
    ("wrong_pin", 2001, "The initiator information is invalid."),
])
def test_failed_outcomes_call_back_without_metadata(daraja: DarajaSimulator, receiver: Receiver, outcome: str,
                                                    code: int, desc: str) -> None:
    assert outcome in OUTCOMES
    phone = f"2547{code:08d}"
    daraja.set_outcome(phone, outcome)
    checkout = push(daraja, push_body(receiver.url, phone=phone)).json()["CheckoutRequestID"]
    (callback,) = callbacks_for(receiver, checkout, 1)
    assert callback["ResultCode"] == code and callback["ResultDesc"] == desc
    assert "CallbackMetadata" not in callback
    assert query(daraja, checkout).json()["ResultCode"] == str(code)


def test_query_says_processing_until_the_customer_answers(daraja: DarajaSimulator, receiver: Receiver) -> None:
    daraja.set_outcome("254711000001", "paid", delay=30)
    checkout = push(daraja, push_body(receiver.url, phone="254711000001")).json()["CheckoutRequestID"]
    answer = query(daraja, checkout)
    assert answer.status_code == 500
    assert answer.json()["errorCode"] == "500.001.1001"
    assert answer.json()["errorMessage"] == "The transaction is being processed"


def test_no_callback_leaves_only_the_query(daraja: DarajaSimulator, receiver: Receiver) -> None:
    daraja.set_outcome("254711000002", "no_callback")
    checkout = push(daraja, push_body(receiver.url, phone="254711000002")).json()["CheckoutRequestID"]
    deadline = time.monotonic() + 5
    while not daraja.transaction(checkout)["settled"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert query(daraja, checkout).json()["ResultCode"] == "0"
    assert daraja.transaction(checkout)["callbacks"] == []


def test_callback_twice_sends_the_same_receipt_twice(daraja: DarajaSimulator, receiver: Receiver) -> None:
    daraja.set_outcome("254711000003", "callback_twice")
    checkout = push(daraja, push_body(receiver.url, phone="254711000003")).json()["CheckoutRequestID"]
    first, second = callbacks_for(receiver, checkout, 2)
    assert first == second


def test_late_callback_arrives_only_after_a_query_settled_it(daraja: DarajaSimulator, receiver: Receiver) -> None:
    daraja.set_outcome("254711000004", "late_callback")
    checkout = push(daraja, push_body(receiver.url, phone="254711000004")).json()["CheckoutRequestID"]
    deadline = time.monotonic() + 5
    while not daraja.transaction(checkout)["settled"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert daraja.transaction(checkout)["callbacks"] == []
    assert query(daraja, checkout).json()["ResultCode"] == "0"
    (callback,) = callbacks_for(receiver, checkout, 1)
    assert callback["ResultCode"] == 0


def test_wrong_amount_reports_a_different_amount(daraja: DarajaSimulator, receiver: Receiver) -> None:
    daraja.set_outcome("254711000005", "wrong_amount")
    checkout = push(daraja, push_body(receiver.url, phone="254711000005", Amount=20)).json()["CheckoutRequestID"]
    (callback,) = callbacks_for(receiver, checkout, 1)
    items = {item["Name"]: item.get("Value") for item in callback["CallbackMetadata"]["Item"]}
    assert items["Amount"] == 19.0


@pytest.mark.parametrize(("change", "message"), [
    ({"PhoneNumber": "0708374149"}, "Bad Request - Invalid PhoneNumber"),
    ({"Amount": 1.5}, "Bad Request - Invalid Amount"),
    ({"Amount": 0}, "Bad Request - Invalid Amount"),
    ({"TransactionType": "CustomerPayBill"}, "Bad Request - Invalid TransactionType"),
    ({"BusinessShortCode": "999999"}, "Bad Request - Invalid BusinessShortCode"),
    ({"Timestamp": "2016021616"}, "Bad Request - Invalid Timestamp"),
    ({"CallBackURL": "not a url"}, "Bad Request - Invalid CallBackURL"),
    ({"AccountReference": "much-too-long-reference"}, "Bad Request - Invalid AccountReference"),
])
def test_bad_requests_get_daraja_errors(daraja: DarajaSimulator, receiver: Receiver, change: dict[str, Any],
                                        message: str) -> None:
    answer = push(daraja, push_body(receiver.url, **change))
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "400.002.02" and answer.json()["errorMessage"] == message


def test_wrong_password_and_bad_token(daraja: DarajaSimulator, receiver: Receiver) -> None:
    wrong = push(daraja, push_body(receiver.url, Password=stk_password("174379", "wrong", TIMESTAMP)))
    assert wrong.status_code == 500 and wrong.json()["errorMessage"] == "Wrong credentials"
    unauthorised = push(daraja, push_body(receiver.url), bearer="forged")
    assert unauthorised.status_code == 401
    assert unauthorised.json()["errorCode"] == "404.001.03"


def test_callbacks_only_go_to_loopback(daraja: DarajaSimulator) -> None:
    checkout = push(daraja, push_body("https://example.com/callback", phone="254711000006")).json()
    deadline = time.monotonic() + 5
    while not daraja.transaction(checkout["CheckoutRequestID"])["callbacks"] and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = daraja.transaction(checkout["CheckoutRequestID"])["callbacks"]
    assert record["result"].startswith("refused")


def test_control_endpoint_sets_outcomes(daraja: DarajaSimulator, receiver: Receiver) -> None:
    answer = requests.post(daraja.base_url + "/simulator/outcomes",
                           json={"phone": "254711000007", "outcome": "cancelled"}, timeout=5)
    assert answer.status_code == 200
    bad = requests.post(daraja.base_url + "/simulator/outcomes", json={"outcome": "maybe"}, timeout=5)
    assert bad.status_code == 400
    checkout = push(daraja, push_body(receiver.url, phone="254711000007")).json()["CheckoutRequestID"]
    (callback,) = callbacks_for(receiver, checkout, 1)
    assert callback["ResultCode"] == 1032
    listed = requests.get(daraja.base_url + "/simulator/transactions", timeout=5).json()
    assert checkout in {tx["CheckoutRequestID"] for tx in listed}


def test_command_line_prints_one_json_line_with_its_base_url() -> None:
    with subprocess.Popen([sys.executable, "-m", "simulators.daraja", "--approve-after", "0"],
                          stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = json.loads(process.stdout.readline())
            assert line["base_url"].startswith("http://127.0.0.1:")
            basic = base64.b64encode(f"{line['consumer_key']}:{line['consumer_secret']}".encode()).decode()
            answer = requests.get(line["base_url"] + "/oauth/v1/generate",
                                  params={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {basic}"}, timeout=5)
            assert answer.status_code == 200
        finally:
            process.terminate()
