"""Loopback stand-ins for the outside services RouterDeck talks to, for tests, benchmarks and the demo.

Each simulator serves the real wire protocol of its service on 127.0.0.1 and is installed with the
``simulators`` extra (``pip install .[simulators]``), so the ``routeros`` driver stays usable on its own.
"""
