"""Celery wired into the Flask app (the Flask documentation's pattern): every task runs in an app context.

Queues: ``routers`` (router I/O jobs), ``payments`` (consumed first: the Redis transport's priority order),
``monitoring`` (poll shards). Late acks with prefetch 1: a worker takes one task at a time and acknowledges it
only when done, so a worker killed mid-task leaves it to be delivered again (at once when a pool child dies,
after ``visibility_timeout`` when the whole worker is gone); the database stays the source of truth either way.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask
from kombu.entity import Queue

QUEUES = ("payments", "routers", "monitoring")


def init_celery(app: Flask) -> Celery:
    """Create the Celery app for ``app`` (broker ``BROKER_URL``) and keep it in ``app.extensions["celery"]``."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config["BROKER_URL"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="routers",
        task_routes={"routerdeck.poll_shard": {"queue": "monitoring"}},
        broker_transport_options={
            "queue_order_strategy": "priority",
            "visibility_timeout": int(app.config["CELERY_VISIBILITY_TIMEOUT"]),
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    celery.set_default()
    app.extensions["celery"] = celery
    from webapp.scale import tasks  # noqa: F401 - registers the tasks on this app

    return celery
