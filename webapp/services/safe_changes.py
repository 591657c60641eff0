"""Safe changes: a change that might cut RouterDeck off is applied with an automatic rollback armed on the router.

Before the change, a ``/system/scheduler`` entry is added that runs the undo (the previous values of what the
change touches) after ``rollback_minutes`` and then removes itself. After the change RouterDeck opens a *fresh*
connection (a pooled session can outlive a disabled service, as on RouterOS): if it gets in, it removes the
entry and the change stays; if not, the router undoes the change by itself when the entry fires, and a later
check (the fleet schedule, or ``check``) records that it came back.

Undo is known for ``set`` (any menu, an item or a single-item menu), ``enable``/``disable`` and ``add`` of an
item with a ``name`` or ``address``; anything else is refused (422) rather than applied without a way back.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Router, SafeChange, User
from webapp.services import audit, commands, gateway, routers
from webapp.services.commands import CommandFailed
from webapp.services.errors import Conflict, Invalid, NotFound, ServiceError
from webapp.services.teams import router_scope
from webapp.timeutil import utcnow

MIN_MINUTES, MAX_MINUTES = 1, 60
_PLAIN = re.compile(r"[A-Za-z0-9_.:/,*+@%!^~-]+")
_ITEM_KEYS = (".id", "numbers", "number")


class UndoUnknown(Invalid):
    """RouterDeck does not know how to undo this command, so it will not apply it as a safe change."""

    status = 422


def quote(value: str) -> str:
    """A value as RouterOS console text (bare when safe, else quoted with escapes)."""
    if value and _PLAIN.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
    return f'"{escaped}"'


def _console(menu: str) -> str:
    # Spaces, not slashes: RouterOS 6 consoles know only the spaced form.
    return "/" + menu.replace("/", " ")


def _item(data: dict[str, Any], params: dict[str, Any]) -> str | None:
    for source in (data, params):
        for key in _ITEM_KEYS:
            for spelled in (key, f"?{key}"):
                if source.get(spelled) not in (None, ""):
                    return str(source[spelled])
    return None


def plan_undo(client: Any, path: str, verb: str, params: dict[str, Any], data: dict[str, Any]) -> str:
    """The console text that reverts the command, built from what the router holds now.

    :raises UndoUnknown: for a command RouterDeck cannot revert.
    :raises RouterOSError: (from the driver) when reading the current values fails.
    """
    menu, _, action = path.rpartition("/")
    if action in ("set", "enable", "disable") and menu:
        item = _item(data, params)
        rows = client.print(menu) if item is None else client.print(
            menu, query={".id": item} if item.startswith("*") else {"name": item})
        if not rows:
            raise UndoUnknown(f"nothing in {menu} matches {item!r}: there is nothing to change")
        row = rows[0]
        target = "" if item is None else f" {row.get('.id', item)}"
        if action == "set":
            keys = [k for k in data if k not in _ITEM_KEYS and not k.startswith("?")]
            missing = [k for k in keys if k not in row]
            if missing or not keys:
                raise UndoUnknown(f"cannot undo: {', '.join(missing) or 'no property'} has no current value to go "
                                  "back to")
            words = " ".join(f"{key}={quote(str(row[key]))}" for key in keys)
        else:
            words = f"disabled={quote(str(row.get('disabled', 'false')))}"
        return f"{_console(menu)} set{target} {words}"
    if action == "add" and menu:
        for key in ("name", "address"):
            if data.get(key) not in (None, ""):
                return f'{_console(menu)} remove [find {key}={quote(str(data[key]))}]'
        raise UndoUnknown("cannot undo an add without a name or address to find the new item by")
    raise UndoUnknown(f"no automatic undo for {verb} {path}: only set, enable, disable and add can be safe changes")


def _verify_timeout() -> float:
    return float(current_app.config["ROUTER_TIMEOUT"])


def apply(actor: User, router_id: int, command: str, method: str | None, params: Any, data: Any, *,
          rollback_minutes: int = 5, confirm: bool = False, ip_address: str | None = None) -> SafeChange:
    """Arm the rollback, apply the change, then try to reach the router again on a fresh connection.

    :raises NotFound: for someone else's router.
    :raises Invalid: / :raises UndoUnknown: (422) for a command without a known undo.
    :raises Conflict: for a dangerous command without ``confirm``.
    :raises RouterUnreachable: / :raises RouterTimeout: when the rollback cannot be armed (nothing changed).
    """
    if isinstance(rollback_minutes, bool) or not isinstance(rollback_minutes, int) or not (
            MIN_MINUTES <= rollback_minutes <= MAX_MINUTES):
        raise Invalid(f"rollback_minutes must be {MIN_MINUTES}-{MAX_MINUTES}",
                      fields={"rollback_minutes": f"{MIN_MINUTES}-{MAX_MINUTES}"})
    router = routers.get_router(actor, router_id)
    path, verb = commands.normalise(command, method)
    params_in = commands._check_mapping("params", params)
    data_in = commands._check_mapping("data", data)
    why = commands.danger(path, verb, data_in, params_in)
    if why and not confirm:
        raise Conflict(f'Confirmation required: {why}. Send "confirm": true to run it.',
                       fields={"confirm": "required for this command"})
    name = f"routerdeck-undo-{secrets.token_hex(4)}"
    db.session.commit()
    with gateway.connect(router) as client:  # driver errors leave as service errors
        undo = plan_undo(client, path, verb, params_in, data_in)
    event = f'{undo}; /system scheduler remove [find name="{name}"]'
    change = SafeChange(user_id=actor.id, router_id=router.id, command=path, method=verb, undo=undo,
                        scheduler_name=name, rollback_minutes=rollback_minutes, state="armed",
                        rollback_at=utcnow() + timedelta(minutes=rollback_minutes))
    db.session.add(change)
    db.session.commit()
    with gateway.connect(router) as client:  # nothing is changed if the rollback cannot be armed
        client.add("system/scheduler", {"name": name, "interval": f"{rollback_minutes}m", "on-event": event,
                                        "comment": "RouterDeck: undoes a change unless RouterDeck disarms it"})
    try:
        run = commands.run_command(actor, router_id, command, method, params, data, confirm=True,
                                   ip_address=ip_address)
        change.command_id = run.id
    except CommandFailed as failed:
        change.command_id = failed.run.id
        db.session.commit()  # no write transaction stays open across the router calls below
        if failed.status == 400:  # refused: nothing changed, so nothing to undo
            _disarm(router, change, "failed", f"The router refused the change: {failed.message}")
            db.session.commit()
            return change
    db.session.commit()
    _confirm(router, change)
    audit.record(actor, "safe_change.apply", f"Safe change {verb} {path} → {change.state}", router_id=router.id,
                 details={"safe_change_id": change.id, "undo": undo, "rollback_minutes": rollback_minutes},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return change


def _reach(router: Router) -> bool:
    try:
        with gateway.connect(router, pooled=False, timeout=_verify_timeout()) as client:
            client.identity()
    except ServiceError:
        return False
    return True


def _disarm(router: Router, change: SafeChange, state: str, message: str) -> bool:
    try:
        with gateway.connect(router, pooled=False, timeout=_verify_timeout()) as client:
            present = client.print("system/scheduler", query={"name": change.scheduler_name})
            if present:
                client.remove("system/scheduler", present[0][".id"])
    except ServiceError:
        return False
    change.state, change.message = state, message
    return True


def _confirm(router: Router, change: SafeChange) -> None:
    if _reach(router) and _disarm(router, change, "confirmed",
                                  "RouterDeck reached the router after the change; the rollback was removed"):
        routers.mark_status(router, online=True)
        return
    change.state = "pending"
    change.message = (f"RouterDeck cannot reach the router since the change; the router undoes it by itself at "
                      f"{change.rollback_at:%H:%M} UTC")
    routers.mark_status(router, online=False, reason="unreachable", message=change.message)


def check(actor: User | None, change_id: int, *, owner: User | None = None) -> SafeChange:
    """Look at a pending safe change again: rolled back (the entry ran and removed itself), confirmed (reached
    again in time: the entry is removed), or still pending.

    :raises NotFound: for someone else's change.
    """
    who = actor or owner
    change: SafeChange | None = db.session.scalar(
        select(SafeChange).join(Router, Router.id == SafeChange.router_id)
        .where(SafeChange.id == change_id, router_scope(who) if who else Router.id == -1))
    if change is None:
        raise NotFound("Safe change not found")
    if change.state not in ("pending", "armed"):
        return change
    router = db.session.get(Router, change.router_id)
    if router is None:
        raise NotFound("Safe change not found")
    db.session.commit()
    try:
        with gateway.connect(router, pooled=False, timeout=_verify_timeout()) as client:
            present = client.print("system/scheduler", query={"name": change.scheduler_name})
            if present:
                client.remove("system/scheduler", present[0][".id"])
                change.state = "confirmed"
                change.message = "RouterDeck reached the router again before the rollback; the change stays"
            else:
                change.state = "rolled_back"
                change.message = "The router undid the change by itself and RouterDeck reached it again"
        routers.mark_status(router, online=True)
    except ServiceError:
        pass
    db.session.commit()
    return change


def check_pending() -> int:
    """Check every pending safe change (the fleet schedule calls this); return how many were settled."""
    settled = 0
    pending = list(db.session.execute(
        select(SafeChange.id, Router.user_id).join(Router, Router.id == SafeChange.router_id)
        .where(SafeChange.state == "pending")))
    for change_id, owner_id in pending:
        owner = db.session.get(User, owner_id)
        change = check(None, change_id, owner=owner)
        settled += change.state != "pending"
    return settled


def for_router(actor: User, router_id: int) -> list[SafeChange]:
    """A router's safe changes, newest first.

    :raises NotFound: for someone else's router.
    """
    routers.get_router(actor, router_id)
    return list(db.session.scalars(select(SafeChange).where(SafeChange.router_id == router_id)
                                   .order_by(SafeChange.id.desc()).limit(50)))


def change_out(change: SafeChange) -> dict[str, Any]:
    """A safe change as JSON."""
    return {
        "id": change.id, "router_id": change.router_id, "command": change.command, "method": change.method,
        "command_id": change.command_id, "undo": change.undo, "scheduler_name": change.scheduler_name,
        "rollback_minutes": change.rollback_minutes, "state": change.state, "message": change.message,
        "created_at": change.created_at.isoformat(timespec="seconds") + "Z",
        "rollback_at": change.rollback_at.isoformat(timespec="seconds") + "Z",
    }

