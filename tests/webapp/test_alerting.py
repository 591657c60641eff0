"""Incidents, acknowledging many alerts, Telegram and SMS channels (against their loopback simulators), and the
event feed without RouterDeck's own changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulators.africastalking import SmsSimulator
from simulators.telegram import TelegramSimulator
from tests.conftest import csrf_from, make_config

TOKEN = "987654321:AAFtestTokenForTheRouterDeckBot_x"


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramSimulator]:
    with TelegramSimulator(token=TOKEN) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsSimulator]:
    with SmsSimulator(username="routerdeck", api_key="at-key-1") as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path, telegram: TelegramSimulator, sms: SmsSimulator) -> dict[str, Any]:
    return make_config(tmp_path / "alerting.db", TELEGRAM_API_URL=telegram.base_url, SMS_BASE_URL=sms.base_url,
                       SMS_USERNAME="routerdeck", SMS_API_KEY="at-key-1", NOTIFY_TIMEOUT=5.0)


@pytest.fixture
def fleet(app, user):  # type: ignore[no-untyped-def]
    """Three routers of site Kibera, one ungrouped; the site went down at once, one router had high CPU."""
    from webapp.extensions import db
    from webapp.models import Alert, MonitorEvent, Router, RouterGroup, RouterGroupMember
    from webapp.timeutil import utcnow

    now = utcnow()
    with app.app_context():
        group = RouterGroup(user_id=user.id, name="Kibera", description="")
        db.session.add(group)
        db.session.flush()
        ids = []
        for index, name in enumerate(("kb-1", "kb-2", "kb-3", "lone")):
            router = Router(user_id=user.id, name=name, host=f"127.0.0.{index + 2}", username="admin",
                            encrypted_password=b"x")
            db.session.add(router)
            db.session.flush()
            ids.append(router.id)
            if name != "lone":
                db.session.add(RouterGroupMember(router_id=router.id, group_id=group.id))
        alerts = [Alert(user_id=user.id, router_id=rid, kind="offline", severity="critical",
                        message="Router offline for 5 minutes", started_at=now - timedelta(minutes=30 - i))
                  for i, rid in enumerate(ids[:3])]
        alerts.append(Alert(user_id=user.id, router_id=ids[3], kind="offline", severity="critical",
                            message="Router offline for 5 minutes", started_at=now - timedelta(minutes=29)))
        alerts.append(Alert(user_id=user.id, router_id=ids[0], kind="cpu_high", severity="warning",
                            message="CPU above 90%", started_at=now - timedelta(hours=3)))
        db.session.add_all(alerts)
        db.session.add(MonitorEvent(router_id=ids[0], kind="config", created_at=now,
                                    message="Configuration changed through RouterDeck: Ran ip/pool/add"))
        db.session.add(MonitorEvent(router_id=ids[0], kind="down", created_at=now, message="Router went down"))
        db.session.commit()
        return {"routers": ids, "alerts": [a.id for a in alerts], "group": group.id}


def test_a_site_down_is_one_incident_listing_its_routers(client, api, fleet) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    found = client.get("/incidents/", headers=headers).get_json()
    by_title = {incident["title"]: incident for incident in found}
    site = by_title["3 routers offline at Kibera"]
    assert site["routers"] == ["kb-1", "kb-2", "kb-3"] and site["group_id"] == fleet["group"]
    assert site["state"] == "active" and len(site["alerts"]) == 3
    assert "lone: Router offline for 5 minutes" in by_title and "kb-1: CPU above 90%" in by_title
    assert len(found) == 3


def test_acknowledge_one_incident_many_alerts_or_all(client, api, fleet) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    site = next(i for i in client.get("/incidents/", headers=headers).get_json() if i["group_id"])
    one = client.post("/alerts/acknowledge/", json={"incident_id": site["id"], "note": "power cut"}, headers=headers)
    assert one.get_json()["acknowledged"] == 3
    again = client.post("/alerts/acknowledge/", json={"incident_id": site["id"]}, headers=headers)
    assert again.get_json()["acknowledged"] == 0
    lone, cpu = fleet["alerts"][3], fleet["alerts"][4]
    assert client.post("/alerts/acknowledge/", json={"alert_ids": [lone]}, headers=headers).get_json() == {
        "acknowledged": 1, "message": "1 alert(s) acknowledged"}
    assert client.post("/alerts/acknowledge/", json={"all": True}, headers=headers).get_json()["acknowledged"] == 1
    states = {a["id"]: a["state"] for a in client.get("/alerts/?state=open", headers=headers).get_json()["results"]}
    assert set(states.values()) == {"acknowledged"} and cpu in states
    assert client.get(f"/alerts/{fleet['alerts'][0]}/", headers=headers).get_json()["note"] == "power cut"
    assert client.post("/alerts/acknowledge/", json={}, headers=headers).get_json()["acknowledged"] == 0
    assert client.post("/alerts/acknowledge/", json={"alert_ids": [999999]}, headers=headers).status_code == 404


def test_another_user_cannot_touch_these_alerts(client, api, fleet, other_user) -> None:  # type: ignore[no-untyped-def]
    theirs = api.headers("mallory")
    assert client.get("/incidents/", headers=theirs).get_json() == []
    assert client.post("/alerts/acknowledge/", json={"all": True}, headers=theirs).get_json()["acknowledged"] == 0
    assert client.post("/alerts/acknowledge/", json={"alert_ids": [fleet["alerts"][0]]},
                       headers=theirs).status_code == 404


def test_telegram_and_sms_channels_deliver_through_their_providers(client, api, fleet, telegram, sms, app) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    bad = client.post("/notification-channels/", json={"kind": "telegram", "target": "12345"}, headers=headers)
    assert bad.status_code == 400
    made = client.post("/notification-channels/", json={"kind": "telegram", "target": "424242", "secret": TOKEN,
                                                        "cooldown_minutes": 0}, headers=headers)
    assert made.status_code == 201 and TOKEN not in made.get_data(as_text=True)
    tg_id = made.get_json()["id"]
    phone = client.post("/notification-channels/", json={"kind": "sms", "target": "+254711000111"}, headers=headers)
    assert phone.status_code == 201
    assert client.post(f"/notification-channels/{tg_id}/test/", headers=headers).get_json() == {"ok": True,
                                                                                             "error": None}
    assert telegram.messages()[-1].chat_id == "424242"
    with app.app_context():
        from webapp.extensions import db
        from webapp.models import Alert
        from webapp.services import notify
        from webapp.timeutil import utcnow

        alert = db.session.get(Alert, fleet["alerts"][0])
        assert notify.deliver(alert, "fired", utcnow()) == 2
    assert "kb-1" in telegram.messages()[-1].text and "CRITICAL" in telegram.messages()[-1].text
    texts = [message["message"] for message in sms.messages()]
    assert any("Router offline" in text for text in texts)
    telegram.set_chat("424242", "blocked")
    try:
        result = client.post(f"/notification-channels/{tg_id}/test/", headers=headers).get_json()
    finally:
        telegram.set_chat("424242", "ok")
    assert result["ok"] is False and "blocked" in result["error"] and TOKEN not in result["error"]
    listed = client.get("/notification-channels/", headers=headers).get_data(as_text=True)
    assert TOKEN not in listed


def test_sms_without_a_provider_account_fails_cleanly(client, api, app, fleet) -> None:  # type: ignore[no-untyped-def]
    app.config["SMS_API_KEY"] = None
    headers = api.headers()
    phone = client.post("/notification-channels/", json={"kind": "sms", "target": "+254711000222"}, headers=headers)
    result = client.post(f"/notification-channels/{phone.get_json()['id']}/test/", headers=headers).get_json()
    assert result["ok"] is False and "SMS_API_KEY" in result["error"]


def test_event_feed_hides_routerdecks_own_changes_unless_asked(client, api, html, fleet) -> None:  # type: ignore[no-untyped-def]
    rid = fleet["routers"][0]
    headers = api.headers()
    everything = client.get(f"/routers/{rid}/events/", headers=headers).get_json()["results"]
    assert {e["kind"] for e in everything} == {"config", "down"}
    mine_hidden = client.get(f"/routers/{rid}/events/?include_own=false", headers=headers).get_json()["results"]
    assert [e["kind"] for e in mine_hidden] == ["down"]
    html.login()
    feed = client.get(f"/dashboard/routers/{rid}/monitoring/events").get_data(as_text=True)
    assert "Router went down" in feed and "changed through RouterDeck" not in feed
    with_own = client.get(f"/dashboard/routers/{rid}/monitoring/events?own=1").get_data(as_text=True)
    assert "changed through RouterDeck" in with_own
    only_config = client.get(f"/dashboard/routers/{rid}/monitoring/events?own=1&kind=config").get_data(as_text=True)
    assert "Router went down" not in only_config


def _post(client: FlaskClient, page: str, url: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_dashboard_incidents_and_alert_settings(client, html, fleet, telegram) -> None:  # type: ignore[no-untyped-def]
    html.login()
    page = client.get("/dashboard/incidents").get_data(as_text=True)
    assert "3 routers offline at Kibera" in page and page.count('data-testid="incident"') == 3
    selected = _post(client, "/dashboard/incidents", "/dashboard/incidents/acknowledge",
                     {"scope": "selected", "alert_id": [str(fleet["alerts"][3])]})
    assert selected.status_code == 303
    all_done = _post(client, "/dashboard/incidents", "/dashboard/incidents/acknowledge", {"scope": "all"})
    assert all_done.status_code == 303
    assert 'data-testid="ack-incident' not in client.get("/dashboard/incidents").get_data(as_text=True)

    settings = "/dashboard/alert-settings"
    assert _post(client, settings, f"{settings}/rules", {"kind": "cpu_high", "router_id": "", "threshold": "150",
                                                          "duration_minutes": "5"}).status_code == 422
    saved = _post(client, settings, f"{settings}/rules", {"kind": "cpu_high", "router_id": str(fleet["routers"][1]),
                                                          "threshold": "75", "duration_minutes": "10",
                                                          "enabled": "y"})
    assert saved.status_code == 303
    text = client.get(settings).get_data(as_text=True)
    assert "kb-2" in text and "75.0" in text
    wrong = _post(client, settings, f"{settings}/channels", {"kind": "telegram", "target": "424242", "secret": "nope",
                                                             "cooldown_minutes": "0"})
    assert wrong.status_code == 422 and "bot token" in wrong.get_data(as_text=True)
    added = _post(client, settings, f"{settings}/channels", {"kind": "telegram", "target": "424242", "secret": TOKEN,
                                                             "cooldown_minutes": "0"})
    assert added.status_code == 303
    listing = client.get(settings).get_data(as_text=True)
    assert TOKEN not in listing
    channel_id = int(listing.split('data-testid="test-channel-')[1].split('"')[0])
    tested = _post(client, settings, f"{settings}/channels/{channel_id}/test", {})
    assert "Test message sent." in tested.get_data(as_text=True)
