"""Alert rules and lifecycle with injected time, and notifications to a real local SMTP sink and HTTP receiver."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import make_config
from webapp.extensions import db
from webapp.models import Alert, MonitoredInterface, Notification, PollState, Router, User
from webapp.services import alerts, metrics, notify, routers
from webapp.services.errors import Conflict

T0 = datetime(2026, 4, 1, 8, 0, 0)


class SmtpSink:
    """A minimal SMTP server on loopback that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 sink ready")
                sender, recipients = "", []
                while True:
                    line = self.rfile.readline().decode().rstrip("\r\n")
                    verb = line[:4].upper()
                    if not line or verb == "QUIT":
                        self.reply("221 bye")
                        return
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 sink")
                    elif verb == "MAIL":
                        sender, recipients = line.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        recipients.append(line.split(":", 1)[1].strip(" <>"))
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        body = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            body += chunk
                        sink.messages.append((sender, recipients, body))
                        self.reply("250 queued")
                    else:
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver:
    """An HTTP server on loopback recording JSON POST bodies; answers ``status``."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def app_config(tmp_path: Path, smtp: SmtpSink) -> dict[str, Any]:
    return make_config(tmp_path / "alerts.db", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5.0,
                       ALERT_MAIL_FROM="deck@example.com", WEBHOOK_TIMEOUT=5.0,
                       WEBHOOK_ALLOW_PRIVATE=True)


@pytest.fixture
def setup(app: Flask, user) -> Iterator[tuple[User, Router, PollState]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = db.session.get(User, user.id)
        router = routers.create_router(actor, {"name": "hill-top", "host": "10.9.0.1", "username": "admin",
                                               "password": "pw"})
        state = PollState(router_id=router.id, failures=0, audit_seen_id=0, last_success_at=T0)
        db.session.add(state)
        db.session.commit()
        yield actor, router, state


def run(router: Router, state: PollState, now: datetime) -> alerts.Outcome:
    outcome = alerts.evaluate([router], {router.id: state}, now)
    db.session.commit()
    alerts.send_notifications(outcome, now)
    return outcome


def go_down(router: Router, state: PollState, at: datetime) -> None:
    state.down_since = at
    router.is_online = False
    router.last_error = "timeout"


def test_offline_for_n_minutes_then_ack_then_resolved(setup: Any) -> None:
    actor, router, state = setup
    go_down(router, state, T0)
    assert run(router, state, T0 + timedelta(minutes=4)).fired == []  # default: offline for 5 minutes
    fired = run(router, state, T0 + timedelta(minutes=5)).fired
    assert len(fired) == 1
    alert = db.session.get(Alert, fired[0])
    assert (alert.kind, alert.state, alert.severity) == ("offline", "active", "critical")
    assert "timeout" in alert.message
    assert run(router, state, T0 + timedelta(minutes=6)).fired == []  # still the same alert
    alerts.acknowledge(actor, alert.id, T0 + timedelta(minutes=7), note="truck rolled")
    assert (alert.state, alert.note, alert.acknowledged_by_id) == ("acknowledged", "truck rolled", actor.id)
    state.down_since = None
    resolved = run(router, state, T0 + timedelta(minutes=20)).resolved
    assert resolved == [alert.id]
    assert alert.state == "resolved"
    assert alert.resolved_at == T0 + timedelta(minutes=20)
    with pytest.raises(Conflict):
        alerts.acknowledge(actor, alert.id, T0 + timedelta(minutes=21))


def test_cpu_above_x_for_n_minutes_uses_the_history(setup: Any) -> None:
    actor, router, state = setup
    alerts.save_rule(actor, {"kind": "cpu_high", "threshold": 80.0, "duration_minutes": 3})
    base = metrics.epoch(T0)
    for minute, value in enumerate([50, 95, 95, 95, 95]):
        metrics.record(router.id, base + minute * 60, {("cpu", ""): float(value)})
    db.session.commit()
    state.cpu_load = 95.0
    assert run(router, state, T0 + timedelta(minutes=3)).fired == []  # high only since minute 1
    fired = run(router, state, T0 + timedelta(minutes=4)).fired
    assert len(fired) == 1
    assert db.session.get(Alert, fired[0]).kind == "cpu_high"
    state.cpu_load = 10.0
    assert run(router, state, T0 + timedelta(minutes=5)).resolved == fired


def test_per_router_override_beats_fleet_rule_beats_default(setup: Any) -> None:
    actor, router, state = setup
    alerts.save_rule(actor, {"kind": "memory_low", "threshold": 50.0, "duration_minutes": 0})
    alerts.save_rule(actor, {"kind": "memory_low", "router_id": router.id, "enabled": False,
                             "duration_minutes": 0})
    state.memory_used_pct = 70.0
    assert run(router, state, T0).fired == []
    rules = alerts.effective_rules(alerts.list_rules(actor), router.id)
    assert rules["memory_low"].enabled is False
    assert rules["cpu_high"].threshold == 90.0
    alerts.delete_rule(actor, alerts.list_rules(actor, router.id)[0].id)
    fired = run(router, state, T0).fired
    assert [db.session.get(Alert, i).kind for i in fired] == ["memory_low"]


def test_interface_down_alert(setup: Any) -> None:
    _, router, state = setup
    port = MonitoredInterface(router_id=router.id, name="ether2", running=False, disabled=False,
                              down_since=T0)
    db.session.add(port)
    db.session.commit()
    assert run(router, state, T0).fired == []  # default: down for a minute
    fired = run(router, state, T0 + timedelta(minutes=1)).fired
    alert = db.session.get(Alert, fired[0])
    assert (alert.kind, alert.subject) == ("interface_down", "ether2")
    port.down_since, port.running = None, True
    db.session.commit()
    assert run(router, state, T0 + timedelta(minutes=2)).resolved == [alert.id]


def test_email_and_webhook_with_cooldown(setup: Any, smtp: SmtpSink, webhook: WebhookReceiver) -> None:
    actor, router, state = setup
    notify.create_channel(actor, {"kind": "email", "target": "noc@example.com", "cooldown_minutes": 30})
    notify.create_channel(actor, {"kind": "webhook", "target": webhook.url, "cooldown_minutes": 30})
    go_down(router, state, T0)
    run(router, state, T0 + timedelta(minutes=5))
    assert len(smtp.messages) == 1
    sender, recipients, raw = smtp.messages[0]
    mail = message_from_bytes(raw)
    assert (sender, recipients) == ("deck@example.com", ["noc@example.com"])
    assert "CRITICAL" in mail["Subject"]
    assert "hill-top" in mail.get_payload()
    assert [b["event"] for b in webhook.bodies] == ["fired"]
    assert webhook.bodies[0]["alert"]["kind"] == "offline"
    assert webhook.bodies[0]["router"]["name"] == "hill-top"
    # Back up: the resolution goes where the firing went.
    state.down_since = None
    run(router, state, T0 + timedelta(minutes=8))
    assert [b["event"] for b in webhook.bodies] == ["fired", "resolved"]
    assert len(smtp.messages) == 2
    # Down again within the cooldown: a new alert, but no new notification.
    go_down(router, state, T0 + timedelta(minutes=10))
    assert len(run(router, state, T0 + timedelta(minutes=15)).fired) == 1
    assert len(smtp.messages) == 2
    assert len(webhook.bodies) == 2
    # After the cooldown the next firing is told again.
    state.down_since = None
    run(router, state, T0 + timedelta(minutes=40))
    go_down(router, state, T0 + timedelta(minutes=41))
    run(router, state, T0 + timedelta(minutes=46))
    assert [b["event"] for b in webhook.bodies] == ["fired", "resolved", "fired"]


def test_failed_deliveries_are_recorded_not_raised(setup: Any, webhook: WebhookReceiver, app: Flask) -> None:
    actor, router, state = setup
    webhook.status = 500
    notify.create_channel(actor, {"kind": "webhook", "target": webhook.url, "cooldown_minutes": 0})
    notify.create_channel(actor, {"kind": "webhook", "target": "http://127.0.0.1:9/nothing-listens",
                                  "cooldown_minutes": 0})
    app.config["SMTP_HOST"] = None
    notify.create_channel(actor, {"kind": "email", "target": "noc@example.com", "cooldown_minutes": 0})
    go_down(router, state, T0)
    run(router, state, T0 + timedelta(minutes=5))
    errors = list(db.session.scalars(select(Notification.error).order_by(Notification.id)))
    assert len(errors) == 3
    assert "answered 500" in errors[0]
    assert errors[1]
    assert "SMTP_HOST" in errors[2]


def test_webhooks_to_private_addresses_are_refused_unless_allowed(
    setup: Any, webhook: WebhookReceiver, app: Flask
) -> None:
    actor, router, state = setup
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    notify.create_channel(actor, {"kind": "webhook", "target": webhook.url + "?token=s3cret", "cooldown_minutes": 0})
    go_down(router, state, T0)
    run(router, state, T0 + timedelta(minutes=5))
    assert webhook.bodies == []  # nothing reached the internal receiver
    error = db.session.scalar(select(Notification.error))
    assert "not a public address" in error and "s3cret" not in error


def test_redirects_are_not_followed(setup: Any, webhook: WebhookReceiver) -> None:
    actor, router, state = setup
    webhook.status = 307
    notify.create_channel(actor, {"kind": "webhook", "target": webhook.url, "cooldown_minutes": 0})
    go_down(router, state, T0)
    run(router, state, T0 + timedelta(minutes=5))
    assert len(webhook.bodies) == 1
    assert "answered 307" in db.session.scalar(select(Notification.error))


def test_a_router_name_with_a_newline_still_mails(setup: Any, smtp: SmtpSink) -> None:
    actor, router, state = setup
    router.name = "edge\r\nBcc: someone@example.com"
    db.session.commit()
    notify.create_channel(actor, {"kind": "email", "target": "noc@example.com", "cooldown_minutes": 0})
    go_down(router, state, T0)
    run(router, state, T0 + timedelta(minutes=5))
    assert len(smtp.messages) == 1
    mail = message_from_bytes(smtp.messages[0][2])
    assert "Bcc" not in mail.keys()  # the name stayed inside the subject line
    assert "edge Bcc: someone@example.com" in " ".join(mail["Subject"].split())
