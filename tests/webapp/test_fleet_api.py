"""Groups, tags and configuration history over the JSON API, against simulated routers on both protocols."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config

PASSWORD = "fleet-pass-1"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name="site-a-1", version="7.16.1", password=PASSWORD),
             RouterSpec(name="site-a-2", version="7.16.1", password=PASSWORD),
             RouterSpec(name="site-b-1", version="6.49.7", password=PASSWORD, board="CHR")]
    with Simulator(specs, seed=5) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "fleet.db", ROUTER_TIMEOUT=3)


@pytest.fixture
def headers(api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return api.headers()


def add(client, headers, sim_router, protocol: str = "api", **extra: Any) -> int:  # type: ignore[no-untyped-def]
    port = {"api": sim_router.api_port, "rest": sim_router.rest_port}[protocol]
    body = {"name": f"{sim_router.name}-{protocol}", "host": sim_router.host, "username": "admin",
            "password": PASSWORD, "port": port, "protocol": protocol, **extra}
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_groups_crud_and_membership(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/groups/", json={"name": "Kibera", "description": "rooftops"}, headers=headers)
    assert created.status_code == 201
    group = created.get_json()
    assert group["router_count"] == 0 and group["backup_hour_utc"] == 2 and group["poll_interval_seconds"] is None
    assert client.post("/groups/", json={"name": "Kibera"}, headers=headers).status_code == 409
    rid = add(client, headers, sim.router("site-a-1"), group_id=group["id"], tags=["solar", "rooftop", "solar"])
    router = client.get(f"/routers/{rid}/", headers=headers).get_json()
    assert router["group_id"] == group["id"] and router["tags"] == ["rooftop", "solar"]
    assert client.get(f"/groups/{group['id']}/", headers=headers).get_json()["router_count"] == 1
    changed = client.patch(f"/groups/{group['id']}/", json={"name": "Kibera East", "poll_interval_seconds": 120},
                           headers=headers)
    assert changed.status_code == 200 and changed.get_json()["name"] == "Kibera East"
    too_fast = client.patch(f"/groups/{group['id']}/", json={"poll_interval_seconds": 3}, headers=headers)
    assert too_fast.status_code == 400
    assert client.patch(f"/groups/{group['id']}/", json={"name": None}, headers=headers).status_code == 400
    gone = client.delete(f"/groups/{group['id']}/", headers=headers)
    assert gone.status_code == 200
    assert client.get(f"/routers/{rid}/", headers=headers).get_json()["group_id"] is None
    assert client.get(f"/groups/{group['id']}/", headers=headers).status_code == 404


def test_group_poll_interval_is_written_through_to_its_routers(client, headers, sim, app) -> None:  # type: ignore[no-untyped-def]
    from webapp.extensions import db
    from webapp.models import PollState

    group = client.post("/groups/", json={"name": "slow", "poll_interval_seconds": 600}, headers=headers).get_json()
    rid = add(client, headers, sim.router("site-a-2"), group_id=group["id"])
    with app.app_context():
        assert db.session.get(PollState, rid).interval_seconds == 600
    client.put(f"/groups/{group['id']}/", json={"poll_interval_seconds": 60}, headers=headers)
    with app.app_context():
        assert db.session.get(PollState, rid).interval_seconds == 60


def test_router_list_filters_by_group_and_tag(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    a = client.post("/groups/", json={"name": "A"}, headers=headers).get_json()["id"]
    b = client.post("/groups/", json={"name": "B"}, headers=headers).get_json()["id"]
    a1 = add(client, headers, sim.router("site-a-1"), group_id=a, tags=["solar"])
    a2 = add(client, headers, sim.router("site-a-2"), group_id=a)
    b1 = add(client, headers, sim.router("site-b-1"), group_id=b, tags=["solar"])
    ids = lambda query: sorted(r["id"] for r in client.get(f"/routers/{query}", headers=headers).get_json())  # noqa: E731
    assert ids(f"?group={a}") == [a1, a2]
    assert ids("?tag=solar") == [a1, b1]
    assert ids(f"?group={a}&tag=solar") == [a1]
    paged = client.get(f"/routers/?group={b}&page=1", headers=headers).get_json()
    assert paged["count"] == 1 and paged["results"][0]["tags"] == ["solar"]
    assert client.get("/routers/?group=abc", headers=headers).status_code == 400
    plain = client.get("/routers/", headers=headers).get_json()
    assert {"group_id", "tags"} <= set(plain[0]) and len(plain) == 3
    assert client.patch(f"/routers/{a2}/", json={"tags": ["bad tag!"]}, headers=headers).status_code == 400
    assert client.patch(f"/routers/{a2}/", json={"group_id": 999999}, headers=headers).status_code == 404
    assert client.get("/routers/?tag=" + "x" * 51, headers=headers).status_code == 400
    assert client.patch(f"/routers/{a2}/", json={"group_id": float(b)}, headers=headers).get_json()["group_id"] == b
    client.patch(f"/routers/{a2}/", json={"group_id": a}, headers=headers)
    client.patch(f"/routers/{a2}/", json={"group_id": None, "tags": ["x"]}, headers=headers)
    assert ids(f"?group={a}") == [a1] and ids("?tag=x") == [a2]


def test_another_users_groups_are_invisible(client, headers, api, other_user) -> None:  # type: ignore[no-untyped-def]
    group = client.post("/groups/", json={"name": "mine"}, headers=headers).get_json()["id"]
    theirs = api.headers("mallory")
    assert client.get(f"/groups/{group}/", headers=theirs).status_code == 404
    assert client.delete(f"/groups/{group}/", headers=theirs).status_code == 404
    assert client.get("/groups/", headers=theirs).get_json() == []
    assert client.post("/routers/", json={"name": "x", "host": "127.0.0.1", "username": "a", "password": "b",
                                          "group_id": group}, headers=theirs).status_code == 404


@pytest.mark.parametrize("protocol", ["api", "rest"])
def test_config_versions_dedupe_and_diff(client, headers, sim, protocol: str) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("site-a-1")
    rid = add(client, headers, sim_router, protocol)
    first = client.post(f"/routers/{rid}/config-versions/", headers=headers)
    assert first.status_code == 201, first.get_json()
    v1 = first.get_json()["version"]
    assert first.get_json()["created"] is True and v1["trigger"] == "manual"
    again = client.post(f"/routers/{rid}/config-versions/", headers=headers)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["version"]["id"] == v1["id"]
    sim_router.execute("/ip/pool/add", {"name": f"diff-{protocol}", "ranges": "10.66.0.2-10.66.0.9"})
    second = client.post(f"/routers/{rid}/config-versions/", headers=headers).get_json()
    v2 = second["version"]
    assert second["created"] is True and v2["id"] > v1["id"]
    listing = client.get(f"/routers/{rid}/config-versions/", headers=headers).get_json()
    assert [v["id"] for v in listing["results"]] == [v2["id"], v1["id"]] and listing["count"] == 2
    detail = client.get(f"/routers/{rid}/config-versions/{v2['id']}/", headers=headers).get_json()
    assert f"name=diff-{protocol}" in detail["content"] and "by RouterOS 7.16.1" in detail["content"]
    diff = client.get(f"/routers/{rid}/config-versions/{v2['id']}/diff/?against={v1['id']}", headers=headers)
    body = diff.get_json()
    assert diff.status_code == 200 and body["added"] == 1 and body["removed"] == 0 and not body["identical"]
    assert f"+add name=diff-{protocol} ranges=10.66.0.2-10.66.0.9" in body["diff"]
    rsc = client.get(f"/routers/{rid}/config-versions/{v2['id']}/?format=rsc", headers=headers)
    assert rsc.mimetype == "text/plain" and "attachment" in rsc.headers["Content-Disposition"]
    assert rsc.headers["Content-Disposition"].endswith('.rsc"') and rsc.get_data(as_text=True) == detail["content"]
    assert not any(name.startswith("routerdeck-export") for name in
                   (row["name"] for row in sim_router.execute("/file/print")))


def test_secrets_never_reach_the_history_on_v6_or_v7(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    for name in ("site-a-2", "site-b-1"):
        rid = add(client, headers, sim.router(name))
        version = client.post(f"/routers/{rid}/config-versions/", headers=headers).get_json()["version"]
        content = client.get(f"/routers/{rid}/config-versions/{version['id']}/", headers=headers).get_json()["content"]
        assert "vpn-office" in content and "vpn-secret-1" not in content


def test_diff_between_two_routers_and_bad_input(client, headers, sim, api, other_user) -> None:  # type: ignore[no-untyped-def]
    a = add(client, headers, sim.router("site-a-1"))
    b = add(client, headers, sim.router("site-a-2"))
    va = client.post(f"/routers/{a}/config-versions/", headers=headers).get_json()["version"]["id"]
    vb = client.post(f"/routers/{b}/config-versions/", headers=headers).get_json()["version"]["id"]
    body = client.get(f"/routers/{b}/config-versions/{vb}/diff/?against={va}", headers=headers).get_json()
    assert body["against_router_id"] == a
    assert "-set name=site-a-1" in body["diff"] and "+set name=site-a-2" in body["diff"]
    assert client.get(f"/routers/{b}/config-versions/{vb}/diff/", headers=headers).get_json()["identical"] is True
    assert client.get(f"/routers/{b}/config-versions/{vb}/diff/?against=x", headers=headers).status_code == 400
    assert client.get(f"/routers/{b}/config-versions/{vb}/diff/?against=999", headers=headers).status_code == 404
    assert client.get(f"/routers/{a}/config-versions/{vb}/", headers=headers).status_code == 404
    assert client.get(f"/routers/{a}/config-versions/{va}/?format=pdf", headers=headers).status_code == 400
    theirs = api.headers("mallory")
    assert client.get(f"/routers/{a}/config-versions/", headers=theirs).status_code == 404
    assert client.post(f"/routers/{a}/config-versions/", headers=theirs).status_code == 404


def test_snapshot_of_a_down_router_is_502_and_stores_nothing(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("site-a-2")
    rid = add(client, headers, sim_router)
    sim_router.set_fault("refuse")
    try:
        response = client.post(f"/routers/{rid}/config-versions/", headers=headers)
    finally:
        sim_router.clear_faults()
    assert response.status_code == 502 and response.get_json()["reason"] == "unreachable"
    assert client.get(f"/routers/{rid}/config-versions/", headers=headers).get_json()["count"] == 0
    assert client.get(f"/routers/{rid}/", headers=headers).get_json()["is_online"] is False


def test_daily_backup_per_group_schedule(client, headers, sim, app) -> None:  # type: ignore[no-untyped-def]
    from webapp.services import configs
    from webapp.timeutil import utcnow

    now = utcnow()
    group = client.post("/groups/", json={"name": "nightly", "backup_hour_utc": now.hour},
                        headers=headers).get_json()
    off = client.post("/groups/", json={"name": "manual-only", "backup_hour_utc": None}, headers=headers).get_json()
    rid = add(client, headers, sim.router("site-a-1"), group_id=group["id"])
    add(client, headers, sim.router("site-a-2"), group_id=off["id"])
    add(client, headers, sim.router("site-b-1"))
    with app.app_context():
        assert [r for r, _ in configs.due_for_daily_backup(now)] == [rid]
        assert configs.run_daily_backups(now) == {"stored": 1, "unchanged": 0, "failed": 0}
        assert configs.due_for_daily_backup(now) == []
    versions = client.get(f"/routers/{rid}/config-versions/", headers=headers).get_json()["results"]
    assert [v["trigger"] for v in versions] == ["schedule"]
