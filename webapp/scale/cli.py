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


@click.command("scale-demo-fleet")
@click.option("--routers", "count", default=12, show_default=True, type=int, help="Simulated routers to serve.")
@click.option("--url", default="http://127.0.0.1:8000/", show_default=True, help="Where gunicorn serves.")
@with_appcontext
def scale_demo_fleet(count: int, url: str) -> None:
    """Serve a simulated fleet for `make scale-demo`, give the demo login its routers, print the login."""
    import secrets
    import time

    from simulators.routeros import RouterSpec, Simulator
    from webapp.services import demo as demo_service

    versions = ("7.16.1", "6.49.7", "7.12")
    specs = [
        RouterSpec(name=f"site-{index:03d}", version=versions[index % 3], username="admin",
                   password=secrets.token_urlsafe(12))
        for index in range(count)
    ]
    password = secrets.token_urlsafe(12)
    with Simulator(specs, host="127.0.0.1") as sim:
        user = demo_service.prepare(password, [
            demo_service.DemoRouter(r.name, r.host, r.api_port, "api", False, r.username, r.password, None)
            for r in sim.routers
        ])
        click.echo("=" * 64)
        click.echo(f"RouterDeck scale-out demo on {url} (gunicorn, Celery workers, PostgreSQL, Redis)")
        click.echo(f"  username: {user.username}")
        click.echo(f"  password: {password}")
        click.echo(f"  {count} simulated routers, polled by the Celery workers; Ctrl-C stops everything")
        click.echo("=" * 64)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
