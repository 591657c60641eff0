"""``flask scale-scheduler``: the one scheduler process of scale mode."""

from __future__ import annotations

import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("scale-scheduler")
@with_appcontext
def scale_scheduler() -> None:
    """Enqueue due routers in shards for the Celery workers and compact metrics; Ctrl-C stops it."""
    from webapp.scale.scheduler import run_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "celery" not in app.extensions:
        raise click.ClickException("scale-scheduler needs BROKER_URL (e.g. FLASK_BROKER_URL=redis://127.0.0.1:6379/0)")
    click.echo(
        f"Scheduling every {app.config['SCHEDULER_TICK']} s: shards of {app.config['POLL_SHARD_SIZE']} routers, "
        f"leases of {app.config['POLL_LEASE_SECONDS']} s; Ctrl-C stops."
    )
    stop = threading.Event()
    try:
        run_scheduler(app, stop)
    except KeyboardInterrupt:
        stop.set()
