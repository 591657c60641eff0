"""``python -m simulators.africastalking``: serve Africa's Talking SMS on loopback (one JSON line)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from simulators.africastalking.server import SmsSimulator


def main(argv: Sequence[str] | None = None) -> int:
    """Start the simulator, print its base URL and credentials as one JSON line, serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulators.africastalking", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--username", default="sandbox")
    parser.add_argument("--api-key", default="sim-at-api-key")
    parser.add_argument("--delivery-url", default=None, help="where delivery reports are POSTed (loopback)")
    parser.add_argument("--deliver-after", type=float, default=1.0, help="seconds until the delivery report")
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with SmsSimulator(host=args.host, port=args.port, username=args.username, api_key=args.api_key,
                      delivery_url=args.delivery_url, deliver_after=args.deliver_after) as sim:
        sys.stdout.write(json.dumps(sim.describe()) + "\n")
        sys.stdout.flush()
        while not stopping.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
