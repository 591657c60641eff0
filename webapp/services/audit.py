"""The audit trail: every write, who made it, from where. Details are never allowed to carry secrets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.services.errors import Invalid
from webapp.services.pagination import MAX_ID, Page, paginate

#: A field whose name contains one of these is a secret wherever it appears. RouterOS's secret-bearing fields
#: (each has a test in tests/services/test_scrub.py): password (users, hotspot users, PPP, e-mail, SMB, OVPN,
#: SNMP authentication-password / encryption-password), passphrase (wifi security, certificate import),
#: wpa-pre-shared-key / wpa2-pre-shared-key / preshared-key / tcp-md5-key / auth-key (key), secret (PPP, RADIUS,
#: IPsec identity, L2TP ipsec-secret), private-key (WireGuard, certificates), community (SNMP trap-community),
#: token and private (API keys), psk.
_SECRET_WORDS = ("password", "passphrase", "secret", "private", "token", "key", "community", "psk")
#: Menus where an ordinary-looking field is the secret: an SNMP community's ``name`` is its community string.
SECRET_FIELDS_BY_PATH: dict[str, frozenset[str]] = {"snmp/community": frozenset({"name"})}


MASK = "***"


def scrub(details: dict[str, Any], path: str | None = None) -> dict[str, Any]:
    """A copy of ``details`` with every secret-looking field (password, passphrase, secret, key...) masked;
    ``path`` (a RouterOS menu) adds the fields that are secret only there."""
    extra = SECRET_FIELDS_BY_PATH.get((path or "").strip("/").rsplit("/", 1)[0], frozenset()) | \
        SECRET_FIELDS_BY_PATH.get((path or "").strip("/"), frozenset())
    clean: dict[str, Any] = {}
    for name, value in details.items():
        lowered = str(name).lower()
        if lowered in extra or any(word in lowered for word in _SECRET_WORDS):
            clean[name] = MASK
        elif isinstance(value, dict):
            clean[name] = scrub(value, path)
        elif isinstance(value, list):
            clean[name] = [scrub(item, path) if isinstance(item, dict) else item for item in value]
        else:
            clean[name] = value
    return clean


def record(
    actor: User | None,
    action: str,
    summary: str,
    *,
    router_id: int | None = None,
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    commit: bool = True,
    target: str | None = None,
    outcome: str = "ok",
    owner_id: int | None = None,
) -> AuditEvent:
    """Append one audit event: who (user, role, team), what, on which target, from where, with what outcome.

    Secret-looking fields of ``details`` are masked. ``owner_id`` names the team when there is no actor (a
    failed login on a known account).
    """
    event = AuditEvent(
        user_id=actor.id if actor else None,
        owner_id=actor.team_owner_id if actor else owner_id,
        actor_name=actor.username if actor else None,
        actor_role=actor.role if actor else None,
        router_id=router_id,
        action=action,
        summary=summary[:500],
        details=scrub(details or {}),
        ip_address=ip_address,
        target=(target or (f"router:{router_id}" if router_id else None)),
        outcome=outcome,
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def for_router(router_id: int, page: int = 1, page_size: int = 20) -> Page[AuditEvent]:
    """One page of a router's audit events, newest first (ownership is the caller's check)."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.router_id == router_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    return paginate(statement, page, page_size)


@dataclass
class AuditFilters:
    """What the team's audit trail can be narrowed by."""

    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    router_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _day(raw: str | None, field: str, *, end: bool = False) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise Invalid(f"{field} must be an ISO-8601 date or date-time", fields={field: "ISO-8601"}) from None
    if end and len(raw) == 10:  # a bare date means "through that day"
        moment = moment + timedelta(days=1) if moment.date() < date.max else moment.replace(hour=23, minute=59)
    return moment


def filters_from(args: Mapping[str, str]) -> AuditFilters:
    """Parse the audit page's (and ``GET /audit/``'s) query parameters.

    :raises Invalid: for a malformed date or router id.
    """
    router = (args.get("router_id") or "").strip()
    if router and not (router.isascii() and router.isdigit() and len(router) <= 19 and 1 <= int(router) <= MAX_ID):
        raise Invalid("router_id must be an id", fields={"router_id": f"whole number 1-{MAX_ID}"})
    return AuditFilters(
        actor=(args.get("actor") or "").strip()[:80] or None,
        action=(args.get("action") or "").strip()[:64] or None,
        outcome=(args.get("outcome") or "").strip()[:16] or None,
        router_id=int(router) if router else None,
        since=_day(args.get("since"), "since"),
        until=_day(args.get("until"), "until", end=True),
    )


def _team_statement(actor: User, filters: AuditFilters) -> Select[Any]:
    statement = select(AuditEvent).where(AuditEvent.owner_id == actor.team_owner_id)
    if filters.actor:
        statement = statement.where(AuditEvent.actor_name == filters.actor)
    if filters.action:
        statement = statement.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.outcome:
        statement = statement.where(AuditEvent.outcome == filters.outcome)
    if filters.router_id is not None:
        statement = statement.where(AuditEvent.router_id == filters.router_id)
    if filters.since:
        statement = statement.where(AuditEvent.created_at >= filters.since)
    if filters.until:
        statement = statement.where(AuditEvent.created_at < filters.until)
    return statement.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def for_team(actor: User, filters: AuditFilters, page: int = 1, page_size: int = 50) -> Page[AuditEvent]:
    """One page of the actor's team's audit trail (every member's actions and logins), newest first."""
    return paginate(_team_statement(actor, filters), page, page_size)


CSV_COLUMNS = ("time_utc", "actor", "role", "action", "target", "router_id", "outcome", "ip_address", "summary")


def team_csv(actor: User, filters: AuditFilters, limit: int = 100_000) -> Iterator[str]:
    """The filtered team audit trail as CSV lines (header first), newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_safe(value) for value in row])
        return buffer.getvalue()

    yield line(list(CSV_COLUMNS))
    for event in db.session.scalars(_team_statement(actor, filters).limit(limit)):
        yield line([event.created_at.isoformat() + "Z", event.actor_name or "", event.actor_role or "",
                    event.action, event.target or "", event.router_id or "", event.outcome,
                    event.ip_address or "", event.summary])


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to spreadsheet programs (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
