"""Dashboard pages for groups, tags and configuration history (CSRF on, simulated routers over real sockets)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import csrf_from, make_config

PASSWORD = "dash-pass-1"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator([RouterSpec(name="edge-1", password=PASSWORD), RouterSpec(name="edge-2", password=PASSWORD)],
                   seed=9) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "fleetdash.db", ROUTER_TIMEOUT=3)


@pytest.fixture
def logged_in(client: FlaskClient, html, user) -> FlaskClient:  # type: ignore[no-untyped-def]
    html.login()
    return client


def _post(client: FlaskClient, page: str, url: str, data: dict[str, Any]):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _add_router(client: FlaskClient, sim_router, **extra: Any) -> int:  # type: ignore[no-untyped-def]
    response = _post(client, "/dashboard/routers/new", "/dashboard/routers/new", {
        "name": sim_router.name, "host": sim_router.host, "port": sim_router.api_port, "protocol": "api",
        "username": "admin", "password": PASSWORD, **extra})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_group_pages_and_router_membership(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    bad = _post(logged_in, "/dashboard/groups", "/dashboard/groups", {"name": "", "backup_hour_utc": "30"})
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    created = _post(logged_in, "/dashboard/groups", "/dashboard/groups",
                    {"name": "Mathare", "description": "hill", "poll_interval_seconds": "120", "backup_hour_utc": "4"})
    assert created.status_code == 303
    group_url = created.headers["Location"]
    group_id = int(group_url.rsplit("/", 1)[1])
    duplicate = _post(logged_in, "/dashboard/groups", "/dashboard/groups", {"name": "Mathare"})
    assert duplicate.status_code == 422 and "already used" in duplicate.get_data(as_text=True)
    rid = _add_router(logged_in, sim.router("edge-1"), group_id=str(group_id), tags="solar, rooftop")
    _add_router(logged_in, sim.router("edge-2"), tags="solar")
    page = logged_in.get(group_url).get_data(as_text=True).split('data-testid="group-members"')[1]
    assert "edge-1" in page and "edge-2" not in page and "rooftop" in page
    listing = logged_in.get("/dashboard/groups").get_data(as_text=True)
    assert "Mathare" in listing and "04:00 UTC" in listing and "120 s" in listing
    filtered = logged_in.get(f"/dashboard/routers/rows?group={group_id}").get_data(as_text=True)
    assert "edge-1" in filtered and "edge-2" not in filtered
    tagged = logged_in.get("/dashboard/routers/rows?tag=solar").get_data(as_text=True)
    assert "edge-1" in tagged and "edge-2" in tagged
    edit = logged_in.get(f"/dashboard/routers/{rid}/edit").get_data(as_text=True)
    assert f'<option selected value="{group_id}">' in edit and 'value="rooftop, solar"' in edit
    saved = _post(logged_in, group_url, group_url, {"name": "Mathare North", "backup_hour_utc": ""})
    assert saved.status_code == 303
    assert "off" in logged_in.get("/dashboard/groups").get_data(as_text=True)
    deleted = _post(logged_in, group_url, f"{group_url}/delete", {})
    assert deleted.status_code == 303 and logged_in.get(group_url).status_code == 404


def test_configuration_history_page_export_diff_and_download(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("edge-1")
    rid = _add_router(logged_in, sim_router)
    history = f"/dashboard/routers/{rid}/configs"
    assert "No versions yet" in logged_in.get(history).get_data(as_text=True)
    first = _post(logged_in, history, history, {})
    assert first.status_code == 303
    sim_router.execute("/ip/pool/add", {"name": "dash-pool", "ranges": "10.55.0.2-10.55.0.9"})
    assert _post(logged_in, history, history, {}).status_code == 303
    page = logged_in.get(history).get_data(as_text=True)
    versions = [int(part.split('"')[0]) for part in page.split(f"/dashboard/routers/{rid}/configs/")[1:]
                if part.split('"')[0].isdigit()]
    newest, oldest = max(versions), min(versions)
    diff = logged_in.get(f"{history}/{newest}").get_data(as_text=True)
    assert "<ins>+add name=dash-pool ranges=10.55.0.2-10.55.0.9" in diff
    identical = logged_in.get(f"{history}/{newest}?against={newest}").get_data(as_text=True)
    assert "No difference" in identical
    download = logged_in.get(f"{history}/{oldest}.rsc")
    assert download.mimetype == "text/plain" and "dash-pool" not in download.get_data(as_text=True)
    sim_router.set_fault("refuse")
    try:
        failed = _post(logged_in, history, history, {})
    finally:
        sim_router.clear_faults()
    assert failed.status_code == 502 and 'data-testid="snapshot-error"' in failed.get_data(as_text=True)


def test_another_owners_configuration_is_404(logged_in: FlaskClient, client, sim, app, other_user) -> None:  # type: ignore[no-untyped-def]
    rid = _add_router(logged_in, sim.router("edge-2"))
    token = csrf_from(logged_in.get("/dashboard/groups").get_data(as_text=True))
    logged_in.post("/dashboard/logout", data={"csrf_token": token})
    from tests.conftest import HtmlAuth

    HtmlAuth(client).login("mallory")
    assert client.get(f"/dashboard/routers/{rid}/configs").status_code == 404


def test_safe_change_form_applies_and_lists_the_change(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("edge-2")
    rid = _add_router(logged_in, sim_router)
    page = f"/dashboard/routers/{rid}/configs"
    refused = _post(logged_in, page, f"/dashboard/routers/{rid}/safe-changes",
                    {"command": "system/reboot", "method": "POST", "data": "", "rollback_minutes": "5", "confirm": "y"})
    assert refused.status_code == 422 and "no automatic undo" in refused.get_data(as_text=True)
    applied = _post(logged_in, page, f"/dashboard/routers/{rid}/safe-changes",
                    {"command": "system/identity/set", "method": "PUT", "data": "name=edge-2b",
                     "rollback_minutes": "3"})
    assert applied.status_code == 303
    assert sim_router.execute("/system/identity/print")[0]["name"] == "edge-2b"
    listing = logged_in.get(page).get_data(as_text=True).split('data-testid="safe-changes"')[1]
    assert "confirmed" in listing and "/system identity set name=edge-2" in listing
    sim_router.execute("/system/identity/set", {"name": "edge-2"})


def test_onboarding_page_makes_a_script_that_the_router_accepts(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    assert "onboard-link" in logged_in.get("/dashboard/routers/new").get_data(as_text=True)
    bad = _post(logged_in, "/dashboard/routers/onboard", "/dashboard/routers/onboard",
                {"routerdeck_address": "nowhere", "protocol": "api", "routeros_major": "7"})
    assert bad.status_code == 422
    made = _post(logged_in, "/dashboard/routers/onboard", "/dashboard/routers/onboard",
                 {"routerdeck_address": "127.0.0.1", "protocol": "api", "routeros_major": "7", "identity": ""})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    html = made.get_data(as_text=True)
    script = html.split('data-testid="onboard-script">')[1].split("</pre>")[0]
    import html as html_module

    sim.router("edge-1").run_script(html_module.unescape(script))
    assert any(r["name"] == "routerdeck" for r in sim.router("edge-1").execute("/user/print"))


def test_credential_profiles_page_and_router_form(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    page = "/dashboard/credentials"
    assert _post(logged_in, page, page, {"name": "", "username": "", "password": ""}).status_code == 422
    assert _post(logged_in, page, page, {"name": "ops", "username": "admin", "password": PASSWORD}).status_code == 303
    listing = logged_in.get(page).get_data(as_text=True)
    assert "ops" in listing and PASSWORD not in listing
    form = logged_in.get("/dashboard/routers/new").get_data(as_text=True)
    profile_id = form.split('name="credential_profile_id"')[1].split("ops (admin)")[0].rsplit('value="', 1)[1]
    profile_id = profile_id.split('"')[0]
    sim_router = sim.router("edge-1")
    rid = _add_router(logged_in, sim_router, password="", credential_profile_id=profile_id)
    edit = logged_in.get(f"/dashboard/routers/{rid}/edit").get_data(as_text=True)
    assert f'<option selected value="{profile_id}">ops (admin)</option>' in edit
    assert _post(logged_in, page, f"{page}/{profile_id}/delete", {}).status_code == 303


def test_group_page_checks_and_shows_routeros_versions(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    created = _post(logged_in, "/dashboard/groups", "/dashboard/groups", {"name": "versions", "backup_hour_utc": ""})
    group_url = created.headers["Location"]
    _add_router(logged_in, sim.router("edge-1"), group_id=group_url.rsplit("/", 1)[1])
    page = logged_in.get(group_url).get_data(as_text=True)
    assert "never" in page.split('data-testid="versions"')[1], page.split('data-testid="group-members"')[1][:800]
    assert _post(logged_in, group_url, f"{group_url}/upgrade-check", {}).status_code == 303
    table = logged_in.get(group_url).get_data(as_text=True).split('data-testid="versions"')[1].split("</table>")[0]
    assert "7.16.1" in table and "7.16.2" in table and "badge-pending" in table
def test_run_a_command_on_a_group_from_its_page(logged_in: FlaskClient, sim) -> None:  # type: ignore[no-untyped-def]
    created = _post(logged_in, "/dashboard/groups", "/dashboard/groups", {"name": "bulk site", "backup_hour_utc": ""})
    group_url = created.headers["Location"]
    group_id = group_url.rsplit("/", 1)[1]
    for name in ("edge-1", "edge-2"):
        _add_router(logged_in, sim.router(name), group_id=group_id)
    refused = _post(logged_in, group_url, f"{group_url}/command", {"command": "system/reboot", "method": "POST",
                                                                   "concurrency": "2"})
    assert refused.status_code == 422 and 'data-testid="bulk-error"' in refused.get_data(as_text=True)
    ran = _post(logged_in, group_url, f"{group_url}/command", {"command": "system/identity", "method": "GET",
                                                               "concurrency": "2"})
    assert ran.status_code == 303 and "/dashboard/jobs/" in ran.headers["Location"]
    job_page = logged_in.get(ran.headers["Location"]).get_data(as_text=True)
    assert "commands.bulk" in job_page or "succeeded" in job_page
