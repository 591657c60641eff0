"""The free trial: RouterOS's own hotspot trial login, configured from RouterDeck.

A trial is a property of the hotspot *server* profile (``/ip/hotspot/profile``): ``login-by`` gains ``trial``,
``trial-uptime-limit`` is how long a device may browse, ``trial-uptime-reset`` how soon the same device (the
router keys trials on its MAC address) may have another, and ``trial-user-profile`` the user profile (speed) it
gets. "Once per device per day" is therefore a 24-hour reset. Every server profile that a hotspot server of the
router uses is set; the settings are saved first (``trial_sync_state="pending"``) and the hotspot sync applies
them when the router is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import HotspotSite, Package, User
from webapp.services import audit, gateway
from webapp.services.errors import Invalid, NotFound, RouterRejected, RouterTimeout, RouterUnreachable
from webapp.services.hotspot_settings import stored_site
from webapp.services.packages import RouterCommand, apply
from webapp.services.routers import get_router
from webapp.services.vouchers import router_duration

SERVER_PATH = "ip/hotspot"
SERVER_PROFILE_PATH = "ip/hotspot/profile"
MAX_TRIAL_MINUTES = 1440
MAX_TRIAL_RESET_HOURS = 24 * 30


@dataclass
class TrialResult:
    """The saved trial settings, the commands sent and, when the router could not be reached, why."""

    site: HotspotSite
    commands: list[RouterCommand]
    error: str | None


def _login_by(current: str, enabled: bool) -> str:
    methods = [m for m in (current or "").split(",") if m and m != "trial"]
    if enabled:
        methods.append("trial")
    return ",".join(methods)


def trial_plan(client: Any, site: HotspotSite) -> list[RouterCommand]:
    """The commands that make every hotspot server profile in use carry ``site``'s trial settings."""
    in_use = {row.get("profile", "") for row in client.print(SERVER_PATH, proplist=["name", "profile"])}
    package = db.session.get(Package, site.trial_package_id) if site.trial_package_id else None
    desired_profile = package.profile_name if package is not None else "default"
    commands: list[RouterCommand] = []
    for row in client.print(SERVER_PROFILE_PATH):
        name = row.get("name", "")
        if name not in in_use:
            continue
        wanted = {"login-by": _login_by(row.get("login-by", ""), site.trial_enabled)}
        if site.trial_enabled:
            wanted.update({"trial-uptime-limit": router_duration(site.trial_minutes),
                           "trial-uptime-reset": router_duration(site.trial_reset_hours * 60),
                           "trial-user-profile": desired_profile})
        changed = {key: value for key, value in wanted.items() if row.get(key, "") != value}
        if changed:
            commands.append(RouterCommand("set", SERVER_PROFILE_PATH, name, changed))
    return commands


def apply_trial(client: Any, site: HotspotSite) -> list[RouterCommand]:
    """Send the trial settings over an open client and mark them synced (no commit)."""
    commands = trial_plan(client, site)
    apply(client, commands)
    site.trial_sync_state = "synced"
    return commands


def _whole(data: dict[str, Any], name: str, low: int, high: int, fields: dict[str, str]) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        fields[name] = gettext("Must be a whole number.")
        return None
    number = int(value)
    if not low <= number <= high:
        fields[name] = gettext("Must be between %(low)s and %(high)s.", low=low, high=f"{high:,}")
        return None
    return number


def update_trial(actor: User, router_id: int, data: dict[str, Any], *, ip_address: str | None = None) -> TrialResult:
    """Change the router's free trial (on/off, minutes, reset hours, the package whose speed it gets) and send it
    to the router now when it answers (else the next hotspot sync does).

    :raises NotFound: when the router is not the actor's.
    :raises Invalid: for out-of-range numbers or a non-boolean switch.
    :raises NotFound: for a package that is not this router's.
    """
    router = get_router(actor, router_id)
    fields: dict[str, str] = {name: gettext("Leave it out rather than sending null.") for name in
                              ("trial_enabled", "trial_minutes", "trial_reset_hours")
                              if name in data and data[name] is None}
    enabled = data.get("trial_enabled")
    if enabled is not None and not isinstance(enabled, bool):
        fields["trial_enabled"] = gettext("Must be true or false.")
    minutes = _whole(data, "trial_minutes", 1, MAX_TRIAL_MINUTES, fields)
    reset = _whole(data, "trial_reset_hours", 1, MAX_TRIAL_RESET_HOURS, fields)
    package_id = data.get("trial_package_id", ...)
    package = None
    if package_id not in (None, ...):
        package = db.session.scalar(select(Package).where(Package.id == package_id, Package.router_id == router.id)) \
            if isinstance(package_id, int) and not isinstance(package_id, bool) else None
        if package is None:
            raise NotFound(gettext("Package not found"))
    if fields:
        raise Invalid(gettext("Invalid trial settings"), fields=fields)
    site = stored_site(router)
    if enabled is not None:
        site.trial_enabled = enabled
    if minutes is not None:
        site.trial_minutes = minutes
    if reset is not None:
        site.trial_reset_hours = reset
    if package_id is not ...:
        site.trial_package_id = package.id if package is not None else None
    site.trial_sync_state = "pending"
    audit.record(actor, "hotspot.trial", f"Free trial of {router.name} changed", router_id=router.id,
                 details={"enabled": site.trial_enabled, "minutes": site.trial_minutes,
                          "reset_hours": site.trial_reset_hours, "package_id": site.trial_package_id},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    # Saved first, sent second: no transaction is open while the router answers.
    error = None
    commands: list[RouterCommand] = []
    try:
        with gateway.connect(router) as client:
            commands = apply_trial(client, site)
    except (RouterUnreachable, RouterTimeout, RouterRejected) as exc:
        error = exc.message
        db.session.rollback()
        site = stored_site(router)
    db.session.commit()
    return TrialResult(site, commands, error)
