"""Credential profiles: one username and password shared by many routers (and a group's default).

The password is encrypted like router passwords and never shown. A router that uses a profile gets the
profile's username and encrypted password copied into its own row (the driver keeps reading the router), and
changing the profile rewrites every router that uses it, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import CredentialProfile, GroupCredential, Router, RouterCredential, RouterGroup, User
from webapp.services import audit
from webapp.services.errors import Conflict, Invalid, NotFound
from webapp.services.vault import encrypt_password
from webapp.timeutil import utcnow


def list_profiles(actor: User) -> list[CredentialProfile]:
    """The actor's profiles by name."""
    return list(db.session.scalars(select(CredentialProfile).where(CredentialProfile.user_id == actor.team_owner_id)
                                   .order_by(CredentialProfile.name, CredentialProfile.id)))


def get_profile(actor: User, profile_id: int) -> CredentialProfile:
    """The actor's profile.

    :raises NotFound: when it is not the actor's.
    """
    profile: CredentialProfile | None = db.session.scalar(select(CredentialProfile).where(
        CredentialProfile.id == profile_id, CredentialProfile.user_id == actor.team_owner_id))
    if profile is None:
        raise NotFound("Credential profile not found")
    return profile


def users_of(profile_id: int) -> list[int]:
    """The ids of the routers using a profile."""
    return list(db.session.scalars(select(RouterCredential.router_id).where(RouterCredential.profile_id == profile_id)))


def profile_of(router_ids: list[int]) -> dict[int, int]:
    """Each router's profile id (routers without one are absent)."""
    if not router_ids:
        return {}
    rows = db.session.execute(select(RouterCredential.router_id, RouterCredential.profile_id)
                              .where(RouterCredential.router_id.in_(router_ids)))
    return {router_id: profile_id for router_id, profile_id in rows}


def _validate(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, limit in (("name", 100), ("username", 50)):
        if key in data or creating:
            value = str(data.get(key) or "").strip()
            if not 1 <= len(value) <= limit:
                errors[key] = f"1-{limit} characters"
            clean[key] = value
    password = data.get("password")
    if creating and not password:
        errors["password"] = "required"  # noqa: S105 - a form message
    if password and len(str(password)) > 256:
        errors["password"] = "at most 256 characters"  # noqa: S105 - a form message
    if errors:
        raise Invalid("Invalid credential profile: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                      fields=errors)
    return clean


def create_profile(actor: User, data: dict[str, Any], ip_address: str | None = None) -> CredentialProfile:
    """Create a profile.

    :raises Invalid: per field. :raises Conflict: for a name already used.
    """
    clean = _validate(data, creating=True)
    if db.session.scalar(select(CredentialProfile).where(CredentialProfile.user_id == actor.team_owner_id,
                                                         CredentialProfile.name == clean["name"])):
        raise Conflict(f'A credential profile called "{clean["name"]}" already exists', fields={"name": "already used"})
    profile = CredentialProfile(user_id=actor.team_owner_id, encrypted_password=encrypt_password(str(data["password"])),
                                **clean)
    db.session.add(profile)
    db.session.flush()
    audit.record(actor, "credentials.create", f'Created credential profile "{profile.name}"',
                 details={"profile_id": profile.id, "username": profile.username}, ip_address=ip_address,
                 commit=False)
    db.session.commit()
    return profile


def update_profile(actor: User, profile_id: int, data: dict[str, Any],
                   ip_address: str | None = None) -> CredentialProfile:
    """Change a profile; its routers get the new username/password at once (a blank password keeps it).

    :raises NotFound: / :raises Invalid: / :raises Conflict:
    """
    profile = get_profile(actor, profile_id)
    clean = _validate(data, creating=False)
    if "name" in clean and db.session.scalar(select(CredentialProfile).where(
            CredentialProfile.user_id == actor.team_owner_id, CredentialProfile.name == clean["name"],
            CredentialProfile.id != profile.id)):
        raise Conflict(f'A credential profile called "{clean["name"]}" already exists', fields={"name": "already used"})
    for key, value in clean.items():
        setattr(profile, key, value)
    if data.get("password"):
        profile.encrypted_password = encrypt_password(str(data["password"]))
    _write_through(profile)
    audit.record(actor, "credentials.update", f'Updated credential profile "{profile.name}"',
                 details={"profile_id": profile.id, "fields": sorted(k for k in data if k != "password"),
                          "password": "changed" if data.get("password") else "kept"},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return profile


def delete_profile(actor: User, profile_id: int, ip_address: str | None = None) -> str:
    """Delete a profile; its routers keep the credentials they have.

    :raises NotFound: for someone else's profile.
    """
    profile = get_profile(actor, profile_id)
    name = profile.name
    db.session.execute(delete(RouterCredential).where(RouterCredential.profile_id == profile.id))
    db.session.execute(delete(GroupCredential).where(GroupCredential.profile_id == profile.id))
    db.session.delete(profile)
    audit.record(actor, "credentials.delete", f'Deleted credential profile "{name}"',
                 details={"profile_id": profile_id}, ip_address=ip_address, commit=False)
    db.session.commit()
    return name


def _write_through(profile: CredentialProfile) -> None:
    for router_id in users_of(profile.id):
        router = db.session.get(Router, router_id)
        if router is not None:
            router.username = profile.username
            router.encrypted_password = profile.encrypted_password
            router.updated_at = utcnow()


def assign(actor: User, router: Router, profile_id: int | None) -> bool:
    """Make a router use a profile (or none: it keeps its current credentials); not committed.

    :raises Invalid: for a profile that is not the actor's (a field error).
    """
    current = db.session.get(RouterCredential, router.id)
    if profile_id is None:
        if current is None:
            return False
        db.session.delete(current)
        return True
    if isinstance(profile_id, bool) or not isinstance(profile_id, int):
        raise Invalid("credential_profile_id must be a profile id or null",
                      fields={"credential_profile_id": "integer or null"})
    profile = get_profile(actor, profile_id)  # someone else's profile is 404, like any object of theirs
    if current is not None and current.profile_id == profile.id:
        return False
    if current is None:
        db.session.add(RouterCredential(router_id=router.id, profile_id=profile.id))
    else:
        current.profile_id = profile.id
    router.username = profile.username
    router.encrypted_password = profile.encrypted_password
    return True


def group_profile(group_id: int) -> int | None:
    """A group's default profile id."""
    row = db.session.get(GroupCredential, group_id)
    return row.profile_id if row else None


def set_group_profile(actor: User, group: RouterGroup, profile_id: int | None) -> None:
    """Set (or clear) a group's default profile; not committed.

    :raises Invalid: for a profile that is not the actor's.
    """
    current = db.session.get(GroupCredential, group.id)
    if profile_id is None:
        if current is not None:
            db.session.delete(current)
        return
    get_profile(actor, profile_id)
    if current is None:
        db.session.add(GroupCredential(group_id=group.id, profile_id=profile_id))
    else:
        current.profile_id = profile_id


def profile_out(profile: CredentialProfile) -> dict[str, Any]:
    """A profile as JSON: never the password."""
    return {"id": profile.id, "name": profile.name, "username": profile.username,
            "router_count": len(users_of(profile.id)),
            "created_at": profile.created_at.isoformat(timespec="seconds") + "Z",
            "updated_at": profile.updated_at.isoformat(timespec="seconds") + "Z"}
