"""The database half of a poll: turn read samples into status, poll state, interfaces, metrics and events.

Everything for a batch of routers is preloaded in bulk and written once: interfaces, poll states and router
status as executemany writes, metric points by one Core insert (:func:`webapp.services.metrics.record_many`).
"""

from __future__ import annotations

import operator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from routeros import values
from webapp.extensions import db
from webapp.models import AuditEvent, MonitoredInterface, MonitorEvent, PollState, Router
from webapp.services import metrics
from webapp.services.errors import ServiceError
from webapp.services.polling.reads import Row, Sample, as_float, as_int

_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_INTERFACES = MonitoredInterface.__table__
#: Interface columns the poll writes (besides the key: id, router_id, name).
_INTERFACE_FIELDS = (
    "ros_id",
    "type",
    "mac_address",
    "comment",
    "disabled",
    "last_seen",
    "running",
    "down_since",
    "rx_bps",
    "tx_bps",
    "rx_counter",
    "tx_counter",
    "counters_ts",
)
_STATES = PollState.__table__
_STATE_FIELDS = (
    "interval_seconds",
    "next_poll_at",
    "last_polled_at",
    "last_success_at",
    "down_since",
    "failures",
    "last_uptime_seconds",
    "last_version",
    "last_poll_ms",
    "cpu_load",
    "memory_used_pct",
    "audit_seen_id",
)
_ROUTERS = Router.__table__
_ROUTER_FIELDS = (
    "is_online",
    "last_checked",
    "last_error",
    "last_error_message",
    "last_latency_ms",
    "routeros_version",
    "resolved_protocol",
)
_UPDATE_KEYS = ("v_id", *(f"v_{name}" for name in _INTERFACE_FIELDS))
U32 = 2**32
U64 = 2**64


def _used_pct(free: str | None, total: str | None) -> float | None:
    free_n, total_n = as_int(free), as_int(total)
    if free_n is None or not total_n:
        return None
    return round(100.0 * (total_n - free_n) / total_n, 2)



def counter_delta(previous: int | None, current: int, *, rebooted: bool) -> int | None:
    """Bytes counted between two readings of a counter, or None when that cannot be known.

    A counter that went backwards wrapped if it was near the top of 32 or 64 bits; otherwise (or after a
    reboot) it was reset, and the traffic since the reset has no known start, so no rate is made up.
    """
    if previous is None or current < 0:
        return None
    if current >= previous and not rebooted:
        return current - previous
    if rebooted:
        return None
    for width in (U32, U64):
        if previous < width and previous >= width * 3 // 4 and current < width // 4:
            return current + width - previous
    return None


def _uptime_seconds(text: str | None) -> int | None:
    try:
        return values.parse_duration(text) if text else None
    except ValueError:
        return None



def _event(router: Router, kind: str, message: str, now: datetime, **details: Any) -> MonitorEvent:
    event = MonitorEvent(
        router_id=router.id, kind=kind, message=message[:500], details=details, created_at=now
    )
    db.session.add(event)
    return event


#: A router that stays down is polled less often: after BACKOFF_AFTER failures in a row the wait doubles per
#: failure, up to BACKOFF_MAX seconds (or the router's own interval, when that is longer).
BACKOFF_AFTER = 3
BACKOFF_MAX = 600


def backoff_seconds(interval: int, failures: int) -> int:
    """Seconds until the next poll of a router that has failed ``failures`` times in a row."""
    if failures < BACKOFF_AFTER:
        return interval
    grown: int = interval << (failures - BACKOFF_AFTER + 1)
    return max(interval, min(grown, BACKOFF_MAX))


def duration_text(delta: timedelta) -> str:
    """``2m``, ``1h 5m``, ``3d 4h``: the two largest units of a duration."""
    seconds = max(int(delta.total_seconds()), 0)
    parts = [
        (seconds // 86400, "d"),
        (seconds % 86400 // 3600, "h"),
        (seconds % 3600 // 60, "m"),
        (seconds % 60, "s"),
    ]
    shown = [f"{amount}{unit}" for amount, unit in parts if amount]
    return " ".join(shown[:2]) or "0s"


class PollView:
    """A router's poll state as a plain row: what :class:`PollState` holds, without ORM bookkeeping."""

    __slots__ = ("router_id", *_STATE_FIELDS, "new", "touched")

    router_id: int
    interval_seconds: int | None
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    down_since: datetime | None
    failures: int
    last_uptime_seconds: int | None
    last_version: str | None
    last_poll_ms: float | None
    cpu_load: float | None
    memory_used_pct: float | None
    audit_seen_id: int
    new: bool
    touched: bool

    def __init__(self, router_id: int, *values: Any, new: bool = False, **named: Any) -> None:
        self.router_id = router_id
        for name, value in zip(_STATE_FIELDS, values or (None,) * len(_STATE_FIELDS), strict=True):
            setattr(self, name, value)
        for name, value in named.items():
            setattr(self, name, value)
        self.new = new
        self.touched = new

    def row(self, prefix: str = "") -> dict[str, Any]:
        """The state as bind parameters (names prefixed for an UPDATE's executemany)."""
        row = {f"{prefix}{name}": getattr(self, name) for name in _STATE_FIELDS}
        row[f"{prefix}router_id"] = self.router_id
        return row


class Ingest:
    """The database half of a cycle for a set of routers (preloads state in bulk, writes once)."""

    def __init__(self, routers: list[Router], now: datetime) -> None:
        self.now = now
        self.ts = metrics.epoch(now)
        self.routers = {router.id: router for router in routers}
        ids = list(self.routers)
        # Poll states and router status are read and written as plain rows too (see write_states).
        self.states: dict[int, PollView] = {}
        if ids:
            table = _STATES
            columns = [table.c.router_id, *(table.c[name] for name in _STATE_FIELDS)]
            for values in db.session.execute(select(*columns).where(table.c.router_id.in_(ids))):
                self.states[values[0]] = PollView(*values)
        # Interfaces are ten times as many rows as routers: plain rows in, one executemany per kind of write out.
        self.interfaces: dict[int, dict[str, dict[str, Any]]] = {rid: {} for rid in ids}
        if ids:
            table = _INTERFACES
            columns = [table.c.id, table.c.router_id, table.c.name, *(table.c[name] for name in _INTERFACE_FIELDS)]
            keys = [column.key for column in columns]
            for values in db.session.execute(select(*columns).where(table.c.router_id.in_(ids))):
                row = dict(zip(keys, values, strict=True))
                self.interfaces[row["router_id"]][row["name"]] = row
        self._interface_inserts: list[dict[str, Any]] = []
        self._interface_updates: list[dict[str, Any]] = []
        self._interface_deletes: list[int] = []
        self.metric_rows: list[dict[str, Any]] = []
        self._pending_interface_rows: list[dict[str, Any]] = []
        self.events = 0
        self._audit_top: int | None = None
        self._router_updates: list[dict[str, Any]] = []

    def state(self, router: Router) -> PollView:
        state = self.states.get(router.id)
        if state is None:
            if self._audit_top is None:
                self._audit_top = db.session.scalar(select(func.max(AuditEvent.id))) or 0
            state = PollView(router.id, failures=0, audit_seen_id=self._audit_top, new=True)
            self.states[router.id] = state
        return state

    def status(
        self,
        router: Router,
        *,
        online: bool,
        reason: str | None = None,
        message: str | None = None,
        latency_ms: float | None = None,
        version: str | None = None,
        protocol: str | None = None,
    ) -> None:
        """What :func:`webapp.services.routers.mark_status` records, gathered for one bulk update."""
        values = {
            "is_online": online,
            "last_checked": self.now,
            "last_error": None if online else reason,
            "last_error_message": None if online else (message or "")[:500],
            "last_latency_ms": round(latency_ms, 1) if latency_ms is not None else router.last_latency_ms,
            "routeros_version": version or router.routeros_version,
            "resolved_protocol": protocol or router.resolved_protocol,
        }
        # The loaded object shows the new status (alerts read it) without becoming a pending ORM update.
        for key, value in values.items():
            set_committed_value(router, key, value)
        values["v_id"] = router.id
        self._router_updates.append(values)

    def write_states(self) -> None:
        """Store router status and poll states: one executemany each (inserts for first polls)."""
        if self._router_updates:
            routers = _ROUTERS
            statement = (
                update(routers)
                .where(routers.c.id == bindparam("v_id"))
                .values({name: bindparam(name) for name in _ROUTER_FIELDS})
            )
            db.session.execute(statement, self._router_updates)
            self._router_updates = []
        table = _STATES
        new = [state.row() for state in self.states.values() if state.new and state.touched]
        old = [state.row("v_") for state in self.states.values() if not state.new and state.touched]
        if old:
            statement = (
                update(table)
                .where(table.c.router_id == bindparam("v_router_id"))
                .values({name: bindparam(f"v_{name}") for name in _STATE_FIELDS})
            )
            db.session.execute(statement, old)
        if new:
            db.session.execute(insert(table), new)
        for state in self.states.values():
            state.new = state.touched = False

    def metric(self, router_id: int, name: str, value: float | None, subject: str = "") -> None:
        if value is not None:
            self.metric_rows.append(
                {
                    "router_id": router_id,
                    "name": name,
                    "subject": subject,
                    "ts": self.ts,
                    "value": float(value),
                }
            )

    def failed(self, router: Router, error: ServiceError, interval: int) -> None:
        state = self.state(router)
        reason = error.reason or "error"
        was_up = state.down_since is None and (router.is_online or state.last_success_at is not None)
        state.failures = (state.failures or 0) + 1
        state.last_polled_at = self.now
        state.next_poll_at = self.now + timedelta(seconds=backoff_seconds(interval, state.failures))
        if state.down_since is None:
            state.down_since = self.now
            if was_up:
                _event(
                    router,
                    "down",
                    f"{router.name} went down: {reason} ({error.message})",
                    self.now,
                    reason=reason,
                )
                self.events += 1
        state.touched = True
        self.status(router, online=False, reason=reason, message=error.message)

    def succeeded(self, router: Router, sample: Sample, interval: int) -> None:
        state = self.state(router)
        now = self.now
        resource = sample.resource
        uptime = _uptime_seconds(resource.get("uptime"))
        version = (resource.get("version") or "").split(" ")[0] or None
        rebooted = (
            uptime is not None
            and state.last_uptime_seconds is not None
            and uptime < state.last_uptime_seconds
        )
        if state.down_since is not None and (state.last_success_at is not None or router.is_online):
            _event(
                router,
                "up",
                f"{router.name} came back after {duration_text(now - state.down_since)}",
                now,
                down_since=state.down_since.isoformat(),
            )
            self.events += 1
        if rebooted:
            _event(
                router,
                "reboot",
                f"{router.name} rebooted (uptime {resource.get('uptime')})",
                now,
                uptime=uptime,
                previous_uptime=state.last_uptime_seconds,
            )
            self.events += 1
        if version and state.last_version and version != state.last_version:
            _event(
                router,
                "version",
                f"RouterOS version changed from {state.last_version} to {version}",
                now,
                previous=state.last_version,
                version=version,
            )
            self.events += 1
        # A second poll within the same second (a forced refresh) updates state but adds no duplicate points.
        fresh = state.last_polled_at is None or metrics.epoch(state.last_polled_at) != self.ts
        state.down_since = None
        state.failures = 0
        state.last_polled_at = state.last_success_at = now
        state.next_poll_at = now + timedelta(seconds=interval)
        state.last_uptime_seconds = uptime
        state.last_version = version or state.last_version
        state.last_poll_ms = round(sample.latency_ms, 1)
        cpu = as_float(resource.get("cpu-load"))
        memory = _used_pct(resource.get("free-memory"), resource.get("total-memory"))
        state.cpu_load, state.memory_used_pct = cpu, memory
        rid = router.id
        self._interfaces(router, sample.interfaces, rebooted, fresh)
        state.touched = True
        self.status(
            router,
            online=True,
            latency_ms=sample.latency_ms,
            version=resource.get("version"),
            protocol=sample.protocol,
        )
        if not fresh:
            return
        self.metric(rid, "cpu", cpu)
        self.metric(rid, "memory", memory)
        self.metric(rid, "disk", _used_pct(resource.get("free-hdd-space"), resource.get("total-hdd-space")))
        self.metric(rid, "uptime", uptime)
        health = sample.health
        self.metric(rid, "temperature", as_float(health.get("temperature") or health.get("cpu-temperature")))
        self.metric(rid, "voltage", as_float(health.get("voltage")))
        self.metric(rid, "hotspot_users", sample.hotspot_users)
        self.metric(rid, "latency", round(sample.latency_ms, 2))
        self.metric_rows.extend(self._pending_interface_rows)

    def _interfaces(self, router: Router, rows: list[Row], rebooted: bool, fresh: bool) -> None:
        self._pending_interface_rows = []
        known = self.interfaces.setdefault(router.id, {})
        seen = set()
        for row in rows:
            name = row.get("name")
            if not name:
                continue
            seen.add(name)
            interface = known.get(name)
            if interface is None:
                interface = dict.fromkeys(_INTERFACE_FIELDS)
                interface.update(router_id=router.id, name=name, running=False)
                known[name] = interface
                self._interface_inserts.append(interface)
            elif "id" in interface:
                self._interface_updates.append(interface)
            interface["ros_id"] = row.get(".id")
            interface["type"] = row.get("type")
            interface["mac_address"] = row.get("mac-address")
            interface["comment"] = row.get("comment")
            disabled = interface["disabled"] = row.get("disabled") == "true"
            interface["last_seen"] = self.now
            was_running = interface["running"]
            running = interface["running"] = row.get("running") == "true"
            if running or disabled:
                interface["down_since"] = None
            elif was_running and interface["down_since"] is None:
                # Only a link seen up and now down counts (an unplugged spare port is not an outage).
                interface["down_since"] = self.now
            rx, tx = as_int(row.get("rx-byte")), as_int(row.get("tx-byte"))
            previous_ts = interface["counters_ts"]
            elapsed = self.ts - previous_ts if previous_ts is not None else 0
            if previous_ts is not None and elapsed <= 0:
                continue  # read twice within a second: keep the last rates and counters
            rates: list[float | None] = []
            for current, previous_text in ((rx, interface["rx_counter"]), (tx, interface["tx_counter"])):
                delta = None
                if current is not None and elapsed > 0:
                    delta = counter_delta(as_int(previous_text), current, rebooted=rebooted)
                rates.append(round(delta * 8 / elapsed, 1) if delta is not None else None)
            interface["rx_bps"], interface["tx_bps"] = rates
            interface["rx_counter"] = str(rx) if rx is not None else None
            interface["tx_counter"] = str(tx) if tx is not None else None
            interface["counters_ts"] = self.ts
            for metric, rate in (("rx_bps", rates[0]), ("tx_bps", rates[1])):
                if rate is not None:
                    self._pending_interface_rows.append(
                        {
                            "router_id": router.id,
                            "name": metric,
                            "subject": name,
                            "ts": self.ts,
                            "value": rate,
                        }
                    )
        for name in list(known):
            if name not in seen:
                gone = known.pop(name)
                if "id" in gone:
                    self._interface_deletes.append(gone["id"])

    def write_interfaces(self) -> None:
        """Store what :meth:`succeeded` saw of interfaces: one executemany each for inserts and updates."""
        table = _INTERFACES
        if self._interface_deletes:
            db.session.execute(delete(table).where(table.c.id.in_(self._interface_deletes)))
        if self._interface_updates:
            statement = (
                update(table)
                .where(table.c.id == bindparam("v_id"))
                .values({name: bindparam(f"v_{name}") for name in _INTERFACE_FIELDS})
            )
            fields = operator.itemgetter("id", *_INTERFACE_FIELDS)
            rows = [dict(zip(_UPDATE_KEYS, fields(row), strict=True)) for row in self._interface_updates]
            db.session.execute(statement, rows)
        if self._interface_inserts:
            db.session.execute(insert(table), self._interface_inserts)
        self._interface_inserts, self._interface_updates, self._interface_deletes = [], [], []

    def config_changes(self) -> None:
        """Turn writes made through RouterDeck (audit trail) into "config changed" events."""
        states = [s for s in self.states.values() if s.router_id in self.routers]
        if not states:
            return
        floor = min(s.audit_seen_id or 0 for s in states)
        by_router = {s.router_id: s for s in states}
        statement = (
            select(AuditEvent)
            .where(AuditEvent.id > floor, AuditEvent.router_id.in_(list(by_router)))
            .order_by(AuditEvent.id)
        )
        for audit in db.session.scalars(statement):
            state = by_router[audit.router_id]  # type: ignore[index]
            if audit.id <= (state.audit_seen_id or 0):
                continue
            state.audit_seen_id = audit.id
            state.touched = True
            method = str((audit.details or {}).get("method", "")).upper()
            if audit.action == "command.run" and method not in _WRITE_METHODS:
                continue
            # Interface toggles write their own event; everything else done through us is swept here.
            if audit.action.startswith(("command.", "hotspot.")) or audit.action == "router.update":
                _event(
                    self.routers[state.router_id],
                    "config",
                    f"Configuration changed through RouterDeck: {audit.summary}",
                    self.now,
                    audit_id=audit.id,
                    action=audit.action,
                )
                self.events += 1


