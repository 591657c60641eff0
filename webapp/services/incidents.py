"""Incidents: alerts raised together, grouped, so a site going down is one incident listing its routers.

Alerts of one kind whose routers share a group (or are all ungrouped) belong to one incident when each started
within :data:`WINDOW` of the one before. Incidents are computed from the alerts when asked (nothing to keep in
step); an incident's id is the id of its first alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Alert, Router, User
from webapp.services import alerts as alert_service
from webapp.services import audit, groups
from webapp.services.errors import Invalid, NotFound
from webapp.services.teams import router_scope

WINDOW = timedelta(minutes=10)
OPEN_STATES = ("active", "acknowledged")


@dataclass
class Incident:
    """Alerts raised together."""

    id: int
    kind: str
    group_id: int | None
    group_name: str | None
    alerts: list[Alert] = field(default_factory=list)

    @property
    def started_at(self) -> datetime:
        """When its first alert started."""
        return self.alerts[0].started_at

    @property
    def state(self) -> str:
        """active while any alert is, else acknowledged while any is open, else resolved."""
        states = {alert.state for alert in self.alerts}
        return "active" if "active" in states else ("acknowledged" if "acknowledged" in states else "resolved")

    @property
    def routers(self) -> list[str]:
        """The names of its routers, once each."""
        return list(dict.fromkeys(alert.router.name for alert in self.alerts))

    @property
    def title(self) -> str:
        """``3 routers offline at Kibera`` / ``core-1: CPU above 90%``."""
        where = f" at {self.group_name}" if self.group_name else ""
        if len(self.routers) == 1:
            return f"{self.routers[0]}: {self.alerts[0].message}"
        return f"{len(self.routers)} routers {self.kind.replace('_', ' ')}{where}"


def incidents(actor: User, *, include_resolved: bool = False, since: datetime | None = None) -> list[Incident]:
    """The actor's incidents, newest first (open ones only unless ``include_resolved``)."""
    statement = (select(Alert).join(Router, Router.id == Alert.router_id)
                 .where(Alert.user_id == actor.team_owner_id, router_scope(actor)))
    if not include_resolved:
        statement = statement.where(Alert.state.in_(OPEN_STATES))
    if since is not None:
        statement = statement.where(Alert.started_at >= since)
    found = list(db.session.scalars(statement.order_by(Alert.started_at, Alert.id)))
    membership = groups.groups_of(list({alert.router_id for alert in found}))
    names = {group.id: group.name for group in groups.list_groups(actor)}
    open_by_key: dict[tuple[str, int | None], Incident] = {}
    result: list[Incident] = []
    for alert in found:
        group_id = membership.get(alert.router_id)
        key = (alert.kind, group_id)
        current = open_by_key.get(key)
        if current is None or alert.started_at - current.alerts[-1].started_at > WINDOW:
            current = Incident(alert.id, alert.kind, group_id, names.get(group_id) if group_id else None)
            open_by_key[key] = current
            result.append(current)
        current.alerts.append(alert)
    return sorted(result, key=lambda incident: (incident.started_at, incident.id), reverse=True)


def get_incident(actor: User, incident_id: int) -> Incident:
    """The open or recent incident whose first alert is ``incident_id``.

    :raises NotFound: when there is none.
    """
    for incident in incidents(actor, include_resolved=True, since=None):
        if incident.id == incident_id:
            return incident
    raise NotFound("Incident not found")


def acknowledge(actor: User, now: datetime, *, alert_ids: Iterable[int] | None = None,
                incident_id: int | None = None, everything: bool = False, note: str | None = None,
                ip_address: str | None = None) -> int:
    """Acknowledge several active alerts at once: given ids, else one incident's, else (``everything``) all the
    actor's open ones. Already acknowledged or resolved alerts are skipped; return how many changed.

    :raises Invalid: for a note over 500 characters.
    :raises NotFound: for an alert or incident that is not the actor's.
    """
    if note is not None and len(note) > 500:
        raise Invalid("note: at most 500 characters", fields={"note": "at most 500 characters"})
    if alert_ids is not None:
        chosen = [alert_service.get_alert(actor, alert_id) for alert_id in dict.fromkeys(alert_ids)]
    elif incident_id is not None:
        chosen = get_incident(actor, incident_id).alerts
    elif not everything:
        chosen = []  # nothing chosen: nothing to acknowledge
    else:
        chosen = list(db.session.scalars(select(Alert).join(Router, Router.id == Alert.router_id).where(
            Alert.user_id == actor.team_owner_id, router_scope(actor), Alert.state == "active")))
    changed = 0
    for alert in chosen:
        if alert.state != "active":
            continue
        alert.state = "acknowledged"
        alert.acknowledged_at = now
        alert.acknowledged_by_id = actor.id
        if note:
            alert.note = note
        changed += 1
    if changed:
        audit.record(actor, "alerts.acknowledge", f"Acknowledged {changed} alert(s)",
                     details={"alert_ids": [a.id for a in chosen if a.acknowledged_at == now]},
                     ip_address=ip_address, commit=False)
    db.session.commit()
    return changed
