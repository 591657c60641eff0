"""``python -m simulators.daraja``: serve M-Pesa Daraja on loopback until SIGINT/SIGTERM (one JSON line)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from simulators.daraja.server import OUTCOMES, DarajaSimulator


def main(argv: Sequence[str] | None = None) -> int:
    """Start the simulator, print its base URL and credentials as one JSON line, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulators.daraja", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--approve-after", type=float, default=3.0,
                        help="seconds the simulated customer takes to answer the prompt")
    parser.add_argument("--outcome", default="paid", choices=sorted(OUTCOMES),
                        help="what every customer does unless told otherwise")
    parser.add_argument("--consumer-key", default="sim-consumer-key")
    parser.add_argument("--consumer-secret", default="sim-consumer-secret")
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with DarajaSimulator(host=args.host, port=args.port, approve_after=args.approve_after,
                         default_outcome=args.outcome, consumer_key=args.consumer_key,
                         consumer_secret=args.consumer_secret) as sim:
        sys.stdout.write(json.dumps(sim.describe()) + "\n")
        sys.stdout.flush()
        while not stopping.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
