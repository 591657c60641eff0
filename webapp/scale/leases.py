"""Per-router poll leases in ``poll_states``: who polls a router, until when.

The scheduler marks due routers as queued (``lease_owner = "queued:<shard>"``) so the next tick does not
enqueue them again; a worker turns that into its own lease with one atomic UPDATE that also re-checks that the
router is still due, so a router is polled by one worker at most even when a shard is delivered twice. A
lease that outlives its deadline (the worker died) is free again, and the router, still due, is enqueued anew.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update

from webapp.extensions import db
from webapp.models import AuditEvent, PollState, Router

_STATES = PollState.__table__


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(_STATES.c.lease_until.is_(None), _STATES.c.lease_until < now)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(_STATES.c.next_poll_at.is_(None), _STATES.c.next_poll_at <= now)


def ensure_states() -> int:
    """Give every router without one a poll state row (leases live there); return how many were added."""
    missing = list(
        db.session.scalars(
            select(Router.id)
            .outerjoin(PollState, PollState.router_id == Router.id)
            .where(PollState.router_id.is_(None))
        )
    )
    if missing:
        audit_top = db.session.scalar(select(func.max(AuditEvent.id))) or 0
        db.session.execute(
            insert(_STATES), [{"router_id": rid, "failures": 0, "audit_seen_id": audit_top} for rid in missing]
        )
        db.session.commit()
    return len(missing)


def queue_due(now: datetime, token: str, lease_seconds: float, limit: int) -> list[int]:
    """Mark up to ``limit`` due, unleased routers as queued under ``token``; return their ids (oldest due first)."""
    candidates = list(
        db.session.scalars(
            select(_STATES.c.router_id)
            .where(_due(now), _free(now))
            .order_by(_STATES.c.next_poll_at.is_not(None), _STATES.c.next_poll_at, _STATES.c.router_id)
            .limit(limit)
        )
    )
    if not candidates:
        db.session.rollback()
        return []
    statement = (
        update(_STATES)
        .where(_STATES.c.router_id.in_(candidates), _due(now), _free(now))
        .values(lease_owner=f"queued:{token}", lease_until=now + timedelta(seconds=lease_seconds))
        .returning(_STATES.c.router_id)
    )
    queued = sorted(db.session.scalars(statement))
    db.session.commit()
    return queued


def claim(router_ids: Iterable[int], owner: str, token: str, now: datetime, lease_seconds: float) -> list[int]:
    """Take the lease of those routers that are still due and queued under ``token`` or free; return them."""
    ids = list(router_ids)
    if not ids:
        return []
    statement = (
        update(_STATES)
        .where(
            _STATES.c.router_id.in_(ids),
            _due(now),
            or_(_STATES.c.lease_owner == f"queued:{token}", _free(now)),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
        .returning(_STATES.c.router_id)
    )
    claimed = sorted(db.session.scalars(statement))
    db.session.commit()
    return claimed


def release(router_ids: Iterable[int], owner: str) -> None:
    """Give back the leases ``owner`` holds on those routers."""
    ids = list(router_ids)
    if ids:
        db.session.execute(
            update(_STATES)
            .where(and_(_STATES.c.router_id.in_(ids), _STATES.c.lease_owner == owner))
            .values(lease_owner=None, lease_until=None)
        )
        db.session.commit()


def holders(router_ids: Iterable[int]) -> dict[int, str | None]:
    """Who holds each router's lease right now (for tests and the operator)."""
    rows = db.session.execute(
        select(_STATES.c.router_id, _STATES.c.lease_owner).where(_STATES.c.router_id.in_(list(router_ids)))
    )
    return {rid: owner for rid, owner in rows}
