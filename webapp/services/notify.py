"""Alert notifications: channels (email over the configured SMTP server, a webhook, a Telegram chat through the
Bot API, or a phone number by SMS through the SMS provider), with cooldowns."""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import requests
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Alert, ChannelSecret, Notification, NotificationChannel, User
from webapp.services import audit
from webapp.services.errors import Invalid, NotFound
from webapp.services.vault import decrypt_password, encrypt_password
from webapp.timeutil import isoformat_z

KINDS = ("email", "webhook", "telegram", "sms")
#: A Telegram chat: a numeric id (negative for groups) or a public @channel name.
TELEGRAM_CHAT = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})\Z")
#: A bot token as BotFather issues it: ``<bot id>:<35-ish characters>``.
TELEGRAM_TOKEN = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,100}\Z")
#: An international phone number (E.164).
PHONE = re.compile(r"^\+[1-9][0-9]{7,14}\Z")


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server (from the app's SMTP_* settings)."""

    host: str | None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0
    sender: str = "routerdeck@localhost"

    @classmethod
    def from_config(cls, config: Any) -> SmtpSettings:
        """Read SMTP_* and ALERT_MAIL_FROM from a Flask config."""
        return cls(
            host=config.get("SMTP_HOST"),
            port=int(config.get("SMTP_PORT", 25)),
            username=config.get("SMTP_USERNAME"),
            password=config.get("SMTP_PASSWORD"),
            starttls=bool(config.get("SMTP_STARTTLS")),
            ssl=bool(config.get("SMTP_SSL")),
            timeout=float(config.get("SMTP_TIMEOUT", 10.0)),
            sender=config.get("ALERT_MAIL_FROM") or "routerdeck@localhost",
        )


class DeliveryFailed(Exception):
    """A notification could not be handed over (the message says why)."""


def list_channels(actor: User) -> list[NotificationChannel]:
    """The actor's notification channels."""
    return list(
        db.session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.user_id == actor.team_owner_id)
            .order_by(NotificationChannel.id)
        )
    )


def create_channel(actor: User, data: dict[str, Any], ip_address: str | None = None) -> NotificationChannel:
    """Add an email or webhook channel.

    :raises Invalid: with per-field messages.
    """
    errors: dict[str, str] = {}
    kind = data.get("kind")
    target = str(data.get("target") or "").strip()
    secret = str(data.get("secret") or "").strip()
    if kind not in KINDS:
        errors["kind"] = "email, webhook, telegram or sms"
    elif kind == "telegram":
        if not TELEGRAM_CHAT.match(target):
            errors["target"] = "a Telegram chat id (digits, negative for groups) or @channel"
        if not TELEGRAM_TOKEN.match(secret):
            errors["secret"] = "the bot token from BotFather (123456:ABC...)"  # noqa: S105 - a form message
    elif kind == "sms":
        target = target.replace(" ", "")
        if not PHONE.match(target):
            errors["target"] = "a phone number in international form (+254...)"
    elif kind == "email":
        try:
            target = validate_email(target, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["target"] = "an email address"
    else:
        try:
            parts = urlsplit(target)
        except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 host) was a 500
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(target) > 500:
            errors["target"] = "an http(s) URL"
    cooldown = data.get("cooldown_minutes", 30)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not 0 <= cooldown <= 10080:
        errors["cooldown_minutes"] = "whole minutes 0-10080"
    if errors:
        raise Invalid("Invalid channel: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    channel = NotificationChannel(
        user_id=actor.team_owner_id,
        kind=kind,
        target=target,
        cooldown_minutes=cooldown,
        enabled=bool(data.get("enabled", True)),
    )
    db.session.add(channel)
    db.session.flush()
    if kind == "telegram":
        db.session.add(ChannelSecret(channel_id=channel.id, encrypted=encrypt_password(secret)))
    audit.record(actor, "channel.create", f"Added a {kind} notification channel", target=f"channel:{channel.id}",
                 details={"kind": kind, "target": _redacted(target) if kind == "webhook" else target},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return channel


def get_channel(actor: User, channel_id: int) -> NotificationChannel:
    """The actor's channel with this id.

    :raises NotFound: for someone else's channel.
    """
    channel: NotificationChannel | None = db.session.scalar(select(NotificationChannel).where(
        NotificationChannel.id == channel_id, NotificationChannel.user_id == actor.team_owner_id))
    if channel is None:
        raise NotFound("Channel not found")
    return channel


def send_telegram(base_url: str, token: str, chat_id: str, text: str, timeout: float) -> None:
    """``sendMessage`` through the Bot API.

    :raises DeliveryFailed: for a network error or an answer that is not ``{"ok": true}`` (the token never
        appears in the message).
    """
    url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
    try:
        response = requests.post(url, json={"chat_id": chat_id, "text": text[:4096]}, timeout=timeout,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"telegram: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not (response.ok and isinstance(body, dict) and body.get("ok") is True):
        description = body.get("description") if isinstance(body, dict) else None
        raise DeliveryFailed(f"telegram answered {response.status_code}: {description or 'no JSON'}")


def send_sms(base_url: str, username: str | None, api_key: str | None, to: str, text: str, timeout: float,
             sender: str | None = None) -> None:
    """One SMS through Africa's Talking (``POST /version1/messaging``).

    :raises DeliveryFailed: when no account is configured, on a network error, or when the recipient's status
        is not ``Success``.
    """
    if not username or not api_key:
        raise DeliveryFailed("SMS_USERNAME / SMS_API_KEY are not configured")
    form = {"username": username, "to": to, "message": text[:459]}
    if sender:
        form["from"] = sender
    try:
        response = requests.post(f"{base_url.rstrip('/')}/version1/messaging", data=form, timeout=timeout,
                                 headers={"apiKey": api_key, "Accept": "application/json"}, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"sms: {type(exc).__name__}") from None
    if response.status_code not in (200, 201):
        raise DeliveryFailed(f"sms provider answered {response.status_code}: {response.text[:100]}")
    try:
        recipients = response.json()["SMSMessageData"]["Recipients"]
    except (ValueError, KeyError, TypeError):
        raise DeliveryFailed("sms provider answered without recipients") from None
    if not recipients or recipients[0].get("status") != "Success":
        status = recipients[0].get("status") if recipients else "no recipient"
        raise DeliveryFailed(f"sms to {to[:-4]}XXXX: {status}")


def short_text(alert: Alert, event: str) -> str:
    """One or two lines for chat and SMS."""
    word = "RESOLVED" if event == "resolved" else alert.severity.upper()
    return f"[RouterDeck] {word}: {alert.message}\n{alert.router.name} ({alert.router.host}) · alert #{alert.id}"


def send_to(channel: NotificationChannel, title: str, text: str, body: dict[str, Any]) -> None:
    """Send one notification on ``channel``.

    :raises DeliveryFailed: / :raises ValueError: when it does not go through.
    """
    config = current_app.config
    if channel.kind == "email":
        send_email(SmtpSettings.from_config(config), channel.target, title, text)
    elif channel.kind == "telegram":
        secret = db.session.get(ChannelSecret, channel.id)
        if secret is None:
            raise DeliveryFailed("telegram: the channel has no bot token")
        send_telegram(str(config["TELEGRAM_API_URL"]), decrypt_password(secret.encrypted), channel.target,
                      text, float(config.get("NOTIFY_TIMEOUT", 10.0)))
    elif channel.kind == "sms":
        send_sms(str(config["SMS_BASE_URL"]), config.get("SMS_USERNAME"), config.get("SMS_API_KEY"),
                 channel.target, text, float(config.get("NOTIFY_TIMEOUT", 10.0)), config.get("SMS_SENDER_ID"))
    else:
        send_webhook(channel.target, body, float(config.get("WEBHOOK_TIMEOUT", 5.0)),
                     allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE")))


def send_test(actor: User, channel_id: int) -> str | None:
    """Send a test message on one of the actor's channels; return the error, or None when it went through.

    :raises NotFound: for someone else's channel.
    """
    channel = get_channel(actor, channel_id)
    text = "[RouterDeck] Test notification: this channel works."
    try:
        send_to(channel, text, text, {"event": "test", "message": text})
    except (DeliveryFailed, ValueError) as exc:
        return str(exc)[:500]
    return None


def delete_channel(actor: User, channel_id: int, ip_address: str | None = None) -> None:
    """Remove a channel.

    :raises NotFound: for someone else's channel.
    """
    channel = db.session.scalar(
        select(NotificationChannel).where(
            NotificationChannel.id == channel_id, NotificationChannel.user_id == actor.team_owner_id
        )
    )
    if channel is None:
        raise NotFound("Channel not found")
    audit.record(actor, "channel.delete", f"Removed a {channel.kind} notification channel",
                 target=f"channel:{channel.id}", ip_address=ip_address, commit=False)
    db.session.delete(channel)
    db.session.commit()


def payload(alert: Alert, event: str) -> dict[str, Any]:
    """The JSON a webhook receives (and what an email says)."""
    return {
        "event": event,
        "alert": {
            "id": alert.id,
            "kind": alert.kind,
            "subject": alert.subject or None,
            "state": alert.state,
            "severity": alert.severity,
            "message": alert.message,
            "value": alert.value,
            "started_at": isoformat_z(alert.started_at),
            "resolved_at": isoformat_z(alert.resolved_at),
        },
        "router": {"id": alert.router_id, "name": alert.router.name, "host": alert.router.host},
    }


def send_email(settings: SmtpSettings, to: str, subject: str, body: str) -> None:
    """Hand one message to the SMTP server.

    :raises DeliveryFailed: when no server is configured or it refuses.
    """
    if not settings.host:
        raise DeliveryFailed("SMTP_HOST is not configured")
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    opener = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    try:
        with opener(settings.host, settings.port, timeout=settings.timeout) as server:
            if settings.starttls and not settings.ssl:
                server.starttls()
            if settings.username:
                server.login(settings.username, settings.password or "")
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {settings.host}:{settings.port}: {exc}") from None


def private_address(host: str) -> bool:
    """True when ``host`` (a name or an address) resolves to anything that is not a public address."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False  # unresolvable: the POST itself will fail and be recorded
    return any(not ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_global for info in infos)


def _redacted(url: str) -> str:
    # Webhook URLs often carry a token in the path or query: errors name the host only.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"


def send_webhook(url: str, body: dict[str, Any], timeout: float, *, allow_private: bool = False) -> None:
    """POST ``body`` as JSON to a public address (private ones only when ``allow_private``).

    Redirects are not followed: a public URL must not bounce the request into the private network.

    :raises DeliveryFailed: for a private address, a network error or a non-2xx answer.
    """
    host = urlsplit(url).hostname or ""
    if not allow_private and private_address(host):
        raise DeliveryFailed(f"webhook {_redacted(url)}: refused, {host} is not a public address "
                             "(set WEBHOOK_ALLOW_PRIVATE to allow internal receivers)")
    try:
        response = requests.post(url, json=body, timeout=timeout, allow_redirects=False, stream=True)
        response.close()
    except requests.RequestException as exc:
        raise DeliveryFailed(f"webhook {_redacted(url)}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"webhook {_redacted(url)} answered {response.status_code}")


def _cooling(channel: NotificationChannel, alert: Alert, now: datetime) -> bool:
    if channel.cooldown_minutes <= 0:
        return False
    since = now - timedelta(minutes=channel.cooldown_minutes)
    return (
        db.session.scalar(
            select(Notification.id)
            .where(
                Notification.channel_id == channel.id,
                Notification.router_id == alert.router_id,
                Notification.kind == alert.kind,
                Notification.subject == alert.subject,
                Notification.event == "fired",
                Notification.ok.is_(True),
                Notification.sent_at > since,
            )
            .limit(1)
        )
        is not None
    )


def _told_about(channel: NotificationChannel, alert: Alert) -> bool:
    return (
        db.session.scalar(
            select(Notification.id)
            .where(
                Notification.channel_id == channel.id,
                Notification.alert_id == alert.id,
                Notification.event == "fired",
                Notification.ok.is_(True),
            )
            .limit(1)
        )
        is not None
    )


def deliver(alert: Alert, event: str, now: datetime) -> int:
    """Tell the owner's enabled channels that an alert ``fired`` or was ``resolved``; return successes.

    A channel that told about the same router's same alert kind within its cooldown stays quiet; a
    resolution is only sent where the firing was. Every attempt is recorded (commits).
    """
    channels = db.session.scalars(
        select(NotificationChannel).where(
            NotificationChannel.user_id == alert.user_id, NotificationChannel.enabled.is_(True)
        )
    )
    config = current_app.config
    settings = SmtpSettings.from_config(config)
    delivered = 0
    for channel in channels:
        if event == "fired" and _cooling(channel, alert, now):
            continue
        if event == "resolved" and not _told_about(channel, alert):
            continue
        body = payload(alert, event)
        word = "RESOLVED" if event == "resolved" else alert.severity.upper()
        # Names come from users and routers: one line, or the mail header refuses it.
        title = " ".join(f"[RouterDeck] {word}: {alert.message}".split())[:200]
        error = None
        try:
            if channel.kind == "email":
                text = (
                    f"{alert.message}\n\nRouter: {alert.router.name} ({alert.router.host})\n"
                    f"Alert #{alert.id} {alert.kind} is {alert.state} since "
                    f"{isoformat_z(alert.started_at)}.\n"
                )
                send_email(settings, channel.target, title, text)
            else:
                send_to(channel, title, short_text(alert, event), body)
        except (DeliveryFailed, ValueError) as exc:  # one bad channel must not stop the others
            error = str(exc)[:500]
        db.session.add(
            Notification(
                channel_id=channel.id,
                alert_id=alert.id,
                router_id=alert.router_id,
                kind=alert.kind,
                subject=alert.subject,
                event=event,
                ok=error is None,
                error=error,
                sent_at=now,
            )
        )
        delivered += error is None
    db.session.commit()
    return delivered
