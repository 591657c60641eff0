"""The voucher push job against a simulated router: resumable without duplicates or orphans, cancellable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp import jobs
from webapp.extensions import db
from webapp.jobs import core
from webapp.models import Job, User, Voucher, VoucherBatch
from webapp.services import accounts, hotspot_sync, packages, routers, vouchers
from webapp.timeutil import utcnow

PASSWORD = "sim-pass-123"


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    # "external": nothing runs a job until the test says so, as if the web process had queued it and died.
    return make_config(tmp_path / "push.db", ROUTER_TIMEOUT=2.0, JOBS_RUNNER="external", VOUCHER_PUSH_CHUNK=7)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="hs", password=PASSWORD)], host="127.0.0.1", seed=5) as simulator:
        yield simulator.router("hs")


@pytest.fixture
def owner(app: Flask) -> Iterator[User]:
    with app.app_context():
        yield accounts.create_user("owner", "correct horse battery")


@pytest.fixture
def package_id(owner: User, sim: SimRouter) -> int:
    router = routers.create_router(owner, {"name": "Hotspot", "host": sim.host, "port": sim.api_port,
                                           "protocol": "api", "username": "admin", "password": PASSWORD})
    package = packages.create_package(owner, router.id, {
        "name": "Hour", "package_type": "hourly", "duration_hours": 1, "price": "10", "download_speed_mbps": 5,
        "upload_speed_mbps": 2}).package
    assert package is not None
    return package.id


def _batch_users(sim: SimRouter, batch_id: int) -> list[str]:
    return [row["name"] for row in sim.execute("/ip/hotspot/user/print")
            if row.get("comment") == vouchers.batch_comment(batch_id)]


def test_a_push_that_died_after_some_router_adds_resumes_without_duplicates_or_orphans(
    app: Flask, owner: User, package_id: int, sim: SimRouter
) -> None:
    package = db.session.get(packages.Package, package_id)
    result = vouchers.generate_batch(owner, package.router_id, package_id, 40)
    assert result.job is not None and result.job.state == "queued" and result.batch.push_state == "pushing"
    # The dead process had claimed the job and added a third of the users, but recorded none of it.
    assert core.claim("dead-process", 30, job_id=result.job.id) is not None
    pending = vouchers.pending_users(package.router_id, result.batch.id)
    for user in pending[:13]:
        sim.execute("/ip/hotspot/user/add", user.values)
    # The sync leaves a batch its job owns alone (no race with the job on the same names).
    hotspot_sync.sync(owner, package.router_id, utcnow())
    assert len(_batch_users(sim, result.batch.id)) == 13
    db.session.execute(db.update(Job).where(Job.id == result.job.id).values(lease_expires_at=utcnow()))
    db.session.commit()

    assert jobs.run_job(app, "rescuer", result.job.id) == result.job.id
    db.session.expire_all()
    job = db.session.get(Job, result.job.id)
    assert (job.state, job.done, job.total, job.attempts, job.errors) == ("succeeded", 40, 40, 2, [])
    on_router = _batch_users(sim, result.batch.id)
    codes = set(db.session.scalars(db.select(Voucher.code).where(Voucher.batch_id == result.batch.id,
                                                                 Voucher.on_router.is_(True))))
    assert len(on_router) == len(set(on_router)) == 40 and set(on_router) == codes
    assert db.session.get(VoucherBatch, result.batch.id).push_state == "pushed"


def test_cancelling_a_push_withdraws_the_vouchers_not_pushed_yet(
    app: Flask, owner: User, package_id: int, sim: SimRouter
) -> None:
    package = db.session.get(packages.Package, package_id)
    result = vouchers.generate_batch(owner, package.router_id, package_id, 30)
    assert result.job is not None
    seen: list[int] = []

    def cancel_after_first_round(context: jobs.JobContext) -> None:
        real = context.progress

        def progress(done: int | None = None, **kwargs: Any) -> None:
            real(done, **kwargs)
            seen.append(1)
            if len(seen) == 2:  # the first pipelined round is recorded: now the owner presses Cancel
                jobs.cancel(db.session.get(User, owner.id), context.job_id)

        context.progress = progress  # type: ignore[method-assign]

    jobs.run_job(app, "w", result.job.id, on_context=cancel_after_first_round)
    db.session.expire_all()
    job = db.session.get(Job, result.job.id)
    states = dict(db.session.execute(db.select(Voucher.code, Voucher.state).where(
        Voucher.batch_id == result.batch.id)).all())
    on_router = set(_batch_users(sim, result.batch.id))
    assert job.state == "cancelled" and len(on_router) == 14  # the round in flight when Cancel came finished
    assert {code for code, state in states.items() if state == "unused"} == on_router
    assert sum(1 for state in states.values() if state == "revoked") == 16
    assert db.session.get(VoucherBatch, result.batch.id).push_state == "pushed"
