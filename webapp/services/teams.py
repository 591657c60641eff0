"""Teams: an owner's staff accounts, their roles, and which routers a team member reaches.

Staff map to their owner in exactly one place, ``User.team_owner_id``; every query for a router (and what hangs
off it) is scoped with :func:`router_scope`, so another team's object is never found (404) and a cashier reaches
only the routers assigned to them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.models import Router, Sale, User
from webapp.models.core import STAFF_ROLES, router_assignments
from webapp.services import accounts, audit
from webapp.services.errors import Forbidden, Invalid, NotFound
from webapp.timeutil import utcnow

INVITATION_LIFETIME = timedelta(days=7)


def router_scope(actor: User) -> ColumnElement[bool]:
    """The SQL condition selecting the routers ``actor`` may reach (the team's; a cashier's assigned ones)."""
    condition: ColumnElement[bool] = Router.user_id == actor.team_owner_id
    if actor.role == "cashier":
        assigned = select(router_assignments.c.router_id).where(router_assignments.c.user_id == actor.id)
        condition = condition & Router.id.in_(assigned)
    return condition


def _require_owner(actor: User) -> None:
    if not actor.is_owner:
        raise Forbidden("Only the team's owner manages the team")


@dataclass(frozen=True)
class NewMember:
    """A created member; ``invitation_token`` is set (and exists only here) when no password was given."""

    member: User
    invitation_token: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_role(role: Any) -> str:
    if role not in STAFF_ROLES:
        raise Invalid("Invalid role", fields={"role": f"one of {', '.join(STAFF_ROLES)}"})
    return str(role)


def _team_routers(actor: User, router_ids: Any) -> list[Router]:
    if router_ids is None:
        return []
    if not isinstance(router_ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                    for i in router_ids):
        raise Invalid("Invalid router_ids", fields={"router_ids": "a list of router ids"})
    wanted = set(router_ids)
    found = list(db.session.scalars(select(Router).where(Router.user_id == actor.team_owner_id,
                                                           Router.id.in_(wanted)).order_by(Router.id)))
    if len(found) != len(wanted):
        raise Invalid("Unknown router", fields={"router_ids": "every id must name one of your routers"})
    return found


def list_members(actor: User) -> list[User]:
    """The owner's staff, oldest first.

    :raises Forbidden: when the actor is not an owner.
    """
    _require_owner(actor)
    return list(db.session.scalars(select(User).where(User.owner_id == actor.id).order_by(User.id)))


def get_member(actor: User, member_id: int) -> User:
    """One of the owner's staff.

    :raises Forbidden: when the actor is not an owner.
    :raises NotFound: when the id is not a member of the actor's team.
    """
    _require_owner(actor)
    member = db.session.get(User, member_id)
    if member is None or member.owner_id != actor.id:
        raise NotFound("Team member not found")
    return member


def create_member(actor: User, data: dict[str, Any], ip_address: str | None = None) -> NewMember:
    """Add a staff account: with the owner-set ``password``, or (none given) an invitation link to set one.

    :raises Forbidden: when the actor is not an owner.
    :raises Invalid: for a bad username, password, role or router id.
    :raises Conflict: if the username is taken.
    """
    _require_owner(actor)
    role = _clean_role(data.get("role"))
    routers = _team_routers(actor, data.get("router_ids"))
    password = data.get("password") or None
    token = None
    if password is None:
        token = secrets.token_urlsafe(32)
        # Nobody can log in with a random unknown password; the invitation sets the real one.
        password = secrets.token_urlsafe(32)
    member = accounts.create_user(str(data.get("username") or ""), str(password), data.get("email") or None,
                                  commit=False)
    member.owner_id = actor.id
    member.role = role
    member.assigned_routers = routers if role == "cashier" else []
    if token is not None:
        member.invitation_digest = _digest(token)
        member.invitation_expires_at = utcnow() + INVITATION_LIFETIME
    db.session.flush()
    audit.record(actor, "team.member_create", f'Added "{member.username}" to the team as {role}',
                 target=f"user:{member.id}", ip_address=ip_address, commit=False,
                 details={"role": role, "router_ids": [r.id for r in member.assigned_routers],
                          "invited": token is not None})
    db.session.commit()
    return NewMember(member=member, invitation_token=token)


def update_member(actor: User, member_id: int, data: dict[str, Any], ip_address: str | None = None) -> User:
    """Change a member's role, routers, email, active flag or password; a role, password or active change
    ends every session and token the member has.

    :raises Forbidden: when the actor is not an owner.
    :raises NotFound: when the id is not a member of the actor's team.
    :raises Invalid: for a bad role, password or router id.
    """
    member = get_member(actor, member_id)
    changed: dict[str, Any] = {}
    end_sessions = False
    if "role" in data and data["role"] is not None and data["role"] != member.role:
        member.role = _clean_role(data["role"])
        changed["role"] = member.role
        end_sessions = True
    if "router_ids" in data and data["router_ids"] is not None:
        member.assigned_routers = _team_routers(actor, data["router_ids"])
        changed["router_ids"] = [r.id for r in member.assigned_routers]
    if member.role != "cashier" and member.assigned_routers:
        member.assigned_routers = []
    if "email" in data:
        member.email = (data.get("email") or None)
        changed["email"] = member.email
    if "is_active" in data and data["is_active"] is not None and bool(data["is_active"]) != member.is_active_account:
        member.is_active_account = bool(data["is_active"])
        changed["is_active"] = member.is_active_account
        end_sessions = True
    if data.get("password"):
        accounts.check_password_strength(str(data["password"]))
        member.password_hash = generate_password_hash(str(data["password"]))
        member.invitation_digest = None
        member.invitation_expires_at = None
        changed["password"] = "reset"  # noqa: S105 - audit marker, never the value
        end_sessions = True
    if end_sessions:
        accounts.end_sessions(member, commit=False)
    audit.record(actor, "team.member_update", f'Updated team member "{member.username}": '
                 + (", ".join(changed) or "nothing"), target=f"user:{member.id}", ip_address=ip_address,
                 details=changed, commit=False)
    db.session.commit()
    return member


def delete_member(actor: User, member_id: int, ip_address: str | None = None) -> str:
    """Remove a member: their account, sessions, tokens and API keys go with it (sales and audit keep the name).

    :raises Forbidden: when the actor is not an owner.
    :raises NotFound: when the id is not a member of the actor's team.
    """
    member = get_member(actor, member_id)
    name = member.username
    accounts.end_sessions(member, commit=False)
    audit.record(actor, "team.member_delete", f'Removed "{name}" from the team', target=f"user:{member.id}",
                 ip_address=ip_address, commit=False, details={"role": member.role})
    db.session.delete(member)
    db.session.commit()
    return name


def member_for_invitation(token: str) -> User:
    """The member an unexpired invitation link belongs to.

    :raises NotFound: for an unknown, used or expired invitation.
    """
    member: User | None = db.session.scalar(select(User).where(User.invitation_digest == _digest(token or "")))
    if member is None or member.invitation_expires_at is None or member.invitation_expires_at < utcnow():
        raise NotFound("This invitation is unknown, used or expired")
    return member


def accept_invitation(token: str, password: str, ip_address: str | None = None) -> User:
    """Set the invited member's password; the link works once.

    :raises NotFound: for an unknown, used or expired invitation.
    :raises Invalid: for a weak password.
    """
    member = member_for_invitation(token)
    accounts.check_password_strength(password)
    member.password_hash = generate_password_hash(password)
    member.invitation_digest = None
    member.invitation_expires_at = None
    audit.record(member, "team.invitation_accept", f'"{member.username}" accepted the invitation',
                 target=f"user:{member.id}", ip_address=ip_address, commit=False)
    db.session.commit()
    return member


def sale_scope(actor: User) -> ColumnElement[bool]:
    """The SQL condition selecting the sales ``actor`` may see (the team's; a cashier's own)."""
    condition: ColumnElement[bool] = Sale.user_id == actor.team_owner_id
    if actor.role == "cashier":
        condition = condition & (Sale.sold_by_id == actor.id)
    return condition
