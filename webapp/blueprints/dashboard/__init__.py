"""The operator dashboard (server-rendered pages and htmx fragments).

Importing the package imports every page module, which attach their routes to :data:`bp`.
"""

from __future__ import annotations

from webapp.blueprints.dashboard import fleet, home, hotspot, jobs, monitoring, payments, routers, team
from webapp.blueprints.dashboard.blueprint import bp

__all__ = ["bp", "fleet", "home", "hotspot", "jobs", "monitoring", "payments", "routers", "team"]
