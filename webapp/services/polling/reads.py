"""The network half of a poll: read routers' resources, interfaces, health and hotspot users.

Touches neither Flask nor the database. Plain binary-API routers are driven together by one selectors loop
(:mod:`routeros.multiplex`: warm pooled connections, all four reads out at once as tagged commands, one round
trip on a router that answers tags concurrently, each router within its own deadline); REST, api-ssl and
routers named by DNS are read one per worker thread by :func:`poll_one`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from routeros import ApiClient, Client, ClientPool, RouterConfig
from routeros import errors as ros
from routeros.connection import Deadline
from routeros.multiplex import Outcome, run_pipelines
from routeros.protocol import encode_sentence, reply_attributes
from webapp.services import gateway
from webapp.services.errors import ServiceError

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
    users = as_int(hotspot_done.get("ret")) if hotspot_trap is None else None
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


def poll_one_when_free(pool: ClientPool, router_id: int, config: RouterConfig) -> PollResult:
    """:func:`poll_one` once one of the router's session slots frees up (within the poll's deadline)."""
    try:
        with gateway.session_slot(config.where, time.monotonic() + config.timeout, config.where):
            return poll_one(pool, router_id, config)
    except ServiceError as exc:
        return PollResult(router_id, error=exc)


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


def future_result(router_id: int, future: Future[PollResult]) -> PollResult:
    """A worker thread's poll result; a crashed worker becomes the router's "connection lost"."""
    error = future.exception()
    if error is None:
        return future.result()
    return PollResult(router_id, error=gateway.translate(ros.ConnectionLost(f"the poll failed: {error}")))



def as_int(text: str | None) -> int | None:
    """A RouterOS integer field, or None when it is missing or not a number."""
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def as_float(text: str | None) -> float | None:
    """A RouterOS decimal field, or None when it is missing or not a number."""
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None
