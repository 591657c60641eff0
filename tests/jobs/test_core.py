"""Job rows on a real SQLite file: enqueue, the lease claim, resume after expiry, progress, errors, cancel."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from webapp import jobs
from webapp.extensions import db
from webapp.jobs import core
from webapp.models import Job, User
from webapp.services.errors import Conflict, NotFound
from webapp.timeutil import utcnow

SEEN: list[tuple[int, int]] = []


@jobs.job_kind("test.count", max_attempts=2)
def count_items(ctx: jobs.JobContext) -> dict[str, Any]:
    SEEN.append((ctx.job_id, ctx.attempt))
    items = list(ctx.params["items"])
    ctx.progress(0, total=len(items))
    for number, item in enumerate(items, start=1):
        if item.startswith("bad"):
            ctx.item_error(item, "refused")
        ctx.progress(number)
    return {"counted": len(items)}


def _user(app: Flask, name: str = "alice") -> User:
    with app.app_context():
        from webapp.services import accounts

        created = accounts.create_user(name, "correct horse battery")
        return created.id


def test_inline_runner_runs_a_job_to_success_with_item_errors(app: Flask) -> None:
    user_id = _user(app)
    with app.app_context():
        job = jobs.enqueue("test.count", user_id=user_id, params={"items": ["a", "bad-1", "b"]})
        jobs.start(job)
        db.session.expire_all()
        done = db.session.get(Job, job.id)
        assert (done.state, done.done, done.total, done.attempts) == ("succeeded", 3, 3, 1)
        assert done.result == {"counted": 3}
        assert done.errors == [{"item": "bad-1", "error": "refused"}] and done.error_count == 1
        assert done.started_at is not None and done.finished_at is not None and done.lease_owner is not None


def test_an_idempotency_key_returns_the_first_job(app: Flask) -> None:
    user_id = _user(app)
    with app.app_context():
        first = jobs.enqueue("test.count", user_id=user_id, params={"items": []}, idempotency_key="k1")
        again = jobs.enqueue("test.count", user_id=user_id, params={"items": ["x"]}, idempotency_key="k1")
        other = jobs.enqueue("test.count", user_id=user_id, params={"items": []}, idempotency_key="k2")
        assert again.id == first.id and other.id != first.id
        with pytest.raises(ValueError, match="unknown job kind"):
            jobs.enqueue("no.such.kind", user_id=user_id)


def test_only_one_of_many_claimers_gets_a_job(app: Flask) -> None:
    user_id = _user(app)
    with app.app_context():
        job_id = jobs.enqueue("test.count", user_id=user_id, params={"items": []}).id
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def race(name: str) -> None:
        with app.app_context():
            barrier.wait()
            if core.claim(name, 30, job_id=job_id) is not None:
                winners.append(name)
            db.session.remove()

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_a_job_whose_runner_died_is_resumed_after_its_lease_and_given_up_after_max_attempts(app: Flask) -> None:
    user_id = _user(app)
    with app.app_context():
        job_id = jobs.enqueue("test.count", user_id=user_id, params={"items": ["a"]}).id
        assert core.claim("dead-worker", 30, job_id=job_id) is not None
        # Still leased: nobody else may take it.
        assert core.claim("other", 30, job_id=job_id) is None
        assert jobs.run_job(app, "other", job_id) is None
        db.session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    SEEN.clear()
    assert jobs.run_job(app, "rescuer", job_id) == job_id
    assert SEEN == [(job_id, 2)]
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert (job.state, job.lease_owner, job.attempts) == ("succeeded", "rescuer", 2)
        # The dead runner cannot overwrite the outcome.
        assert core.finish(job_id, "dead-worker", "failed", error="late") is False
        crashed = jobs.enqueue("test.count", user_id=user_id, params={"items": ["a"]}).id
        for _ in range(2):
            core.claim("dying", 30, job_id=crashed)
            db.session.execute(update(Job).where(Job.id == crashed)
                               .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
    jobs.run_job(app, "rescuer", crashed)
    with app.app_context():
        job = db.session.get(Job, crashed)
        assert job.state == "failed" and "gave up after 2 attempts" in job.error


def test_cancel_a_queued_job_and_a_running_one(app: Flask) -> None:
    user_id = _user(app)
    other_id = _user(app, "mallory")
    with app.app_context():
        actor = db.session.get(User, user_id)
        queued = jobs.enqueue("test.count", user_id=user_id, params={"items": ["a"]})
        assert jobs.cancel(actor, queued.id).state == "cancelled"
        assert jobs.run_job(app, "w", queued.id) is None  # a cancelled job is never claimed
        running = jobs.enqueue("test.count", user_id=user_id, params={"items": ["a", "b"]})
        core.claim("w", 30, job_id=running.id)
        assert jobs.cancel(actor, running.id).cancel_requested
        context = core.JobContext(running.id, "test.count", {}, user_id, None, 1, "w", 30)
        with pytest.raises(jobs.JobCancelled):
            context.progress(1)
        with pytest.raises(NotFound):
            jobs.cancel(db.session.get(User, other_id), running.id)
        finished = jobs.enqueue("test.count", user_id=user_id, params={"items": []})
        jobs.start(finished)
        with pytest.raises(Conflict):
            jobs.cancel(actor, finished.id)


def test_a_runner_that_lost_its_lease_stops_at_its_next_report(app: Flask) -> None:
    user_id = _user(app)
    with app.app_context():
        job_id = jobs.enqueue("test.count", user_id=user_id, params={"items": ["a"]}).id
        core.claim("old", 30, job_id=job_id)
        db.session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        core.claim("new", 30, job_id=job_id)
        stale = core.JobContext(job_id, "test.count", {}, user_id, None, 1, "old", 30)
        with pytest.raises(jobs.LeaseLost):
            stale.progress(1)
        assert core.renew("old", [job_id], 30) == set() and core.renew("new", [job_id], 30) == {job_id}


def test_the_embedded_runner_takes_jobs_queued_by_another_process(app: Flask) -> None:
    user_id = _user(app)
    with app.app_context():
        ids = [jobs.enqueue("test.count", user_id=user_id, params={"items": ["a", "b"]}).id for _ in range(4)]
    runner = jobs.EmbeddedRunner(app, threads=2, lease_seconds=5, poll_seconds=0.05)
    runner.start()
    try:
        with app.app_context():
            for _ in range(400):
                db.session.expire_all()
                states = set(db.session.scalars(db.select(Job.state).where(Job.id.in_(ids))))
                db.session.rollback()
                if states == {"succeeded"}:
                    break
                threading.Event().wait(0.05)
            assert states == {"succeeded"}
    finally:
        runner.stop()
