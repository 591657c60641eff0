"""A client for Safaricom Daraja's M-Pesa Express: OAuth, STK Push, STK Push Query.

Flask-free apart from nothing: callers pass the base URL and timeout, so the client is used the same way by
requests, the sweep and the CLI. No database work happens here; callers never hold a transaction open
while this talks to Safaricom. Every failure is a :class:`DarajaError` carrying ``reason`` (``unreachable``,
``timeout``, ``auth``, ``rejected``, ``bad_response``) and the HTTP status RouterDeck answers with (502/504).
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import requests

from webapp.services.errors import ServiceError

EAT = timezone(timedelta(hours=3))
#: The query's answer while the customer has not yet answered the prompt.
PROCESSING = "500.001.1001"
TRANSACTION_TYPES = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")


class DarajaError(ServiceError):
    """Daraja could not be reached, timed out, refused us or answered nonsense."""

    status = 502

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        if status is not None:
            self.status = status


@dataclass(frozen=True)
class Credentials:
    """One owner's decrypted Daraja credentials (built where a request is made, never stored)."""

    consumer_key: str
    consumer_secret: str
    passkey: str
    shortcode: str
    transaction_type: str = "CustomerPayBillOnline"
    till_number: str = ""

    @property
    def party_b(self) -> str:
        """The paybill is its own PartyB; buy goods pays the till."""
        if self.transaction_type == "CustomerBuyGoodsOnline" and self.till_number:
            return self.till_number
        return self.shortcode


@dataclass(frozen=True)
class PushAccepted:
    """Daraja's acknowledgement of an STK Push."""

    merchant_request_id: str
    checkout_request_id: str
    customer_message: str


@dataclass(frozen=True)
class QueryResult:
    """What STK Push Query said: ``result_code`` is None while the customer has not answered."""

    result_code: int | None
    result_desc: str
    raw: dict[str, Any]


def timestamp(now: datetime | None = None) -> str:
    """Daraja's ``YYYYMMDDHHmmss`` in Nairobi time."""
    return (now or datetime.now(EAT)).astimezone(EAT).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, stamp: str) -> str:
    """``base64(Shortcode + Passkey + Timestamp)``."""
    return base64.b64encode(f"{shortcode}{passkey}{stamp}".encode()).decode()


class DarajaClient:
    """Talk to one Daraja base URL; tokens are cached per consumer key until a minute before they expire."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, self.base_url + path, timeout=(min(self.timeout, 5.0), self.timeout),
                                         allow_redirects=False, **kwargs)
        except requests.Timeout as exc:
            raise DarajaError("M-Pesa did not answer in time", reason="timeout", status=504) from exc
        except requests.RequestException as exc:
            raise DarajaError("M-Pesa could not be reached", reason="unreachable") from exc

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise DarajaError(f"M-Pesa answered {response.status_code} without JSON", reason="bad_response") from exc
        if not isinstance(body, dict):
            raise DarajaError("M-Pesa answered with something that is not an object", reason="bad_response")
        return body

    def token(self, credentials: Credentials) -> str:
        """An OAuth access token for these credentials (cached).

        :raises DarajaError: ``auth`` when Daraja refuses the consumer key/secret.
        """
        key = (credentials.consumer_key, credentials.consumer_secret)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        basic = base64.b64encode(f"{credentials.consumer_key}:{credentials.consumer_secret}".encode()).decode()
        response = self._call("GET", "/oauth/v1/generate", params={"grant_type": "client_credentials"},
                              headers={"Authorization": f"Basic {basic}"})
        if response.status_code != 200:
            raise DarajaError("M-Pesa refused the consumer key and secret", reason="auth")
        body = self._json(response)
        token = body.get("access_token")
        try:
            lifetime = float(body.get("expires_in", 3599))
        except (TypeError, ValueError):
            lifetime = 3599.0
        if not isinstance(token, str) or not token:
            raise DarajaError("M-Pesa sent no access token", reason="bad_response")
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(lifetime - 60, 1))
        return token

    def _forget_token(self, credentials: Credentials) -> None:
        with self._lock:
            self._tokens.pop((credentials.consumer_key, credentials.consumer_secret), None)

    def _authorised_post(self, credentials: Credentials, path: str, body: dict[str, Any]) -> requests.Response:
        response = self._call("POST", path, json=body,
                              headers={"Authorization": f"Bearer {self.token(credentials)}"})
        if response.status_code == 401:  # the token expired early or was revoked: one fresh try
            self._forget_token(credentials)
            response = self._call("POST", path, json=body,
                                  headers={"Authorization": f"Bearer {self.token(credentials)}"})
        return response

    def stk_push(self, credentials: Credentials, *, phone: str, amount: Decimal, reference: str,
                 description: str, callback_url: str) -> PushAccepted:
        """Send the payment prompt to ``phone`` (``2547XXXXXXXX``) for a whole ``amount`` of shillings.

        :raises DarajaError: ``rejected`` with Daraja's message, or unreachable/timeout/auth/bad_response.
        """
        stamp = timestamp()
        body = {
            "BusinessShortCode": credentials.shortcode,
            "Password": stk_password(credentials.shortcode, credentials.passkey, stamp),
            "Timestamp": stamp,
            "TransactionType": credentials.transaction_type,
            "Amount": int(amount),
            "PartyA": phone,
            "PartyB": credentials.party_b,
            "PhoneNumber": phone,
            "CallBackURL": callback_url,
            "AccountReference": reference[:12],
            "TransactionDesc": description[:13],
        }
        response = self._authorised_post(credentials, "/mpesa/stkpush/v1/processrequest", body)
        answer = self._json(response)
        if response.status_code != 200 or str(answer.get("ResponseCode")) != "0":
            message = answer.get("errorMessage") or answer.get("ResponseDescription") or f"HTTP {response.status_code}"
            raise DarajaError(f"M-Pesa refused the payment request: {message}", reason="rejected")
        checkout = answer.get("CheckoutRequestID")
        if not isinstance(checkout, str) or not checkout:
            raise DarajaError("M-Pesa accepted the request without a CheckoutRequestID", reason="bad_response")
        return PushAccepted(str(answer.get("MerchantRequestID", "")), checkout, str(answer.get("CustomerMessage", "")))

    def stk_query(self, credentials: Credentials, checkout_request_id: str) -> QueryResult:
        """Ask how an STK Push ended; ``result_code`` None means the customer has not answered yet.

        :raises DarajaError: when Daraja cannot say (unreachable, timeout, auth, an error other than "processing").
        """
        stamp = timestamp()
        body = {
            "BusinessShortCode": credentials.shortcode,
            "Password": stk_password(credentials.shortcode, credentials.passkey, stamp),
            "Timestamp": stamp,
            "CheckoutRequestID": checkout_request_id,
        }
        response = self._authorised_post(credentials, "/mpesa/stkpushquery/v1/query", body)
        answer = self._json(response)
        if answer.get("errorCode") == PROCESSING and "being processed" in str(answer.get("errorMessage", "")):
            return QueryResult(None, str(answer.get("errorMessage")), answer)
        if response.status_code != 200 or "ResultCode" not in answer:
            message = answer.get("errorMessage") or f"HTTP {response.status_code}"
            raise DarajaError(f"M-Pesa could not say how the payment ended: {message}", reason="rejected")
        try:
            code = int(str(answer["ResultCode"]))
        except ValueError as exc:
            raise DarajaError("M-Pesa sent a ResultCode that is not a number", reason="bad_response") from exc
        return QueryResult(code, str(answer.get("ResultDesc", "")), answer)


_clients: dict[tuple[str, float], DarajaClient] = {}
_clients_lock = threading.Lock()


def client_for(base_url: str, timeout: float) -> DarajaClient:
    """The process-wide client for one Daraja base URL (keeps its token cache and connections warm)."""
    with _clients_lock:
        client = _clients.get((base_url, timeout))
        if client is None:
            client = _clients[(base_url, timeout)] = DarajaClient(base_url, timeout)
        return client
