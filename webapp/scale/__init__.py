"""Scale-out mode: Celery workers on a Redis broker poll the fleet in shards under per-router leases.

``celery.py`` wires Celery into the Flask app (queues, late acks, prefetch 1), ``leases.py`` is the per-router
lease in the database (no router polled by two workers; a dead worker's routers free within one interval),
``tasks.py`` the worker side, ``scheduler.py`` the one process that enqueues due routers in shards. Nothing
here keeps state in a process: the database and the broker hold it all.
"""
