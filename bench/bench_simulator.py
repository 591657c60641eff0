"""Fleet benchmark for the simulator: start N routers in one process, then reach every one of them.

    .venv/bin/python bench/bench_simulator.py [--routers 1000] [--latency-ms 0] [--concurrency 200]

Prints the start time, the process RSS after start, and the time for one round trip to every
router over each door: binary API (login + /system/identity/print), API-SSL (same, with the
router's certificate verified) and REST over HTTP (GET /rest/system/identity). Clients are raw
asyncio sockets built on routeros.protocol, so the figure measures the simulator, not a driver.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import resource
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable

from routeros.protocol import SentenceDecoder, encode_sentence
from simulators.routeros import RouterSpec, SimRouter, Simulator


def rss_mib() -> float:
    """Resident set size of this process now, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def api_round_trip(router: SimRouter, tls: bool) -> float:
    """Connect, log in and print the identity; return the seconds it took."""
    started = time.perf_counter()
    context = ssl.create_default_context(cadata=router.cert_pem.decode()) if tls else None
    port = router.api_ssl_port if tls else router.api_port
    reader, writer = await asyncio.open_connection(router.host, port, ssl=context)
    decoder = SentenceDecoder()
    try:
        for words in (["/login", f"=name={router.username}", f"=password={router.password}"],
                      ["/system/identity/print"]):
            writer.write(encode_sentence(words))
            done = False
            while not done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError(f"{router.name} closed the connection")
                for sentence in decoder.feed(data):
                    if sentence[0] == "!trap":
                        raise RuntimeError(f"{router.name}: {sentence}")
                    done = done or sentence[0] == "!done"
    finally:
        writer.close()
        await writer.wait_closed()
    return time.perf_counter() - started


async def rest_round_trip(router: SimRouter) -> float:
    """GET /rest/system/identity over a fresh HTTP/1.1 connection; return the seconds it took."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(router.host, router.rest_port)
    token = base64.b64encode(f"{router.username}:{router.password}".encode()).decode()
    writer.write(f"GET /rest/system/identity HTTP/1.1\r\nHost: {router.host}\r\nAuthorization: Basic {token}\r\n"
                 "Connection: close\r\n\r\n".encode())
    try:
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    if not response.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{router.name}: {response[:80]!r}")
    return time.perf_counter() - started


async def sweep(routers: list[SimRouter], call: Callable[[SimRouter], Awaitable[float]],
                concurrency: int) -> tuple[float, list[float]]:
    """Run ``call`` once per router, ``concurrency`` at a time; return wall time and each latency."""
    gate = asyncio.Semaphore(concurrency)

    async def one(router: SimRouter) -> float:
        async with gate:
            return await call(router)

    started = time.perf_counter()
    latencies = await asyncio.gather(*(one(router) for router in routers))
    return time.perf_counter() - started, list(latencies)


def report(label: str, wall: float, latencies: list[float]) -> None:
    """Print one door's figures."""
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"{label:<10} {len(latencies)} routers in {wall:6.2f} s  "
          f"median {statistics.median(latencies) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms")


def main() -> None:
    """Start the fleet, measure, stop."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    specs = [RouterSpec(name=f"r{index:04d}", version="7.16.1" if index % 4 else "6.49.7")
             for index in range(args.routers)]
    before = rss_mib()
    started = time.perf_counter()
    with Simulator(specs, latency_ms=args.latency_ms, seed=1) as sim:
        start_time = time.perf_counter() - started
        print(f"started {args.routers} routers in {start_time:.2f} s; "
              f"RSS {rss_mib():.0f} MiB (was {before:.0f} MiB before start)")
        routers = sim.routers
        rest_routers = [router for router in routers if router.rest_port is not None]
        report("api", *asyncio.run(sweep(routers, lambda r: api_round_trip(r, tls=False), args.concurrency)))
        report("api-ssl", *asyncio.run(sweep(routers, lambda r: api_round_trip(r, tls=True), args.concurrency)))
        report("rest", *asyncio.run(sweep(rest_routers, rest_round_trip, args.concurrency)))
        print(f"RSS after the sweeps {rss_mib():.0f} MiB")
        stopping = time.perf_counter()
    print(f"stopped in {time.perf_counter() - stopping:.2f} s")


if __name__ == "__main__":
    main()
