"""When routers are polled: which are due, per-router intervals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import AuditEvent, PollState, Router, User
from webapp.services import audit
from webapp.timeutil import utcnow


def due_routers(
    now: datetime, default_interval: int, router_ids: Iterable[int] | None = None
) -> list[Router]:
    """Routers whose next poll is due (never-polled ones first), optionally limited to ``router_ids``."""
    statement = (
        select(Router)
        .outerjoin(PollState, PollState.router_id == Router.id)
        .where((PollState.next_poll_at.is_(None)) | (PollState.next_poll_at <= now))
        .order_by(PollState.next_poll_at.is_not(None), PollState.next_poll_at, Router.id)
    )
    if router_ids is not None:
        statement = statement.where(Router.id.in_(list(router_ids)))
    return list(db.session.scalars(statement))


def set_interval(router: Router, seconds: int | None, actor: User | None = None,
                 ip_address: str | None = None) -> PollState:
    """Give one router its own poll interval (None follows the global one) and reschedule it (audited)."""
    state = db.session.get(PollState, router.id)
    if state is None:
        state = PollState(
            router_id=router.id,
            failures=0,
            audit_seen_id=db.session.scalar(select(func.max(AuditEvent.id))) or 0,
        )
        db.session.add(state)
    state.interval_seconds = seconds
    if state.last_polled_at is not None:
        state.next_poll_at = state.last_polled_at + timedelta(
            seconds=seconds or current_app.config["POLL_INTERVAL"]
        )
    audit.record(actor, "monitoring.interval", f'Poll interval of "{router.name}" set to '
                 + (f"{seconds} s" if seconds else "the global default"), router_id=router.id,
                 details={"poll_interval": seconds}, ip_address=ip_address, commit=False,
                 owner_id=router.user_id)
    db.session.commit()
    return state


def seconds_to_next(interval: int) -> float:
    """How long the loop may sleep: until the next router is due, within [0.5, min(interval, 10)] s."""
    upcoming: datetime | None = db.session.scalar(select(func.min(PollState.next_poll_at)))
    db.session.remove()
    if upcoming is None:
        return min(5.0, float(interval))
    wait = (upcoming - utcnow()).total_seconds()
    # Wake at least every 10 s so newly added routers are picked up soon.
    return min(max(wait, 0.5), float(interval), 10.0)


