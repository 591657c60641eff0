"""``flask --app wsgi ...`` commands: everything with side effects lives here, not in the factory."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path
from typing import cast

import click
from cryptography.fernet import Fernet
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.local import LocalProxy
from werkzeug.serving import run_simple

from webapp import payments_cli
from webapp.services import accounts, vault
from webapp.services import demo as demo_service
from webapp.services.errors import ServiceError

_CONFIG_TEMPLATE = '''"""Instance configuration written by `flask --app wsgi init-instance`. Never commit this file."""

SECRET_KEY = {secret_key!r}
JWT_SECRET_KEY = {jwt_secret_key!r}
# Fernet keys for router passwords: the first encrypts, all decrypt. To rotate, put a new key first
# and run `flask --app wsgi rotate-keys`; drop the old key once that has finished.
ROUTER_PASSWORD_KEYS = [{fernet_key!r}]
'''


def _current_app() -> Flask:
    """The app itself rather than the context-local proxy, for threads that outlive this context."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


@click.command("init-instance")
@with_appcontext
def init_instance() -> None:
    """Write instance/config.py with fresh random secrets (mode 0600); never overwrite an existing one."""
    path = Path(current_app.instance_path) / "config.py"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    content = _CONFIG_TEMPLATE.format(
        secret_key=secrets.token_urlsafe(48),
        jwt_secret_key=secrets.token_urlsafe(48),
        fernet_key=Fernet.generate_key().decode("ascii"),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        click.echo(f"{path} already exists; left untouched.")
        return
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    click.echo(f"Wrote {path} with fresh secrets (mode 0600).")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--password", help="Leave out to be prompted (input hidden).")
@click.option("--email", default=None)
def create_user(username: str, password: str | None, email: str | None) -> None:
    """Create a dashboard/API account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(username, password or "", email)
    except ServiceError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message}{' (' + details + ')' if details else ''}") from None
    click.echo(f'Created user "{user.username}" (id {user.id}).')


@click.command("rotate-keys")
@with_appcontext
def rotate_keys() -> None:
    """Re-encrypt every router password with the first ROUTER_PASSWORD_KEYS key (safe to repeat)."""
    try:
        count = vault.rotate_all()
    except vault.VaultError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Re-encrypted {count} router password(s) with the first key.")


@click.command("poll")
@click.option("--once", is_flag=True, help="Poll every router once (due or not), compact metrics, and exit.")
@click.option("--interval", type=int, default=None, help="Seconds between polls of a router (default POLL_INTERVAL).")
@click.option("--concurrency", type=int, default=None, help="Polls in flight at once (default POLL_CONCURRENCY).")
@with_appcontext
def poll(once: bool, interval: int | None, concurrency: int | None) -> None:
    """Run the fleet poller: every router every interval, metrics compacted every 5 minutes; Ctrl-C stops it."""
    from webapp.services import metrics, poller
    from webapp.timeutil import utcnow

    app = _current_app()
    if interval:
        app.config["POLL_INTERVAL"] = interval
    if concurrency:
        app.config["POLL_CONCURRENCY"] = concurrency
    if once:
        with poller.Poller.from_config() as instance:
            report = instance.cycle(force=True)
        metrics.compact(metrics.epoch(utcnow()))
        click.echo(f"Polled {report.polled} router(s): {report.online} up, {report.offline} down, "
                   f"{report.metric_rows} metric rows, {len(report.fired)} alert(s) opened, "
                   f"{len(report.resolved)} resolved, in {report.total_seconds:.2f} s.")
        return
    stop = threading.Event()
    click.echo(f"Polling every {app.config['POLL_INTERVAL']} s with up to {app.config['POLL_CONCURRENCY']} "
               "routers at once; Ctrl-C stops.")

    def report_cycle(report: poller.CycleReport) -> None:
        click.echo(f"{utcnow():%H:%M:%S} polled {report.polled}: {report.online} up, {report.offline} down "
                   f"({report.total_seconds:.2f} s)")

    from webapp.services import fleet_schedule

    fleet_schedule.start(app, stop)
    try:
        poller.run_forever(app, stop, on_cycle=report_cycle)
    except KeyboardInterrupt:
        stop.set()
        click.echo("Poller stopped.")


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Jobs run at once (default JOBS_THREADS).")
@with_appcontext
def worker(threads: int | None) -> None:
    """Run queued jobs (voucher pushes, syncs, reconciles...) in this process until stopped; Ctrl-C stops it.

    Use with JOBS_RUNNER = "external" in the web process (or beside the embedded runner: the lease on each job
    makes sure only one process runs it). A job whose process died is resumed once its lease expires.
    """
    import signal

    from webapp.jobs import EmbeddedRunner

    app = _current_app()
    runner = EmbeddedRunner(app, threads=threads)
    click.echo(f"Job worker {runner.worker}: {runner.threads} thread(s), lease {runner.lease_seconds:g} s; "
               "Ctrl-C stops.")
    signal.signal(signal.SIGTERM, lambda *_: runner._stop.set())
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        click.echo("Job worker stopped (jobs it held are released for another worker).")


def start_background_poller(app: Flask) -> threading.Event:
    """Run the fleet loop in a daemon thread with its own app context; set the returned event to stop it."""
    from webapp.services import fleet_schedule, poller

    stop = threading.Event()
    thread = threading.Thread(target=poller.run_forever, args=(app, stop), name="fleet-poller", daemon=True)
    thread.start()
    fleet_schedule.start(app, stop)
    return stop


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def demo(host: str, port: int) -> None:
    """Start three simulated routers, give the demo login their ports, print it, and serve the dashboard."""
    from simulators.routeros import RouterSpec, Simulator

    specs = [
        RouterSpec(name="nairobi-core", version="7.16.1", username="admin", password=secrets.token_urlsafe(12)),
        RouterSpec(name="kisumu-hotspot", version="6.49.7", username="admin", password=secrets.token_urlsafe(12)),
        RouterSpec(name="mombasa-edge", version="7.12", username="admin", password=secrets.token_urlsafe(12)),
    ]
    password = secrets.token_urlsafe(12)
    with Simulator(specs, host="127.0.0.1") as sim:
        core, hotspot, edge = sim.routers
        assert core.rest_tls_port is not None  # every simulated router serves www-ssl
        demo_routers = [
            demo_service.DemoRouter(core.name, core.host, core.rest_tls_port, "rest", True, core.username,
                                    core.password, core.cert_fingerprint_sha256),
            demo_service.DemoRouter(hotspot.name, hotspot.host, hotspot.api_port, "api", False, hotspot.username,
                                    hotspot.password, None),
            demo_service.DemoRouter(edge.name, edge.host, edge.api_ssl_port, "api-ssl", False, edge.username,
                                    edge.password, edge.cert_fingerprint_sha256),
        ]
        user = demo_service.prepare(password, demo_routers)
        url = f"http://{host}:{port}/"
        click.echo("=" * 64)
        click.echo(f"RouterDeck demo on {url}")
        click.echo(f"  username: {user.username}")
        click.echo(f"  password: {password}")
        click.echo("  simulated routers: " + ", ".join(
            f"{r.name} ({r.protocol}{'/https' if r.use_https else ''} :{r.port})" for r in demo_routers))
        click.echo("  (a new password is printed at every start; Ctrl-C stops the demo)")
        click.echo("=" * 64)
        click.echo("  the fleet poller runs alongside: see Monitoring in the dashboard")
        app = _current_app()
        # Short polls so the demo's graphs fill within minutes.
        app.config["POLL_INTERVAL"] = min(int(app.config["POLL_INTERVAL"]), 15)
        stop_polling = start_background_poller(app)
        from webapp import jobs

        jobs.runner_for(app).start()
        from webapp.payments_cli import selling_demo

        try:
            with selling_demo(app, user, hotspot.name, url) as portal_url:
                click.echo(f"  buy WiFi as a customer: {portal_url} (simulated M-Pesa approves after 4 s)")
                # app.run() is a no-op inside the flask CLI; serve with Werkzeug directly.
                run_simple(host, port, app, threaded=True, use_reloader=False)
        finally:
            stop_polling.set()


def init_app(app: Flask) -> None:
    """Register the commands on ``app.cli``."""
    app.cli.add_command(init_instance)
    app.cli.add_command(create_user)
    app.cli.add_command(rotate_keys)
    app.cli.add_command(demo)
    app.cli.add_command(poll)
    from webapp.scale.cli import scale_demo_fleet, scale_scheduler

    app.cli.add_command(scale_scheduler)
    app.cli.add_command(scale_demo_fleet)
    app.cli.add_command(worker)
    payments_cli.init_app(app)
