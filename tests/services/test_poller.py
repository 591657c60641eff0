"""The fleet poller against the simulator over real sockets: up/down through faults, reboots, wraps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp.extensions import db
from webapp.models import MetricPoint, MonitoredInterface, MonitorEvent, PollState, Router, User
from webapp.services import audit, gateway, routers
from webapp.services.poller import Poller, counter_delta

PASSWORD = "poll-pass-1"
T0 = datetime(2026, 3, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [
        RouterSpec(name="core", version="7.16.1", password=PASSWORD),
        RouterSpec(name="branch", version="6.49.7", password=PASSWORD),
        RouterSpec(name="edge", version="7.16.1", password=PASSWORD),
    ]
    with Simulator(specs, seed=11) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _healthy(sim: Simulator) -> Iterator[None]:
    yield
    for router in sim.routers:
        router.clear_faults()


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "poll.db", POLL_TIMEOUT=1.0)


def register(owner: User, sim_router: SimRouter, door: str = "api", name: str | None = None) -> Router:
    port = {"api": sim_router.api_port, "rest": sim_router.rest_port}[door]
    return routers.create_router(
        owner,
        {
            "name": name or f"{sim_router.name}-{door}",
            "host": sim_router.host,
            "port": port,
            "username": sim_router.username,
            "password": sim_router.password,
            "protocol": door,
        },
    )


@pytest.fixture
def fleet(app: Flask, user, sim: Simulator) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        owner = db.session.get(User, user.id)
        ids = {
            "core": register(owner, sim.router("core")).id,
            "branch": register(owner, sim.router("branch")).id,
            "edge-rest": register(owner, sim.router("edge"), "rest").id,
        }
    yield ids
    gateway.close_pool()


@pytest.fixture
def poller(app: Flask) -> Iterator[Poller]:
    with app.app_context(), Poller(concurrency=8, timeout=1.0, interval=60) as instance:
        yield instance


def events(router_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(MonitorEvent.kind).where(MonitorEvent.router_id == router_id).order_by(MonitorEvent.id)
        )
    )


def test_a_cycle_stores_metrics_interfaces_and_status(
    app: Flask, fleet: dict[str, int], poller: Poller
) -> None:
    report = poller.cycle(T0)
    assert (report.polled, report.online, report.offline) == (3, 3, 0)
    for rid in fleet.values():
        router = db.session.get(Router, rid)
        assert router.is_online
        assert router.last_checked == T0
        assert router.last_latency_ms is not None
        names = set(db.session.scalars(select(MetricPoint.name).where(MetricPoint.router_id == rid)))
        assert {
            "cpu",
            "memory",
            "disk",
            "uptime",
            "temperature",
            "voltage",
            "hotspot_users",
            "latency",
        } <= names
        interfaces = {
            i.name: i
            for i in db.session.scalars(select(MonitoredInterface).where(MonitoredInterface.router_id == rid))
        }
        assert {"ether1", "ether4", "wlan1", "bridge"} <= set(interfaces)
        assert interfaces["ether1"].running
        assert not interfaces["ether4"].running
        assert interfaces["ether1"].mac_address
        assert interfaces["ether1"].type == "ether"
    # Not due again until the interval has passed.
    assert poller.cycle(T0 + timedelta(seconds=30)).polled == 0
    assert poller.cycle(T0 + timedelta(seconds=60)).polled == 3


def test_rates_come_from_counter_deltas(
    app: Flask, fleet: dict[str, int], poller: Poller, sim: Simulator
) -> None:
    poller.cycle(T0, router_ids=[fleet["core"]])
    sim.router("core").add_traffic(60)
    poller.cycle(T0 + timedelta(seconds=60), router_ids=[fleet["core"]])
    ether1 = db.session.scalar(
        select(MonitoredInterface).where(
            MonitoredInterface.router_id == fleet["core"], MonitoredInterface.name == "ether1"
        )
    )
    rx_rate, _ = sim.router("core").with_state(lambda s: s._rates[("interface", 1)])
    # The simulated clock also ran in real time between the reads: the rate is at least the nominal one.
    assert ether1.rx_bps == pytest.approx(rx_rate * 8, rel=0.2)
    points = db.session.scalars(
        select(MetricPoint).where(
            MetricPoint.router_id == fleet["core"],
            MetricPoint.name == "rx_bps",
            MetricPoint.subject == "ether1",
        )
    )
    assert [p.value for p in points] == [ether1.rx_bps]


def test_down_and_back_through_fault_modes(
    app: Flask, fleet: dict[str, int], poller: Poller, sim: Simulator
) -> None:
    core = fleet["core"]
    poller.cycle(T0)
    sim.router("core").set_fault("refuse")
    # "refuse" closes the listeners but, as on a real router, leaves established sessions: drop the warm ones.
    gateway.close_pool()
    report = poller.cycle(T0 + timedelta(minutes=1))
    assert report.offline == 1
    assert report.online == 2
    router = db.session.get(Router, core)
    assert router.is_online is False
    assert router.last_error == "unreachable"
    assert router.last_error_message
    assert db.session.get(PollState, core).down_since == T0 + timedelta(minutes=1)
    sim.router("core").clear_faults()
    sim.router("core").set_fault("wrong_credentials")
    gateway.close_pool()
    poller.cycle(T0 + timedelta(minutes=2))
    assert db.session.get(Router, core).last_error == "auth"
    sim.router("core").clear_faults()
    poller.cycle(T0 + timedelta(minutes=3))
    assert db.session.get(Router, core).is_online is True
    assert db.session.get(PollState, core).down_since is None
    assert events(core) == ["down", "up"]
    assert (
        "came back after 2m"
        in db.session.scalars(
            select(MonitorEvent.message).where(MonitorEvent.router_id == core, MonitorEvent.kind == "up")
        ).one()
    )


def test_a_blackholed_router_times_out_without_holding_the_others(
    app: Flask, fleet: dict[str, int], poller: Poller, sim: Simulator
) -> None:
    sim.router("branch").set_fault("blackhole")
    report = poller.cycle(T0)
    assert report.offline == 1
    assert report.online == 2
    branch = db.session.get(Router, fleet["branch"])
    assert branch.is_online is False
    assert branch.last_error == "timeout"
    assert db.session.get(Router, fleet["core"]).is_online is True


def test_a_reboot_is_an_event_and_resets_no_rate(
    app: Flask, fleet: dict[str, int], poller: Poller, sim: Simulator
) -> None:
    core = fleet["core"]
    poller.cycle(T0, router_ids=[core])
    sim.router("core").add_traffic(120)
    sim.router("core").reboot()
    poller.cycle(T0 + timedelta(minutes=1), router_ids=[core])
    assert events(core) == ["reboot"]
    ether1 = db.session.scalar(
        select(MonitoredInterface).where(
            MonitoredInterface.router_id == core, MonitoredInterface.name == "ether1"
        )
    )
    assert ether1.rx_bps is None  # counters restarted: no made-up rate
    sim.router("core").add_traffic(60)
    poller.cycle(T0 + timedelta(minutes=2), router_ids=[core])
    db.session.refresh(ether1)
    assert ether1.rx_bps is not None
    assert ether1.rx_bps > 0


def test_a_wrapped_counter_still_gives_the_true_rate(
    app: Flask, fleet: dict[str, int], poller: Poller, sim: Simulator
) -> None:
    core = fleet["core"]

    # The simulator's counters never wrap on their own: put ether2's just below 2^32, then just past it.
    def set_counter(value: int) -> None:
        def apply(state: Any) -> None:
            state._advance()
            state._live[("interface", 2)]["rx-byte"] = float(value)
            state._refresh_living()

        sim.router("core").with_state(apply)

    set_counter(2**32 - 1_000_000)
    poller.cycle(T0, router_ids=[core])
    set_counter(5_000)  # 1,005,000 bytes later, wrapped at 32 bits
    poller.cycle(T0 + timedelta(seconds=60), router_ids=[core])
    ether2 = db.session.scalar(
        select(MonitoredInterface).where(
            MonitoredInterface.router_id == core, MonitoredInterface.name == "ether2"
        )
    )
    # (plus what the link carried in the milliseconds between setting the counter and reading it)
    assert ether2.rx_bps == pytest.approx(1_005_000 * 8 / 60, rel=0.05)
    # A counter reset by hand (not near the top of 32 or 64 bits) gives no rate that poll.
    set_counter(10)
    poller.cycle(T0 + timedelta(seconds=120), router_ids=[core])
    db.session.refresh(ether2)
    assert ether2.rx_bps is None


@pytest.mark.parametrize(
    ("previous", "current", "rebooted", "expected"),
    [
        (100, 250, False, 150),
        (2**32 - 10, 5, False, 15),
        (2**64 - 10, 5, False, 15),
        (5_000_000, 10, False, None),
        (100, 250, True, None),
        (None, 250, False, None),
    ],
)
def test_counter_delta(previous: int | None, current: int, rebooted: bool, expected: int | None) -> None:
    assert counter_delta(previous, current, rebooted=rebooted) == expected


def test_version_change_and_config_change_through_us_are_events(
    app: Flask,
    user,
    fleet: dict[str, int],  # type: ignore[no-untyped-def]
    poller: Poller,
    sim: Simulator,
) -> None:
    core = fleet["core"]
    poller.cycle(T0, router_ids=[core])
    sim.router("core").with_state(lambda s: setattr(s, "version", "7.17"))
    owner = db.session.get(User, user.id)
    audit.record(
        owner,
        "command.run",
        "POST ip/address/add → success",
        router_id=core,
        details={"method": "POST", "command": "ip/address/add"},
    )
    audit.record(owner, "command.run", "GET ip/address → success", router_id=core, details={"method": "GET"})
    poller.cycle(T0 + timedelta(minutes=1), router_ids=[core])
    assert events(core) == ["version", "config"]
    messages = list(db.session.scalars(select(MonitorEvent.message).where(MonitorEvent.router_id == core)))
    assert "7.16.1 to 7.17" in messages[0]
    assert "ip/address/add" in messages[1]
    sim.router("core").with_state(lambda s: setattr(s, "version", "7.16.1"))


def test_per_router_interval(app: Flask, fleet: dict[str, int], poller: Poller) -> None:
    from webapp.services.poller import set_interval

    poller.cycle(T0)
    set_interval(db.session.get(Router, fleet["core"]), 300)
    assert poller.cycle(T0 + timedelta(minutes=1)).polled == 2
    assert poller.cycle(T0 + timedelta(minutes=5)).polled == 3


def test_a_router_that_stays_down_is_polled_less_often(
    app: Flask, fleet: dict[str, int], poller: Poller, sim: Simulator
) -> None:
    from webapp.services.polling.ingest import BACKOFF_MAX

    branch = fleet["branch"]
    sim.router("branch").set_fault("refuse")
    gateway.close_pool()
    waits = []
    moment = T0
    try:
        for _ in range(8):
            poller.cycle(moment, router_ids=[branch], force=True)
            state = db.session.get(PollState, branch)
            waits.append(int((state.next_poll_at - moment).total_seconds()))
            moment = state.next_poll_at
    finally:
        sim.router("branch").clear_faults()
    assert waits == [60, 60, 120, 240, 480, BACKOFF_MAX, BACKOFF_MAX, BACKOFF_MAX]
    poller.cycle(moment, router_ids=[branch])
    state = db.session.get(PollState, branch)
    assert state.failures == 0
    assert int((state.next_poll_at - moment).total_seconds()) == 60
