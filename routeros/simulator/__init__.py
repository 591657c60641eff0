"""A RouterOS stand-in serving the binary API, API-SSL and REST on loopback for tests, benches and demos.

Imports only :mod:`routeros.protocol` and :mod:`routeros.errors` from the project, so it cannot share a
mistake with the driver it is used to test.
"""

from __future__ import annotations

from routeros.simulator.faults import FAULT_PARAMETERS
from routeros.simulator.fleet import Simulator
from routeros.simulator.router import RouterSpec, SimRouter
from routeros.simulator.state import CommandError

FAULTS = frozenset(FAULT_PARAMETERS)

__all__ = ["FAULTS", "CommandError", "RouterSpec", "SimRouter", "Simulator"]
