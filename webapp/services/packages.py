"""Packages: what a hotspot sells, kept in the database and mirrored on the router as user profiles.

On the router each package is an ``/ip/hotspot/user/profile`` whose ``rate-limit`` is written from the
router's side: ``rx/tx`` where rx is what the router receives from the client (the client's *upload*) and tx
what it sends (the client's *download*). "10 Mbps down / 5 Mbps up" is therefore ``5M/10M``.

A change is saved first and pushed second: when the router cannot be reached the package stays
``sync_state="pending"`` and :func:`push_pending` (run by the hotspot sync, the dashboard or the poller)
retries it. A profile is wanted on the router while the package is active or still has vouchers that can be
used; an inactive package without such vouchers is removed from the router.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from routeros import errors as ros
from routeros.values import Row
from webapp import jobs
from webapp.extensions import db
from webapp.models import Job, Package, Router, User, Voucher
from webapp.services import audit, gateway
from webapp.services.errors import Conflict, Invalid, NotFound, RouterRejected, RouterTimeout, RouterUnreachable
from webapp.services.hotspot_settings import currency_for
from webapp.services.routers import get_router
from webapp.services.teams import router_scope
from webapp.timeutil import utcnow

PROFILE_PATH = "ip/hotspot/user/profile"
PROFILE_PREFIX = "rd-"
PACKAGE_TYPES = {"minutes": "Minutes Package", "hourly": "Hourly Package", "daily": "Daily Package",
                 "weekly": "Weekly Package", "monthly": "Monthly Package"}
MONTH_HOURS = 720


@dataclass(frozen=True)
class Plan:
    """How long a package type may last: ``low`` to ``high`` whole ``unit``s of ``unit_minutes`` each."""

    unit: str
    unit_minutes: int
    low: int
    high: int
    default: int | None  # units when no duration is sent (None: one must be sent)

    @property
    def min_minutes(self) -> int:
        return self.low * self.unit_minutes

    @property
    def max_minutes(self) -> int:
        return self.high * self.unit_minutes


#: Durations per package type: 10 minutes to 365 days overall; a month is 30 days (the contract's 720 hours).
PLANS = {
    "minutes": Plan("minute", 1, 10, 1440, None),
    "hourly": Plan("hour", 60, 1, 24, None),
    "daily": Plan("day", 1440, 1, 365, 1),
    "weekly": Plan("week", 10080, 1, 52, 1),
    "monthly": Plan("month", MONTH_HOURS * 60, 1, 12, 1),
}
MIN_DURATION_MINUTES = 10
MAX_DURATION_MINUTES = 365 * 1440
#: A data cap of up to 10 TB, in MB of 1,048,576 bytes (what phones call a megabyte).
MAX_DATA_LIMIT_MB = 10_000_000
MB = 1024 * 1024
MAX_VALIDITY_DAYS = 365
#: The contract: "Prices must be greater than 0.01" (so 0.02 is the cheapest package).
MIN_PRICE = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")
MAX_SPEED_MBPS = 100_000
MAX_SHARED_USERS = 1000
#: Voucher states whose router user can still be used (their profile must stay on the router).
LIVE_STATES = ("unused", "active")
_EDITABLE = ("name", "package_type", "duration_minutes", "price", "download_speed_mbps", "upload_speed_mbps",
             "shared_users", "data_limit_mb", "validity_days", "description", "is_active")
_MANAGED = ("rate-limit", "shared-users")
_OFFLINE = (RouterUnreachable, RouterTimeout)
_RATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmMgG]?)$")


class NameTaken(Invalid):
    """The package name is already used on the router: the body is fine, it clashes with what exists (409)."""

    status = 409


@dataclass(frozen=True)
class RouterCommand:
    """One change a sync sends to a router, printable as the RouterOS console line it amounts to."""

    action: str
    path: str
    target: str | None = None
    values: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """``/ip/hotspot/user/profile/set [find name="rd-basic"] rate-limit=5M/10M``."""
        words = [f"/{self.path}/{self.action}"]
        if self.target is not None:
            words.append(f"[find name={_quote(self.target)}]")
        words.extend(f"{key}={_quote(value)}" for key, value in self.values.items())
        return " ".join(words)

    def as_dict(self) -> dict[str, Any]:
        """The command as JSON: action, path, target, values and the console text."""
        return {"action": self.action, "path": self.path, "target": self.target, "values": dict(self.values),
                "text": self.text}


@dataclass
class PackageChange:
    """What a create/update/delete did (or, for a dry run, would do) on the router."""

    package: Package | None
    commands: list[RouterCommand]
    dry_run: bool = False
    router_checked: bool = True
    synced: bool = False
    sync_error: str | None = None


@dataclass
class DriftItem:
    """One profile where RouterDeck and the router disagree."""

    kind: str  # "missing" (ours, not on the router), "different", "extra" (on the router, not ours)
    profile: str
    package: Package | None
    ours: dict[str, str]
    theirs: dict[str, str]
    differences: dict[str, tuple[str, str]]


def _quote(value: str) -> str:
    if value and re.fullmatch(r"[A-Za-z0-9._:/*+-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rate_limit(package: Package) -> str:
    """The profile's ``rate-limit``: the client's upload (router rx) first, its download (router tx) second."""
    return f"{package.upload_speed_mbps}M/{package.download_speed_mbps}M"


def profile_values(package: Package) -> dict[str, str]:
    """The profile fields RouterDeck manages for ``package``."""
    return {"rate-limit": rate_limit(package), "shared-users": str(package.shared_users)}


def _bits(text: str) -> float | None:
    match = _RATE.match(text.strip())
    if not match:
        return None
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[match.group(2).lower()]
    return float(match.group(1)) * scale


def parse_rate_limit(text: str) -> tuple[float, float] | None:
    """``5M/10M`` → (client upload bps, client download bps); ``None`` when there is no plain rx/tx pair."""
    first = (text or "").strip().split(" ")[0]
    pieces = first.split("/")
    if not first or len(pieces) > 2:
        return None
    rates = [_bits(piece) for piece in pieces]
    if any(rate is None for rate in rates):
        return None
    upload = rates[0]
    download = rates[1] if len(rates) == 2 else rates[0]
    return upload, download  # type: ignore[return-value]


def _same(name: str, router_value: str | None, ours: str) -> bool:
    if router_value is None:
        return False
    if name == "rate-limit":
        return router_value.strip() == ours or (
            " " not in router_value.strip() and parse_rate_limit(router_value) == parse_rate_limit(ours))
    return router_value.strip() == ours


def derive_profile_name(name: str, taken: Iterable[str]) -> str:
    """A RouterOS-safe profile name from a package name: ``rd-`` + ASCII slug, made unique with ``-2``, ``-3``…"""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "package"
    base = PROFILE_PREFIX + slug
    used = {t.lower() for t in taken}
    candidate, number = base, 2
    while candidate.lower() in used:
        candidate = f"{base}-{number}"
        number += 1
    return candidate


_UNITS = ((MONTH_HOURS * 60, "month"), (7 * 24 * 60, "week"), (24 * 60, "day"), (60, "hour"), (1, "minute"))


def duration_display(minutes: int, package_type: str | None = None) -> str:
    """``30 minutes``, ``1 hour``, ``6 hours``, ``1 day``, ``1 week``, ``1 month`` (30 days), ``2 months``.

    The largest unit that divides the duration evenly, except that an hourly package keeps counting hours
    (the contract's "24 hours" stays "24 hours").
    """
    for size, unit in _UNITS:
        if package_type == "hourly" and size > 60:
            continue
        if minutes and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{minutes} minutes"


def price_text(price: Decimal) -> str:
    """``2.50``: the price as the contract prints it (a string with two decimals)."""
    return f"{price.quantize(Decimal('0.01')):.2f}"


def package_currency(package: Package) -> str:
    """The owner's currency the package is sold in."""
    return currency_for(package.router.user_id)


def _owned_package(actor: User, package_id: int) -> Package:
    package = db.session.scalar(
        select(Package).join(Router, Package.router_id == Router.id)
        .where(Package.id == package_id, router_scope(actor))
    )
    if package is None:
        raise NotFound("Package not found")
    return package


def get_package(actor: User, package_id: int) -> Package:
    """The actor's package with this id.

    :raises NotFound: when it does not exist or belongs to someone else's router.
    """
    return _owned_package(actor, package_id)


def list_packages(actor: User, router_id: int, include_inactive: bool = False) -> tuple[Router, list[Package]]:
    """The router and its packages (active ones only unless ``include_inactive``), cheapest first.

    :raises NotFound: when the router is not the actor's.
    """
    router = get_router(actor, router_id)
    statement = select(Package).where(Package.router_id == router.id)
    if not include_inactive:
        statement = statement.where(Package.is_active.is_(True))
    statement = statement.order_by(Package.is_active.desc(), Package.price, Package.name, Package.id)
    return router, list(db.session.scalars(statement))


def live_voucher_count(package: Package) -> int:
    """How many of the package's vouchers can still be used (unused or active)."""
    if package.id is None:
        return 0
    return db.session.scalar(
        select(func.count(Voucher.id)).where(Voucher.package_id == package.id, Voucher.state.in_(LIVE_STATES))
    ) or 0


def wants_profile(package: Package) -> bool:
    """Whether the router should hold the package's profile (active, or vouchers still usable)."""
    return package.is_active or live_voucher_count(package) > 0


def _int(data: dict[str, Any], name: str, fields: dict[str, str], low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        fields[name] = "This field is required."
        return None
    if isinstance(value, bool):
        fields[name] = "Must be a whole number."
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        fields[name] = "Must be a whole number."
        return None
    if isinstance(value, float) and value != number:
        fields[name] = "Must be a whole number."
        return None
    if not low <= number <= high:
        fields[name] = f"Must be between {low} and {high:,}."
        return None
    return number


def _duration(data: dict[str, Any], current: Package | None, package_type: str, fields: dict[str, str]) -> int | None:
    """The package's duration in minutes from ``duration_minutes`` or the contract's ``duration_hours``.

    Either may be sent; both together must agree (``duration_hours`` is the whole hours of ``duration_minutes``,
    so a client may send back what it read). Neither: the stored duration, else the type's default.
    """
    minutes_in, hours_in = data.get("duration_minutes"), data.get("duration_hours")
    sent_minutes, sent_hours = minutes_in not in (None, ""), hours_in not in (None, "")
    plan = PLANS.get(package_type)
    field = "duration_minutes" if sent_minutes else "duration_hours"
    minutes: int | None
    if sent_minutes:
        minutes = _whole(minutes_in)
        if sent_hours:
            hours = _whole(hours_in)
            if hours is None:
                fields["duration_hours"] = gettext("Must be a whole number.")
            elif minutes is not None and hours != minutes // 60:
                fields["duration_hours"] = gettext("Must be the whole hours of duration_minutes (%(hours)s).",
                                                   hours=minutes // 60)
    elif sent_hours:
        hours = _whole(hours_in)
        minutes = None if hours is None else hours * 60
    elif current is not None:
        minutes = current.duration_minutes
    elif plan is not None and plan.default is not None:
        minutes = plan.default * plan.unit_minutes
    else:
        fields[field] = gettext("This field is required.")
        return None
    if minutes is None:
        fields[field] = gettext("Must be a whole number.")
        return None
    if plan is not None:
        units, rest = divmod(minutes, plan.unit_minutes)
        if rest or not plan.low <= units <= plan.high:
            fields[field] = _plan_message(package_type)
    elif not MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES:
        fields[field] = gettext("Must last 10 minutes to 365 days.")
    return minutes


def _whole(value: Any) -> int | None:
    """``value`` as a whole number (``"30"``, ``30``, ``30.0``), else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and value != number:
        return None
    return number


def _plan_message(package_type: str) -> str:
    messages: dict[str, str] = {
        "minutes": gettext("A minutes package lasts 10 to 1,440 minutes."),
        "hourly": gettext("An hourly package lasts 1 to 24 hours."),
        "daily": gettext("A daily package lasts 1 to 365 whole days."),
        "weekly": gettext("A weekly package lasts 1 to 52 whole weeks."),
        "monthly": gettext("A monthly package lasts 1 to 12 months of 30 days (720 hours each)."),
    }
    return messages[package_type]


def _price(value: Any, fields: dict[str, str]) -> Decimal | None:
    if value is None or value == "":
        fields["price"] = "This field is required."
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        # A JSON number arrives as float; its shortest repr ("2.5") is what the client wrote.
        price = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        fields["price"] = "Must be an amount such as 2.50."
        return None
    exponent = price.as_tuple().exponent
    if not price.is_finite() or not isinstance(exponent, int):
        fields["price"] = "Must be an amount such as 2.50."
    elif exponent < -2:
        fields["price"] = "At most two decimals."
    elif price <= MIN_PRICE:
        fields["price"] = gettext("Must be greater than 0.01.")
    elif price > MAX_PRICE:
        fields["price"] = "Must be at most 99,999,999.99."
    else:
        return price.quantize(Decimal("0.01"))
    return None


def _clean(router: Router, data: dict[str, Any], current: Package | None) -> dict[str, Any]:
    """Validate a full set of package fields (``current`` fills what a partial update leaves out).

    :raises Invalid: with a message per bad field (:class:`NameTaken` when the name clash is the only one).
    """
    merged: dict[str, Any] = {}
    if current is not None:
        merged = {name: getattr(current, name) for name in _EDITABLE}
    merged.update({k: v for k, v in data.items() if k in _EDITABLE})
    fields: dict[str, str] = {}
    clean: dict[str, Any] = {}

    name = merged.get("name")
    name = name.strip() if isinstance(name, str) else ""
    name_taken = False
    if not name:
        fields["name"] = "This field is required."
    elif len(name) > 100:
        fields["name"] = "At most 100 characters."
    else:
        clash = db.session.scalar(
            select(Package.id).where(Package.router_id == router.id, func.lower(Package.name) == name.lower(),
                                     *([Package.id != current.id] if current is not None else []))
        )
        name_taken = clash is not None
        if name_taken:
            fields["name"] = "A package with this name already exists on this router."
    clean["name"] = name

    package_type = merged.get("package_type") or "hourly"
    if package_type not in PACKAGE_TYPES:
        fields["package_type"] = gettext("Choose minutes, hourly, daily, weekly or monthly.")
    clean["package_type"] = package_type
    clean["duration_minutes"] = _duration(data, current, package_type, fields)
    clean["price"] = _price(merged.get("price"), fields)
    clean["download_speed_mbps"] = _int(merged, "download_speed_mbps", fields, 1, MAX_SPEED_MBPS)
    clean["upload_speed_mbps"] = _int(merged, "upload_speed_mbps", fields, 1, MAX_SPEED_MBPS)
    shared = merged.get("shared_users")
    clean["shared_users"] = _int({"shared_users": 1 if shared in (None, "") else shared}, "shared_users",
                                 fields, 1, MAX_SHARED_USERS)
    for name, high in (("data_limit_mb", MAX_DATA_LIMIT_MB), ("validity_days", MAX_VALIDITY_DAYS)):
        # Optional: blank or null is "no limit".
        clean[name] = None if merged.get(name) in (None, "") else _int(merged, name, fields, 1, high)

    description = merged.get("description")
    description = description.strip() if isinstance(description, str) else ""
    if len(description) > 1000:
        fields["description"] = "At most 1,000 characters."
    clean["description"] = description

    active = merged.get("is_active", True)
    if not isinstance(active, bool):
        fields["is_active"] = "Must be true or false."
    clean["is_active"] = active if isinstance(active, bool) else True

    if fields:
        # A name clash alone is a conflict with the router's other packages, not a malformed request.
        error = NameTaken if fields.keys() == {"name"} and name_taken else Invalid
        raise error("Invalid package: " + "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    return clean


def _write_unique(package: Package, change: Callable[[], None], attempts: int = 3) -> None:
    """Apply ``change`` to the session and write it in a savepoint, turning a unique-key race (another request
    took the name between our check and this write) into the same 409 the check answers; a race on the
    derived profile name alone draws a new one.

    :raises NameTaken: when another package of the router holds the name.
    """
    for _ in range(attempts):
        try:
            with db.session.begin_nested():
                change()
                db.session.flush()
            return
        except IntegrityError:
            clash = db.session.scalar(select(Package.id).where(
                Package.router_id == package.router_id, func.lower(Package.name) == package.name.lower(),
                *([Package.id != package.id] if package.id is not None else [])))
            if clash is not None or package.id is not None:
                break
            taken = db.session.scalars(select(Package.profile_name).where(Package.router_id == package.router_id))
            package.profile_name = derive_profile_name(package.name, taken)
    message = gettext("A package with this name already exists on this router.")
    raise NameTaken(message, fields={"name": message})


def _profile_row(client: Any, name: str) -> Row | None:
    rows = client.print(PROFILE_PATH, query={"name": name})
    return rows[0] if rows else None


def plan_for(package: Package, current: Row | None, wanted: bool | None = None) -> list[RouterCommand]:
    """The commands that make the router's profile (``current``, or ``None`` when absent) match ``package``."""
    wanted = wants_profile(package) if wanted is None else wanted
    desired = profile_values(package)
    if not wanted:
        return [RouterCommand("remove", PROFILE_PATH, package.profile_name)] if current is not None else []
    if current is None:
        return [RouterCommand("add", PROFILE_PATH, None, {"name": package.profile_name, **desired})]
    changed = {key: value for key, value in desired.items() if not _same(key, current.get(key), value)}
    return [RouterCommand("set", PROFILE_PATH, package.profile_name, changed)] if changed else []


def _guess_plan(package: Package, wanted: bool) -> list[RouterCommand]:
    """A plan without reading the router: assume it holds what we last synced."""
    if package.synced_at is None:
        return plan_for(package, None, wanted) if wanted else []
    assumed = {"name": package.profile_name}
    return plan_for(package, assumed, wanted)


def apply(client: Any, commands: Iterable[RouterCommand]) -> None:
    """Send ``commands`` over one client (driver errors leave through the gateway as service errors)."""
    for command in commands:
        if command.action == "add":
            client.add(command.path, command.values)
        elif command.action == "set":
            client.set(command.path, command.target, command.values)
        elif command.action == "remove":
            client.remove(command.path, command.target)


def sync_package(client: Any, package: Package, now: datetime, wanted: bool | None = None) -> list[RouterCommand]:
    """Make the router's profile match ``package`` over an open client; mark it synced (no commit).

    Pass ``wanted`` (see :func:`wants_profile`) when the session holds changes: asking the database for it
    between router calls would flush them, opening a write transaction across router I/O.
    """
    commands = plan_for(package, _profile_row(client, package.profile_name), wanted)
    apply(client, commands)
    package.sync_state = "synced"
    package.sync_error = None
    package.synced_at = now
    return commands


def _push(router: Router, package: Package, now: datetime) -> tuple[bool, str | None, list[RouterCommand]]:
    """Try to sync one (committed) package now; an unreachable router leaves it pending (no commit)."""
    wanted = wants_profile(package)
    try:
        with gateway.connect(router) as client:
            commands = sync_package(client, package, now, wanted)
    except _OFFLINE as exc:
        package.sync_state = "pending"
        package.sync_error = exc.message[:500]
        return False, exc.message, []
    except RouterRejected as exc:
        package.sync_state = "error"
        package.sync_error = exc.message[:500]
        return False, exc.message, []
    return True, None, commands


def _preview(router: Router, package: Package, wanted: bool) -> PackageChange:
    try:
        with gateway.connect(router) as client:
            commands = plan_for(package, _profile_row(client, package.profile_name), wanted)
    except _OFFLINE as exc:
        return PackageChange(package, _guess_plan(package, wanted), dry_run=True, router_checked=False,
                             sync_error=exc.message)
    return PackageChange(package, commands, dry_run=True)


def create_package(
    actor: User, router_id: int, data: dict[str, Any], *, dry_run: bool = False, ip_address: str | None = None,
    now: datetime | None = None,
) -> PackageChange:
    """Create a package and its router profile (or, with ``dry_run``, only say which commands it would send).

    :raises NotFound: when the router is not the actor's.
    :raises Invalid: with per-field messages; :class:`NameTaken` (409) when only the name is taken.
    """
    router = get_router(actor, router_id)
    clean = _clean(router, data, None)
    taken = db.session.scalars(select(Package.profile_name).where(Package.router_id == router.id))
    package = Package(router_id=router.id, profile_name=derive_profile_name(clean["name"], taken), **clean)
    package.router = router
    if dry_run:
        return _preview(router, package, package.is_active)
    package.sync_state = "pending"
    _write_unique(package, lambda: db.session.add(package))
    db.session.commit()  # saved first, pushed second: no transaction is open while the router answers
    synced, error, commands = _push(router, package, now or utcnow())
    audit.record(actor, "package.create", f"Package {package.name} created on {router.name}", router_id=router.id,
                 details={"package_id": package.id, "profile": package.profile_name, "synced": synced,
                          "commands": [c.text for c in commands]}, ip_address=ip_address, commit=False)
    db.session.commit()
    return PackageChange(package, commands, synced=synced, sync_error=error)


def update_package(
    actor: User, package_id: int, data: dict[str, Any], *, dry_run: bool = False, ip_address: str | None = None,
    now: datetime | None = None,
) -> PackageChange:
    """Change a package (partial data keeps the rest) and push the change to its router profile.

    :raises NotFound: when the package is not the actor's.
    :raises Invalid: with per-field messages; :class:`NameTaken` (409) when only the name is taken.
    """
    package = _owned_package(actor, package_id)
    router = package.router
    clean = _clean(router, data, package)
    if dry_run:
        before = {name: getattr(package, name) for name in _EDITABLE}
        with db.session.no_autoflush:
            for name, value in clean.items():
                setattr(package, name, value)
            try:
                return _preview(router, package, clean["is_active"] or live_voucher_count(package) > 0)
            finally:
                for name, value in before.items():
                    setattr(package, name, value)
                db.session.expire(package)
    changed = {name: value for name, value in clean.items() if getattr(package, name) != value}

    def change() -> None:
        for name, value in clean.items():
            setattr(package, name, value)
        package.sync_state = "pending"

    _write_unique(package, change)
    db.session.commit()  # saved first, pushed second
    synced, error, commands = _push(router, package, now or utcnow())
    audit.record(actor, "package.update", f"Package {package.name} changed on {router.name}", router_id=router.id,
                 details={"package_id": package.id, "changed": {k: str(v) for k, v in changed.items()},
                          "synced": synced, "commands": [c.text for c in commands]},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return PackageChange(package, commands, synced=synced, sync_error=error)


def delete_package(
    actor: User, package_id: int, *, dry_run: bool = False, ip_address: str | None = None,
) -> PackageChange:
    """Delete a package and remove its profile from the router.

    A router that cannot be reached does not block the delete: its leftover profile shows up as "extra" in
    the drift view, from where one click removes it.

    :raises NotFound: when the package is not the actor's.
    :raises Conflict: while vouchers of the package can still be used.
    """
    package = _owned_package(actor, package_id)
    router = package.router
    live = live_voucher_count(package)
    if live:
        raise Conflict(f"Package {package.name} still has {live} unused or active vouchers: "
                       "deactivate it instead, or revoke them first.")
    if dry_run:
        return _preview(router, package, False)
    commands: list[RouterCommand] = []
    error = None
    try:
        with gateway.connect(router) as client:
            commands = plan_for(package, _profile_row(client, package.profile_name), False)
            apply(client, commands)
    except (*_OFFLINE, RouterRejected) as exc:
        error = exc.message
    name = package.name
    db.session.delete(package)
    audit.record(actor, "package.delete", f"Package {name} deleted from {router.name}", router_id=router.id,
                 details={"package_id": package_id, "profile": package.profile_name, "router_updated": error is None,
                          "commands": [c.text for c in commands]}, ip_address=ip_address, commit=False)
    db.session.commit()
    return PackageChange(None, commands, synced=error is None, sync_error=error)


def push_pending(client: Any, router: Router, now: datetime) -> list[RouterCommand]:
    """Retry every package of ``router`` not yet synced, over an open client (no commit)."""
    sent: list[RouterCommand] = []
    pending = list(db.session.scalars(
        select(Package).where(Package.router_id == router.id, Package.sync_state != "synced").order_by(Package.id)
    ))
    # Asked before any router call: a query between calls would flush the packages already marked synced.
    wanted = {package.id: wants_profile(package) for package in pending}
    for package in pending:
        try:
            sent.extend(sync_package(client, package, now, wanted[package.id]))
        except ros.CommandRejected as exc:
            package.sync_state = "error"
            package.sync_error = exc.message[:500]
    return sent


def retry_pending(actor: User, router_id: int, now: datetime | None = None) -> list[RouterCommand]:
    """Push every pending package of the actor's router now.

    :raises NotFound: when the router is not the actor's.
    :raises RouterUnreachable: when it still cannot be reached (RouterTimeout likewise).
    """
    router = get_router(actor, router_id)
    with gateway.connect(router) as client:
        sent = push_pending(client, router, now or utcnow())
    db.session.commit()
    return sent


def _managed_view(row: Row) -> dict[str, str]:
    return {key: row.get(key, "") for key in _MANAGED}


def drift(actor: User, router_id: int) -> tuple[Router, list[DriftItem]]:
    """Compare the router's user profiles with RouterDeck's packages: missing, different and extra profiles.

    The router's built-in ``default`` profile is never reported.

    :raises NotFound: when the router is not the actor's.
    :raises RouterUnreachable: when it cannot be reached (RouterTimeout likewise).
    """
    router = get_router(actor, router_id)
    with gateway.connect(router) as client:
        rows = client.print(PROFILE_PATH)
    return router, _compare(router, rows)


def _compare(router: Router, rows: list[Row]) -> list[DriftItem]:
    theirs = {row.get("name", ""): row for row in rows if row.get("name") and row.get("default") != "true"}
    packages = list(db.session.scalars(select(Package).where(Package.router_id == router.id).order_by(Package.name)))
    items: list[DriftItem] = []
    ours_names = set()
    for package in packages:
        wanted = wants_profile(package)
        row = theirs.get(package.profile_name)
        if not wanted:
            continue
        ours_names.add(package.profile_name)
        desired = profile_values(package)
        if row is None:
            items.append(DriftItem("missing", package.profile_name, package, desired, {}, {}))
            continue
        differences = {key: (value, row.get(key, "")) for key, value in desired.items()
                       if not _same(key, row.get(key), value)}
        if differences:
            items.append(DriftItem("different", package.profile_name, package, desired, _managed_view(row),
                                   differences))
    by_profile = {p.profile_name: p for p in packages}
    for name, row in sorted(theirs.items()):
        if name not in ours_names:
            items.append(DriftItem("extra", name, by_profile.get(name), {}, _managed_view(row), {}))
    return items


def _import_values(row: Row) -> dict[str, Any]:
    rates = parse_rate_limit(row.get("rate-limit", ""))
    upload, download = rates if rates else (0.0, 0.0)
    shared = row.get("shared-users", "1")
    return {
        "upload_speed_mbps": max(1, round(upload / 1e6)),
        "download_speed_mbps": max(1, round(download / 1e6)),
        "shared_users": int(shared) if shared.isdigit() else 1,
    }


def reconcile(
    actor: User, router_id: int, direction: str, profiles: list[str] | None = None, *,
    import_price: Decimal | str | None = None, ip_address: str | None = None, now: datetime | None = None,
) -> tuple[list[RouterCommand], list[Package]]:
    """Resolve drift for ``profiles`` (all when ``None``) in one direction.

    ``push`` makes the router match RouterDeck (add missing, set different, remove extra profiles).
    ``pull`` makes RouterDeck match the router: a different profile's speeds and shared users are adopted, a
    missing one deactivates its package, and an extra one is imported as an inactive package at
    ``import_price`` (required then: the router knows no prices).

    :raises NotFound: when the router is not the actor's.
    :raises Invalid: for an unknown direction or a missing import price.
    :raises RouterUnreachable: when it cannot be reached (RouterTimeout likewise).
    """
    router = get_router(actor, router_id)  # another team's router is 404 whatever the body says
    if direction not in ("push", "pull"):
        raise Invalid("direction must be push or pull", fields={"direction": "push or pull"})
    if direction == "push":
        job = start_reconcile_push(actor, router.id, profiles, ip_address=ip_address)
        done = job.result if job.state == "succeeded" and isinstance(job.result, dict) else {"commands": []}
        return [RouterCommand(c["action"], c["path"], c["target"], c["values"]) for c in done["commands"]], []
    moment = now or utcnow()
    sent: list[RouterCommand] = []
    changed: list[Package] = []
    with gateway.connect(router) as client:
        rows = {row.get("name", ""): row for row in client.print(PROFILE_PATH)}
        items = [i for i in _compare(router, list(rows.values())) if profiles is None or i.profile in profiles]
        price: Decimal | None = None
        if direction == "pull" and any(i.kind == "extra" and i.package is None for i in items):
            fields: dict[str, str] = {}
            price = _price(import_price, fields)
            if price is None:
                raise Invalid("Importing a profile needs a price", fields={"price": fields.get("price", "")})
        for item in items:
            if direction == "push":
                if item.kind == "extra":
                    commands = [RouterCommand("remove", PROFILE_PATH, item.profile)]
                else:
                    assert item.package is not None
                    commands = plan_for(item.package, rows.get(item.profile), True)
                    item.package.sync_state, item.package.sync_error, item.package.synced_at = "synced", None, moment
                apply(client, commands)
                sent.extend(commands)
            elif item.kind == "different" and item.package is not None:
                for key, value in _import_values(rows[item.profile]).items():
                    setattr(item.package, key, value)
                item.package.sync_state, item.package.sync_error, item.package.synced_at = "synced", None, moment
                changed.append(item.package)
            elif item.kind == "missing" and item.package is not None:
                item.package.is_active = False
                item.package.sync_state, item.package.synced_at = "synced", moment
                changed.append(item.package)
            elif item.kind == "extra" and item.package is not None:
                item.package.is_active = True
                changed.append(item.package)
            elif item.kind == "extra":
                assert price is not None  # an extra profile without a package made the price required above
                changed.append(_import(router, rows[item.profile], price, moment))
    audit.record(actor, f"package.reconcile.{direction}", f"Packages of {router.name} reconciled ({direction})",
                 router_id=router.id, details={"profiles": [i.profile for i in items],
                                               "commands": [c.text for c in sent]},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return sent, changed


RECONCILE_JOB = "packages.reconcile"


def start_reconcile_push(actor: User, router_id: int, profiles: list[str] | None = None, *,
                         ip_address: str | None = None) -> Job:
    """Queue the job that makes the router's profiles match RouterDeck's packages (``profiles``: all when None).

    :raises NotFound: when the router is not the actor's.
    """
    router = get_router(actor, router_id)
    job = jobs.enqueue(RECONCILE_JOB, user_id=actor.id, router_id=router.id,
                       params={"profiles": profiles, "ip_address": ip_address})
    jobs.start(job)
    db.session.refresh(job)
    return job


@jobs.job_kind(RECONCILE_JOB)
def reconcile_push_job(ctx: jobs.JobContext) -> dict[str, Any]:
    """Add missing, set different and remove extra profiles, one profile per step; a refused one is an item error."""
    router = db.session.get(Router, ctx.router_id) if ctx.router_id is not None else None
    if router is None:
        return {"direction": "push", "commands": [], "note": "router deleted"}
    actor = db.session.get(User, ctx.user_id) if ctx.user_id is not None else None
    profiles = ctx.params.get("profiles")
    db.session.commit()
    sent: list[RouterCommand] = []
    with gateway.connect(router) as client:
        rows = {row.get("name", ""): row for row in client.print(PROFILE_PATH)}
        items = [i for i in _compare(router, list(rows.values())) if profiles is None or i.profile in profiles]
        plan = [(item, [RouterCommand("remove", PROFILE_PATH, item.profile)] if item.kind == "extra" or
                 item.package is None else plan_for(item.package, rows.get(item.profile), True)) for item in items]
        targets = {item.profile: item.package.id if item.package is not None and item.kind != "extra" else None
                   for item in items}
        db.session.commit()
        ctx.progress(0, total=len(plan))
        for item, commands in plan:
            try:
                apply(client, commands)
            except ros.CommandRejected as exc:
                ctx.item_error(item.profile, exc.message)
                ctx.progress(advance=1)
                continue
            package_id = targets[item.profile]
            if package_id is not None:
                db.session.execute(update(Package).where(Package.id == package_id).values(
                    sync_state="synced", sync_error=None, synced_at=utcnow()))
                db.session.commit()
            sent.extend(commands)
            ctx.progress(advance=1)
    audit.record(actor, "package.reconcile.push", f"Packages of {router.name} reconciled (push)",
                 router_id=router.id, details={"profiles": [item.profile for item, _ in plan],
                                               "commands": [c.text for c in sent], "job_id": ctx.job_id},
                 ip_address=ctx.params.get("ip_address"), commit=False)
    db.session.commit()
    return {"direction": "push", "commands": [c.as_dict() for c in sent]}


def _import(router: Router, row: Row, price: Decimal, now: datetime) -> Package:
    profile = row.get("name", "")
    taken = set(db.session.scalars(select(func.lower(Package.name)).where(Package.router_id == router.id)))
    name, number = profile, 2
    while name.lower() in taken:
        name = f"{profile} ({number})"
        number += 1
    package = Package(
        router_id=router.id, name=name[:100], package_type="hourly", duration_minutes=60, price=price,
        description=f"Imported from router profile {profile}", is_active=False, profile_name=profile,
        sync_state="synced", synced_at=now, **_import_values(row),
    )
    db.session.add(package)
    return package
