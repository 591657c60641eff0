"""Many sessions on one thread (routeros.multiplex) against the simulator over real sockets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from routeros import ApiClient, ClientPool, RouterConfig, errors
from routeros.multiplex import can_multiplex, run_pipelines
from tests.routeros.conftest import config_for

READS = [
    ["/system/resource/print", "=.proplist=version,uptime"],
    ["/interface/print", "=.proplist=name"],
    ["/no/such/thing/print"],
]


def test_every_router_answers_each_command_under_its_own_tag(v7: Any, v6: Any) -> None:
    jobs = [(config_for(v7), READS), (config_for(v6), READS)]
    with ClientPool() as pool:
        outcomes = run_pipelines(pool, jobs)
        for outcome, router in zip(outcomes, (v7, v6), strict=True):
            assert outcome.error is None
            assert outcome.replies is not None
            resource, interfaces, missing = outcome.replies
            assert resource.rows[0]["version"].startswith(router.version.split(".")[0])
            assert {"ether1", "bridge"} <= {row["name"] for row in interfaces.rows}
            assert resource.trap is None and interfaces.trap is None
            assert missing.trap is not None and missing.rows == []
            assert outcome.seconds > 0
        # Both logins (plain for v7, MD5 challenge for v6) left a usable connection in the pool.
        assert pool.idle_count() == 2


def test_a_pooled_connection_is_reused_and_stays_usable_for_blocking_calls(v7: Any) -> None:
    config = config_for(v7)
    with ClientPool() as pool:
        run_pipelines(pool, [(config, READS)])
        client = pool.acquire(config)
        assert isinstance(client, ApiClient)
        assert client.identity() == v7.name
        pool.release(config, client)
        again = run_pipelines(pool, [(config, READS)])
        assert again[0].error is None
        reused = pool.acquire(config)
        pool.release(config, reused)
        assert reused is client


def test_a_dead_pooled_connection_is_replaced_within_the_deadline(v7: Any) -> None:
    config = config_for(v7)
    with ClientPool() as pool:
        run_pipelines(pool, [(config, READS)])
        client = pool.acquire(config)
        # The router forgets the session while it idles (a reboot): the socket is half-closed underneath.
        client.connection.sock.shutdown(2)
        pool.release(config, client)
        outcome = run_pipelines(pool, [(config, READS)])[0]
        assert outcome.error is None
        assert pool.idle_count(config) == 1


def test_a_blackholed_router_times_out_and_holds_up_no_one(v7: Any, faulty: Any) -> None:
    faulty.set_fault("blackhole")
    jobs = [(config_for(faulty, timeout=0.5), READS), (config_for(v7), READS)]
    with ClientPool() as pool:
        dead, alive = run_pipelines(pool, jobs)
        assert isinstance(dead.error, errors.RouterTimeout)
        assert alive.error is None
        # The broken session is never pooled.
        assert pool.idle_count(jobs[0][0]) == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("refuse", errors.Unreachable),
        ("wrong_credentials", errors.AuthenticationFailed),
        ("fatal_login", errors.FatalError),
        ("garbage", errors.ProtocolError),
        ("drop_mid_sentence", errors.ConnectionLost),
    ],
)
def test_faults_become_typed_errors(faulty: Any, fault: str, error: type[Exception]) -> None:
    faulty.set_fault(fault)
    with ClientPool() as pool:
        outcome = run_pipelines(pool, [(config_for(faulty, timeout=2.0), READS)])[0]
        assert isinstance(outcome.error, error), outcome.error
        assert pool.idle_count() == 0


def test_a_limit_bounds_sessions_in_flight_without_losing_any(v7: Any, v6: Any, v719: Any) -> None:
    jobs = [(config_for(router), READS) for router in (v7, v6, v719, v7)]
    with ClientPool(max_per_key=1) as pool:
        outcomes = run_pipelines(pool, jobs, limit=1)
    assert [outcome.error for outcome in outcomes] == [None] * 4


def test_without_a_pool_every_connection_is_closed(v7: Any) -> None:
    outcome = run_pipelines(None, [(config_for(v7), READS)])[0]
    assert outcome.error is None


def test_which_configs_the_loop_can_drive() -> None:
    assert can_multiplex(RouterConfig(host="10.0.0.1", port=8728, protocol="api"))
    assert can_multiplex(RouterConfig(host="10.0.0.1", port=8728, protocol="auto"))
    assert not can_multiplex(RouterConfig(host="10.0.0.1", port=8729, protocol="api-ssl"))
    assert not can_multiplex(RouterConfig(host="10.0.0.1", port=80, protocol="rest"))
    assert not can_multiplex(RouterConfig(host="router.example", port=8728, protocol="api"))


def test_the_loop_pulls_in_neither_flask_nor_the_web_app() -> None:
    code = (
        "import sys, routeros.multiplex;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'webapp', 'werkzeug'));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_each_router_is_reported_as_it_finishes(v7: Any, faulty: Any) -> None:
    faulty.set_fault("blackhole")
    seen: list[tuple[int, bool]] = []
    jobs = [(config_for(faulty, timeout=0.5), READS), (config_for(v7), READS)]
    outcomes = run_pipelines(
        None, jobs, on_done=lambda position, outcome: seen.append((position, outcome.error is None))
    )
    # The answering router is reported before the silent one's deadline passes.
    assert seen == [(1, True), (0, False)]
    assert [outcome.error is None for outcome in outcomes] == [False, True]
