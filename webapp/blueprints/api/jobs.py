"""Jobs in JSON: list, one job, cancel. Endpoints that start a job answer 202 with :func:`job_ref`."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask_jwt_extended import current_user, jwt_required

from webapp import jobs
from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_ok
from webapp.blueprints.api.jobs_schemas import JobOut, JobPage
from webapp.blueprints.api.presenters import page_out
from webapp.blueprints.query import id_arg
from webapp.models import Job
from webapp.models.jobs import JOB_STATES
from webapp.openapi import ID_SCHEMA, PAGINATION, Doc, ErrorResponse, Param, Tag, documented
from webapp.permissions import Capability, policy
from webapp.services.pagination import page_numbers
from webapp.timeutil import isoformat_z

_JOBS = Tag("Jobs", "Multi-step router work (voucher pushes, syncs, reconciles, bulk commands) runs as jobs: "
            "follow their progress, per-item errors and result here, or cancel them.")


def job_url(job: Job) -> str:
    """The job's address, ``/jobs/{id}/``."""
    return url_for("api.job_detail", job_id=job.id)


def job_ref(job: Job) -> dict[str, Any]:
    """What an endpoint that started a job says about it: ``{"id", "state", "done", "total", "url"}``."""
    return {"id": job.id, "state": job.state, "done": job.done, "total": job.total, "url": job_url(job)}


def accepted(body: dict[str, Any], job: Job) -> Response:
    """202 Accepted with ``body`` plus ``"job"``, and ``Location: /jobs/{id}/``."""
    response = json_ok({**body, "job": job_ref(job)}, 202)
    response.headers["Location"] = job_url(job)
    return response


def job_out(job: Job) -> dict[str, Any]:
    """A job as ``GET /jobs/{id}/`` shows it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "router_id": job.router_id,
        "done": job.done,
        "total": job.total,
        "errors": list(job.errors or []),
        "error_count": job.error_count,
        "error": job.error,
        "result": job.result,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "created_at": isoformat_z(job.created_at),
        "started_at": isoformat_z(job.started_at),
        "finished_at": isoformat_z(job.finished_at),
        "url": job_url(job),
    }


@bp.get("/jobs/")
@documented(Doc(
    "Your jobs", _JOBS, {200: JobPage},
    query=(
        *PAGINATION,
        Param("state", {"type": "string", "enum": list(JOB_STATES)}, "Only jobs in this state."),
        Param("kind", {"type": "string"}, "Only jobs of this kind, e.g. `vouchers.push`, `hotspot.sync`."),
        Param("router", ID_SCHEMA, "Only this router's jobs."),
    ),
    description="Newest first. Endpoints that start a job answer 202 with `job` and `Location: /jobs/{id}/`.",
))
@jwt_required()
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def job_list() -> Response:
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = jobs.list_jobs(current_user, state=request.args.get("state") or None,
                          kind=request.args.get("kind") or None, router_id=id_arg("router"), page=number,
                          page_size=size)
    return json_ok(page_out(page, [job_out(job) for job in page.items]))


@bp.get("/jobs/<int:job_id>/")
@documented(Doc(
    "One job", _JOBS, {200: JobOut},
    description="`done`/`total` is the progress; `errors` holds per-item failures (the first 200; `error_count` "
    "counts them all); `error` says why a failed job failed; `result` is the outcome.",
))
@jwt_required()
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def job_detail(job_id: int) -> Response:
    return json_ok(job_out(jobs.get_job(current_user, job_id)))


@bp.post("/jobs/<int:job_id>/cancel/")
@documented(Doc(
    "Cancel a job", _JOBS, {200: JobOut, 409: ErrorResponse},
    description="A queued job is cancelled at once, a running one at its next step (`cancel_requested`); a "
    "finished job answers 409. Cancelling a voucher push withdraws the vouchers not pushed yet.",
))
@jwt_required()
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def job_cancel(job_id: int) -> Response:
    return json_ok(job_out(jobs.cancel(current_user, job_id)))
