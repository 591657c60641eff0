"""``flask --app wsgi payments ...``: the reconciliation sweep and the voucher pool, run by hand or in a loop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PortalSite, User
from webapp.services import payments, portal, sales_silence

payments_group = AppGroup("payments", help="M-Pesa payments: reconciliation sweep and voucher pools.")


def sweep_once() -> payments.SweepReport:
    """One sweep, then one pool top-up per selling router."""
    report = payments.sweep()
    sales_silence.check()
    for router_id in list(db.session.scalars(select(PortalSite.router_id).where(PortalSite.enabled.is_(True)))):
        portal.replenish_pool(router_id)
    return report


@payments_group.command("sweep")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds until interrupted.")
@click.option("--interval", type=float, default=15.0, show_default=True)
def sweep_command(loop: bool, interval: float) -> None:
    """Ask M-Pesa about payments pending over a minute, expire those over two hours, top up voucher pools."""
    stop = threading.Event()
    while True:
        report = sweep_once()
        click.echo(f"queried {report.queried}, settled {report.settled}, expired {report.expired}"
                   + (f", {len(report.errors)} errors" if report.errors else ""))
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        if not loop or stop.wait(interval):
            return


def start_background_sweeper(app: Flask, interval: float = 15.0) -> threading.Event:
    """Sweep on a daemon thread (the demo and single-process installs); set the returned event to stop."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            with app.app_context():
                try:
                    sweep_once()
                except Exception:
                    app.logger.exception("payments sweep failed")

    threading.Thread(target=run, name="payments-sweep", daemon=True).start()
    return stop


def init_app(app: Flask) -> None:
    """Register ``flask payments``."""
    app.cli.add_command(payments_group)


@contextmanager
def selling_demo(app: Flask, user: User, router_name: str, public_url: str) -> Iterator[str]:
    """The demo's self-service sales: Daraja and Africa's Talking simulators, a selling router, the sweep.

    Yields the portal's URL; the simulated customer approves every prompt after a few seconds.
    """
    from simulators.africastalking import SmsSimulator
    from simulators.daraja import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaSimulator
    from webapp.services.demo_portal import prepare_shop
    from webapp.services.portal_links import portal_url, sms_delivery_token

    with DarajaSimulator(approve_after=4.0) as daraja, SmsSimulator(deliver_after=2.0) as sms_sim:
        app.config.update(MPESA_BASE_URL=daraja.base_url, SMS_BASE_URL=sms_sim.base_url,
                          SMS_USERNAME=sms_sim.username, SMS_API_KEY=sms_sim.api_key,
                          PUBLIC_BASE_URL=public_url.rstrip("/"))
        sms_sim.set_delivery_url(f"{public_url.rstrip('/')}/sms/delivery/{sms_delivery_token()}/")
        site = prepare_shop(user, router_name, consumer_key=daraja.consumer_key,
                            consumer_secret=daraja.consumer_secret, passkey=SANDBOX_PASSKEY,
                            shortcode=SANDBOX_SHORTCODE)
        with app.test_request_context():
            # As the hotspot's login page would send a phone on the hotspot network (10.5.50.0/24 on the
            # simulated router), so RouterDeck logs the "device" in and it shows under Sessions. No
            # link-login-only: there is no real hotspot for the browser to log in to.
            url = portal_url(site) + "?mac=02:00:00:00:00:01&ip=10.5.50.50"
        stop = start_background_sweeper(app)
        try:
            yield url
        finally:
            stop.set()
