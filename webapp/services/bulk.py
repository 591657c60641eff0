"""Mass commands: one command on a selection of routers (explicit ids, a group or a tag) as a job.

The job runs the command on at most ``concurrency`` routers at once, each through :func:`commands.run_command`,
so every router's result lands in its own command history; per-router failures are the job's item errors and
the job goes on. The result maps each router to its outcome. Cancelling stops the routers not started yet. A
resumed job (after a crash) runs the command again on every router: reads and ``set`` are harmless to repeat,
an ``add`` the router already has is refused by the router and reported.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from flask import current_app

from webapp import jobs
from webapp.extensions import db
from webapp.models import Job, User
from webapp.services import audit, commands, groups
from webapp.services.commands import CommandFailed
from webapp.services.errors import Conflict, Invalid, ServiceError

BULK_JOB = "commands.bulk"
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 16
MAX_ROUTERS = 5000


def start(actor: User, command: str, method: str | None, params: Any, data: Any, *, confirm: bool = False,
          router_ids: list[int] | None = None, group_id: int | None = None, tag: str | None = None,
          concurrency: int = DEFAULT_CONCURRENCY, ip_address: str | None = None) -> Job:
    """Check the command and the selection, queue the job and start it.

    :raises Invalid: for a bad command, selection or concurrency. :raises NotFound: for a group or router that
        is not the actor's. :raises Conflict: for a dangerous command without ``confirm``.
    """
    path, verb = commands.normalise(command, method)
    params_in = commands._check_mapping("params", params)
    data_in = commands._check_mapping("data", data)
    why = commands.danger(path, verb, data_in, params_in)
    if why and not confirm:
        raise Conflict(f'Confirmation required: {why} — on every selected router. Send "confirm": true to run it.',
                       fields={"confirm": "required for this command"})
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise Invalid(f"concurrency must be 1-{MAX_CONCURRENCY}", fields={"concurrency": f"1-{MAX_CONCURRENCY}"})
    selected = groups.select_routers(actor, router_ids=router_ids, group_id=group_id, tag=tag)
    if len(selected) > MAX_ROUTERS:
        raise Invalid(f"at most {MAX_ROUTERS} routers at once", fields={"router_ids": f"at most {MAX_ROUTERS}"})
    ids = [router.id for router in selected]
    job = jobs.enqueue(BULK_JOB, user_id=actor.id, params={
        "command": path, "method": verb, "params": params_in, "data": data_in, "confirm": bool(why),
        "router_ids": ids, "concurrency": concurrency,
        "selection": {"router_ids": router_ids, "group_id": group_id, "tag": tag}}, total=len(ids), commit=False)
    audit.record(actor, "command.bulk", f"{verb} {path} on {len(ids)} router(s) (job {job.id})",
                 details={"job_id": job.id, "command": path, "method": verb, "router_ids": ids,
                          "data": data_in, "params": params_in}, ip_address=ip_address, commit=False)
    db.session.commit()
    jobs.start(job)
    return job


@jobs.job_kind(BULK_JOB, max_attempts=3)
def run_bulk(ctx: jobs.JobContext) -> dict[str, Any]:
    """Run the command on every selected router, a few at once."""
    params = ctx.params
    ids: list[int] = list(params["router_ids"])
    outcomes: dict[str, dict[str, Any]] = {}
    actor = db.session.get(User, ctx.user_id)
    db.session.commit()
    if actor is None:
        return {"routers": outcomes, "note": "the owner is gone"}
    todo = [rid for rid in ids if str(rid) not in outcomes]
    ctx.progress(len(ids) - len(todo), total=len(ids))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lock = threading.Lock()
    actor_id = actor.id

    def one(router_id: int) -> tuple[int, dict[str, Any]]:
        with app.app_context():
            owner = db.session.get(User, actor_id)
            try:
                if owner is None:
                    raise Invalid("the owner is gone")
                run = commands.run_command(owner, router_id, params["command"], params["method"], params["params"],
                                           params["data"], confirm=True)
                outcome = {"status": "success", "command_id": run.id, "rows": len(run.result or [])}
            except CommandFailed as failed:
                outcome = {"status": failed.run.status, "command_id": failed.run.id, "error": failed.message,
                           "status_code": failed.status, "reason": failed.reason}
            except ServiceError as exc:  # e.g. the router was deleted meanwhile
                outcome = {"status": "failed", "error": exc.message, "status_code": exc.status}
            finally:
                db.session.remove()
        return router_id, outcome

    pool = ThreadPoolExecutor(max_workers=int(params.get("concurrency") or DEFAULT_CONCURRENCY),
                              thread_name_prefix=f"bulk-{ctx.job_id}")
    futures: list[Future[tuple[int, dict[str, Any]]]] = [pool.submit(one, rid) for rid in todo]
    try:
        for future in as_completed(futures):
            router_id, outcome = future.result()
            with lock:
                outcomes[str(router_id)] = outcome
                if outcome["status"] != "success":
                    ctx.item_error(str(router_id), outcome.get("error") or outcome["status"])
            ctx.progress(advance=1)
    finally:
        # Cancelled (or the lease lost): routers not started yet are not touched.
        pool.shutdown(wait=True, cancel_futures=True)
    succeeded = sum(1 for o in outcomes.values() if o["status"] == "success")
    return {"routers": outcomes, "succeeded": succeeded, "failed": len(outcomes) - succeeded}
