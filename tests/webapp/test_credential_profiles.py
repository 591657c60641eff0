"""Credential profiles: shared, encrypted, write-only credentials that routers (and group defaults) follow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator([RouterSpec(name="shared-1", password="first-pass"),
                    RouterSpec(name="shared-2", password="first-pass")], seed=21) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "creds.db", ROUTER_TIMEOUT=3)


def test_routers_follow_a_profile_and_its_changes(client, api, sim, app) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    made = client.post("/credential-profiles/", json={"name": "fleet admin", "username": "admin",
                                                       "password": "first-pass"}, headers=headers)
    assert made.status_code == 201 and "first-pass" not in made.get_data(as_text=True)
    profile = made.get_json()
    assert client.post("/credential-profiles/", json={"name": "fleet admin", "username": "x", "password": "y"},
                       headers=headers).status_code == 409
    one = sim.router("shared-1")
    rid = client.post("/routers/", json={"name": "s1", "host": one.host, "port": one.api_port, "protocol": "api",
                                         "username": "ignored", "credential_profile_id": profile["id"]},
                      headers=headers).get_json()
    assert rid["credential_profile_id"] == profile["id"] and rid["username"] == "admin"
    assert client.post(f"/routers/{rid['id']}/test-connection/", headers=headers).get_json()["is_online"] is True
    assert client.post("/routers/", json={"name": "nopass", "host": one.host, "username": "a"},
                       headers=headers).status_code == 400

    group = client.post("/groups/", json={"name": "shared", "credential_profile_id": profile["id"]},
                        headers=headers).get_json()
    assert group["credential_profile_id"] == profile["id"]
    two = sim.router("shared-2")
    other = client.post("/routers/", json={"name": "s2", "host": two.host, "port": two.api_port, "protocol": "api",
                                           "username": "admin", "password": "wrong", "group_id": group["id"]},
                        headers=headers).get_json()
    assert other["credential_profile_id"] == profile["id"]
    assert client.post(f"/routers/{other['id']}/test-connection/", headers=headers).get_json()["is_online"] is True

    for sim_router in (one, two):  # the routers' password changes, then the profile follows
        sim_router.execute("/user/set", {"numbers": "admin", "password": "second-pass"})
    assert client.post(f"/routers/{rid['id']}/test-connection/", headers=headers).get_json()["reason"] == "auth"
    changed = client.patch(f"/credential-profiles/{profile['id']}/", json={"password": "second-pass"},
                           headers=headers)
    assert changed.status_code == 200 and changed.get_json()["router_count"] == 2
    for router_id in (rid["id"], other["id"]):
        assert client.post(f"/routers/{router_id}/test-connection/", headers=headers).get_json()["is_online"] is True
    listing = client.get("/credential-profiles/", headers=headers).get_data(as_text=True)
    assert "second-pass" not in listing and "first-pass" not in listing
    with app.app_context():
        from webapp.extensions import db
        from webapp.models import AuditEvent

        assert all("second-pass" not in str(e.details) for e in db.session.query(AuditEvent).all())
    gone = client.delete(f"/credential-profiles/{profile['id']}/", headers=headers)
    assert gone.status_code == 200
    after = client.get(f"/routers/{rid['id']}/", headers=headers).get_json()
    assert after["credential_profile_id"] is None
    assert client.post(f"/routers/{rid['id']}/test-connection/", headers=headers).get_json()["is_online"] is True


def test_profiles_are_private(client, api, other_user) -> None:  # type: ignore[no-untyped-def]
    profile = client.post("/credential-profiles/", json={"name": "mine", "username": "a", "password": "b"},
                          headers=api.headers()).get_json()
    theirs = api.headers("mallory")
    assert client.get(f"/credential-profiles/{profile['id']}/", headers=theirs).status_code == 404
    assert client.post("/routers/", json={"name": "x", "host": "127.0.0.1", "username": "a",
                                          "credential_profile_id": profile["id"]}, headers=theirs).status_code == 404
