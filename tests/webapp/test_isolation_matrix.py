"""Every endpoint declares an access policy, and every endpoint × role × own/other team gets what it promises.

The matrix is generated from the app's url_map: a new endpoint is in it without anyone writing a test. It fails
until the endpoint declares its policy (``@policy(Capability.X)`` from ``webapp.permissions``) and, if its path
takes a new kind of id, until ``OBJECT_IDS`` below knows which seeded object to point it at.

Two teams are seeded, A and B, each an owner with an operator, a cashier (assigned to the team's router) and a
viewer. Every request goes to team A's objects, on a fresh copy of the seeded database:
- team A's roles: a role the policy allows is not refused (never 401/403/404, no 5xx but the 502 of the
  unreachable router); any other is 403;
- team B's roles: a role the policy allows gets 404 for A's object (or the same validation answer its own
  team got, which says nothing about A), and no answer shows anything of team A; any other role is 403.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_login.utils import _create_identifier
from flask_migrate import upgrade

from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import (
    Alert,
    AlertRule,
    CommandRun,
    ConfigVersion,
    CredentialProfile,
    Job,
    MonitoredInterface,
    NotificationChannel,
    Package,
    RouterGroup,
    SafeChange,
    Sale,
    Voucher,
    VoucherBatch,
)
from webapp.permissions import Capability, allows, policy_of
from webapp.services import accounts, gateway, routers, teams
from webapp.services.vault import encrypt_password
from webapp.timeutil import utcnow

ROLES = ("owner", "operator", "cashier", "viewer")
TEAMS = ("own", "other")
MARK = "zq7teamA"  # in every name of team A's objects: no answer to team B may contain it
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REFUSED = {401, 403, 404}
#: What a voucher batch and its vouchers freeze at issue time (the package name is the team's own).
TERMS = {"price": Decimal("20.00"), "currency": "KES", "duration_minutes": 60, "download_speed_mbps": 2,
         "upload_speed_mbps": 1}
#: The seeded routers point at a closed port: an allowed request that reaches the router answers 502 in time.
ROUTER_DOWN = {502, 504}


def _endpoint_rules() -> list[tuple[str, str, str]]:
    app = create_app(make_config(Path(tempfile.mkdtemp()) / "unused.db"))
    return sorted(
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.endpoint.endswith(".static")
        for method in sorted(rule.methods or ())
        if method in METHODS
    )


ENDPOINTS = _endpoint_rules()


def test_every_endpoint_declares_a_policy(app: Flask) -> None:
    names = sorted(name for name in app.view_functions if name != "static" and not name.endswith(".static"))
    missing = [name for name in names if policy_of(app.view_functions[name]) is None]
    assert missing == [], f"endpoints without @policy(...): {missing}"


def test_an_endpoint_without_a_policy_is_refused(app: Flask) -> None:
    app.add_url_rule("/undeclared/", "undeclared", lambda: "open")
    response = app.test_client().get("/undeclared/")
    assert response.status_code == 403
    assert response.get_json() == {"error": "This endpoint has no access policy"}


@dataclass
class Actor:
    user_id: int
    web_session: str
    access: str
    refresh: str
    api_key_id: int
    job_id: int


@dataclass
class World:
    app: Flask
    db_path: Path
    template: Path
    actors: dict[tuple[str, str], Actor] = field(default_factory=dict)  # (team "A"/"B", role) -> actor
    ids: dict[str, Any] = field(default_factory=dict)  # team A's object ids by URL parameter name

    def restore(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.copyfile(self.template, self.db_path)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed_team(letter: str, port: int, world: World) -> None:
    mark = MARK if letter == "A" else "teamB"
    owner = accounts.create_user(f"{letter.lower()}-owner", PASSWORD)
    router = routers.create_router(owner, {"name": f"{mark} router", "host": "127.0.0.1", "port": port,
                                           "username": "admin", "password": "router-pw", "protocol": "api"})
    members = {"owner": owner}
    for role in ("operator", "cashier", "viewer"):
        created = teams.create_member(owner, {"username": f"{letter.lower()}-{role}", "password": PASSWORD,
                                              "role": role, "router_ids": [router.id] if role == "cashier" else []})
        members[role] = created.member
    package = Package(router_id=router.id, name=f"{mark} hour", package_type="time", duration_hours=1,
                      price=Decimal("20.00"), download_speed_mbps=2, upload_speed_mbps=1, profile_name=f"{mark}-1h")
    db.session.add(package)
    db.session.flush()
    batch = VoucherBatch(router_id=router.id, package_id=package.id, created_by_id=members["cashier"].id, count=1,
                         code_length=6, mode="code",
                         package_name=f"{mark} hour", **TERMS)
    db.session.add(batch)
    db.session.flush()
    voucher = Voucher(router_id=router.id, batch_id=batch.id, package_id=package.id, code=f"{mark}v",
                      password=f"{mark}p", package_name=f"{mark} hour", **TERMS)
    db.session.add(voucher)
    db.session.flush()
    db.session.add(Sale(user_id=owner.id, router_id=router.id, package_id=package.id, batch_id=batch.id,
                        voucher_id=voucher.id, package_name=f"{mark} hour", price=Decimal("20.00"), currency="KES",
                        sold_by_id=members["cashier"].id))
    alert = Alert(user_id=owner.id, router_id=router.id, kind="offline", message=f"{mark} offline")
    rule = AlertRule(user_id=owner.id, router_id=router.id, kind="cpu", threshold=90.0)
    channel = NotificationChannel(user_id=owner.id, kind="webhook", target=f"https://example.com/{mark}")
    command = CommandRun(user_id=owner.id, router_id=router.id, command="system/identity", method="GET",
                         status="ok", result=[{"name": mark}])
    interface = MonitoredInterface(router_id=router.id, name="ether1")
    group = RouterGroup(user_id=owner.id, name=f"{mark} group")
    earlier = ConfigVersion(router_id=router.id, user_id=owner.id, trigger="manual", digest="1" * 64,
                            content=f"/system identity set name={mark}0", size=41)
    db.session.add(earlier)
    db.session.flush()
    # The second version, so a diff against the previous one has something to compare with.
    version = ConfigVersion(router_id=router.id, user_id=owner.id, trigger="manual", digest="0" * 64,
                            content=f"/system identity set name={mark}", size=40)
    db.session.add_all([alert, rule, channel, command, interface, group, version])
    db.session.flush()
    change = SafeChange(user_id=owner.id, router_id=router.id, command_id=command.id, command="ip/service/set",
                        method="POST", undo=f"# {mark}", scheduler_name=f"{mark}-undo", rollback_minutes=5,
                        rollback_at=utcnow() + timedelta(minutes=5))
    db.session.add(change)
    profile = CredentialProfile(user_id=owner.id, name=f"{mark} creds", username="admin",
                                encrypted_password=encrypt_password("profile-pw"))
    db.session.add(profile)
    db.session.commit()
    for role, user in members.items():
        key = accounts.create_api_key(user, f"{mark} key")
        job = Job(kind="hotspot.sync", user_id=user.id, router_id=router.id)
        db.session.add(job)
        db.session.commit()
        web = accounts.open_session(user, timedelta(days=1), kind="web")
        api = accounts.open_session(user, timedelta(days=1), kind="api")
        claims = {"sid": api.id}
        world.actors[(letter, role)] = Actor(
            user_id=user.id, web_session=web.id, api_key_id=key.key.id, job_id=job.id,
            access=create_access_token(identity=str(user.id), additional_claims=claims),
            refresh=create_refresh_token(identity=str(user.id), additional_claims={**claims, "jti": api.refresh_jti}),
        )
    if letter == "A":
        world.ids.update(router_id=router.id, package_id=package.id, batch_id=batch.id, voucher_id=voucher.id,
                         alert_id=alert.id, rule_id=rule.id, channel_id=channel.id, command_id=command.id,
                         member_id=members["viewer"].id, name="ether1", session_id="*1", group_id=group.id,
                         version_id=version.id, change_id=change.id,
                         profile_id=profile.id,
                         token="no-such-invitation", payment_id=_seed_payment(user_id=router.user_id,
                                                                              router_id=router.id),
                         slug="no-such-hotspot", public_id="no-such-purchase")


def _seed_payment(user_id: int, router_id: int) -> int:
    from webapp.models import Payment

    payment = Payment(public_id="matrix-payment", user_id=user_id, router_id=router_id, package_name="1 Hour",
                      amount=Decimal("20.00"), currency="KES", phone="254712345678", status="failed")
    db.session.add(payment)
    db.session.commit()
    return payment.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("matrix")
    config = make_config(folder / "matrix.db", SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'matrix.db'}",
                         WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                         ROUTER_TIMEOUT=1.0, VOUCHER_PUSH_BUDGET=1.0)
    app = create_app(config)
    built = World(app=app, db_path=folder / "matrix.db", template=folder / "template.db")
    port = _closed_port()
    with app.app_context():
        upgrade()
        _seed_team("A", port, built)
        _seed_team("B", port, built)
        db.session.remove()
        db.engine.dispose()
    shutil.copyfile(built.db_path, built.template)
    yield built
    gateway.close_pool()
    with app.app_context():
        db.engine.dispose()


#: Which seeded object a path parameter names. A new kind of id in a path needs a line here (and a seed above).
OBJECT_IDS = ("router_id", "package_id", "batch_id", "voucher_id", "alert_id", "rule_id", "channel_id",
              "command_id", "member_id", "name", "session_id", "token", "key_id", "group_id", "version_id",
              "change_id", "profile_id", "job_id", "payment_id", "slug", "public_id")


#: Objects that are a person's own (API keys, jobs): the own-team case names the actor's, the other-team case
#: team A's owner's.
PERSONAL = ("key_id", "job_id")


def _url(world: World, rule: str, actor: Actor, own: bool) -> str:
    url = rule
    owner = world.actors[("A", "owner")]
    for part in rule.split("<")[1:]:
        converter_and_name = part.split(">", 1)[0]
        name = converter_and_name.split(":")[-1]
        assert name in OBJECT_IDS, f"{rule}: add the path parameter <{name}> to OBJECT_IDS and seed its object"
        if name in PERSONAL:
            attribute = "api_key_id" if name == "key_id" else name
            value = getattr(actor if own else owner, attribute)
        else:
            value = world.ids[name]
        url = url.replace(f"<{converter_and_name}>", str(value))
    return url


def _request(world: World, endpoint: str, method: str, rule: str, actor: Actor, own: bool) -> tuple[int, str]:
    world.restore()
    client: FlaskClient = world.app.test_client()
    with world.app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # flask-login's "strong" protection ties a session to address + agent
    with client.session_transaction() as session:
        session["_user_id"] = actor.web_session
        session["_fresh"] = True
        session["_id"] = identifier
    token = actor.refresh if endpoint == "api.token_refresh" else actor.access
    url = _url(world, rule, actor, own)
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}}
    if method != "GET":
        if endpoint.startswith("api."):
            kwargs["json"] = {}
        else:  # a form naming team A's package, so a voucher form gets past "which package?"
            kwargs["data"] = {"package_id": str(world.ids["package_id"])}
    response = client.open(url, method=method, **kwargs)
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(("endpoint", "method", "rule"), ENDPOINTS, ids=[f"{m} {r}" for _, m, r in ENDPOINTS])
def test_isolation_matrix(world: World, endpoint: str, method: str, rule: str) -> None:
    capability = policy_of(world.app.view_functions[endpoint])
    assert capability is not None, f"{endpoint} declares no policy"
    problems: list[str] = []
    own_status: dict[str, int] = {}
    for role in ROLES:
        status, body = _request(world, endpoint, method, rule, world.actors[("A", role)], own=True)
        own_status[role] = status
        if status >= 500 and status not in ROUTER_DOWN:
            problems.append(f"own {role}: {status}")
        elif capability is Capability.PUBLIC:
            continue
        elif allows(role, capability) and status in REFUSED:
            problems.append(f"own {role}: allowed by {capability} but answered {status}")
        elif not allows(role, capability) and status != 403:
            problems.append(f"own {role}: {capability} is not theirs, answered {status} instead of 403")
    for role in ROLES:
        status, body = _request(world, endpoint, method, rule, world.actors[("B", role)], own=False)
        if status >= 500:
            problems.append(f"other {role}: {status}")  # A's router must not even be tried
        if MARK in body:
            problems.append(f"other {role}: the answer ({status}) shows team A's data")
        if capability is Capability.PUBLIC:
            continue
        if not allows(role, capability):
            if status != 403:
                problems.append(f"other {role}: {capability} is not theirs, answered {status} instead of 403")
        elif "<" in rule and status != 404 and not (status == own_status[role] and 400 <= status < 500):
            problems.append(f"other {role}: team A's object answered {status} instead of 404")
    assert problems == [], f"{method} {rule} ({endpoint}, {capability}): " + "; ".join(problems)

