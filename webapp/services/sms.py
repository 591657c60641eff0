"""SMS receipts through a provider interface; the one provider speaks Africa's Talking's API.

``SMS_BASE_URL`` points at Africa's Talking (or its loopback simulator), ``SMS_USERNAME``/``SMS_API_KEY`` are the
operator's account, ``SMS_SENDER_ID`` the optional alphanumeric sender. No API key means no SMS is sent (the
receipt is recorded as ``skipped``). The provider is called with no database transaction open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import SmsMessage

log = logging.getLogger(__name__)
#: Africa's Talking's per-recipient statusCode values that mean "accepted for delivery".
ACCEPTED_CODES = {100, 101, 102}
#: Delivery-report statuses that end a message's life.
DELIVERED = {"Success"}
FAILED = {"Failed", "Rejected", "AbsentSubscriber", "Expired"}


class SmsError(Exception):
    """The provider could not be reached or refused the whole request."""


@dataclass(frozen=True)
class SendResult:
    """What the provider said about one recipient."""

    accepted: bool
    status: str
    message_id: str | None
    cost: str | None


class SmsProvider(Protocol):
    """Anything that can send one SMS to one number and say what happened to it."""

    def send(self, phone: str, text: str) -> SendResult:
        """Send ``text`` to ``phone`` (``+2547…``).

        :raises SmsError: when the provider cannot be asked or refuses the request.
        """


class AfricasTalking:
    """``POST {base}/version1/messaging`` with the ``apiKey`` header and form fields, as Africa's Talking documents."""

    def __init__(self, base_url: str, username: str, api_key: str, sender_id: str = "", timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.api_key = api_key
        self.sender_id = sender_id
        self.timeout = timeout

    def send(self, phone: str, text: str) -> SendResult:
        form = {"username": self.username, "to": phone, "message": text}
        if self.sender_id:
            form["from"] = self.sender_id
        try:
            response = requests.post(self.base_url + "/version1/messaging", data=form, timeout=self.timeout,
                                     headers={"apiKey": self.api_key, "Accept": "application/json"},
                                     allow_redirects=False)
        except requests.RequestException as exc:
            raise SmsError(f"the SMS provider could not be reached ({type(exc).__name__})") from exc
        if response.status_code not in (200, 201):
            raise SmsError(f"the SMS provider answered {response.status_code}: {response.text[:120]}")
        try:
            recipients = response.json()["SMSMessageData"]["Recipients"]
            first: dict[str, Any] = recipients[0]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise SmsError("the SMS provider's answer has no recipient") from exc
        code = int(first.get("statusCode", 0) or 0)
        message_id = first.get("messageId")
        return SendResult(accepted=code in ACCEPTED_CODES, status=str(first.get("status", "")),
                          message_id=str(message_id) if message_id and message_id != "None" else None,
                          cost=str(first.get("cost")) if first.get("cost") is not None else None)


def provider() -> SmsProvider | None:
    """The configured provider, or None when SMS is not set up."""
    config = current_app.config
    if not config.get("SMS_API_KEY"):
        return None
    return AfricasTalking(str(config["SMS_BASE_URL"]), str(config.get("SMS_USERNAME") or "sandbox"),
                          str(config["SMS_API_KEY"]),
                          str(config.get("SMS_SENDER_ID") or ""), float(config.get("SMS_TIMEOUT", 10.0)))


def send_message(user_id: int, phone: str, text: str, payment_id: int | None = None) -> SmsMessage:
    """Record the message, send it with no transaction open, record what the provider said."""
    existing: SmsMessage | None = (db.session.scalar(select(SmsMessage).where(SmsMessage.payment_id == payment_id))
                                   if payment_id else None)
    if existing is not None:
        return existing
    message = SmsMessage(user_id=user_id, payment_id=payment_id, phone="+" + phone.lstrip("+"), body=text[:480],
                         status="queued")
    db.session.add(message)
    db.session.commit()
    sender = provider()
    if sender is None:
        message.status, message.failure_reason = "skipped", "SMS is not configured (SMS_API_KEY)"
        db.session.commit()
        return message
    number, message_id = message.phone, message.id
    try:
        result = sender.send(number, text)
    except SmsError as exc:
        log.warning("SMS %s not sent: %s", message_id, exc)
        message = db.session.get(SmsMessage, message_id)  # type: ignore[assignment]
        message.status, message.failure_reason = "failed", str(exc)[:255]
        db.session.commit()
        return message
    message = db.session.get(SmsMessage, message_id)  # type: ignore[assignment]
    message.status = "sent" if result.accepted else "failed"
    message.provider_status = result.status[:32]
    message.message_id = result.message_id
    message.cost = result.cost
    if not result.accepted:
        message.failure_reason = result.status[:255]
    db.session.commit()
    return message


def delivery_report(form: dict[str, str]) -> bool:
    """Apply one delivery report (``id``, ``status``, ``failureReason``); False for an unknown message id."""
    message_id = (form.get("id") or "").strip()
    message = db.session.scalar(select(SmsMessage).where(SmsMessage.message_id == message_id)) if message_id else None
    if message is None:
        return False
    status = (form.get("status") or "").strip()
    message.provider_status = status[:32]
    if status in DELIVERED:
        message.status = "delivered"
    elif status in FAILED:
        message.status = "failed"
        message.failure_reason = (form.get("failureReason") or status)[:255]
    db.session.commit()
    return True
