"""The security review's findings, each as a test: teams and roles, sessions that end, login limits that cannot
lock the owner out, audited writes and logins, and the headers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.conftest import PASSWORD, HtmlAuth, csrf_from, make_config
from webapp.extensions import db
from webapp.models import AuditEvent, LoginFailure, Package, Router, User, Voucher, VoucherBatch
from webapp.services import accounts, hotspot_sync, routers, teams
from webapp.services.accounts import BACKOFF_AFTER
from webapp.timeutil import utcnow

TERMS = {"package_name": "Hour", "price": Decimal("20.00"), "currency": "KES", "duration_minutes": 60,
         "download_speed_mbps": 2, "upload_speed_mbps": 1}
NEW_PASSWORD = "a brand new passphrase"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client: FlaskClient, username: str = "alice", password: str = PASSWORD, **kwargs: Any) -> Any:
    return client.post("/users/login/", json={"username": username, "password": password}, **kwargs)


def _actions(app: Flask) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.outcome, e.actor_name) for e in events]


@pytest.fixture
def team(app: Flask, user: SimpleNamespace) -> SimpleNamespace:
    """Alice owns two routers; her cashier works on the first only; an operator and a viewer see both."""
    with app.app_context():
        owner = db.session.get(User, user.id)
        assert owner is not None
        first = routers.create_router(owner, {"name": "Shop", "host": "127.0.0.1", "port": 9, "username": "admin",
                                              "password": "pw", "protocol": "api"})
        second = routers.create_router(owner, {"name": "Depot", "host": "127.0.0.1", "port": 9,
                                               "username": "admin", "password": "pw", "protocol": "api"})
        ids = {}
        for role in ("operator", "cashier", "viewer"):
            made = teams.create_member(owner, {"username": f"alice-{role}", "password": PASSWORD, "role": role,
                                               "router_ids": [first.id] if role == "cashier" else []})
            ids[role] = made.member.id
        return SimpleNamespace(first=first.id, second=second.id, **ids)


class TestTeams:
    def test_owner_manages_members_over_json(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        owner = api.headers()
        listed = client.get("/team/members/", headers=owner).get_json()
        assert {m["username"]: m["role"] for m in listed} == {
            "alice-operator": "operator", "alice-cashier": "cashier", "alice-viewer": "viewer"}
        created = client.post("/team/members/", headers=owner, json={
            "username": "bob", "email": "bob@example.com", "password": PASSWORD, "role": "cashier",
            "router_ids": [team.second]})
        assert created.status_code == 201, created.get_json()
        bob = created.get_json()
        assert bob["router_ids"] == [team.second] and "invitation_url" not in bob
        assert client.get(f"/team/members/{bob['id']}/", headers=owner).get_json()["username"] == "bob"
        changed = client.patch(f"/team/members/{bob['id']}/", headers=owner, json={"role": "viewer"})
        assert changed.get_json()["role"] == "viewer" and changed.get_json()["router_ids"] == []
        assert client.delete(f"/team/members/{bob['id']}/", headers=owner).status_code == 200
        assert client.get(f"/team/members/{bob['id']}/", headers=owner).status_code == 404

    def test_bad_member_input_is_400_or_409(self, client: FlaskClient, api, team, other_user) -> None:  # type: ignore[no-untyped-def]
        owner = api.headers()
        bad_role = client.post("/team/members/", headers=owner, json={"username": "carol", "role": "owner"})
        assert bad_role.status_code == 400
        taken = client.post("/team/members/", headers=owner, json={"username": "mallory", "role": "viewer"})
        assert taken.status_code == 409
        with client.application.app_context():
            theirs = routers.create_router(db.session.get(User, other_user.id), {
                "name": "Theirs", "host": "127.0.0.1", "username": "a", "password": "p"}).id
        foreign = client.post("/team/members/", headers=owner,
                              json={"username": "carol", "role": "cashier", "router_ids": [theirs]})
        assert foreign.status_code == 400 and "router_ids" in foreign.get_json()["fields"]

    def test_invitation_link_sets_the_password_once(self, client: FlaskClient, api, html: HtmlAuth, team) -> None:  # type: ignore[no-untyped-def]
        created = client.post("/team/members/", headers=api.headers(), json={"username": "dave", "role": "viewer"})
        link = created.get_json()["invitation_url"]
        path = link.split("localhost", 1)[1]
        assert _login(client, "dave", NEW_PASSWORD).status_code == 401
        page = client.get(path)
        assert page.status_code == 200 and "viewer" in page.get_data(as_text=True)
        token = csrf_from(page.get_data(as_text=True))
        assert client.post(path, data={"new_password": NEW_PASSWORD, "csrf_token": token}).status_code == 302
        assert _login(client, "dave", NEW_PASSWORD).status_code == 200
        assert client.get(path).status_code == 404  # used

    def test_staff_cannot_manage_the_team(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        operator = api.headers("alice-operator")
        assert client.get("/team/members/", headers=operator).status_code == 403
        assert client.post("/team/members/", headers=operator, json={"username": "x1y", "role": "viewer"}
                           ).status_code == 403

    def test_cashier_sees_only_assigned_routers_and_cannot_use_the_console(self, client: FlaskClient, api,  # type: ignore[no-untyped-def]
                                                                           team) -> None:
        cashier = api.headers("alice-cashier")
        assert [r["id"] for r in client.get("/routers/", headers=cashier).get_json()] == [team.first]
        assert client.get(f"/routers/{team.second}/", headers=cashier).status_code == 404
        console = client.post(f"/routers/{team.first}/execute-command/", headers=cashier,
                              json={"command": "system/identity"})
        assert console.status_code == 403
        assert client.post(f"/routers/{team.first}/voucher-batches/", headers=cashier, json={}).status_code == 400

    def test_viewer_reads_but_cannot_write_or_see_codes(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        viewer = api.headers("alice-viewer")
        assert client.get(f"/routers/{team.second}/", headers=viewer).status_code == 200
        assert client.patch(f"/routers/{team.second}/", headers=viewer, json={"name": "x"}).status_code == 403
        assert client.delete(f"/routers/{team.second}/", headers=viewer).status_code == 403
        assert client.get("/vouchers/", headers=viewer).status_code == 403

    def test_api_key_acts_with_its_users_role(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        viewer = api.headers("alice-viewer")
        pair = client.post("/users/api-keys/", headers=viewer, json={"name": "script"}).get_json()
        tokens = client.post("/users/api-key-login/", json={"public_key": pair["public_key"],
                                                            "private_key": pair["private_key"]}).get_json()
        assert tokens["user"]["role"] == "viewer"
        assert client.delete(f"/routers/{team.first}/", headers=_bearer(tokens["access"])).status_code == 403

    def test_role_change_and_removal_end_every_session_and_token(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        owner = api.headers()
        tokens = _login(client, "alice-operator").get_json()
        client.patch(f"/team/members/{team.operator}/", headers=owner, json={"role": "viewer"})
        assert client.get("/users/me/", headers=_bearer(tokens["access"])).status_code == 401
        assert client.post("/users/token/refresh/", headers=_bearer(tokens["refresh"])).status_code == 401
        again = _login(client, "alice-operator").get_json()
        assert again["user"]["role"] == "viewer"
        client.delete(f"/team/members/{team.operator}/", headers=owner)
        assert client.get("/users/me/", headers=_bearer(again["access"])).status_code == 401

    def test_owner_resets_a_staff_password(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        tokens = _login(client, "alice-viewer").get_json()
        reset = client.patch(f"/team/members/{team.viewer}/", headers=api.headers(), json={"password": NEW_PASSWORD})
        assert reset.status_code == 200
        assert client.get("/users/me/", headers=_bearer(tokens["access"])).status_code == 401
        assert _login(client, "alice-viewer").status_code == 401
        assert _login(client, "alice-viewer", NEW_PASSWORD).status_code == 200

    def test_sales_and_audit_record_the_staff_member(self, app: Flask, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        cashier = api.headers("alice-cashier")
        client.post("/users/api-keys/", headers=cashier, json={"name": "till"})
        with app.app_context():
            event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_key.create"))
            assert event is not None
            assert (event.actor_name, event.actor_role, event.owner_id) == ("alice-cashier", "cashier",
                                                                            db.session.get(Router, team.first).user_id)
            router = db.session.get(Router, team.first)
            assert router is not None
            package = Package(router_id=router.id, name="Hour", package_type="time", duration_hours=1,
                              price=Decimal("20.00"), download_speed_mbps=2, upload_speed_mbps=1,
                              profile_name="rd-hour")
            db.session.add(package)
            db.session.flush()
            for seller, code in ((team.cashier, "sold1"), (team.operator, "sold2")):
                batch = VoucherBatch(router_id=router.id, package_id=package.id, created_by_id=seller, count=1,
                                     code_length=5, mode="code", **TERMS)
                db.session.add(batch)
                db.session.flush()
                db.session.add(Voucher(router_id=router.id, batch_id=batch.id, package_id=package.id, code=code,
                                       password=code, on_router=True, **TERMS))
            db.session.commit()
            # The router reports both vouchers in use: the sync turns them into sales.
            report = hotspot_sync.SyncReport(router)
            used = {code: {"name": code, "uptime": "5m"} for code in ("sold1", "sold2")}
            hotspot_sync._activate(router, used, {}, utcnow(), report)
            db.session.commit()
            assert sorted(sale.sold_by_id for sale in report.sales) == sorted([team.operator, team.cashier])
        own = client.get("/sales/", headers=cashier).get_json()
        everyone = client.get("/sales/", headers=api.headers()).get_json()
        assert _count(own) == 1 and _count(everyone) == 2

    def test_dashboard_team_pages(self, client: FlaskClient, html: HtmlAuth, team) -> None:  # type: ignore[no-untyped-def]
        html.login()
        page = client.get("/dashboard/team")
        assert page.status_code == 200 and "alice-cashier" in page.get_data(as_text=True)
        token = csrf_from(page.get_data(as_text=True))
        added = client.post("/dashboard/team", data={"username": "erin", "role": "cashier", "csrf_token": token,
                                                     "router_ids": [str(team.first)]})
        assert added.status_code == 200
        body = added.get_data(as_text=True)
        assert "/dashboard/invitation/" in body and "erin" in body
        audit_page = client.get("/dashboard/audit?action=team.")
        assert "team.member_create" in audit_page.get_data(as_text=True)
        csv = client.get("/dashboard/audit.csv?action=team.")
        assert csv.mimetype == "text/csv" and "team.member_create" in csv.get_data(as_text=True)

    def test_staff_do_not_see_the_team_pages(self, client: FlaskClient, html: HtmlAuth, team) -> None:  # type: ignore[no-untyped-def]
        html.login("alice-operator")
        assert client.get("/dashboard/team").status_code == 403
        assert "team-link" not in client.get("/dashboard/").get_data(as_text=True)


class TestSessions:
    def test_a_copied_session_cookie_dies_at_logout(self, client: FlaskClient, app: Flask, html: HtmlAuth,  # type: ignore[no-untyped-def]
                                                    user) -> None:
        html.login()
        stolen = client.get_cookie("session")
        assert stolen is not None
        page = client.get("/dashboard/")
        client.post("/dashboard/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        thief = app.test_client()
        thief.set_cookie("session", stolen.value)
        assert thief.get("/dashboard/").status_code == 302

    def test_remember_me_is_fresh_per_login_at_most_30_days_and_dies_at_logout(self, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                                             app: Flask, user) -> None:
        def remembered_login() -> Any:
            page = client.get("/dashboard/login")
            client.post("/dashboard/login", data={"username": "alice", "password": PASSWORD, "remember": "y",
                                                  "csrf_token": csrf_from(page.get_data(as_text=True))})
            cookie = client.get_cookie("remember_token")
            assert cookie is not None and cookie.expires is not None
            return cookie

        first = remembered_login()
        assert first.expires - utcnow().replace(tzinfo=first.expires.tzinfo) <= timedelta(days=30, minutes=1)
        page = client.get("/dashboard/")
        client.post("/dashboard/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        second = remembered_login()
        assert second.value != first.value
        replay = app.test_client()
        replay.set_cookie("remember_token", first.value)
        assert replay.get("/dashboard/").status_code == 302  # the logged-out login's cookie opens nothing

    def test_password_change_over_json_ends_other_sessions(self, client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
        mine, other = _login(client).get_json(), _login(client).get_json()
        wrong = client.post("/users/me/password/", headers=_bearer(mine["access"]),
                            json={"current_password": "nope nope", "new_password": NEW_PASSWORD})
        assert wrong.status_code == 400 and "current_password" in wrong.get_json()["fields"]
        weak = client.post("/users/me/password/", headers=_bearer(mine["access"]),
                           json={"current_password": PASSWORD, "new_password": "short"})
        assert weak.status_code == 400
        done = client.post("/users/me/password/", headers=_bearer(mine["access"]),
                           json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert done.status_code == 200
        assert client.get("/users/me/", headers=_bearer(mine["access"])).status_code == 200
        assert client.get("/users/me/", headers=_bearer(other["access"])).status_code == 401
        assert _login(client).status_code == 401 and _login(client, password=NEW_PASSWORD).status_code == 200

    def test_password_change_in_the_dashboard(self, client: FlaskClient, app: Flask, html: HtmlAuth, user) -> None:  # type: ignore[no-untyped-def]
        tokens = _login(client).get_json()
        html.login()
        page = client.get("/dashboard/password")
        token = csrf_from(page.get_data(as_text=True))
        wrong = client.post("/dashboard/password", data={"current_password": "x" * 9, "new_password": NEW_PASSWORD,
                                                         "csrf_token": token})
        assert wrong.status_code == 422
        done = client.post("/dashboard/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                        "csrf_token": token})
        assert done.status_code == 302
        assert client.get("/dashboard/").status_code == 200  # this session goes on
        assert client.get("/users/me/", headers=_bearer(tokens["access"])).status_code == 401

    def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(self, client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
        tokens = _login(client).get_json()
        first = client.post("/users/token/refresh/", headers=_bearer(tokens["refresh"]))
        assert first.status_code == 200
        rotated = first.get_json()
        assert rotated["refresh"] != tokens["refresh"]
        reused = client.post("/users/token/refresh/", headers=_bearer(tokens["refresh"]))
        assert reused.status_code == 401
        assert client.post("/users/token/refresh/", headers=_bearer(rotated["refresh"])).status_code == 401
        assert client.get("/users/me/", headers=_bearer(rotated["access"])).status_code == 401


class TestLoginLimits:
    @pytest.fixture
    def app_config(self, tmp_path: Path) -> dict[str, Any]:
        return make_config(tmp_path / "limits.db", LOGIN_RATE_LIMIT="4 per minute", LOGIN_IP_RATE_LIMIT="6 per minute")

    def test_one_limit_across_both_faces(self, client: FlaskClient, html: HtmlAuth, user) -> None:  # type: ignore[no-untyped-def]
        assert _login(client, password="bad one").status_code == 401
        assert _login(client, password="bad two").status_code == 401
        assert html.login(password="bad three").status_code == 401
        assert html.login(password="bad four").status_code == 401
        assert _login(client).status_code == 429  # the JSON face counted the form's tries

    def test_per_address_limit_covers_every_username(self, client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
        codes = [_login(client, f"name{i}", "bad").status_code for i in range(7)]
        assert codes == [401] * 6 + [429]

    def test_guessing_from_many_addresses_slows_but_never_locks_out(self, app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                                   user) -> None:
        for i in range(10):
            _login(client, password="bad", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        fresh = {"REMOTE_ADDR": "10.1.1.1"}
        waiting = _login(client, environ_base=fresh)
        assert waiting.status_code == 429
        assert 0 < int(waiting.headers["Retry-After"]) <= accounts.BACKOFF_CAP_SECONDS
        with app.app_context():  # the backoff has run out (no sleeping in tests: move the last failure back)
            db.session.execute(update(LoginFailure).values(last_failure_at=utcnow() - timedelta(minutes=2)))
            db.session.commit()
        assert _login(client, environ_base=fresh).status_code == 200
        with app.app_context():
            assert db.session.get(LoginFailure, "alice").failures == 0

    def test_a_browser_that_logged_in_before_skips_the_backoff(self, app: Flask, client: FlaskClient,  # type: ignore[no-untyped-def]
                                                               html: HtmlAuth, user) -> None:
        assert html.login().status_code == 302  # the owner's own browser gets the device cookie
        page = client.get("/dashboard/")
        client.post("/dashboard/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        attacker = app.test_client()
        for i in range(BACKOFF_AFTER + 3):
            _login(attacker, password="bad", environ_base={"REMOTE_ADDR": f"10.2.0.{i}"})
        assert _login(attacker, environ_base={"REMOTE_ADDR": "10.2.1.1"}).status_code == 429
        assert html.login().status_code == 302


class TestAudit:
    def test_logins_failed_logins_logouts_and_keys_are_audited(self, app: Flask, client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
        assert _login(client, password="wrong pass").status_code == 401
        tokens = _login(client).get_json()
        headers = _bearer(tokens["access"])
        key = client.post("/users/api-keys/", headers=headers, json={"name": "k"}).get_json()
        client.post("/users/api-key-login/", json={"public_key": key["public_key"], "private_key": "rdk_sec_bad"})
        client.delete(f"/users/api-keys/{key['id']}/", headers=headers)
        client.post("/users/logout/", headers=headers)
        assert _actions(app) == [
            ("auth.login_failed", "denied", None), ("auth.login", "ok", "alice"), ("api_key.create", "ok", "alice"),
            ("auth.login_failed", "denied", None), ("api_key.revoke", "ok", "alice"), ("auth.logout", "ok", "alice"),
        ]
        with app.app_context():
            failed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
            assert failed is not None and failed.owner_id == user.id and failed.ip_address == "127.0.0.1"

    def test_monitoring_writes_are_audited(self, app: Flask, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        headers = api.headers()
        channel = client.post("/notification-channels/", headers=headers,
                              json={"kind": "webhook", "target": "https://hooks.example.com/x?token=secret"})
        assert channel.status_code == 201
        client.delete(f"/notification-channels/{channel.get_json()['id']}/", headers=headers)
        rule = client.post("/alert-rules/", headers=headers, json={"kind": "cpu_high", "threshold": 80})
        assert rule.status_code == 201
        client.delete(f"/alert-rules/{rule.get_json()['id']}/", headers=headers)
        assert client.put(f"/routers/{team.first}/monitoring/", headers=headers,
                          json={"poll_interval": 120}).status_code == 200
        actions = [action for action, _, _ in _actions(app)]
        for kind in ("channel.create", "channel.delete", "alert_rule.save", "alert_rule.delete",
                     "monitoring.interval"):
            assert kind in actions
        assert "secret" not in str(_audit_details(app))

    def test_team_audit_is_the_owners_and_filters(self, client: FlaskClient, api, team) -> None:  # type: ignore[no-untyped-def]
        _login(client, "alice-viewer", "bad password")
        events = client.get("/audit/?outcome=denied", headers=api.headers()).get_json()["results"]
        assert [e["action"] for e in events] == ["auth.login_failed"]
        assert client.get("/audit/?since=yesterday", headers=api.headers()).status_code == 400


def _count(listing: Any) -> int:
    return int(listing["count"]) if isinstance(listing, dict) else len(listing)


def _audit_details(app: Flask) -> list[Any]:
    with app.app_context():
        return [e.details for e in db.session.scalars(select(AuditEvent))]


class TestHeaders:
    def test_csp_and_no_store_on_pages_and_json_but_not_static(self, client: FlaskClient, html: HtmlAuth, user) -> None:  # type: ignore[no-untyped-def]
        html.login()
        page = client.get("/dashboard/")
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert page.headers["Cache-Control"] == "no-store"
        assert _login(client).headers["Cache-Control"] == "no-store"
        static = client.get("/static/app.js")
        static.close()
        assert "no-store" not in static.headers.get("Cache-Control", "")

    def test_no_template_has_inline_script_or_handlers(self) -> None:
        root = Path(__file__).resolve().parents[2] / "webapp" / "templates"
        offenders = []
        for template in root.rglob("*.html"):
            text = template.read_text()
            for line in text.splitlines():
                stripped = line.strip()
                if "<script" in stripped and "src=" not in stripped and 'type="application/json"' not in stripped:
                    offenders.append(f"{template.name}: {stripped}")
                if any(f" on{event}=" in stripped for event in ("click", "change", "submit", "load", "input")):
                    offenders.append(f"{template.name}: {stripped}")
        assert offenders == []


def test_a_new_instance_folder_and_database_are_private(tmp_path: Path) -> None:
    from flask import Flask as _Flask

    from webapp import _normalise_config

    instance = tmp_path / "fresh-instance"
    app = _Flask("private-check", instance_path=str(instance))
    _normalise_config(app)
    database = instance / "routerdeck.db"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert instance.stat().st_mode & 0o777 == 0o700
    assert database.stat().st_mode & 0o777 == 0o600
