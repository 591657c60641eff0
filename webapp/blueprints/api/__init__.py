"""The JSON API of the contract (``../shared/seeds/router-api-contract.txt``), bearer-token authenticated.

Importing the package imports every view module, which attach their routes to :data:`bp`.
"""

from __future__ import annotations

from webapp.blueprints.api import fleet, hotspot, jobs, monitoring, payments, routers, team, users
from webapp.blueprints.api.blueprint import bp

__all__ = ["bp", "fleet", "hotspot", "jobs", "monitoring", "payments", "routers", "team", "users"]
