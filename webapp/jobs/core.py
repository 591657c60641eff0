"""Job rows: enqueue (with an idempotency key), claim by lease, heartbeat, progress, finish, cancel, read.

The database is the source of truth. Every state change is one short conditional UPDATE in its own transaction
on its own connection (never the caller's session), so progress is visible at once and a runner that lost its
lease cannot overwrite the runner that took the job over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Job, User
from webapp.models.jobs import FINAL_STATES, JOB_STATES
from webapp.services.errors import Conflict, Invalid, NotFound
from webapp.services.pagination import Page, paginate
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

#: Per-item errors kept on the row (``error_count`` counts them all).
MAX_STORED_ERRORS = 200


class JobCancelled(Exception):
    """Raised inside a handler (by :meth:`JobContext.progress`/:meth:`JobContext.check`) once cancel was asked."""


class LeaseLost(Exception):
    """This runner no longer holds the job (its lease expired and another runner took it): stop quietly."""


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job: its name, the handler that runs it, and how often a crashed run is retried."""

    name: str
    handler: Callable[[JobContext], Any]
    max_attempts: int = 5


_KINDS: dict[str, JobKind] = {}


Handler = Callable[["JobContext"], Any]


def job_kind(name: str, *, max_attempts: int = 5) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx) -> result`` as the job kind ``name`` (its return value is stored as the result).

    A handler must be safe to run again from the start after a crash: every step idempotent (rows created
    before they are pushed, router adds keyed by name), reading what is done before doing more.
    """

    def register(handler: Handler) -> Handler:
        _KINDS[name] = JobKind(name, handler, max_attempts)
        return handler

    return register


def registered_kinds() -> dict[str, JobKind]:
    """Every kind registered so far (services register theirs when imported)."""
    return dict(_KINDS)


@dataclass
class JobContext:
    """What a handler gets: the job's input and the calls that report progress, per-item errors and results."""

    job_id: int
    kind: str
    params: dict[str, Any]
    user_id: int | None
    router_id: int | None
    attempt: int
    worker: str
    lease_seconds: float
    _pending_errors: list[dict[str, Any]] = field(default_factory=list)
    lost: bool = False

    def progress(self, done: int | None = None, *, total: int | None = None, advance: int = 0) -> None:
        """Record progress (absolute ``done`` or ``advance`` by some), renew the lease, flush item errors.

        :raises JobCancelled: when someone asked to cancel the job.
        :raises LeaseLost: when another runner took the job over.
        """
        values: dict[str, Any] = {"lease_expires_at": utcnow() + timedelta(seconds=self.lease_seconds),
                                  "updated_at": utcnow()}
        if done is not None:
            values["done"] = done
        elif advance:
            values["done"] = Job.done + advance
        if total is not None:
            values["total"] = total
        errors, self._pending_errors = self._pending_errors, []
        with db.engine.begin() as connection:
            if errors:
                row = connection.execute(select(Job.errors, Job.error_count).where(Job.id == self.job_id)).one()
                kept = list(row.errors or [])
                values["errors"] = (kept + errors)[:MAX_STORED_ERRORS]
                values["error_count"] = (row.error_count or 0) + len(errors)
            changed = connection.execute(
                update(Job).where(Job.id == self.job_id, Job.lease_owner == self.worker, Job.state == "running")
                .values(**values)
            ).rowcount
            cancel = connection.execute(select(Job.cancel_requested).where(Job.id == self.job_id)).scalar()
        if not changed:
            self.lost = True
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.worker}")
        if cancel:
            raise JobCancelled

    def item_error(self, item: str, message: str) -> None:
        """Remember that one item failed (stored with the next :meth:`progress`); the job carries on."""
        self._pending_errors.append({"item": str(item)[:200], "error": str(message)[:500]})

    def check(self) -> None:
        """Flush pending errors and stop if the job was cancelled or taken over (a :meth:`progress` without news).

        :raises JobCancelled: when someone asked to cancel the job.
        :raises LeaseLost: when another runner took the job over.
        """
        self.progress()


def enqueue(
    kind: str, *, user_id: int | None, router_id: int | None = None, params: dict[str, Any] | None = None,
    total: int = 0, idempotency_key: str | None = None, commit: bool = True,
) -> Job:
    """Queue a job of a registered ``kind``; with an ``idempotency_key`` a repeat returns the first job.

    With ``commit=False`` the job joins the caller's transaction (so the rows it works on and the job appear
    together); the caller commits and then calls :func:`webapp.jobs.start`.

    :raises ValueError: for an unknown kind (a programming error).
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    if idempotency_key is not None:
        existing = db.session.scalar(select(Job).where(Job.user_id == user_id, Job.idempotency_key == idempotency_key))
        if existing is not None:
            return existing
    job = Job(kind=kind, user_id=user_id, router_id=router_id, params=params or {}, total=total, state="queued",
              idempotency_key=idempotency_key, errors=[], error_count=0, done=0, attempts=0)
    db.session.add(job)
    if not commit:
        db.session.flush()
        return job
    try:
        db.session.commit()
    except IntegrityError:
        # The same key raced in from another request: the first one wins.
        db.session.rollback()
        found = db.session.scalar(select(Job).where(Job.user_id == user_id, Job.idempotency_key == idempotency_key))
        if found is None:
            raise
        return found
    return job


def _claimable(now: datetime) -> Any:
    return or_(
        and_(Job.state == "queued", Job.cancel_requested.is_(False)),
        and_(Job.state == "running", Job.lease_expires_at < now),
    )


def claim(worker: str, lease_seconds: float, *, job_id: int | None = None,
          kinds: Iterable[str] | None = None) -> Job | None:
    """Take one claimable job (queued, or running with an expired lease) for ``worker``; ``None`` when none is.

    The claim is one conditional UPDATE, so two runners (threads or processes) never both get a job.
    """
    now = utcnow()
    wanted = list(kinds) if kinds is not None else list(_KINDS)
    for _ in range(5):
        if job_id is None:
            candidate = db.session.scalar(select(Job.id).where(_claimable(now), Job.kind.in_(wanted))
                                          .order_by(Job.id).limit(1))
        else:
            candidate = job_id
        db.session.rollback()
        if candidate is None:
            return None
        with db.engine.begin() as connection:
            taken = connection.execute(
                update(Job).where(Job.id == candidate, _claimable(now)).values(
                    state="running", lease_owner=worker, attempts=Job.attempts + 1,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    started_at=func.coalesce(Job.started_at, now), updated_at=now)
            ).rowcount
        if taken:
            job = db.session.get(Job, candidate, populate_existing=True)
            assert job is not None
            # Detached with its attributes loaded: the caller reads it after this session is gone.
            db.session.expunge(job)
            db.session.rollback()
            return job
        if job_id is not None:
            return None
    return None


def renew(worker: str, job_ids: Iterable[int], lease_seconds: float) -> set[int]:
    """Extend the leases ``worker`` holds; return the ids it still holds (the others were taken over)."""
    ids = list(job_ids)
    if not ids:
        return set()
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(update(Job).where(Job.id.in_(ids), Job.lease_owner == worker, Job.state == "running")
                           .values(lease_expires_at=now + timedelta(seconds=lease_seconds)))
        held = connection.execute(select(Job.id).where(Job.id.in_(ids), Job.lease_owner == worker,
                                                       Job.state == "running")).scalars()
        return set(held)


def finish(job_id: int, worker: str, state: str, *, result: Any = None, error: str | None = None,
           errors: list[dict[str, Any]] | None = None) -> bool:
    """Write a job's final state if ``worker`` still holds it; return whether it did."""
    assert state in FINAL_STATES
    now = utcnow()
    values: dict[str, Any] = {"state": state, "finished_at": now, "updated_at": now, "lease_expires_at": None,
                              "result": result, "error": error[:500] if error else None}
    with db.engine.begin() as connection:
        if errors:
            row = connection.execute(select(Job.errors, Job.error_count).where(Job.id == job_id)).one()
            values["errors"] = (list(row.errors or []) + errors)[:MAX_STORED_ERRORS]
            values["error_count"] = (row.error_count or 0) + len(errors)
        return bool(connection.execute(
            update(Job).where(Job.id == job_id, Job.lease_owner == worker, Job.state == "running").values(**values)
        ).rowcount)


def release(worker: str) -> int:
    """Let go of every job ``worker`` holds (a clean shutdown), so another runner resumes them at once."""
    with db.engine.begin() as connection:
        return connection.execute(update(Job).where(Job.lease_owner == worker, Job.state == "running")
                                  .values(lease_expires_at=utcnow() - timedelta(seconds=1))).rowcount


def get_job(actor: User, job_id: int) -> Job:
    """The actor's job.

    :raises NotFound: when it does not exist or is someone else's.
    """
    job = db.session.scalar(select(Job).where(Job.id == job_id, Job.user_id == actor.id))
    if job is None:
        raise NotFound("Job not found")
    return job


def list_jobs(actor: User, *, state: str | None = None, kind: str | None = None, router_id: int | None = None,
              page: int = 1, page_size: int = 20) -> Page[Job]:
    """The actor's jobs, newest first, filtered by state, kind and router.

    :raises Invalid: for an unknown state.
    """
    statement = select(Job).where(Job.user_id == actor.id)
    if state:
        if state not in JOB_STATES:
            raise Invalid(f"state must be one of {', '.join(JOB_STATES)}", fields={"state": "unknown state"})
        statement = statement.where(Job.state == state)
    if kind:
        statement = statement.where(Job.kind == kind)
    if router_id is not None:
        statement = statement.where(Job.router_id == router_id)
    return paginate(statement.order_by(Job.id.desc()), page, page_size)


def cancel(actor: User, job_id: int) -> Job:
    """Cancel the actor's job: a queued one at once, a running one at its next progress report.

    :raises NotFound: when it is not the actor's.
    :raises Conflict: when it already finished.
    """
    job = get_job(actor, job_id)
    db.session.rollback()
    now = utcnow()
    with db.engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                           .values(state="cancelled", cancel_requested=True, finished_at=now, updated_at=now))
        connection.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                           .values(cancel_requested=True, updated_at=now))
    job = get_job(actor, job_id)
    db.session.refresh(job)
    if job.state in ("succeeded", "failed"):
        raise Conflict(f"Job {job.id} already {job.state}")
    return job
