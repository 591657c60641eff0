"""The audit trail: every write, who made it, from where. Details are never allowed to carry secrets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.services.pagination import Page, paginate

_SECRET_WORDS = ("password", "secret", "private", "token", "key")


MASK = "***"


def scrub(details: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``details`` with every secret-looking field (password, secret, key, token...) masked."""
    clean: dict[str, Any] = {}
    for name, value in details.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            clean[name] = MASK
        elif isinstance(value, dict):
            clean[name] = scrub(value)
        else:
            clean[name] = value
    return clean


def record(
    actor: User | None,
    action: str,
    summary: str,
    *,
    router_id: int | None = None,
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    commit: bool = True,
) -> AuditEvent:
    """Append one audit event (secret-looking fields are masked)."""
    event = AuditEvent(
        user_id=actor.id if actor else None,
        router_id=router_id,
        action=action,
        summary=summary[:500],
        details=scrub(details or {}),
        ip_address=ip_address,
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def for_router(router_id: int, page: int = 1, page_size: int = 20) -> Page[AuditEvent]:
    """One page of a router's audit events, newest first (ownership is the caller's check)."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.router_id == router_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    return paginate(statement, page, page_size)
