"""Runners: who executes queued jobs. One interface; the database stays the source of truth for all of them.

- :class:`EmbeddedRunner` (``JOBS_RUNNER = "embedded"``, the default): a small thread pool inside the web
  process, started by its first request, so ``flask run`` and ``make demo`` need nothing else. ``flask --app
  wsgi worker`` runs the same class in a process of its own.
- ``"external"``: this process only queues; a separate ``flask --app wsgi worker`` (or Celery) runs the jobs.
- :class:`InlineRunner` (``"inline"``): runs a job in the thread that started it, right after the commit —
  for tests and scripts that want the outcome before they go on. Same claim, lease and handler path.

A new runner (the scale-out's Celery) implements :class:`Runner` and is registered with
:func:`register_runner`; its task calls :func:`run_job` with the job id, which claims the job by lease first.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from webapp.extensions import db
from webapp.jobs import core
from webapp.models import Job
from webapp.services.errors import ServiceError

log = logging.getLogger(__name__)


def worker_name() -> str:
    """A name unique to this runner: host, process id and a random suffix."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_job(app: Flask, worker: str, job_id: int | None = None, *, lease_seconds: float | None = None,
            on_context: Callable[[core.JobContext], None] | None = None) -> int | None:
    """Claim a job (``job_id``, else the oldest claimable one) for ``worker`` and run it to a final state.

    Returns the id of the job it ran, ``None`` when there was nothing to claim. Never raises for a job's own
    failure: that becomes the job's ``failed`` state and ``error``. (A Celery task is this call.)
    """
    lease = float(lease_seconds or app.config["JOB_LEASE_SECONDS"])
    with app.app_context():
        try:
            job = core.claim(worker, lease, job_id=job_id)
        finally:
            db.session.remove()
    if job is None:
        return None
    _run_held(app, worker, job.id, lease, on_context or (lambda context: None))
    return job.id


def _execute(kind: core.JobKind, context: core.JobContext) -> None:
    errors: list[dict[str, object]] = []
    try:
        result = kind.handler(context)
    except core.LeaseLost:
        log.warning("job %s: lease lost to another runner; stopping here", context.job_id)
        return
    except core.JobCancelled:
        db.session.rollback()
        core.finish(context.job_id, context.worker, "cancelled", errors=context._pending_errors)
        return
    except ServiceError as exc:
        db.session.rollback()
        errors = list(context._pending_errors)
        core.finish(context.job_id, context.worker, "failed", error=exc.message, errors=errors)
        return
    except Exception as exc:  # a bug must not kill the runner thread; the job says what happened
        log.exception("job %s (%s) failed", context.job_id, context.kind)
        db.session.rollback()
        core.finish(context.job_id, context.worker, "failed", error=f"internal error: {type(exc).__name__}",
                    errors=list(context._pending_errors))
        return
    db.session.rollback()
    core.finish(context.job_id, context.worker, "succeeded", result=result, errors=list(context._pending_errors))


class Runner(ABC):
    """Executes queued jobs. ``notify`` is called after a job was committed; ``start``/``stop`` bracket its life."""

    @abstractmethod
    def start(self) -> None:
        """Begin taking jobs (idempotent)."""

    @abstractmethod
    def notify(self, job_id: int) -> None:
        """A job was queued (and committed): take it soon."""

    @abstractmethod
    def stop(self, wait: float = 5.0) -> None:
        """Stop taking jobs and let go of the ones held, so another runner resumes them."""


class EmbeddedRunner(Runner):
    """A dispatcher thread that claims jobs for a small thread pool, and renews the leases it holds."""

    def __init__(self, app: Flask, *, threads: int | None = None, lease_seconds: float | None = None,
                 poll_seconds: float | None = None) -> None:
        self.app = app
        self.threads = max(1, int(threads or app.config["JOBS_THREADS"]))
        self.lease_seconds = float(lease_seconds or app.config["JOB_LEASE_SECONDS"])
        self.poll_seconds = float(poll_seconds or app.config["JOBS_POLL_INTERVAL"])
        self.worker = worker_name()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, core.JobContext] = {}
        self._busy = 0
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the dispatcher and the pool (idempotent); jobs left by a dead process are resumed."""
        with self._lock:
            if self._thread is not None:
                return
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="job")
            self._thread = threading.Thread(target=self._dispatch, name="job-dispatcher", daemon=True)
            self._thread.start()

    def notify(self, job_id: int) -> None:
        """Wake the dispatcher."""
        self.start()
        self._wake.set()

    def stop(self, wait: float = 5.0) -> None:
        """Stop claiming, wait up to ``wait`` s for running jobs, and release the leases still held."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(wait)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        with self.app.app_context():
            try:
                core.release(self.worker)
            finally:
                db.session.remove()

    def run_forever(self) -> None:
        """Run in the foreground until :meth:`stop` (the ``worker`` command)."""
        self.start()
        self._stop.wait()

    def _dispatch(self) -> None:
        renew_every = self.lease_seconds / 3
        last_renewal = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_renewal >= renew_every:
                    self._renew()
                    last_renewal = time.monotonic()
                while self._free() and not self._stop.is_set():
                    if not self._claim_one():
                        break
            except Exception:  # a database hiccup must not end the runner: try again next round
                log.exception("job dispatcher round failed")
            self._wake.wait(min(self.poll_seconds, renew_every))
            self._wake.clear()

    def _free(self) -> bool:
        with self._lock:
            return self._busy < self.threads

    def _claim_one(self) -> bool:
        with self.app.app_context():
            try:
                job = core.claim(self.worker, self.lease_seconds)
            finally:
                db.session.remove()
        if job is None:
            return False
        with self._lock:
            self._busy += 1
        assert self._executor is not None
        self._executor.submit(self._run, job.id)
        return True

    def _run(self, job_id: int) -> None:
        try:
            _run_held(self.app, self.worker, job_id, self.lease_seconds, self._track)
        finally:
            with self._lock:
                self._busy -= 1
                self._running.pop(job_id, None)
            self._wake.set()

    def _track(self, context: core.JobContext) -> None:
        with self._lock:
            self._running[context.job_id] = context

    def _renew(self) -> None:
        with self._lock:
            held = dict(self._running)
        if not held:
            return
        with self.app.app_context():
            try:
                still = core.renew(self.worker, held, self.lease_seconds)
            finally:
                db.session.remove()
        for job_id, context in held.items():
            if job_id not in still:
                context.lost = True


def _run_held(app: Flask, worker: str, job_id: int, lease: float,
              on_context: Callable[[core.JobContext], None]) -> None:
    """Run a job this worker has already claimed."""
    with app.app_context():
        try:
            job = db.session.get(Job, job_id)
            if job is None or job.lease_owner != worker or job.state != "running":
                return
            kind = core.registered_kinds().get(job.kind)
            context = core.JobContext(job.id, job.kind, dict(job.params or {}), job.user_id, job.router_id,
                                      job.attempts, worker, lease)
            db.session.rollback()
            on_context(context)
            if kind is None:
                core.finish(job_id, worker, "failed", error=f"unknown job kind {context.kind}")
            elif context.attempt > kind.max_attempts:
                core.finish(job_id, worker, "failed",
                            error=f"gave up after {kind.max_attempts} attempts (the process running it stopped)")
            else:
                _execute(kind, context)
        finally:
            db.session.rollback()
            db.session.remove()


class InlineRunner(Runner):
    """Runs each job in the thread that queued it, right after the commit (tests and scripts)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.worker = worker_name()

    def start(self) -> None:
        """Nothing to start."""

    def notify(self, job_id: int) -> None:
        """Run the job now, in a fresh application context (its own database session)."""
        run_job(self.app, self.worker, job_id)

    def stop(self, wait: float = 5.0) -> None:
        """Nothing to stop."""


class ExternalRunner(Runner):
    """Runs nothing here: a separate ``flask --app wsgi worker`` process takes the jobs from the database."""

    def start(self) -> None:
        """Nothing to start."""

    def notify(self, job_id: int) -> None:
        """The worker polls the database; nothing to tell it."""

    def stop(self, wait: float = 5.0) -> None:
        """Nothing to stop."""


_FACTORIES: dict[str, Callable[[Flask], Runner]] = {
    "embedded": EmbeddedRunner,
    "inline": InlineRunner,
    "external": lambda app: ExternalRunner(),
}


def register_runner(name: str, factory: Callable[[Flask], Runner]) -> None:
    """Make ``JOBS_RUNNER = name`` build its runner with ``factory(app)`` (how the Celery runner plugs in)."""
    _FACTORIES[name] = factory


def runner_for(app: Flask) -> Runner:
    """This app's runner, built on first use from ``JOBS_RUNNER``."""
    runner: Runner | None = app.extensions.get("jobs_runner")
    if runner is None:
        name = app.config["JOBS_RUNNER"]
        if name not in _FACTORIES:
            raise RuntimeError(f"JOBS_RUNNER must be one of {', '.join(sorted(_FACTORIES))}, got {name!r}")
        runner = app.extensions.setdefault("jobs_runner", _FACTORIES[name](app))
        assert runner is not None
        if isinstance(runner, EmbeddedRunner):
            atexit.register(runner.stop, 1.0)
    return runner
