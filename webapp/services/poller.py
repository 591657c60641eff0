"""The fleet poller: read every due router concurrently, store metrics and interfaces, log events, run alerts.

One cycle has two halves. The network half touches neither Flask nor the database: plain binary-API
routers are driven together by one selectors loop on a background thread (:mod:`routeros.multiplex`:
warm pooled connections, all four reads out at once as tagged commands, one round trip on a router
that answers tags concurrently, each router within its own deadline); REST, api-ssl and routers named
by DNS are read by worker threads. The database half runs in the calling thread while the network half
is still going: results are stored in batches as they arrive (interfaces, poll states and router status
as bulk executemany writes, metric points by one Core insert, then events and alerts), one commit per
batch, so a router that never answers costs its deadline once and holds no transaction open.
"""

from __future__ import annotations

import logging
import operator
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from routeros import ApiClient, Client, ClientPool, RouterConfig, values
from routeros import errors as ros
from routeros.connection import Deadline
from routeros.multiplex import Outcome, can_multiplex, run_pipelines
from routeros.protocol import encode_sentence, reply_attributes
from webapp.extensions import db
from webapp.models import AuditEvent, MonitoredInterface, MonitorEvent, PollState, Router, User
from webapp.models.hotspot import Package
from webapp.services import alerts, gateway, hotspot_sync, metrics
from webapp.services.errors import RouterTimeout, ServiceError
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

Row = dict[str, str]

_RESOURCE_PROPS = "uptime,version,cpu-load,free-memory,total-memory,free-hdd-space,total-hdd-space"
_INTERFACE_PROPS = ".id,name,type,mac-address,running,disabled,comment,rx-byte,tx-byte"
#: The reads of one poll, each under its own tag so they can be in flight together.
_READS: tuple[tuple[str, list[str]], ...] = (
    ("mon-resource", ["/system/resource/print", f"=.proplist={_RESOURCE_PROPS}"]),
    ("mon-interface", ["/interface/print", f"=.proplist={_INTERFACE_PROPS}"]),
    ("mon-health", ["/system/health/print"]),
    ("mon-hotspot", ["/ip/hotspot/active/print", "=count-only="]),
)
_COMMANDS = [words for _, words in _READS]
_PIPELINE = b"".join(encode_sentence([*words, f".tag={tag}"]) for tag, words in _READS)
#: Reads a router may refuse without being down (no health sensors on a VM, no hotspot package).
_OPTIONAL = frozenset({"mon-health", "mon-hotspot"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: A cycle stores what has arrived when answers pause this long (s), or when at least _BATCH_MIN have
#: arrived and no more are waiting, or at _BATCH_SIZE: small enough that little is left to store when
#: the last router answers, large enough that per-batch queries and commits stay a small share.
_BATCH_SIZE = 500
_BATCH_MIN = 100
_BATCH_PAUSE = 0.02
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


@dataclass
class Sample:
    """What one poll read from a router."""

    resource: Row
    interfaces: list[Row]
    health: Row
    hotspot_users: int | None
    protocol: str
    latency_ms: float


@dataclass
class PollResult:
    """One router's outcome: a sample, or the service error that explains why it is down."""

    router_id: int
    sample: Sample | None = None
    error: ServiceError | None = None


@dataclass
class CycleReport:
    """What one cycle did."""

    polled: int = 0
    online: int = 0
    offline: int = 0
    metric_rows: int = 0
    events: int = 0
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    hotspot_synced: int = 0
    hotspot_failed: int = 0
    network_seconds: float = 0.0
    total_seconds: float = 0.0


def pipelined_reads(client: ApiClient, deadline: Deadline) -> dict[str, tuple[list[Row], Row, Row | None]]:
    """Send every read of a poll at once (tagged) and collect ``{tag: (rows, done, trap)}``.

    Uses the client's public connection: a driver-level ``ApiClient.pipeline()`` would be the better home.

    :raises RouterOSError: transport errors, timeouts, ``!fatal``.
    """
    connection = client.connection
    if not client.usable:
        raise ros.ConnectionLost(f"the connection to {client.config.where} is closed or broken")
    connection.send(_PIPELINE, deadline)
    pending = {tag for tag, _ in _READS}
    replies: dict[str, tuple[list[Row], Row, Row | None]] = {tag: ([], {}, None) for tag in pending}
    while pending:
        sentence = connection.read_sentence(deadline)
        reply = sentence[0]
        if reply == "!fatal":
            connection.broken = True
            client.close()
            raise ros.FatalError(f"{client.config.where} ended the session: {' '.join(sentence[1:])}")
        row, tag = reply_attributes(sentence)
        if tag not in pending:
            continue  # a leftover of an earlier, abandoned command on this connection
        rows, done, trap = replies[tag]
        if reply == "!re":
            rows.append(row)
        elif reply == "!trap":
            replies[tag] = (rows, done, trap or row)
        elif reply == "!done":
            replies[tag] = (rows, row, trap)
            pending.discard(tag)
        elif reply != "!empty":
            connection.broken = True
            raise ros.ProtocolError(f"{client.config.where} sent an unknown reply word {reply!r}")
    for tag, (_, _, trap) in replies.items():
        if trap is not None and tag not in _OPTIONAL:
            raise ros.CommandRejected(trap.get("message") or "the router rejected a monitoring read")
    return replies


def _api_fields(
    replies: dict[str, tuple[list[Row], Row, Row | None]],
) -> tuple[Row, list[Row], Row, int | None]:
    resource_rows = replies["mon-resource"][0]
    health: Row = {}
    health_rows, _, health_trap = replies["mon-health"]
    if health_trap is None:
        for row in health_rows:
            if "name" in row and "value" in row:
                health[row["name"]] = row["value"]
            else:
                health.update(row)
    _, hotspot_done, hotspot_trap = replies["mon-hotspot"]
    users = _int(hotspot_done.get("ret")) if hotspot_trap is None else None
    return (resource_rows[0] if resource_rows else {}), replies["mon-interface"][0], health, users


def _read_api(client: ApiClient, deadline: Deadline) -> tuple[Row, list[Row], Row, int | None]:
    return _api_fields(pipelined_reads(client, deadline))


def _optional_read(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except (ros.CommandRejected, ros.PermissionDenied):
        return None


def _read_rest(client: Client, deadline: Deadline) -> tuple[Row, list[Row], Row, int | None]:
    resource = client.print(
        "system/resource", proplist=_RESOURCE_PROPS.split(","), timeout=deadline.remaining()
    )
    interfaces = client.print("interface", proplist=_INTERFACE_PROPS.split(","), timeout=deadline.remaining())
    health = _optional_read(lambda: client.health(timeout=deadline.remaining())) or {}
    active = _optional_read(
        lambda: client.print("ip/hotspot/active", proplist=[".id"], timeout=deadline.remaining())
    )
    return (
        (resource[0] if resource else {}),
        interfaces,
        health,
        (len(active) if active is not None else None),
    )


def read_router(pool: ClientPool, config: RouterConfig) -> Sample:
    """Read one router's resources, interfaces, health and hotspot users within ``config.timeout``.

    :raises RouterOSError: whatever the driver raises (the caller translates).
    """
    started = time.perf_counter()
    deadline = Deadline(config.timeout, config.where)
    with pool.client(config) as client:
        if isinstance(client, ApiClient):
            resource, interfaces, health, users = _read_api(client, deadline)
        else:
            resource, interfaces, health, users = _read_rest(client, deadline)
        protocol = client.protocol
    return Sample(resource, interfaces, health, users, protocol, (time.perf_counter() - started) * 1000)


def poll_one(pool: ClientPool, router_id: int, config: RouterConfig) -> PollResult:
    """Read one router and never raise: a failure becomes the result's service error."""
    try:
        return PollResult(router_id, sample=read_router(pool, config))
    except ros.RouterOSError as exc:
        return PollResult(router_id, error=gateway.translate(exc))
    except OSError as exc:  # a socket error the driver did not wrap: still "down", never a dead worker
        return PollResult(router_id, error=gateway.translate(ros.Unreachable(str(exc))))


def _result_of(router_id: int, outcome: Outcome) -> PollResult:
    try:
        if outcome.error is not None:
            raise outcome.error
        assert outcome.replies is not None
        replies = {tag: (r.rows, r.done, r.trap) for (tag, _), r in zip(_READS, outcome.replies, strict=True)}
        for tag, (_, _, trap) in replies.items():
            if trap is not None and tag not in _OPTIONAL:
                raise ros.CommandRejected(trap.get("message") or "the router rejected a monitoring read")
        fields = _api_fields(replies)
    except ros.RouterOSError as exc:
        return PollResult(router_id, error=gateway.translate(exc))
    return PollResult(router_id, sample=Sample(*fields, protocol=outcome.protocol, latency_ms=outcome.seconds * 1000))


def poll_many(
    pool: ClientPool,
    jobs: list[tuple[int, RouterConfig]],
    limit: int,
    deliver: Callable[[PollResult], None] | None = None,
) -> list[PollResult]:
    """Read plain-API routers (see :func:`routeros.multiplex.can_multiplex`) all at once on this thread.

    Never raises a router's failure: it becomes the router's service error, as in :func:`poll_one`. Each
    result is also handed to ``deliver`` as soon as that router is done.
    """
    results: dict[int, PollResult] = {}

    def done(position: int, outcome: Outcome) -> None:
        results[position] = result = _result_of(jobs[position][0], outcome)
        if deliver is not None:
            deliver(result)

    try:
        run_pipelines(pool, [(config, _COMMANDS) for _, config in jobs], limit=limit, on_done=done)
    finally:
        for position in range(len(jobs)):
            if position not in results:
                # The loop itself failed: whoever waits for every router must still hear about this one.
                done(position, Outcome(error=ros.ConnectionLost("the poll loop stopped before this router answered")))
    return [results[position] for position in range(len(jobs))]


def _future_result(router_id: int, future: Future[PollResult]) -> PollResult:
    error = future.exception()
    if error is None:
        return future.result()
    return PollResult(router_id, error=gateway.translate(ros.ConnectionLost(f"the poll failed: {error}")))


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _used_pct(free: str | None, total: str | None) -> float | None:
    free_n, total_n = _int(free), _int(total)
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
        reason = getattr(error, "reason", None) or (
            "timeout" if isinstance(error, RouterTimeout) else "error"
        )
        was_up = state.down_since is None and (router.is_online or state.last_success_at is not None)
        state.failures = (state.failures or 0) + 1
        state.last_polled_at = self.now
        state.next_poll_at = self.now + timedelta(seconds=interval)
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
        cpu = _float(resource.get("cpu-load"))
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
        self.metric(rid, "temperature", _float(health.get("temperature") or health.get("cpu-temperature")))
        self.metric(rid, "voltage", _float(health.get("voltage")))
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
            rx, tx = _int(row.get("rx-byte")), _int(row.get("tx-byte"))
            previous_ts = interface["counters_ts"]
            elapsed = self.ts - previous_ts if previous_ts is not None else 0
            if previous_ts is not None and elapsed <= 0:
                continue  # read twice within a second: keep the last rates and counters
            rates: list[float | None] = []
            for current, previous_text in ((rx, interface["rx_counter"]), (tx, interface["tx_counter"])):
                delta = None
                if current is not None and elapsed > 0:
                    delta = counter_delta(_int(previous_text), current, rebooted=rebooted)
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


def due_routers(
    now: datetime, default_interval: int, router_ids: Iterable[int] | None = None
) -> list[Router]:
    """Routers whose next poll is due (never-polled ones first), optionally limited to ``router_ids``."""
    statement = (
        select(Router)
        .outerjoin(PollState, PollState.router_id == Router.id)
        .where((PollState.next_poll_at.is_(None)) | (PollState.next_poll_at <= now))
        .order_by(PollState.next_poll_at.is_not(None), PollState.next_poll_at, Router.id)
    )
    if router_ids is not None:
        statement = statement.where(Router.id.in_(list(router_ids)))
    return list(db.session.scalars(statement))


class Poller:
    """Runs poll cycles with a bounded pool of worker threads; use one per process."""

    def __init__(
        self,
        *,
        concurrency: int = 256,
        timeout: float = 5.0,
        interval: int = 60,
        pool: ClientPool | None = None,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.interval = interval
        self.pool = pool
        # Only routers the one-thread loop cannot drive (REST, api-ssl, DNS names) need worker threads.
        self._executor: ThreadPoolExecutor | None = None
        self._loop_thread: ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, **overrides: Any) -> Poller:
        """A poller set up from the app's POLL_* settings."""
        config = current_app.config
        settings = {
            "concurrency": int(config["POLL_CONCURRENCY"]),
            "timeout": float(config["POLL_TIMEOUT"]),
            "interval": int(config["POLL_INTERVAL"]),
        }
        settings.update(overrides)
        return cls(**settings)

    def close(self) -> None:
        """Stop the worker threads."""
        for executor in (self._executor, self._loop_thread):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def _threads(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="poll")
        return self._executor

    def _loop(self) -> ThreadPoolExecutor:
        if self._loop_thread is None:
            self._loop_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-loop")
        return self._loop_thread

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def cycle(
        self, now: datetime | None = None, *, router_ids: Iterable[int] | None = None, force: bool = False
    ) -> CycleReport:
        """Poll every due router once (every router with ``force``), store what was read, evaluate alerts."""
        started = time.perf_counter()
        now = now or utcnow()
        if force:
            statement = select(Router).order_by(Router.id)
            if router_ids is not None:
                statement = statement.where(Router.id.in_(list(router_ids)))
            routers = list(db.session.scalars(statement))
        else:
            routers = due_routers(now, self.interval, router_ids)
        report = CycleReport(polled=len(routers))
        if not routers:
            return report
        pool = self.pool or gateway.client_pool()
        # Configs (and password decryption) are built here, where the app context is; workers get plain data.
        jobs = [(router.id, gateway.router_config(router, self.timeout)) for router in routers]
        finished: queue.SimpleQueue[PollResult] = queue.SimpleQueue()
        looped = [job for job in jobs if can_multiplex(job[1])]
        for router_id, config in jobs:
            if not can_multiplex(config):
                future = self._threads().submit(poll_one, pool, router_id, config)
                future.add_done_callback(lambda f, rid=router_id: finished.put(_future_result(rid, f)))
        if looped:
            self._loop().submit(poll_many, pool, looped, self.concurrency, finished.put)
        # Answers are stored while slower routers are still awaited (a silent router costs its deadline
        # once, not the deadline plus the database work of the whole fleet). Each batch commits on its
        # own, so the database is never held for a network wait.
        by_id = {router.id: router for router in routers}
        pending = len(jobs)
        batch: list[PollResult] = []
        expired = False
        while pending:
            try:
                result: PollResult | None = finished.get(timeout=_BATCH_PAUSE if batch else None)
            except queue.Empty:
                result = None
            if result is not None:
                batch.append(result)
                pending -= 1
                if not pending:
                    report.network_seconds = time.perf_counter() - started
            ready = len(batch) >= _BATCH_SIZE or (len(batch) >= _BATCH_MIN and finished.empty())
            if batch and (result is None or not pending or ready):
                self._store(batch, by_id, now, report, reload=expired)
                batch = []
                expired = True
        report.total_seconds = time.perf_counter() - started
        return report

    def _store(
        self, results: list[PollResult], by_id: dict[int, Router], now: datetime, report: CycleReport, *, reload: bool
    ) -> None:
        """The database half for one batch of results: state, interfaces, metrics, events, alerts; one commit."""
        if reload:
            # Objects expire at each commit: one query refreshes this batch instead of one query per router.
            list(db.session.scalars(select(Router).where(Router.id.in_([r.router_id for r in results]))))
        ingest = Ingest([by_id[result.router_id] for result in results], now)
        states = ingest.states
        for result in results:
            router = ingest.routers[result.router_id]
            state = states.get(router.id)
            interval = (state.interval_seconds if state and state.interval_seconds else None) or self.interval
            if result.sample is not None:
                ingest.succeeded(router, result.sample, interval)
                report.online += 1
            else:
                assert result.error is not None
                ingest.failed(router, result.error, interval)
                report.offline += 1
        ingest.config_changes()
        ingest.write_states()
        ingest.write_interfaces()
        report.metric_rows += metrics.record_many(ingest.metric_rows)
        report.events += ingest.events
        db.session.flush()
        outcome = alerts.evaluate(list(ingest.routers.values()), ingest.states, now)
        report.fired.extend(outcome.fired)
        report.resolved.extend(outcome.resolved)
        online = [router.id for router in ingest.routers.values() if router.is_online]
        db.session.commit()
        alerts.send_notifications(outcome, now)
        self._sync_hotspots(online, by_id, now, report)

    @staticmethod
    def _sync_hotspots(online: list[int], by_id: dict[int, Router], now: datetime, report: CycleReport) -> None:
        """Activation, sales and expiry of vouchers follow the poll, for routers that sell packages."""
        if not online:
            return
        selling = db.session.scalars(select(Package.router_id).where(Package.router_id.in_(online)).distinct())
        for router_id in sorted(set(selling)):
            try:
                hotspot_sync.sync_router(by_id[router_id], now)
                report.hotspot_synced += 1
            except ServiceError as exc:
                report.hotspot_failed += 1
                log.warning("hotspot sync of router %s failed: %s", router_id, exc.message)


def set_interval(router: Router, seconds: int | None) -> PollState:
    """Give one router its own poll interval (None follows the global one) and reschedule it."""
    state = db.session.get(PollState, router.id)
    if state is None:
        state = PollState(
            router_id=router.id,
            failures=0,
            audit_seen_id=db.session.scalar(select(func.max(AuditEvent.id))) or 0,
        )
        db.session.add(state)
    state.interval_seconds = seconds
    if state.last_polled_at is not None:
        state.next_poll_at = state.last_polled_at + timedelta(
            seconds=seconds or current_app.config["POLL_INTERVAL"]
        )
    db.session.commit()
    return state


def run_forever(
    app: Flask,
    stop: threading.Event,
    *,
    compact_every: int = 300,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> None:
    """The fleet loop: poll what is due, compact metrics every ``compact_every`` s, until ``stop`` is set."""
    with app.app_context():
        poller = Poller.from_config()
        retention = metrics.Retention(
            raw=int(app.config["METRICS_RAW_RETENTION"]),
            five_minutes=int(app.config["METRICS_5M_RETENTION"]),
            hourly=int(app.config["METRICS_1H_RETENTION"]),
        )
        last_compaction = 0.0
        try:
            while not stop.is_set():
                try:
                    report = poller.cycle()
                    if on_cycle is not None and report.polled:
                        on_cycle(report)
                    if time.monotonic() - last_compaction >= compact_every:
                        metrics.compact(metrics.epoch(utcnow()), retention)
                        last_compaction = time.monotonic()
                except Exception:
                    # One bad cycle (database hiccup) must not end monitoring; the next cycle retries.
                    log.exception("poll cycle failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
                stop.wait(_seconds_to_next(poller.interval))
        finally:
            poller.close()


def _seconds_to_next(interval: int) -> float:
    upcoming = db.session.scalar(select(func.min(PollState.next_poll_at)))
    db.session.remove()
    if upcoming is None:
        return min(5.0, float(interval))
    wait = (upcoming - utcnow()).total_seconds()
    # Wake at least every 10 s so newly added routers are picked up soon.
    return min(max(wait, 0.5), float(interval), 10.0)


@dataclass
class FleetOverview:
    """Counts and leaders for the fleet page."""

    total: int
    up: int
    down: int
    unknown: int
    open_alerts: int
    busiest: list[tuple[Router, PollState]]
    down_routers: list[tuple[Router, PollState | None]]


def fleet_overview(actor: User, limit: int = 5) -> FleetOverview:
    """How many of the actor's routers are up or down, open alerts, the busiest and the down ones."""
    routers = list(db.session.scalars(select(Router).where(Router.user_id == actor.id)))
    ids = [router.id for router in routers]
    states = (
        {s.router_id: s for s in db.session.scalars(select(PollState).where(PollState.router_id.in_(ids)))}
        if ids
        else {}
    )
    unknown = sum(1 for r in routers if r.last_checked is None)
    up = sum(1 for r in routers if r.last_checked is not None and r.is_online)
    busiest = sorted(
        (
            (r, states[r.id])
            for r in routers
            if r.is_online and r.id in states and states[r.id].cpu_load is not None
        ),
        key=lambda pair: -(pair[1].cpu_load or 0),
    )[:limit]
    down_routers = [(r, states.get(r.id)) for r in routers if r.last_checked is not None and not r.is_online]
    return FleetOverview(
        total=len(routers),
        up=up,
        down=len(routers) - up - unknown,
        unknown=unknown,
        open_alerts=alerts.open_alert_count(actor),
        busiest=busiest,
        down_routers=down_routers,
    )
