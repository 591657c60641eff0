"""``python -m simulators.routeros --routers N``: serve N virtual routers until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from simulators.routeros.fleet import Simulator
from simulators.routeros.router import RouterSpec

STANDARD_PORTS: dict[str, Any] = {"api_port": 8728, "api_ssl_port": 8729, "rest_port": 80, "rest_tls_port": 443}


def distinct_host(index: int) -> str:
    """The loopback address of router ``index`` when each router gets its own (127.1.0.1, ...)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


def build_specs(args: argparse.Namespace) -> list[RouterSpec]:
    """The routers the command line asks for."""
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    specs = []
    for index in range(args.routers):
        host = distinct_host(index) if args.distinct_hosts else None
        ports = STANDARD_PORTS if args.distinct_hosts and args.standard_ports else {}
        specs.append(RouterSpec(name=f"{args.prefix}-{index + 1:04d}", version=versions[index % len(versions)],
                                username=args.username, password=args.password, host=host, **ports))
    return specs


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m simulators.routeros", description=__doc__)
    parser.add_argument("--routers", type=int, default=1, help="how many routers to start")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every reply")
    parser.add_argument("--seed", default="0", help="seed for every generated value")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--versions", default="7.16.1",
                        help="comma-separated RouterOS versions, assigned in turn (e.g. 7.16.1,6.49.7,6.42.12)")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--prefix", default="router", help="router names are PREFIX-0001, PREFIX-0002...")
    parser.add_argument("--distinct-hosts", action="store_true",
                        help="give each router its own address 127.1.x.y instead of its own ports")
    parser.add_argument("--standard-ports", action="store_true",
                        help="with --distinct-hosts, listen on 8728/8729/80/443")
    args = parser.parse_args(argv)
    if args.routers < 1:
        parser.error("--routers must be at least 1")
    if args.standard_ports and not args.distinct_hosts:
        parser.error("--standard-ports needs --distinct-hosts")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Start the routers, print one JSON line each, serve until interrupted."""
    args = parse_args(argv)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with Simulator(build_specs(args), host=args.host, latency_ms=args.latency_ms, seed=args.seed) as sim:
        for router in sim.routers:
            sys.stdout.write(json.dumps(router.describe()) + "\n")
        sys.stdout.flush()
        while not stopping.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
