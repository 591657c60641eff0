"""Jobs in the dashboard: the jobs page, one job, its live progress fragment (htmx polling) and cancel."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from webapp import jobs
from webapp.blueprints.dashboard.blueprint import bp
from webapp.models.jobs import JOB_STATES
from webapp.permissions import Capability, policy
from webapp.services.errors import Conflict
from webapp.services.pagination import page_numbers


def kind_label(kind: str) -> str:
    """What a job kind is called on screen."""
    labels = {
        "vouchers.push": _("Voucher push"),
        "hotspot.sync": _("Hotspot sync"),
        "packages.reconcile": _("Package reconcile"),
    }
    label: str = labels.get(kind, kind)
    return label


@bp.get("/jobs")
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def jobs_page() -> ResponseReturnValue:
    number, _size = page_numbers(request.args.get("page"), None)
    state = request.args.get("state") if request.args.get("state") in JOB_STATES else None
    page = jobs.list_jobs(current_user, state=state, page=number, page_size=25)
    return render_template("jobs/list.html", page=page, state=state, states=JOB_STATES, kind_label=kind_label)


@bp.get("/jobs/<int:job_id>")
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def job_page(job_id: int) -> ResponseReturnValue:
    return render_template("jobs/detail.html", job=jobs.get_job(current_user, job_id), kind_label=kind_label)


@bp.get("/jobs/<int:job_id>/progress")
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def job_progress(job_id: int) -> ResponseReturnValue:
    return render_template("jobs/_progress.html", job=jobs.get_job(current_user, job_id), kind_label=kind_label)


@bp.post("/jobs/<int:job_id>/cancel")
@policy(Capability.SELF)  # a person's own jobs (the service scopes them)
def job_cancel(job_id: int) -> ResponseReturnValue:
    try:
        job = jobs.cancel(current_user, job_id)
    except Conflict:
        job = jobs.get_job(current_user, job_id)
    return render_template("jobs/_progress.html", job=job, kind_label=kind_label)
