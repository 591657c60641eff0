"""The fleet's own timetable beside the poller: daily configuration exports per group (``backup_hour_utc``)."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from webapp.extensions import db
from webapp.services import configs, safe_changes

log = logging.getLogger(__name__)


def run_forever(app: Flask, stop: threading.Event, *, every: float = 30.0) -> None:
    """Every ``every`` seconds settle pending safe changes and take the exports that are due, until ``stop`` is
    set (a failed router is retried on the next round; one bad round never ends the loop)."""
    with app.app_context():
        while not stop.is_set():
            try:
                safe_changes.check_pending()
                outcome = configs.run_daily_backups()
                if any(outcome.values()):
                    log.info("daily configuration exports: %s", outcome)
            except Exception:
                log.exception("daily configuration exports failed")
                db.session.rollback()
            finally:
                db.session.remove()
            stop.wait(every)


def start(app: Flask, stop: threading.Event) -> threading.Thread:
    """Run :func:`run_forever` in a daemon thread stopped by ``stop``."""
    thread = threading.Thread(target=run_forever, args=(app, stop), name="fleet-schedule", daemon=True)
    thread.start()
    return thread
