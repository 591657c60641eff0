"""Durable jobs: multi-step router work as database rows, claimed by lease, resumable after a crash.

How to use (see README "Jobs"):

    from webapp import jobs

    @jobs.job_kind("vouchers.push")
    def push_batch(ctx: jobs.JobContext) -> dict:
        ...                                  # read in a short transaction, commit
        ctx.progress(total=len(items))
        for chunk in chunks:                 # router I/O with no transaction open
            ...
            ctx.item_error(code, "rejected")  # per-item failure; the job carries on
            ctx.progress(advance=len(chunk))  # renews the lease; raises JobCancelled when cancelled
        return {"pushed": n}                 # stored as the job's result

    job = jobs.enqueue("vouchers.push", user_id=..., router_id=..., params={...}, total=n, commit=False)
    db.session.commit()
    jobs.start(job)                          # tell the runner (after the commit)
"""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app
from werkzeug.local import LocalProxy

from webapp.jobs.core import (
    JobCancelled,
    JobContext,
    JobKind,
    LeaseLost,
    cancel,
    enqueue,
    get_job,
    job_kind,
    list_jobs,
    registered_kinds,
)
from webapp.jobs.runner import EmbeddedRunner, InlineRunner, Runner, register_runner, run_job, runner_for
from webapp.models import Job

__all__ = [
    "EmbeddedRunner",
    "InlineRunner",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobKind",
    "LeaseLost",
    "Runner",
    "cancel",
    "enqueue",
    "get_job",
    "init_app",
    "job_kind",
    "list_jobs",
    "register_runner",
    "registered_kinds",
    "run_job",
    "runner_for",
    "start",
]


def start(job: Job) -> Job:
    """Tell this app's runner that ``job`` was committed (the inline runner runs it before returning)."""
    runner_for(cast("LocalProxy[Flask]", current_app)._get_current_object()).notify(job.id)
    return job


def init_app(app: Flask) -> None:
    """Track database writes for the router-I/O guard; with the embedded runner, the web process starts its
    job threads on its first request."""
    from webapp.services import gateway

    gateway.install_write_tracking()
    if app.config["JOBS_RUNNER"] != "embedded":
        return

    def start_runner() -> None:
        runner_for(app).start()

    app.before_request(start_runner)
