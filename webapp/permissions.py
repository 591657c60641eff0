"""Who may call which endpoint: one policy per endpoint, checked the same way in the dashboard and the JSON API.

Every view declares what it needs with :func:`policy`, placed directly above the function (below ``@bp.get``
and any ``@jwt_required``)::

    @bp.get("/routers/<int:router_id>/")
    @policy(Capability.READ)
    def router_detail(router_id): ...

The decorator authenticates if nothing above it did (a bearer token on the JSON face, the login session on the
dashboard face; an API key's tokens carry its user, so a key acts with its user's role) and answers 403 when the
actor's role lacks the capability. Deny by default: a request to an endpoint with no declared policy is refused
with 403, and ``tests/webapp/test_isolation_matrix.py`` fails for it.

Which *objects* an allowed actor reaches is the services' job: they scope every query through
:func:`webapp.services.teams.router_scope` / ``User.team_owner_id`` (another team's object is 404).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_login import current_user

from webapp.extensions import login_manager
from webapp.models import User
from webapp.services.errors import Forbidden

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "_routerdeck_policy"


class Capability(StrEnum):
    """What an endpoint needs; roles are sets of these (see ``ROLE_CAPABILITIES``)."""

    #: No login at all (login forms, API docs, a hotspot customer's pages).
    PUBLIC = "public"
    #: Any logged-in account acting on itself (its profile, password, API keys, logout).
    SELF = "self"
    #: See routers, packages, hotspot sessions and the home page (no secrets).
    READ = "read"
    #: See monitoring: metrics, interfaces, alerts, the audit trail of a router.
    MONITOR = "monitor"
    #: See sales (a cashier sees only their own).
    SALES = "sales"
    #: Generate, print, list and revoke vouchers (their codes are secrets).
    VOUCHERS = "vouchers"
    #: Change routers and what is on them: router CRUD, packages, profiles, sync, alert rules, channels.
    OPERATE = "operate"
    #: Run commands on a router and read the command history.
    CONSOLE = "console"
    #: Manage the team: members, roles, passwords of staff, the team's audit log.
    TEAM = "team"
    #: Billing and money settings: currency and time zone, payment settings.
    BILLING = "billing"


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "owner": frozenset(Capability),
    "operator": frozenset({Capability.PUBLIC, Capability.SELF, Capability.READ, Capability.MONITOR,
                           Capability.SALES, Capability.VOUCHERS, Capability.OPERATE, Capability.CONSOLE}),
    "cashier": frozenset({Capability.PUBLIC, Capability.SELF, Capability.READ, Capability.SALES,
                          Capability.VOUCHERS}),
    "viewer": frozenset({Capability.PUBLIC, Capability.SELF, Capability.READ, Capability.MONITOR,
                         Capability.SALES}),
}

#: Blueprints whose endpoints authenticate with bearer tokens (everything else uses the dashboard session).
JSON_BLUEPRINTS: set[str] = {"api"}


def allows(role: str, capability: Capability) -> bool:
    """True when ``role`` holds ``capability`` (an unknown role holds nothing but PUBLIC)."""
    return capability in ROLE_CAPABILITIES.get(role, frozenset({Capability.PUBLIC}))


def policy(capability: Capability) -> Callable[[F], F]:
    """Declare what a view needs; authenticate if needed and answer 403 to a role without it."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if capability is not Capability.PUBLIC:
                actor = current_actor()
                if actor is None:
                    return login_manager.unauthorized()
                if not allows(actor.role, capability):
                    raise Forbidden(f"Your role ({actor.role}) may not do this")
            return view(*args, **kwargs)

        setattr(guarded, _ATTRIBUTE, capability)
        return guarded  # type: ignore[return-value]

    return decorate


def policy_of(view: Callable[..., Any] | None) -> Capability | None:
    """The capability a view declared (``None`` when it declared none)."""
    return getattr(view, _ATTRIBUTE, None)


def current_actor() -> User | None:
    """The authenticated user of this request on its face.

    :raises flask_jwt_extended.exceptions.NoAuthorizationError: on the JSON face without a valid token (401).
    """
    if request.blueprint in JSON_BLUEPRINTS:
        if g.get("_jwt_extended_jwt") is None:
            verify_jwt_in_request()
        user = get_current_user()
        return user if isinstance(user, User) else None
    if current_user.is_authenticated:
        return current_user._get_current_object()  # type: ignore[no-any-return]
    return None


def _deny_undeclared() -> None:
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint.endswith(".static"):
        return
    if policy_of(current_app.view_functions.get(endpoint)) is None:
        log.error("endpoint %s has no access policy; refusing the request", endpoint)
        raise Forbidden("This endpoint has no access policy")


def can(capability: str) -> bool:
    """For templates: may the logged-in user do this (``{% if can("console") %}``)? Hides what would be 403."""
    actor = current_user
    return bool(actor.is_authenticated) and allows(actor.role, Capability(capability))


def init_app(app: Flask) -> None:
    """Refuse every request to an endpoint that declared no policy (deny by default); give templates ``can``."""
    app.before_request(_deny_undeclared)
    app.jinja_env.globals["can"] = can
