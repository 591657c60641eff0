"""Availability from the poller's down/up lines and latency samples: uptime % over 24h, 7d and 30d."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture
def recorded(app, user):  # type: ignore[no-untyped-def]
    from webapp.extensions import db
    from webapp.models import MetricPoint, MonitorEvent, PollState, Router, RouterGroup, RouterGroupMember
    from webapp.services import metrics
    from webapp.timeutil import utcnow

    now = utcnow()
    with app.app_context():
        old = Router(user_id=user.id, name="old", host="127.0.0.2", username="a", encrypted_password=b"x",
                     created_at=now - timedelta(days=40))
        new = Router(user_id=user.id, name="new", host="127.0.0.3", username="a", encrypted_password=b"x",
                     created_at=now - timedelta(hours=2))
        never = Router(user_id=user.id, name="never", host="127.0.0.4", username="a", encrypted_password=b"x")
        db.session.add_all([old, new, never])
        db.session.flush()
        group = RouterGroup(user_id=user.id, name="site", description="")
        db.session.add(group)
        db.session.flush()
        db.session.add(RouterGroupMember(router_id=new.id, group_id=group.id))
        db.session.add_all([
            # old: down one hour yesterday-ish (inside 24h), and down two days ago for 6 hours
            MonitorEvent(router_id=old.id, kind="down", message="d", created_at=now - timedelta(hours=5)),
            MonitorEvent(router_id=old.id, kind="up", message="u", created_at=now - timedelta(hours=4)),
            MonitorEvent(router_id=old.id, kind="down", message="d", created_at=now - timedelta(days=2, hours=6)),
            MonitorEvent(router_id=old.id, kind="up", message="u", created_at=now - timedelta(days=2)),
            # new: down for the last 30 minutes and still down
            PollState(router_id=old.id, last_polled_at=now),
            PollState(router_id=new.id, last_polled_at=now, down_since=now - timedelta(minutes=30)),
            MetricPoint(router_id=old.id, name="latency", subject="", ts=metrics.epoch(now) - 60, value=10.0),
            MetricPoint(router_id=old.id, name="latency", subject="", ts=metrics.epoch(now) - 120, value=20.0),
        ])
        db.session.commit()
        return {"old": old.id, "new": new.id, "never": never.id, "group": group.id}


def test_uptime_percentages_and_latency(client, api, recorded) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    old = client.get(f"/routers/{recorded['old']}/availability/", headers=headers).get_json()
    assert old["down_seconds"] == {"24h": 3600, "7d": 3600 + 6 * 3600, "30d": 3600 + 6 * 3600}
    assert old["uptime_pct"]["24h"] == pytest.approx(100 * (1 - 1 / 24), abs=0.01)
    assert old["uptime_pct"]["7d"] == pytest.approx(100 * (1 - 7 / (7 * 24)), abs=0.01)
    assert old["latency_ms_24h"] == 15.0
    new = client.get(f"/routers/{recorded['new']}/availability/", headers=headers).get_json()
    # Added two hours ago, down for the last 30 minutes: 75% of the time it has been watched.
    assert new["uptime_pct"]["30d"] == pytest.approx(75.0, abs=0.1) and new["latency_ms_24h"] is None
    never = client.get(f"/routers/{recorded['never']}/availability/", headers=headers).get_json()
    assert never["uptime_pct"] == {"24h": None, "7d": None, "30d": None}
    fleet = client.get(f"/monitoring/availability/?group={recorded['group']}", headers=headers).get_json()
    assert [row["name"] for row in fleet] == ["new"]
    assert len(client.get("/monitoring/availability/", headers=headers).get_json()) == 3
    assert client.get("/monitoring/availability/?group=x", headers=headers).status_code == 400


def test_availability_on_the_router_page_and_overview(client, html, recorded) -> None:  # type: ignore[no-untyped-def]
    html.login()
    assert "availability_rows" not in client.get("/dashboard/monitoring").get_data(as_text=True)
    assert "/dashboard/availability" in client.get("/dashboard/monitoring").get_data(as_text=True)
    rows = client.get("/dashboard/availability").get_data(as_text=True)
    assert "95.83%" in rows and "15.0 ms" in rows
    one = client.get(f"/dashboard/availability?router_id={recorded['new']}").get_data(as_text=True)
    assert "74.9" in one or "75.0" in one
    monitoring = client.get(f"/dashboard/routers/{recorded['old']}/monitoring").get_data(as_text=True)
    assert f"/dashboard/availability?router_id={recorded['old']}" in monitoring
