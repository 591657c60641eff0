"""Alert rules (defaults, per-user and per-router overrides), the alert lifecycle, and router event logs.

Lifecycle: a condition that holds for the rule's duration opens an ``active`` alert; a person acknowledges
it (``acknowledged``); when the condition clears it becomes ``resolved`` whichever state it was in. A
condition that comes back later opens a new alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, func, or_, select

from webapp.extensions import db
from webapp.models import Alert, AlertRule, MonitoredInterface, MonitorEvent, Router, User
from webapp.services import audit, metrics, notify
from webapp.services.errors import Conflict, Invalid, NotFound
from webapp.services.pagination import Page, paginate
from webapp.services.routers import get_router
from webapp.services.teams import router_scope


@dataclass(frozen=True)
class RuleDefault:
    """A built-in rule: what it watches, its threshold and how long the condition must last."""

    kind: str
    threshold: float | None
    duration_minutes: int
    severity: str
    label: str


DEFAULT_RULES: dict[str, RuleDefault] = {
    "offline": RuleDefault("offline", None, 5, "critical", "Router offline for N minutes"),
    "cpu_high": RuleDefault("cpu_high", 90.0, 5, "warning", "CPU load above X% for N minutes"),
    "memory_low": RuleDefault("memory_low", 90.0, 5, "warning", "Memory use above X% for N minutes"),
    "interface_down": RuleDefault("interface_down", None, 1, "warning", "An interface that was up is down"),
}
STATES = ("active", "acknowledged", "resolved")
OPEN_STATES = ("active", "acknowledged")
EVENT_KINDS = ("down", "up", "reboot", "version", "config")


class StateView(Protocol):
    """What alert evaluation reads of a router's poll state (a :class:`PollState` or the poller's plain row)."""

    interval_seconds: int | None
    down_since: datetime | None
    cpu_load: float | None
    memory_used_pct: float | None


@dataclass(frozen=True)
class EffectiveRule:
    """The rule in force for one router after overrides."""

    kind: str
    threshold: float | None
    duration_minutes: int
    enabled: bool
    severity: str


@dataclass
class Outcome:
    """Alert ids opened and resolved by one evaluation."""

    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)


def effective_rules(rules: list[AlertRule], router_id: int) -> dict[str, EffectiveRule]:
    """Defaults, overridden by the user's fleet-wide rules, overridden by the router's own."""
    chosen: dict[str, EffectiveRule] = {
        kind: EffectiveRule(kind, d.threshold, d.duration_minutes, True, d.severity)
        for kind, d in DEFAULT_RULES.items()
    }
    for scope in (None, router_id):
        for rule in rules:
            if rule.router_id == scope and rule.kind in chosen:
                base = chosen[rule.kind]
                chosen[rule.kind] = EffectiveRule(
                    rule.kind,
                    rule.threshold if rule.threshold is not None else base.threshold,
                    rule.duration_minutes,
                    rule.enabled,
                    base.severity,
                )
    return chosen


def _held_for(router_id: int, name: str, threshold: float, minutes: int, now_ts: int, spacing: int) -> bool:
    """True when every point of ``name`` in the last ``minutes`` is above ``threshold``, covering the span."""
    if minutes <= 0:
        return True
    start = now_ts - minutes * 60
    points = metrics.points_between(router_id, name, start, now_ts)
    if not points or any(value <= threshold for _, value in points):
        return False
    return points[0][0] <= start + spacing


class _Evaluation:
    def __init__(self, routers: list[Router], states: Mapping[int, StateView], now: datetime) -> None:
        self.now = now
        self.now_ts = metrics.epoch(now)
        self.states = states
        ids = [router.id for router in routers]
        users = {router.user_id for router in routers}
        self.rules: dict[int, list[AlertRule]] = {}
        for rule in db.session.scalars(select(AlertRule).where(AlertRule.user_id.in_(users))):
            self.rules.setdefault(rule.user_id, []).append(rule)
        self.open: dict[tuple[int, str, str], Alert] = {}
        for alert in db.session.scalars(
            select(Alert).where(Alert.router_id.in_(ids), Alert.state.in_(OPEN_STATES))
        ):
            self.open[(alert.router_id, alert.kind, alert.subject)] = alert
        self.interfaces: dict[int, list[MonitoredInterface]] = {}
        for interface in db.session.scalars(
            select(MonitoredInterface).where(
                MonitoredInterface.router_id.in_(ids), MonitoredInterface.down_since.is_not(None)
            )
        ):
            self.interfaces.setdefault(interface.router_id, []).append(interface)
        self.outcome = Outcome()
        self.new_alerts: list[Alert] = []

    def hold(
        self,
        router: Router,
        rule: EffectiveRule,
        subject: str,
        holds: bool,
        message: str,
        value: float | None = None,
    ) -> None:
        key = (router.id, rule.kind, subject)
        alert = self.open.get(key)
        if holds and rule.enabled and alert is None:
            alert = Alert(
                user_id=router.user_id,
                router_id=router.id,
                kind=rule.kind,
                subject=subject,
                state="active",
                severity=rule.severity,
                message=message[:500],
                value=value,
                started_at=self.now,
            )
            db.session.add(alert)
            self.open[key] = alert
            self.new_alerts.append(alert)
        elif alert is not None and (not holds or not rule.enabled):
            alert.state = "resolved"
            alert.resolved_at = self.now
            self.outcome.resolved.append(alert.id)
            del self.open[key]
        elif alert is not None and value is not None:
            alert.value = value

    def router(self, router: Router) -> None:
        rules = effective_rules(self.rules.get(router.user_id, []), router.id)
        state = self.states.get(router.id)
        if state is None:
            return
        spacing = state.interval_seconds or 60
        offline = rules["offline"]
        down_for = (self.now - state.down_since) if state.down_since is not None else None
        self.hold(
            router,
            offline,
            "",
            down_for is not None and down_for >= timedelta(minutes=offline.duration_minutes),
            f"{router.name} has been offline since {state.down_since:%Y-%m-%d %H:%M} UTC: "
            f"{router.last_error or 'no answer'}"
            if state.down_since
            else "",
        )
        if state.down_since is not None:
            return  # nothing fresh to judge the other rules by
        for kind, metric, value, what in (
            ("cpu_high", "cpu", state.cpu_load, "CPU load"),
            ("memory_low", "memory", state.memory_used_pct, "Memory use"),
        ):
            rule = rules[kind]
            threshold = rule.threshold if rule.threshold is not None else 100.0
            holds = (
                value is not None
                and value > threshold
                and _held_for(router.id, metric, threshold, rule.duration_minutes, self.now_ts, spacing)
            )
            self.hold(
                router,
                rule,
                "",
                holds,
                f"{what} on {router.name} is {value:.0f}% (above {threshold:.0f}% for "
                f"{rule.duration_minutes} min)"
                if value is not None
                else "",
                value,
            )
        rule = rules["interface_down"]
        down = {i.name: i for i in self.interfaces.get(router.id, [])}
        for key in [k for k in self.open if k[0] == router.id and k[1] == "interface_down"]:
            if key[2] not in down:
                self.hold(router, rule, key[2], False, "")
        for name, interface in down.items():
            assert interface.down_since is not None
            holds = self.now - interface.down_since >= timedelta(minutes=rule.duration_minutes)
            self.hold(
                router,
                rule,
                name,
                holds,
                f"Interface {name} on {router.name} is down since {interface.down_since:%Y-%m-%d %H:%M} UTC",
            )


def evaluate(routers: list[Router], states: Mapping[int, StateView], now: datetime) -> Outcome:
    """Open and resolve alerts for ``routers`` from what the poller just stored (flushes, does not commit)."""
    if not routers:
        return Outcome()
    evaluation = _Evaluation(routers, states, now)
    for router in routers:
        evaluation.router(router)
    db.session.flush()
    evaluation.outcome.fired.extend(alert.id for alert in evaluation.new_alerts)
    return evaluation.outcome


def send_notifications(outcome: Outcome, now: datetime) -> int:
    """Send notifications for what ``evaluate`` opened and resolved; return how many were delivered."""
    sent = 0
    for alert_id in outcome.fired:
        alert = db.session.get(Alert, alert_id)
        if alert is not None:
            sent += notify.deliver(alert, "fired", now)
    for alert_id in outcome.resolved:
        alert = db.session.get(Alert, alert_id)
        if alert is not None:
            sent += notify.deliver(alert, "resolved", now)
    return sent


@dataclass
class AlertFilters:
    """What the alert list can be narrowed by."""

    state: str | None = None  # one of STATES, or "open" for active + acknowledged
    router_id: int | None = None
    kind: str | None = None
    severity: str | None = None
    search: str | None = None


def _alerts(actor: User, filters: AlertFilters) -> Select[Any]:
    statement = (
        select(Alert)
        .join(Router, Router.id == Alert.router_id)
        .where(Alert.user_id == actor.team_owner_id, router_scope(actor))
    )
    if filters.state:
        if filters.state == "open":
            statement = statement.where(Alert.state.in_(OPEN_STATES))
        elif filters.state in STATES:
            statement = statement.where(Alert.state == filters.state)
        else:
            raise Invalid(f"state must be one of {', '.join(STATES)} or open", fields={"state": "unknown"})
    if filters.router_id is not None:
        statement = statement.where(Alert.router_id == filters.router_id)
    if filters.kind:
        if filters.kind not in DEFAULT_RULES:
            raise Invalid(f"kind must be one of {', '.join(DEFAULT_RULES)}", fields={"kind": "unknown"})
        statement = statement.where(Alert.kind == filters.kind)
    if filters.severity:
        statement = statement.where(Alert.severity == filters.severity)
    if filters.search:
        pattern = f"%{filters.search.strip()}%"
        statement = statement.where(or_(Alert.message.ilike(pattern), Router.name.ilike(pattern)))
    return statement.order_by(Alert.started_at.desc(), Alert.id.desc())


def page_of_alerts(actor: User, filters: AlertFilters, page: int, page_size: int) -> Page[Alert]:
    """One page of the actor's alerts, newest first.

    :raises Invalid: for an unknown state or kind.
    """
    return paginate(_alerts(actor, filters), page, page_size)


def get_alert(actor: User, alert_id: int) -> Alert:
    """The actor's alert with this id.

    :raises NotFound: when it does not exist or belongs to someone else.
    """
    alert = db.session.scalar(select(Alert).join(Router, Alert.router_id == Router.id)
                              .where(Alert.id == alert_id, router_scope(actor)))
    if alert is None:
        raise NotFound("Alert not found")
    return alert


def acknowledge(actor: User, alert_id: int, now: datetime, note: str | None = None,
                ip_address: str | None = None) -> Alert:
    """Acknowledge an active alert (again is harmless); a note may be kept with it.

    :raises NotFound: for someone else's alert.
    :raises Conflict: when it is already resolved.
    """
    alert = get_alert(actor, alert_id)
    if alert.state == "resolved":
        raise Conflict("Alert is already resolved")
    if note is not None and len(note) > 500:
        raise Invalid("note: at most 500 characters", fields={"note": "at most 500 characters"})
    if alert.state == "active":
        alert.state = "acknowledged"
        alert.acknowledged_at = now
        alert.acknowledged_by_id = actor.id
    if note:
        alert.note = note
    audit.record(actor, "alert.acknowledge", f"Acknowledged alert: {alert.message}", router_id=alert.router_id,
                 target=f"alert:{alert.id}", details={"note": note} if note else {}, ip_address=ip_address,
                 commit=False)
    db.session.commit()
    return alert


def open_alert_count(actor: User) -> int:
    """How many of the actor's alerts are active or acknowledged."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Alert)
            .join(Router, Router.id == Alert.router_id)
            .where(Alert.user_id == actor.team_owner_id, router_scope(actor), Alert.state.in_(OPEN_STATES))
        )
        or 0
    )


def list_rules(actor: User, router_id: int | None = None) -> list[AlertRule]:
    """The actor's rule overrides (fleet-wide and per router), optionally only one router's.

    :raises NotFound: for someone else's router.
    """
    statement = select(AlertRule).where(AlertRule.user_id == actor.team_owner_id)
    if router_id is not None:
        get_router(actor, router_id)
        statement = statement.where(AlertRule.router_id == router_id)
    return list(
        db.session.scalars(
            statement.order_by(AlertRule.router_id.is_not(None), AlertRule.router_id, AlertRule.kind)
        )
    )


def _validate_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    kind = data.get("kind")
    if kind not in DEFAULT_RULES:
        errors["kind"] = f"one of {', '.join(DEFAULT_RULES)}"
    threshold = data.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 100
    ):
        errors["threshold"] = "a percentage 0-100"
    duration = data.get(
        "duration_minutes", DEFAULT_RULES[kind].duration_minutes if kind in DEFAULT_RULES else 0
    )
    if isinstance(duration, bool) or not isinstance(duration, int) or not 0 <= duration <= 10080:
        errors["duration_minutes"] = "whole minutes 0-10080"
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        errors["enabled"] = "true or false"
    if errors:
        raise Invalid("Invalid rule: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    return {"kind": kind, "threshold": threshold, "duration_minutes": duration, "enabled": enabled}


def save_rule(actor: User, data: Mapping[str, Any], ip_address: str | None = None) -> AlertRule:
    """Create or replace the actor's rule for a kind, fleet-wide (no router_id) or for one router.

    :raises Invalid: with per-field messages.
    :raises NotFound: for someone else's router.
    """
    router_id = data.get("router_id")
    if router_id is not None:
        get_router(actor, int(router_id))
    clean = _validate_rule(data)
    rule = db.session.scalar(
        select(AlertRule).where(
            AlertRule.user_id == actor.team_owner_id,
            AlertRule.kind == clean["kind"],
            AlertRule.router_id.is_(None) if router_id is None else AlertRule.router_id == router_id,
        )
    )
    if rule is None:
        rule = AlertRule(user_id=actor.team_owner_id, router_id=router_id, **clean)
        db.session.add(rule)
    else:
        for name, value in clean.items():
            setattr(rule, name, value)
    db.session.flush()
    audit.record(actor, "alert_rule.save", f"Saved the {clean['kind']} alert rule"
                 + (" for one router" if router_id is not None else " for the fleet"),
                 router_id=router_id, target=f"alert_rule:{rule.id}", details=dict(clean), ip_address=ip_address,
                 commit=False)
    db.session.commit()
    return rule


def delete_rule(actor: User, rule_id: int, ip_address: str | None = None) -> None:
    """Remove an override (the default or fleet-wide rule applies again).

    :raises NotFound: for someone else's rule.
    """
    rule = db.session.scalar(select(AlertRule).where(AlertRule.id == rule_id, AlertRule.user_id == actor.team_owner_id))
    if rule is None:
        raise NotFound("Rule not found")
    audit.record(actor, "alert_rule.delete", f"Removed the {rule.kind} alert rule", router_id=rule.router_id,
                 target=f"alert_rule:{rule.id}", ip_address=ip_address, commit=False)
    db.session.delete(rule)
    db.session.commit()


#: How the poller words the "config" events of changes made through RouterDeck itself.
OWN_CHANGE_PREFIX = "Configuration changed through RouterDeck"


def page_of_events(
    actor: User, router_id: int | None, kind: str | None, page: int, page_size: int, *, include_own: bool = True
) -> Page[MonitorEvent]:
    """One page of event log lines (one router's, or the whole fleet's), newest first; ``include_own=False``
    leaves out the configuration changes RouterDeck made itself.

    :raises NotFound: for someone else's router.
    :raises Invalid: for an unknown kind.
    """
    statement = (
        select(MonitorEvent)
        .join(Router, Router.id == MonitorEvent.router_id)
        .where(router_scope(actor))
    )
    if router_id is not None:
        get_router(actor, router_id)
        statement = statement.where(MonitorEvent.router_id == router_id)
    if kind:
        if kind not in EVENT_KINDS:
            raise Invalid(f"kind must be one of {', '.join(EVENT_KINDS)}", fields={"kind": "unknown"})
        statement = statement.where(MonitorEvent.kind == kind)
    if not include_own:
        statement = statement.where(~MonitorEvent.message.startswith(OWN_CHANGE_PREFIX))
    return paginate(
        statement.order_by(MonitorEvent.created_at.desc(), MonitorEvent.id.desc()), page, page_size
    )


def record_event(router: Router, kind: str, message: str, now: datetime, **details: Any) -> MonitorEvent:
    """Append a line to a router's event log (not committed)."""
    event = MonitorEvent(
        router_id=router.id, kind=kind, message=message[:500], details=details, created_at=now
    )
    db.session.add(event)
    return event
