"""A loopback HTTP endpoint that records what providers POST to it (callbacks, delivery reports)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class Receiver:
    """Collect POSTs on ``url``; ``wait_for(n)`` returns once ``n`` have arrived (or the deadline passed)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type", "")
                body: Any = json.loads(raw) if "json" in kind else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                with receiver._changed:
                    receiver.received.append({"path": self.path, "content_type": kind, "body": body})
                    receiver._changed.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The POSTs so far, once at least ``count`` arrived or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self.received)

    def wait_until(self, predicate: Callable[[dict[str, Any]], bool], count: int = 1,
                   timeout: float = 10.0) -> list[dict[str, Any]]:
        """The bodies of POSTs matching ``predicate``, once ``count`` of them arrived or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r["body"] for r in self.received if predicate(r["body"])]
                if len(found) >= count or time.monotonic() >= deadline:
                    return found
                self._changed.wait(deadline - time.monotonic())

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
