"""Driver benchmarks, side by side with librouteros in one run, printed as ratios (librouteros time / ours).

    .venv/bin/python bench/bench_driver.py [--rows 5000] [--sentences 100000] [--reads 2000]

1. Reading a 5,000-row print (20 attributes per row) over a real loopback socket. The server is a
   tiny raw-socket replayer in this file that answers any ``/login`` with ``!done`` and any other
   command with pre-encoded ``!re`` sentences, so the figure measures the clients, not a server.
   The same print is then read from the simulator as a second figure when it can be started.
2. Encoding 100,000 mixed sentences (commands, attribute words, queries, tags, long scripts).
3. A warm-connection device-info read (``/system/resource/print``) against the simulator, ours
   through a ClientPool, librouteros on one kept-open connection.

Goals: (1) >= 5x, (2) >= 1.5x, (3) ratio >= 1.0 (ours no slower).
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import librouteros
from librouteros import protocol as lib_protocol

from routeros import ClientPool, RouterConfig, open_client
from routeros.protocol import SentenceDecoder, encode_sentence

ATTRIBUTES = [
    ".id",
    "name",
    "address",
    "network",
    "interface",
    "actual-interface",
    "mac-address",
    "comment",
    "disabled",
    "dynamic",
    "invalid",
    "running",
    "mtu",
    "rx-byte",
    "tx-byte",
    "rx-packet",
    "tx-packet",
    "last-link-up-time",
    "link-downs",
    "type",
]


def make_rows(count: int) -> list[list[str]]:
    """``count`` rows of 20 attribute words with realistic lengths."""
    rng = random.Random(7)
    rows = []
    for i in range(count):
        values = [
            f"*{i + 1:X}",
            f"vlan{i}",
            f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}/24",
            f"10.{i % 256}.0.0",
            f"bridge{i % 8}",
            f"ether{i % 24 + 1}",
            ":".join(f"{rng.randrange(256):02X}" for _ in range(6)),
            "customer " + "x" * rng.randrange(0, 40),
            "false",
            "false",
            "false",
            "true",
            "1500",
            str(rng.randrange(10**12)),
            str(rng.randrange(10**12)),
            str(rng.randrange(10**9)),
            str(rng.randrange(10**9)),
            "2024-05-01 10:00:00",
            str(rng.randrange(100)),
            "vlan",
        ]
        rows.append([f"={key}={value}" for key, value in zip(ATTRIBUTES, values, strict=True)])
    return rows


class ReplayServer:
    """Answers ``/login`` with ``!done`` and anything else with the pre-encoded rows (tag echoed)."""

    def __init__(self, rows: list[list[str]]) -> None:
        self._rows = rows
        self._cache: dict[str | None, bytes] = {}
        for tag in [None, *map(str, range(1, 64))]:
            self._reply(tag)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _reply(self, tag: str | None) -> bytes:
        cached = self._cache.get(tag)
        if cached is None:
            suffix = [f".tag={tag}"] if tag else []
            cached = b"".join(encode_sentence(["!re", *row, *suffix]) for row in self._rows)
            cached += encode_sentence(["!done", *suffix])
            self._cache[tag] = cached
        return cached

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        decoder = SentenceDecoder()
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for sentence in decoder.feed(data):
                    tag = next((w[5:] for w in sentence if w.startswith(".tag=")), None)
                    if sentence[0] == "/login":
                        conn.sendall(encode_sentence(["!done", *([f".tag={tag}"] if tag else [])]))
                    else:
                        conn.sendall(self._reply(tag))

    def close(self) -> None:
        self._listener.close()


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` runs, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def report(title: str, ours: float, theirs: float, goal: str, unit: str = "s") -> None:
    ratio = theirs / ours if ours else float("inf")
    scale = 1000.0 if unit == "ms" else 1.0
    print(f"{title}")
    print(f"    routeros    {ours * scale:10.3f} {unit}")
    print(f"    librouteros {theirs * scale:10.3f} {unit}")
    print(f"    ratio       {ratio:10.2f}x  (librouteros / ours; goal {goal})")


def serve_replay(rows: int) -> None:
    """Child-process entry: run the replay server, print its port, serve until stdin closes."""
    server = ReplayServer(make_rows(rows))
    print(server.port, flush=True)
    sys.stdin.read()
    server.close()


def bench_print_replay(rows: int, repeat: int) -> None:
    # The server runs in its own process so it does not share the GIL with the clients being timed.
    child = subprocess.Popen(
        [sys.executable, __file__, "--replay-server", str(rows)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        config = RouterConfig(host="127.0.0.1", port=port, protocol="api", password="x", timeout=60)  # noqa: S106
        ours = open_client(config)
        theirs = librouteros.connect("127.0.0.1", "admin", "x", port=port, timeout=60)
        path = theirs.path("ip", "address")
        assert len(ours.print("ip/address")) == rows
        assert len(list(path)) == rows
        ours_time = best_of(lambda: ours.print("ip/address"), repeat)
        theirs_time = best_of(lambda: list(path), repeat)
        ours.close()
        theirs.close()
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=10)
    report(
        f"[1] read a {rows}-row print, 20 attributes/row, raw-socket replay server in a child process",
        ours_time,
        theirs_time,
        ">= 5x",
        "ms",
    )


def bench_encode(count: int, repeat: int) -> None:
    rng = random.Random(1)

    def word() -> str:
        pick = rng.random()
        if pick < 0.55:
            key = rng.choice(["name", "address", "comment", "interface", "disabled", "profile"])
            return f"={key}={'x' * rng.randint(0, 40)}"
        if pick < 0.75:
            return rng.choice(["?type=ether", "?-comment", "?>rx-byte=1000", "?#|!", "?name=ünïcode"])
        if pick < 0.85:
            return "=source=" + ":log info " + "y" * rng.randint(100, 400)
        if pick < 0.95:
            return f"=comment=naïve café {rng.randint(0, 9999)}"
        return f".tag={rng.randint(1, 99999)}"

    commands = ["/ip/address/print", "/ip/hotspot/user/add", "/interface/set", "/system/script/add", "/login"]
    sentences = [[rng.choice(commands)] + [word() for _ in range(rng.randint(0, 14))] for _ in range(count)]
    for sentence in sentences[:1000]:
        assert encode_sentence(sentence) == lib_protocol.encode_sentence(*sentence, encoding="utf-8")

    def ours() -> None:
        for sentence in sentences:
            encode_sentence(sentence)

    def theirs() -> None:
        for sentence in sentences:
            lib_protocol.encode_sentence(*sentence, encoding="utf-8")

    report(
        f"[2] encode {count} mixed sentences (outputs checked identical)",
        best_of(ours, repeat),
        best_of(theirs, repeat),
        ">= 1.5x",
        "ms",
    )


def bench_simulator(rows: int, reads: int, repeat: int) -> None:
    try:
        from simulators.routeros import RouterSpec, Simulator
    except ImportError as exc:
        print(f"[3] skipped: the simulator is not importable ({exc})")
        return
    spec = RouterSpec(name="bench", version="7.16.1", username="admin", password="bench")  # noqa: S106 - a simulated router
    with Simulator([spec], host="127.0.0.1", latency_ms=0, seed=1) as sim:
        router = sim.routers[0]
        config = RouterConfig(
            host=router.host,
            port=router.api_port,
            protocol="api",
            username=router.username,
            password=router.password,
            timeout=60,
        )
        theirs = librouteros.connect(
            router.host, router.username, router.password, port=router.api_port, timeout=60
        )
        resource = theirs.path("system", "resource")
        with ClientPool() as pool:
            with pool.client(config) as client:
                client.resource()
            list(resource)

            def ours_read() -> None:
                for _ in range(reads):
                    with pool.client(config) as client:
                        client.resource()

            def theirs_read() -> None:
                for _ in range(reads):
                    list(resource)

            ours_times = [best_of(ours_read, 1) for _ in range(repeat)]
            theirs_times = [best_of(theirs_read, 1) for _ in range(repeat)]
        report(
            f"[3] warm device-info read (/system/resource/print) x{reads}, simulator, per read",
            min(ours_times) / reads,
            min(theirs_times) / reads,
            "ratio >= 1.0, i.e. ours <= 1.0x their time",
            "ms",
        )
        print(
            f"    (median of runs: ours {statistics.median(ours_times) / reads * 1000:.3f} ms, "
            f"librouteros {statistics.median(theirs_times) / reads * 1000:.3f} ms)"
        )
        bench_print_simulator(router, config, theirs, rows, repeat)
        theirs.close()


def bench_print_simulator(
    router: Any, config: RouterConfig, theirs: librouteros.Api, rows: int, repeat: int
) -> None:
    """The same print read from the simulator; the rows are vouchers added with its in-process execute()."""
    start = time.perf_counter()
    for i in range(rows):
        router.execute(
            "/ip/hotspot/user/add",
            {"name": f"voucher{i:05d}", "password": f"pw{i:05d}", "comment": f"batch {i // 100}"},
        )
    filled = time.perf_counter() - start
    path = theirs.path("ip", "hotspot", "user")
    with open_client(config) as client:
        count = len(client.print("ip/hotspot/user"))
        attributes = len(client.print("ip/hotspot/user")[-1])
        ours_time = best_of(lambda: client.print("ip/hotspot/user"), repeat)
        theirs_time = best_of(lambda: list(path), repeat)
    report(
        f"[1b] read a {count}-row print ({attributes} attributes/row) from the simulator "
        f"(rows added in-process with execute() in {filled:.1f} s; includes the simulator's rendering)",
        ours_time,
        theirs_time,
        "informative",
        "ms",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--sentences", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--replay-server", type=int, metavar="ROWS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay_server:
        serve_replay(args.replay_server)
        return
    bench_print_replay(args.rows, args.repeat)
    bench_encode(args.sentences, args.repeat)
    bench_simulator(args.rows, args.reads, args.repeat)


if __name__ == "__main__":
    main()
