"""The connection pool against the simulator: reuse, health checks, expiry, discarding broken clients."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from routeros import ClientPool
from routeros.errors import CommandRejected, ConnectionLost
from tests.routeros.conftest import config_for


def active_sessions(router: Any) -> int:
    return int(router.with_state(lambda state: len(state.tables["user/active"].items)))


@pytest.mark.parametrize("transport", ["api", "api-ssl", "rest"])
def test_warm_client_is_reused(v7: Any, transport: str) -> None:
    config = config_for(v7, transport)
    with ClientPool() as pool:
        with pool.client(config) as first:
            first.identity()
        with pool.client(config) as second:
            second.identity()
        assert second is first
        assert pool.idle_count(config) == 1


def test_reuse_skips_the_login(v7: Any) -> None:
    config = config_for(v7, "api")
    with ClientPool() as pool:
        with pool.client(config) as client:
            client.identity()
        before = active_sessions(v7)
        for _ in range(5):
            with pool.client(config) as client:
                client.identity()
        assert active_sessions(v7) == before


def test_different_credentials_get_different_clients(v7: Any) -> None:
    with ClientPool() as pool:
        with pool.client(config_for(v7, "api")) as admin:
            admin.identity()
        with pool.client(config_for(v7, "api", timeout=7.0)) as other:
            other.identity()
        assert other is not admin
        assert pool.idle_count() == 2


def test_rejected_command_keeps_the_client(v7: Any) -> None:
    config = config_for(v7, "api")
    with ClientPool() as pool:
        with pytest.raises(CommandRejected), pool.client(config) as client:
            client.run("invalid/command")
        assert client.usable
        assert pool.idle_count(config) == 1


def test_broken_client_is_discarded_never_reused(faulty: Any) -> None:
    config = config_for(faulty, "api")
    with ClientPool() as pool:
        with pool.client(config) as broken:
            broken.identity()
        faulty.set_fault("drop_mid_sentence")
        with pool.client(config) as client:
            assert client is broken
            with pytest.raises(ConnectionLost):
                client.interfaces()
        assert pool.idle_count(config) == 0
        faulty.clear_faults()
        with pool.client(config) as fresh:
            assert fresh is not broken
            assert fresh.identity() == faulty.name


def test_connection_closed_by_the_router_while_idle_is_replaced(faulty: Any) -> None:
    config = config_for(faulty, "api")
    with ClientPool() as pool:
        with pool.client(config) as stale:
            stale.identity()
        faulty.reboot()  # drops every API session: the idle socket sees EOF
        deadline = time.monotonic() + 5
        while stale.looks_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        with pool.client(config) as client:
            assert client is not stale
            assert client.identity() == faulty.name
        assert stale.connection.closed  # type: ignore[attr-defined]


def test_health_check_round_trip_after_idle(v7: Any) -> None:
    config = config_for(v7, "api")
    with ClientPool(check_after=0.0) as pool:
        with pool.client(config) as first:
            first.identity()
        with pool.client(config) as second:
            second.identity()
        assert second is first


def test_idle_clients_expire(v7: Any) -> None:
    config = config_for(v7, "api")
    with ClientPool(idle_timeout=0.05) as pool:
        with pool.client(config) as first:
            first.identity()
        time.sleep(0.1)
        assert pool.prune() == 1
        with pool.client(config) as second:
            second.identity()
        time.sleep(0.1)
        with pool.client(config) as third:
            third.identity()
        assert len({id(first), id(second), id(third)}) == 3
        assert not first.usable


def test_interrupted_block_closes_the_client(v7: Any) -> None:
    config = config_for(v7, "api")
    with ClientPool() as pool:
        with pytest.raises(KeyError), pool.client(config) as client:
            raise KeyError("a bug above the driver")
        assert not client.usable
        assert pool.idle_count() == 0


def test_surplus_beyond_max_per_key_is_closed(v7: Any) -> None:
    config = config_for(v7, "api")
    with ClientPool(max_per_key=2) as pool:
        clients = [pool.acquire(config) for _ in range(3)]
        for client in clients:
            pool.release(config, client)
        assert pool.idle_count(config) == 2
        assert not clients[0].usable
        assert clients[1].usable
        assert clients[2].usable


def test_pool_is_thread_safe(v7: Any) -> None:
    config = config_for(v7, "api")
    errors: list[BaseException] = []
    names: list[str] = []

    def worker() -> None:
        try:
            for _ in range(15):
                with pool.client(config) as client:
                    names.append(client.identity())
        except BaseException as exc:
            errors.append(exc)

    with ClientPool(max_per_key=3) as pool:
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert names == [v7.name] * 120
        assert pool.idle_count(config) <= 3


def test_closed_pool_closes_returned_clients(v7: Any) -> None:
    config = config_for(v7, "api")
    pool = ClientPool()
    client = pool.acquire(config)
    pool.close()
    pool.release(config, client)
    assert not client.usable
    assert pool.idle_count() == 0
