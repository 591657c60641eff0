"""The Daraja simulator: OAuth, STK Push, STK Push Query and callbacks, with controllable outcomes."""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import random
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web

from simulators._http import ThreadedServer, is_loopback_url

#: The public sandbox test credentials Safaricom publishes for Lipa Na M-Pesa Online.
SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
TOKEN_LIFETIME = 3599
#: How long after a query returned the final result a "late_callback" arrives.
LATE_DELAY = 0.5
EAT = timezone(timedelta(hours=3))

#: ResultCode → ResultDesc as M-Pesa sends them in the callback and the query.
RESULT_CODES = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    1032: "Request cancelled by user",
    1037: "DS timeout user cannot be reached",
    2001: "The initiator information is invalid.",
}

#: name → (ResultCode, how the callback is delivered, whether the callback's Amount is wrong).
#: Delivery: ``once``; ``none`` (the query still knows the result); ``twice``; ``late`` (only after a query
#: has returned the final result).
OUTCOMES: dict[str, tuple[int, str, bool]] = {
    "paid": (0, "once", False),
    "cancelled": (1032, "once", False),
    "timeout": (1037, "once", False),
    "insufficient_funds": (1, "once", False),
    "wrong_pin": (2001, "once", False),
    "no_callback": (0, "none", False),
    "callback_twice": (0, "twice", False),
    "late_callback": (0, "late", False),
    "wrong_amount": (0, "once", True),
}
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")
_PHONE = re.compile(r"^254[17]\d{8}$")
_DIGITS = re.compile(r"^\d{5,7}$")
_TIMESTAMP = re.compile(r"^\d{14}$")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """``base64(BusinessShortCode + Passkey + Timestamp)``, the STK Push ``Password``."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


@dataclass
class Behaviour:
    """What the customer on one phone does with a prompt."""

    outcome: str = "paid"
    delay: float | None = None


@dataclass
class Transaction:
    """One STK Push request as M-Pesa sees it."""

    merchant_request_id: str
    checkout_request_id: str
    shortcode: str
    transaction_type: str
    amount: int
    phone: str
    party_b: str
    callback_url: str
    account_reference: str
    outcome: str
    created: float
    settled: bool = False
    result_code: int | None = None
    receipt: str | None = None
    transaction_date: int | None = None
    queried_final: bool = False
    callbacks: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready snapshot (the control API's and the tests' view)."""
        return {
            "MerchantRequestID": self.merchant_request_id,
            "CheckoutRequestID": self.checkout_request_id,
            "BusinessShortCode": self.shortcode,
            "TransactionType": self.transaction_type,
            "Amount": self.amount,
            "PhoneNumber": self.phone,
            "PartyB": self.party_b,
            "CallBackURL": self.callback_url,
            "AccountReference": self.account_reference,
            "outcome": self.outcome,
            "settled": self.settled,
            "ResultCode": self.result_code,
            "MpesaReceiptNumber": self.receipt,
            "callbacks": copy.deepcopy(self.callbacks),
        }


def _error(status: int, code: str, message: str, request_id: str = "") -> web.Response:
    body = {"requestId": request_id or f"{random.randint(1000, 99999)}-{random.randint(10**6, 10**8)}-1",  # noqa: S311
            "errorCode": code, "errorMessage": message}
    return web.json_response(body, status=status)


def _bad(name: str) -> web.Response:
    return _error(400, "400.002.02", f"Bad Request - Invalid {name}")


class DarajaSimulator(ThreadedServer):
    """M-Pesa Daraja on ``127.0.0.1``; every method is safe to call from any thread."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, consumer_key: str = "sim-consumer-key",
                 consumer_secret: str = "sim-consumer-secret",  # noqa: S107 - the simulator's published default
                 shortcodes: dict[str, str] | None = None,
                 approve_after: float = 1.0, default_outcome: str = "paid", seed: int | None = None) -> None:
        super().__init__(host, port)
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        #: BusinessShortCode → passkey.
        self.shortcodes = dict(shortcodes or {SANDBOX_SHORTCODE: SANDBOX_PASSKEY})
        self.approve_after = approve_after
        self._default = Behaviour(default_outcome)
        self._behaviours: dict[str, Behaviour] = {}
        self._tokens: dict[str, float] = {}
        self._transactions: dict[str, Transaction] = {}
        self._receipts: set[str] = set()
        self._rng = random.Random(seed)  # noqa: S311 - ids, not secrets
        self._http: aiohttp.ClientSession | None = None
        self.requests_seen = 0

    # -- control (any thread) -------------------------------------------------------------------------------

    def set_outcome(self, phone: str, outcome: str, *, delay: float | None = None) -> None:
        """What the customer on ``phone`` (``"*"``: everyone without a rule) does with the next prompts.

        :raises ValueError: for an unknown outcome.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        behaviour = Behaviour(outcome, delay)

        def apply() -> None:
            if phone == "*":
                self._default = behaviour
            else:
                self._behaviours[phone] = behaviour

        self.call(apply)

    def reset(self) -> None:
        """Forget every rule, token and transaction."""

        def apply() -> None:
            self._behaviours.clear()
            self._default = Behaviour("paid")
            self._tokens.clear()
            self._transactions.clear()

        self.call(apply)

    def transactions(self) -> list[dict[str, Any]]:
        """Every STK request so far, oldest first, with its outcome and callback deliveries."""
        return self.call(lambda: [tx.describe() for tx in self._transactions.values()])

    def transaction(self, checkout_request_id: str) -> dict[str, Any] | None:
        """One STK request by its ``CheckoutRequestID``."""

        def find() -> dict[str, Any] | None:
            tx = self._transactions.get(checkout_request_id)
            return tx.describe() if tx else None

        return self.call(find)

    def callback_body(self, checkout_request_id: str) -> dict[str, Any]:
        """The callback M-Pesa sends for a settled transaction (tests replay it).

        :raises KeyError: for an unknown or unsettled transaction.
        """

        def build() -> dict[str, Any]:
            tx = self._transactions[checkout_request_id]
            if not tx.settled:
                raise KeyError(checkout_request_id)
            return self._callback_payload(tx)

        return self.call(build)

    def describe(self) -> dict[str, Any]:
        """The one JSON line the command line prints."""
        shortcode, passkey = next(iter(self.shortcodes.items()))
        return {"simulator": "daraja", "base_url": self.base_url, "consumer_key": self.consumer_key,
                "consumer_secret": self.consumer_secret, "shortcode": shortcode, "passkey": passkey,
                "approve_after": self.approve_after, "control_url": self.base_url + "/simulator/"}

    # -- HTTP -------------------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_get("/oauth/v1/generate", self._oauth)
        app.router.add_post("/mpesa/stkpush/v1/processrequest", self._stk_push)
        app.router.add_post("/mpesa/stkpushquery/v1/query", self._stk_query)
        app.router.add_post("/simulator/outcomes", self._control_outcome)
        app.router.add_get("/simulator/transactions", self._control_transactions)
        app.router.add_post("/simulator/transactions/{checkout}/callback", self._control_resend)
        app.on_cleanup.append(self._close_http)
        return app

    async def _close_http(self, _app: web.Application) -> None:
        if self._http is not None:
            await self._http.close()

    async def _oauth(self, request: web.Request) -> web.Response:
        if request.query.get("grant_type") != "client_credentials":
            return _error(400, "400.008.02", "Invalid grant type passed")
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        try:
            key, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key = secret = ""
        if scheme != "Basic" or (key, secret) != (self.consumer_key, self.consumer_secret):
            return _error(400, "400.008.01", "Invalid Authentication passed")
        token = secrets.token_urlsafe(21)
        now = time.monotonic()
        self._tokens = {t: expiry for t, expiry in self._tokens.items() if expiry > now}
        self._tokens[token] = now + TOKEN_LIFETIME
        return web.json_response({"access_token": token, "expires_in": str(TOKEN_LIFETIME)})

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expiry = self._tokens.get(token)
        return scheme == "Bearer" and expiry is not None and expiry > time.monotonic()

    async def _json(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _check_password(self, body: dict[str, Any]) -> web.Response | None:
        shortcode = str(body.get("BusinessShortCode", ""))
        if shortcode not in self.shortcodes:
            return _bad("BusinessShortCode")
        timestamp = str(body.get("Timestamp", ""))
        if not _TIMESTAMP.match(timestamp):
            return _bad("Timestamp")
        try:
            datetime.strptime(timestamp, "%Y%m%d%H%M%S")  # noqa: DTZ007 - only the format is checked
        except ValueError:
            return _bad("Timestamp")
        if body.get("Password") != stk_password(shortcode, self.shortcodes[shortcode], timestamp):
            return _error(500, "500.001.1001", "Wrong credentials")
        return None

    async def _stk_push(self, request: web.Request) -> web.Response:
        self.requests_seen += 1
        if not self._authorised(request):
            return _error(401, "404.001.03", "Invalid Access Token")
        body = await self._json(request)
        if body is None:
            return _error(400, "400.002.05", "Invalid Request Payload")
        problem = self._check_password(body)
        if problem is not None:
            return problem
        shortcode = str(body["BusinessShortCode"])
        kind = body.get("TransactionType")
        if kind not in TRANSACTION_TYPES:
            return _bad("TransactionType")
        amount = _whole_amount(body.get("Amount"))
        if amount is None:
            return _bad("Amount")
        phone, party_a, party_b = (str(body.get(k, "")) for k in ("PhoneNumber", "PartyA", "PartyB"))
        if not _PHONE.match(phone):
            return _bad("PhoneNumber")
        if not _PHONE.match(party_a):
            return _bad("PartyA")
        if not _DIGITS.match(party_b) or (kind == "CustomerPayBillOnline" and party_b != shortcode):
            return _bad("PartyB")
        callback = body.get("CallBackURL")
        if not isinstance(callback, str) or not re.match(r"^https?://[^\s/]+(/\S*)?$", callback):
            return _bad("CallBackURL")
        reference = body.get("AccountReference")
        if not isinstance(reference, str) or not 1 <= len(reference) <= 12:
            return _bad("AccountReference")
        description = body.get("TransactionDesc")
        if not isinstance(description, str) or not 1 <= len(description) <= 13:
            return _bad("TransactionDesc")
        behaviour = self._behaviours.get(phone, self._default)
        merchant_id = f"{self._rng.randint(1000, 99999)}-{self._rng.randint(10**6, 10**8)}-1"
        stamp = datetime.now(EAT).strftime("%d%m%Y%H%M%S")
        checkout_id = f"ws_CO_{stamp}{self._rng.randint(10**9, 10**10 - 1)}"
        while checkout_id in self._transactions:
            checkout_id = f"ws_CO_{stamp}{self._rng.randint(10**9, 10**10 - 1)}"
        tx = Transaction(merchant_id, checkout_id, shortcode, kind, amount, phone, party_b, callback, reference,
                         behaviour.outcome, time.monotonic())
        self._transactions[checkout_id] = tx
        delay = self.approve_after if behaviour.delay is None else behaviour.delay
        asyncio.get_running_loop().call_later(max(delay, 0.0), self._settle, tx)
        message = "Success. Request accepted for processing"
        return web.json_response({"MerchantRequestID": merchant_id, "CheckoutRequestID": checkout_id,
                                  "ResponseCode": "0", "ResponseDescription": message, "CustomerMessage": message})

    async def _stk_query(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "404.001.03", "Invalid Access Token")
        body = await self._json(request)
        if body is None:
            return _error(400, "400.002.05", "Invalid Request Payload")
        problem = self._check_password(body)
        if problem is not None:
            return problem
        tx = self._transactions.get(str(body.get("CheckoutRequestID", "")))
        if tx is None or tx.shortcode != str(body["BusinessShortCode"]):
            return _bad("CheckoutRequestID")
        if not tx.settled:
            return _error(500, "500.001.1001", "The transaction is being processed")
        if tx.outcome and OUTCOMES[tx.outcome][1] == "late" and not tx.queried_final:
            tx.queried_final = True
            asyncio.get_running_loop().call_later(LATE_DELAY, self._deliver_soon, tx)
        return web.json_response({
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": tx.merchant_request_id,
            "CheckoutRequestID": tx.checkout_request_id,
            "ResultCode": str(tx.result_code),
            "ResultDesc": RESULT_CODES[tx.result_code or 0],
        })

    async def _control_outcome(self, request: web.Request) -> web.Response:
        body = await self._json(request) or {}
        outcome = body.get("outcome")
        if outcome not in OUTCOMES:
            return web.json_response({"error": f"outcome must be one of {', '.join(OUTCOMES)}"}, status=400)
        delay = body.get("delay")
        behaviour = Behaviour(outcome, float(delay) if isinstance(delay, int | float) else None)
        phone = str(body.get("phone", "*"))
        if phone == "*":
            self._default = behaviour
        else:
            self._behaviours[phone] = behaviour
        return web.json_response({"phone": phone, "outcome": outcome, "delay": behaviour.delay})

    async def _control_transactions(self, _request: web.Request) -> web.Response:
        return web.json_response([tx.describe() for tx in self._transactions.values()])

    async def _control_resend(self, request: web.Request) -> web.Response:
        tx = self._transactions.get(request.match_info["checkout"])
        if tx is None or not tx.settled:
            return web.json_response({"error": "no settled transaction with that CheckoutRequestID"}, status=404)
        status = await self._deliver(tx)
        return web.json_response({"delivered": status})

    # -- settlement and callbacks (the loop) ------------------------------------------------------------------

    def _receipt(self) -> str:
        while True:
            receipt = self._rng.choice("QRST") + "".join(
                self._rng.choice(string.ascii_uppercase + string.digits) for _ in range(9))
            if receipt not in self._receipts:
                self._receipts.add(receipt)
                return receipt

    def _settle(self, tx: Transaction) -> None:
        code, delivery, _wrong = OUTCOMES[tx.outcome]
        tx.settled, tx.result_code = True, code
        if code == 0:
            tx.receipt = self._receipt()
            tx.transaction_date = int(datetime.now(EAT).strftime("%Y%m%d%H%M%S"))
        if delivery == "once":
            self._deliver_soon(tx)
        elif delivery == "twice":
            self._deliver_soon(tx)
            self._deliver_soon(tx)

    def _deliver_soon(self, tx: Transaction) -> None:
        asyncio.get_running_loop().create_task(self._deliver(tx))

    def _callback_payload(self, tx: Transaction) -> dict[str, Any]:
        code = tx.result_code or 0
        callback: dict[str, Any] = {"MerchantRequestID": tx.merchant_request_id,
                                    "CheckoutRequestID": tx.checkout_request_id,
                                    "ResultCode": code, "ResultDesc": RESULT_CODES[code]}
        if code == 0:
            amount = tx.amount - 1 if OUTCOMES[tx.outcome][2] else tx.amount
            callback["CallbackMetadata"] = {"Item": [
                {"Name": "Amount", "Value": float(amount)},
                {"Name": "MpesaReceiptNumber", "Value": tx.receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": tx.transaction_date},
                {"Name": "PhoneNumber", "Value": int(tx.phone)},
            ]}
        return {"Body": {"stkCallback": callback}}

    async def _deliver(self, tx: Transaction) -> int | str:
        record: dict[str, Any] = {"at": datetime.now(UTC).isoformat()}
        tx.callbacks.append(record)
        result: int | str
        if not is_loopback_url(tx.callback_url):
            result = record["result"] = "refused: the simulator only calls back to loopback"
            return result
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.post(tx.callback_url, json=self._callback_payload(tx)) as response:
                await response.read()
                result = record["result"] = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            result = record["result"] = f"error: {type(exc).__name__}"
        return result


def _whole_amount(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value() or number < 1:
        return None
    return int(number)
