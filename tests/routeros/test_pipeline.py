"""Pipelined commands and shared deadlines, against the simulator over real sockets."""

from __future__ import annotations

from typing import Any

import pytest

from routeros import Command, RouterConfig, open_client
from routeros.connection import Deadline
from routeros.errors import CommandRejected, InvalidRequest, RouterTimeout

from .conftest import config_for

USERS = "ip/hotspot/user"


@pytest.mark.parametrize("transport", ["api", "api-ssl", "rest"])
def test_pipeline_adds_many_and_reports_each_refusal(v7: Any, transport: str) -> None:
    prefix = f"pipe-{transport}-"
    names = [f"{prefix}{n}" for n in range(40)]
    with open_client(config_for(v7, transport)) as client:
        client.add(USERS, {"name": names[3], "password": "x"})  # already there: the router refuses the add
        results = client.pipeline([Command(USERS, "add", {"name": name, "password": "p", "comment": "rd-test"})
                                   for name in names])
        assert len(results) == len(names)
        refused = [name for name, result in zip(names, results, strict=True) if not result.ok]
        assert refused == [names[3]]
        assert isinstance(results[3].error, CommandRejected)
        assert all(result.rows[0][".id"].startswith("*") for result in results if result.ok)
        on_router = {row["name"] for row in client.print(USERS, proplist=["name"]) if row["name"].startswith(prefix)}
        assert on_router == set(names)
        ids = [result.rows[0][".id"] for result in results if result.ok]
        removed = client.pipeline([Command(USERS, "remove", item=item) for item in ids]
                                  + [Command(USERS, "print", query={"name": names[3]}, proplist=(".id", "name"))])
        assert all(result.ok for result in removed)
        assert [row["name"] for row in removed[-1].rows] == [names[3]]
        client.remove(USERS, names[3])


def test_pipeline_keeps_the_connection_usable_and_in_step(v7: Any) -> None:
    with open_client(config_for(v7, "api")) as client:
        results = client.pipeline([Command("system/identity"), Command("system/resource"), Command("nothing/here")])
        assert results[0].rows[0]["name"]
        assert "version" in results[1].rows[0]
        assert results[2].error is not None
        assert client.usable
        assert client.identity() == results[0].rows[0]["name"]


def test_pipeline_commands_are_checked_before_sending() -> None:
    with pytest.raises(InvalidRequest):
        Command(USERS, "remove")
    with pytest.raises(InvalidRequest):
        Command(USERS, "set", {"comment": "x"}, item="by-name")
    with pytest.raises(InvalidRequest):
        Command(USERS, "frobnicate")


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_a_shared_deadline_bounds_every_call_and_the_pipeline(faulty: Any, transport: str) -> None:
    config: RouterConfig = config_for(faulty, transport, timeout=5.0)
    with open_client(config) as client:
        faulty.set_fault("latency", ms=300)
        shared = Deadline(0.5, config.where)
        with client.within(shared), pytest.raises(RouterTimeout):  # noqa: PT012 - the calls share one deadline
            for _ in range(5):  # each call alone fits in its own 5 s; together they pass the shared 0.5 s
                client.identity()
        assert client._ceiling is None
    faulty.clear_faults()
    with open_client(config) as client, client.within(Deadline(0.2, config.where)):
        faulty.set_fault("latency", ms=400)
        with pytest.raises(RouterTimeout):
            client.pipeline([Command("system/identity")] * 3)
