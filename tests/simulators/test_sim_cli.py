"""The command line, the module's import boundary, and the pure helpers (values, queries)."""

from __future__ import annotations

import ast
import json
import signal
import subprocess
import sys
from pathlib import Path

import librouteros
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from simulators.routeros.query import QueryError, compile_query
from simulators.routeros.values import format_duration, format_id, parse_duration, parse_id

PACKAGE = Path(__file__).resolve().parents[2] / "simulators" / "routeros"
ROOT = PACKAGE.parents[1]


def start_cli(*args: str) -> tuple[subprocess.Popen[str], list[dict[str, object]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.routeros", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    count = int(args[args.index("--routers") + 1])
    assert process.stdout is not None
    lines = [json.loads(process.stdout.readline()) for _ in range(count)]
    return process, lines


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_line_per_router_and_stops_cleanly(stop_signal):
    process, lines = start_cli("--routers", "3", "--versions", "7.16.1,6.49.7", "--seed", "4")
    try:
        assert [line["name"] for line in lines] == ["router-0001", "router-0002", "router-0003"]
        assert set(lines[0]) == {"name", "host", "version", "api_port", "api_ssl_port", "rest_port",
                                 "rest_tls_port", "username", "password"}
        assert lines[1]["version"] == "6.49.7" and lines[1]["rest_port"] is None
        assert lines[1]["rest_tls_port"] is None
        v7 = lines[0]
        api = librouteros.connect(str(v7["host"]), "admin", "admin", port=int(v7["api_port"]), timeout=5)  # type: ignore[call-overload]
        try:
            assert next(iter(api.path("system", "identity")))["name"] == "router-0001"
        finally:
            api.close()
        reply = requests.get(f"http://{v7['host']}:{v7['rest_port']}/rest/system/identity", auth=("admin", "admin"),
                             timeout=5)
        assert reply.json() == [{"name": "router-0001"}]
    finally:
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert stdout == "" and stderr == ""


def test_cli_distinct_hosts():
    process, lines = start_cli("--routers", "2", "--distinct-hosts")
    try:
        assert [line["host"] for line in lines] == ["127.1.0.1", "127.1.0.2"]
        api = librouteros.connect(str(lines[1]["host"]), "admin", "admin", port=int(lines[1]["api_port"]),  # type: ignore[call-overload]
                                  timeout=5)
        api.close()
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_cli_rejects_bad_arguments():
    result = subprocess.run(
        [sys.executable, "-m", "simulators.routeros", "--routers", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2 and "--routers" in result.stderr


ALLOWED_PROJECT_IMPORTS = {"routeros.protocol", "routeros.errors"}


def project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("routeros", "webapp")}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_simulator_imports_only_the_codec_and_errors(path):
    outside = {name for name in project_imports(path) if not name.startswith("simulators.routeros")}
    assert outside <= ALLOWED_PROJECT_IMPORTS


@given(st.integers(min_value=0, max_value=10**8))
def test_duration_round_trip(seconds):
    text = format_duration(seconds)
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (245540, "2d20h12m20s"), (788400, "1w2d3h"), (60, "1m")])
def test_duration_format(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("text", "seconds"), [("00:30:00", 1800), ("1d 02:00:00", 93600), ("90", 90), ("1h30m", 5400),
                                               ("bogus", None), ("", None), ("1x", None)])
def test_duration_parse(text, seconds):
    assert parse_duration(text) == seconds


@given(st.integers(min_value=1, max_value=2**32))
def test_id_round_trip(number):
    assert parse_id(format_id(number)) == number


ROWS = [{"name": "a", "type": "ether", "mtu": "1500"}, {"name": "b", "type": "vlan", "mtu": "9000"},
        {"name": "c", "type": "bridge"}]


@pytest.mark.parametrize(("words", "names"), [
    ([], ["a", "b", "c"]),
    (["?type=ether"], ["a"]),
    (["?type=ether", "?type=vlan", "?#|"], ["a", "b"]),
    (["?type=ether", "?type=vlan", "?#|!"], ["c"]),
    (["?mtu"], ["a", "b"]),
    (["?-mtu"], ["c"]),
    (["?>mtu=1500"], ["b"]),
    (["?<mtu=9000"], ["a"]),
    (["?type=ether", "?#!"], ["b", "c"]),
    (["?#!"], []),
    (["?type=ether", "?#.", "?#|"], ["a"]),
    (["?type=ether", "?type=vlan", "?type=bridge", "?#||"], ["a", "b", "c"]),
    (["?type=ether", "?mtu", "?#1"], ["a"]),
    (["?type=vlan", "?type=bridge", "?#1|"], ["b"]),
])
def test_query_stack(words, names):
    predicate = compile_query(words)
    assert [row["name"] for row in ROWS if predicate(row)] == names


def test_bad_query_word():
    with pytest.raises(QueryError):
        compile_query(["?#x"])
