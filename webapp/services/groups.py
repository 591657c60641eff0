"""Router groups (sites) and tags: CRUD, membership, and the filters every router list shares."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select

from webapp.extensions import db
from webapp.models import PollState, Router, RouterGroup, RouterGroupMember, RouterTag, User
from webapp.services import audit, credentials
from webapp.services.errors import Conflict, Invalid, NotFound
from webapp.services.teams import router_scope

TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}$")
MAX_TAGS = 20
MIN_POLL_INTERVAL = 10
MAX_POLL_INTERVAL = 86400
#: Daily configuration export at 02:00 UTC unless the group says otherwise.
DEFAULT_BACKUP_HOUR = 2


def _owned(actor: User) -> Select[Any]:
    return select(RouterGroup).where(RouterGroup.user_id == actor.team_owner_id)


def list_groups(actor: User) -> list[RouterGroup]:
    """The actor's groups by name."""
    return list(db.session.scalars(_owned(actor).order_by(RouterGroup.name, RouterGroup.id)))


def get_group(actor: User, group_id: int) -> RouterGroup:
    """The actor's group with this id.

    :raises NotFound: when it does not exist or belongs to someone else.
    """
    group: RouterGroup | None = db.session.scalar(_owned(actor).where(RouterGroup.id == group_id))
    if group is None:
        raise NotFound("Group not found")
    return group


def member_counts(actor: User) -> dict[int, int]:
    """How many routers each of the actor's groups holds."""
    rows = db.session.execute(
        select(RouterGroupMember.group_id, func.count())
        .join(RouterGroup, RouterGroup.id == RouterGroupMember.group_id)
        .where(RouterGroup.user_id == actor.team_owner_id)
        .group_by(RouterGroupMember.group_id)
    )
    return {group_id: count for group_id, count in rows}


def _validate(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "name" in data or creating:
        name = str(data.get("name") or "").strip()
        if not 1 <= len(name) <= 100:
            errors["name"] = "1-100 characters"
        clean["name"] = name
    if "description" in data:
        description = str(data.get("description") or "").strip()
        if len(description) > 500:
            errors["description"] = "at most 500 characters"
        clean["description"] = description
    if "poll_interval_seconds" in data:
        interval = data["poll_interval_seconds"]
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int)
                                     or not MIN_POLL_INTERVAL <= interval <= MAX_POLL_INTERVAL):
            errors["poll_interval_seconds"] = f"null or {MIN_POLL_INTERVAL}-{MAX_POLL_INTERVAL} seconds"
        clean["poll_interval_seconds"] = interval
    if "backup_hour_utc" in data:
        hour = data["backup_hour_utc"]
        if hour is not None and (isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23):
            errors["backup_hour_utc"] = "null (no daily backup) or an hour 0-23"
        clean["backup_hour_utc"] = hour
    if errors:
        raise Invalid("Invalid group: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    return clean


def _unique_name(actor: User, name: str, group_id: int | None) -> None:
    clash = db.session.scalar(_owned(actor).where(RouterGroup.name == name, RouterGroup.id != (group_id or 0)))
    if clash is not None:
        raise Conflict(f'A group called "{name}" already exists', fields={"name": "already used"})


def create_group(actor: User, data: dict[str, Any], ip_address: str | None = None) -> RouterGroup:
    """Create a group for the actor.

    :raises Invalid: with per-field messages.
    :raises Conflict: when the actor already has a group of that name.
    """
    clean = {"backup_hour_utc": DEFAULT_BACKUP_HOUR, **_validate(data, creating=True)}
    _unique_name(actor, clean["name"], None)
    group = RouterGroup(user_id=actor.team_owner_id, **clean)
    db.session.add(group)
    db.session.flush()
    if data.get("credential_profile_id") is not None:
        credentials.set_group_profile(actor, group, data["credential_profile_id"])
    audit.record(actor, "group.create", f'Created group "{group.name}"', details=clean, ip_address=ip_address,
                 commit=False)
    db.session.commit()
    return group


def update_group(actor: User, group_id: int, data: dict[str, Any], ip_address: str | None = None) -> RouterGroup:
    """Change a group; a new poll interval applies to its routers at once.

    :raises NotFound: for someone else's group.
    :raises Invalid: with per-field messages.
    :raises Conflict: when the new name is taken.
    """
    group = get_group(actor, group_id)
    clean = _validate(data, creating=False)
    if "name" in clean:
        _unique_name(actor, clean["name"], group.id)
    changed = {k: v for k, v in clean.items() if getattr(group, k) != v}
    for key, value in changed.items():
        setattr(group, key, value)
    if "poll_interval_seconds" in changed:
        _apply_poll_interval(group_router_ids(group.id), group.poll_interval_seconds)
    if "credential_profile_id" in data and data["credential_profile_id"] != credentials.group_profile(group.id):
        credentials.set_group_profile(actor, group, data["credential_profile_id"])
        changed["credential_profile_id"] = data["credential_profile_id"]
    if changed:
        audit.record(actor, "group.update", f'Updated group "{group.name}": {", ".join(changed)}',
                     details=changed, ip_address=ip_address, commit=False)
    db.session.commit()
    return group


def delete_group(actor: User, group_id: int, ip_address: str | None = None) -> str:
    """Delete a group; its routers stay, ungrouped.

    :raises NotFound: for someone else's group.
    """
    group = get_group(actor, group_id)
    name = group.name
    db.session.execute(delete(RouterGroupMember).where(RouterGroupMember.group_id == group.id))
    db.session.delete(group)
    audit.record(actor, "group.delete", f'Deleted group "{name}"', details={"group_id": group_id},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return name


def group_router_ids(group_id: int) -> list[int]:
    """The ids of a group's routers."""
    return list(db.session.scalars(select(RouterGroupMember.router_id).where(RouterGroupMember.group_id == group_id)))


def _apply_poll_interval(router_ids: Iterable[int], seconds: int | None) -> None:
    # The poller reads each router's own interval (PollState): the group's default is written through to it.
    for router_id in router_ids:
        state = db.session.get(PollState, router_id)
        if state is None:
            db.session.add(PollState(router_id=router_id, interval_seconds=seconds))
        else:
            state.interval_seconds = seconds


def clean_tags(raw: object) -> list[str]:
    """Validate a list of tags: sorted, unique, each 1-50 of ``A-Z a-z 0-9 _ . : -``.

    :raises Invalid: for anything else.
    """
    if not isinstance(raw, list) or not all(isinstance(tag, str) for tag in raw):
        raise Invalid("tags must be a list of strings", fields={"tags": "a list of strings"})
    tags = sorted({tag.strip() for tag in raw if tag.strip()})
    bad = [tag for tag in tags if not TAG.match(tag)]
    if bad:
        raise Invalid(f"tag {bad[0]!r} is not allowed: letters, digits, _ . : - (1-50, starting with a letter or "
                      "digit)", fields={"tags": "letters, digits, _ . : -"})
    if len(tags) > MAX_TAGS:
        raise Invalid(f"at most {MAX_TAGS} tags", fields={"tags": f"at most {MAX_TAGS}"})
    return tags


def set_membership(actor: User, router: Router, data: dict[str, Any]) -> dict[str, Any]:
    """Apply ``group_id`` and ``tags`` from ``data`` (when present) to a router; return what changed.

    Nothing is committed: the caller's transaction holds it.

    :raises NotFound: for a group that is not the actor's (answered as a field error, 400).
    :raises Invalid: for bad tags.
    """
    changed: dict[str, Any] = {}
    if "group_id" in data:
        group_id = data["group_id"]
        current = db.session.get(RouterGroupMember, router.id)
        if group_id is None:
            if current is not None:
                db.session.delete(current)
                changed["group_id"] = None
        else:
            if isinstance(group_id, bool) or not isinstance(group_id, int):
                raise Invalid("group_id must be a group id or null", fields={"group_id": "integer or null"})
            group = get_group(actor, group_id)  # someone else's group is 404, like any object of theirs
            if current is None:
                db.session.add(RouterGroupMember(router_id=router.id, group_id=group.id))
                changed["group_id"] = group.id
            elif current.group_id != group.id:
                current.group_id = group.id
                changed["group_id"] = group.id
            if "group_id" in changed and group.poll_interval_seconds is not None:
                _apply_poll_interval([router.id], group.poll_interval_seconds)
            default_profile = credentials.group_profile(group.id)
            if ("group_id" in changed and default_profile is not None and data.get("credential_profile_id") is None
                    and not credentials.profile_of([router.id])):
                credentials.assign(actor, router, default_profile)
                changed["credential_profile_id"] = default_profile
    if "credential_profile_id" in data and (data["credential_profile_id"] is not None
                                            or credentials.profile_of([router.id])):
        if credentials.assign(actor, router, data["credential_profile_id"]):
            changed["credential_profile_id"] = data["credential_profile_id"]
    if "tags" in data:
        tags = clean_tags(data["tags"] if data["tags"] is not None else [])
        current_tags = sorted(tags_of([router.id]).get(router.id, []))
        if tags != current_tags:
            db.session.execute(delete(RouterTag).where(RouterTag.router_id == router.id))
            db.session.add_all(RouterTag(router_id=router.id, tag=tag) for tag in tags)
            changed["tags"] = tags
    return changed


def tags_of(router_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each router's tags, sorted (routers without tags are absent)."""
    out: dict[int, list[str]] = {}
    for chunk_start in range(0, len(router_ids), 500):
        chunk = router_ids[chunk_start:chunk_start + 500]
        rows = db.session.execute(select(RouterTag.router_id, RouterTag.tag).where(RouterTag.router_id.in_(chunk))
                                  .order_by(RouterTag.router_id, RouterTag.tag))
        for router_id, tag in rows:
            out.setdefault(router_id, []).append(tag)
    return out


def groups_of(router_ids: Sequence[int]) -> dict[int, int]:
    """Each grouped router's group id."""
    out: dict[int, int] = {}
    for chunk_start in range(0, len(router_ids), 500):
        chunk = router_ids[chunk_start:chunk_start + 500]
        rows = db.session.execute(select(RouterGroupMember.router_id, RouterGroupMember.group_id)
                                  .where(RouterGroupMember.router_id.in_(chunk)))
        out.update({router_id: group_id for router_id, group_id in rows})
    return out


def all_tags(actor: User) -> list[str]:
    """Every tag on the actor's routers, sorted."""
    return list(db.session.scalars(
        select(RouterTag.tag).join(Router, Router.id == RouterTag.router_id).where(router_scope(actor))
        .distinct().order_by(RouterTag.tag)))


def filter_statement(statement: Select[Any], group_id: int | None, tag: str | None) -> Select[Any]:
    """Narrow a statement selecting routers (``Router`` in its FROM) to a group and/or a tag."""
    if group_id is not None:
        statement = statement.where(Router.id.in_(
            select(RouterGroupMember.router_id).where(RouterGroupMember.group_id == group_id)))
    if tag:
        statement = statement.where(Router.id.in_(select(RouterTag.router_id).where(RouterTag.tag == tag)))
    return statement


def select_routers(actor: User, *, router_ids: Sequence[int] | None = None, group_id: int | None = None,
                   tag: str | None = None) -> list[Router]:
    """The actor's routers named by exactly one of explicit ids, a group or a tag (mass operations).

    :raises Invalid: when none or several selectors are given, or the selection is empty.
    :raises NotFound: for a group or router that is not the actor's.
    """
    given = [name for name, value in (("router_ids", router_ids), ("group_id", group_id), ("tag", tag))
             if value not in (None, "", [])]
    if len(given) != 1:
        raise Invalid("give exactly one of router_ids, group_id or tag",
                      fields={"router_ids": "exactly one of router_ids, group_id, tag"})
    statement = select(Router).where(router_scope(actor))
    if router_ids:
        wanted = set(router_ids)
        found = list(db.session.scalars(statement.where(Router.id.in_(wanted)).order_by(Router.id)))
        if len(found) != len(wanted):
            raise NotFound("Router not found")
        return found
    if group_id is not None:
        get_group(actor, group_id)
    found = list(db.session.scalars(filter_statement(statement, group_id, tag).order_by(Router.name, Router.id)))
    if not found:
        raise Invalid("the selection holds no router", fields={given[0]: "no routers"})
    return found
