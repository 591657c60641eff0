"""The fleet in Prometheus text format (0.0.4): every polled series of every router, labelled by router.

Values are those of each router's latest successful poll (the exact raw points of that poll, fetched by
``(router_id, ts)``), its poll state, and its interfaces; a router that is down exports ``up 0`` and no
stale readings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, tuple_

from webapp.extensions import db
from webapp.models import MetricPoint, MonitoredInterface, PollState, Router
from webapp.services import metrics

#: Metric name -> (Prometheus family, help text); interface metrics carry an ``interface`` label.
FAMILIES: dict[str, tuple[str, str]] = {
    "cpu": ("routerdeck_cpu_load_percent", "CPU load of the router (%)."),
    "memory": ("routerdeck_memory_used_percent", "Memory in use (%)."),
    "disk": ("routerdeck_disk_used_percent", "Storage in use (%)."),
    "uptime": ("routerdeck_uptime_seconds", "Seconds since the router booted."),
    "temperature": ("routerdeck_temperature_celsius", "Temperature the router reports (degrees Celsius)."),
    "voltage": ("routerdeck_voltage_volts", "Supply voltage the router reports (V)."),
    "hotspot_users": ("routerdeck_hotspot_active_users", "Hotspot clients logged in."),
    "latency": ("routerdeck_poll_latency_milliseconds", "How long the last poll took (ms)."),
    "rx_bps": ("routerdeck_interface_rx_bits_per_second", "Receive rate over the last poll interval."),
    "tx_bps": ("routerdeck_interface_tx_bits_per_second", "Transmit rate over the last poll interval."),
}
_BATCH = 500


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float | int) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 2**53):
        return str(int(value))
    return repr(float(value))


def _labels(router: tuple[int, str], extra: str = "") -> str:
    return f'router_id="{router[0]}",router="{_escape(router[1])}"{extra}'


def fleet_text() -> str:
    """The whole fleet as one Prometheus exposition document."""
    return "".join(_lines())


def _lines() -> Iterator[str]:
    routers = {rid: (rid, name) for rid, name in db.session.execute(select(Router.id, Router.name))}
    checked = select(Router.id, Router.is_online).where(Router.last_checked.is_not(None))
    online = {rid: up for rid, up in db.session.execute(checked)}
    states = {
        row.router_id: row
        for row in db.session.execute(
            select(PollState.router_id, PollState.last_success_at, PollState.last_poll_ms, PollState.failures)
        )
    }
    yield "# HELP routerdeck_router_up Whether the last poll of the router succeeded.\n"
    yield "# TYPE routerdeck_router_up gauge\n"
    for rid, up in online.items():
        yield f"routerdeck_router_up{{{_labels(routers[rid])}}} {1 if up else 0}\n"
    yield "# HELP routerdeck_poll_failures Consecutive failed polls of the router.\n"
    yield "# TYPE routerdeck_poll_failures gauge\n"
    for rid, state in states.items():
        yield f"routerdeck_poll_failures{{{_labels(routers[rid])}}} {state.failures or 0}\n"
    yield "# HELP routerdeck_last_success_timestamp_seconds When the router last answered a poll.\n"
    yield "# TYPE routerdeck_last_success_timestamp_seconds gauge\n"
    for rid, state in states.items():
        if state.last_success_at is not None:
            yield (
                f"routerdeck_last_success_timestamp_seconds{{{_labels(routers[rid])}}} "
                f"{metrics.epoch(state.last_success_at)}\n"
            )
    # The readings of each up router's last poll: its points carry exactly that poll's timestamp.
    keys = [
        (rid, metrics.epoch(state.last_success_at))
        for rid, state in states.items()
        if state.last_success_at is not None and online.get(rid)
    ]
    readings: dict[str, list[tuple[int, str, float]]] = {name: [] for name in FAMILIES}
    point = MetricPoint
    for start in range(0, len(keys), _BATCH):
        statement = select(point.router_id, point.name, point.subject, point.value).where(
            tuple_(point.router_id, point.ts).in_(keys[start : start + _BATCH])
        )
        for rid, name, subject, value in db.session.execute(statement):
            if name in readings:
                readings[name].append((rid, subject, value))
    for name, (family, help_text) in FAMILIES.items():
        yield f"# HELP {family} {help_text}\n# TYPE {family} gauge\n"
        for rid, subject, value in sorted(readings[name]):
            extra = f',interface="{_escape(subject)}"' if subject else ""
            yield f"{family}{{{_labels(routers[rid], extra)}}} {_number(value)}\n"
    yield from _interfaces(routers, online)


def _interfaces(routers: dict[int, tuple[int, str]], online: dict[int, Any]) -> Iterator[str]:
    table = MonitoredInterface
    rows = list(
        db.session.execute(
            select(table.router_id, table.name, table.running, table.disabled, table.rx_counter, table.tx_counter)
            .order_by(table.router_id, table.name)
        )
    )
    yield "# HELP routerdeck_interface_running Whether the interface link is up (1) at the last poll.\n"
    yield "# TYPE routerdeck_interface_running gauge\n"
    for rid, name, running, _, _, _ in rows:
        if online.get(rid):
            labels = _labels(routers[rid], f',interface="{_escape(name)}"')
            yield f"routerdeck_interface_running{{{labels}}} {1 if running else 0}\n"
    for index, direction in ((4, "rx"), (5, "tx")):
        family = f"routerdeck_interface_{direction}_bytes_total"
        yield f"# HELP {family} The interface's {direction} byte counter as the router reports it.\n"
        yield f"# TYPE {family} counter\n"
        for row in rows:
            counter = row[index]
            if online.get(row[0]) and counter:
                labels = _labels(routers[row[0]], f',interface="{_escape(row[1])}"')
                yield f"{family}{{{labels}}} {counter}\n"
