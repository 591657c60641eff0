"""The out-of-the-box demo: a demo account that owns the simulated routers started next to the dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Router, User
from webapp.services import accounts, routers


@dataclass(frozen=True)
class DemoRouter:
    """Where one simulated router listens, and how the demo should reach it."""

    name: str
    host: str
    port: int
    protocol: str
    use_https: bool
    username: str
    password: str
    fingerprint: str | None


def prepare(password: str, demo_routers: list[DemoRouter]) -> User:
    """Create or reset the demo user and point its routers at this run's simulator ports (upsert by name)."""
    user = accounts.set_password("demo", password)
    existing = {r.name: r for r in db.session.scalars(select(Router).where(Router.user_id == user.id))}
    for spec in demo_routers:
        values = {
            "name": spec.name,
            "host": spec.host,
            "port": spec.port,
            "username": spec.username,
            "password": spec.password,
            "use_https": spec.use_https,
            "protocol": spec.protocol,
            "tls_fingerprint": spec.fingerprint,
        }
        if spec.name in existing:
            routers.update_router(user, existing[spec.name].id, values)
        else:
            routers.create_router(user, values)
    return user
