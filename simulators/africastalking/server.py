"""The Africa's Talking SMS simulator: send, per-recipient status and cost, delivery reports."""

from __future__ import annotations

import asyncio
import copy
import math
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from simulators._http import ThreadedServer, is_loopback_url

#: name → (send-time statusCode, status, delivery report status or None, failureReason).
OUTCOMES: dict[str, tuple[int, str, str | None, str | None]] = {
    "delivered": (101, "Success", "Success", None),
    "failed": (101, "Success", "Failed", "AbsentSubscriber"),
    "rejected": (101, "Success", "Rejected", "UserInBlacklist"),
    "no_report": (101, "Success", None, None),
    "insufficient_balance": (405, "InsufficientBalance", None, None),
    "blacklisted": (406, "UserInBlacklist", None, None),
}
#: KES per 160-character GSM part, the Kenyan price Africa's Talking lists.
PART_COST = "0.8000"
_NUMBER = re.compile(r"^\+?254[17]\d{8}$")


@dataclass
class Message:
    """One message to one recipient."""

    message_id: str
    number: str
    text: str
    sender: str | None
    status_code: int
    status: str
    cost: str
    outcome: str
    reports: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        return {"messageId": self.message_id, "number": self.number, "message": self.text, "from": self.sender,
                "statusCode": self.status_code, "status": self.status, "cost": self.cost, "outcome": self.outcome,
                "reports": copy.deepcopy(self.reports)}


class SmsSimulator(ThreadedServer):
    """Africa's Talking SMS on ``127.0.0.1``; every method is safe to call from any thread."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, username: str = "sandbox",
                 api_key: str = "sim-at-api-key", delivery_url: str | None = None, deliver_after: float = 0.2,
                 seed: int | None = None) -> None:
        super().__init__(host, port)
        self.username = username
        self.api_key = api_key
        self.delivery_url = delivery_url
        self.deliver_after = deliver_after
        self._outcomes: dict[str, str] = {}
        self._messages: list[Message] = []
        self._rng = random.Random(seed)  # noqa: S311 - ids, not secrets
        self._http: aiohttp.ClientSession | None = None

    def set_outcome(self, number: str, outcome: str) -> None:
        """What happens to messages for ``number`` (``+2547...``; ``"*"`` for everyone without a rule).

        :raises ValueError: for an unknown outcome.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        self.call(lambda: self._outcomes.__setitem__(_plus(number), outcome))

    def set_delivery_url(self, url: str | None) -> None:
        """Where delivery reports go (the account setting on Africa's Talking's dashboard)."""
        self.delivery_url = url

    def messages(self) -> list[dict[str, Any]]:
        """Every message sent so far, oldest first."""
        return self.call(lambda: [message.describe() for message in self._messages])

    def describe(self) -> dict[str, Any]:
        """The one JSON line the command line prints."""
        return {"simulator": "africastalking", "base_url": self.base_url, "username": self.username,
                "api_key": self.api_key, "delivery_url": self.delivery_url}

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/version1/messaging", self._send)
        app.router.add_get("/simulator/messages", self._control_messages)
        app.router.add_post("/simulator/outcomes", self._control_outcome)
        app.on_cleanup.append(self._close_http)
        return app

    async def _close_http(self, _app: web.Application) -> None:
        if self._http is not None:
            await self._http.close()

    async def _send(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("apiKey") != self.api_key or form.get("username") != self.username:
            return web.Response(status=401, text="The supplied authentication is invalid")
        for required in ("username", "to", "message"):
            if not str(form.get(required, "")).strip():
                return web.Response(status=400, text=f"Request is missing required form field '{required}'")
        text = str(form["message"])
        sender = str(form["from"]) if form.get("from") else None
        parts = max(1, math.ceil(len(text) / 160))
        recipients = []
        sent = 0
        total = 0.0
        for raw in str(form["to"]).split(","):
            number = _plus(raw.strip())
            if not _NUMBER.match(number):
                recipients.append({"statusCode": 403, "number": raw.strip(), "status": "InvalidPhoneNumber",
                                   "cost": "0", "messageId": "None"})
                continue
            outcome = self._outcomes.get(number, self._outcomes.get("*", "delivered"))
            code, status, report, reason = OUTCOMES[outcome]
            if code >= 400:
                recipients.append({"statusCode": code, "number": number, "status": status, "cost": "0",
                                   "messageId": "None"})
                continue
            message_id = f"ATXid_{self._rng.getrandbits(128):032x}"
            cost = f"KES {float(PART_COST) * parts:.4f}"
            message = Message(message_id, number, text, sender, code, status, cost, outcome)
            self._messages.append(message)
            sent += 1
            total += float(PART_COST) * parts
            recipients.append({"statusCode": code, "number": number, "status": status, "cost": cost,
                               "messageId": message_id})
            if report is not None:
                asyncio.get_running_loop().call_later(self.deliver_after, self._report_soon, message, report,
                                                      reason)
        summary = f"Sent to {sent}/{len(recipients)} Total Cost: KES {total:.4f}"
        return web.json_response({"SMSMessageData": {"Message": summary, "Recipients": recipients}}, status=201)

    def _report_soon(self, message: Message, status: str, reason: str | None) -> None:
        asyncio.get_running_loop().create_task(self._report(message, status, reason))

    async def _report(self, message: Message, status: str, reason: str | None) -> None:
        record: dict[str, Any] = {"status": status, "at": datetime.now(UTC).isoformat()}
        message.reports.append(record)
        url = self.delivery_url
        if not url:
            record["result"] = "no delivery URL configured"
            return
        if not is_loopback_url(url):
            record["result"] = "refused: the simulator only calls loopback"
            return
        form = {"id": message.message_id, "status": status, "phoneNumber": message.number,
                "networkCode": "63902", "retryCount": "0"}
        if reason:
            form["failureReason"] = reason
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.post(url, data=form) as response:
                await response.read()
                record["result"] = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record["result"] = f"error: {type(exc).__name__}"

    async def _control_messages(self, _request: web.Request) -> web.Response:
        return web.json_response([message.describe() for message in self._messages])

    async def _control_outcome(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        outcome = body.get("outcome") if isinstance(body, dict) else None
        if outcome not in OUTCOMES:
            return web.json_response({"error": f"outcome must be one of {', '.join(OUTCOMES)}"}, status=400)
        number = _plus(str(body.get("number", "*")))
        self._outcomes[number] = outcome
        return web.json_response({"number": number, "outcome": outcome})


def _plus(number: str) -> str:
    if number == "*" or number.startswith("+"):
        return number
    return "+" + number if number.startswith("254") else number
