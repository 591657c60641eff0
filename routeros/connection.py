"""Bytes on the wire for the binary API: connect (plain or TLS), send, and buffered sentence reads.

Every blocking step takes a :class:`Deadline`, so the total time of a call (connect + TLS + login +
reply) is bounded, not only each ``recv``: a router that trickles one byte a second still fails on time.
"""

from __future__ import annotations

import errno
import ipaddress
import select
import socket
import ssl
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from routeros.errors import (
    ConnectionLost,
    ProtocolError,
    RouterTimeout,
    TLSFailure,
    Unreachable,
)
from routeros.protocol import SentenceDecoder

#: One ``recv`` asks for this much; a 5,000-row print arrives in a few dozen reads.
RECV_SIZE = 256 * 1024

_UNREACHABLE_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.EADDRNOTAVAIL,
    }
)


class Deadline:
    """A point in time by which a whole call must finish."""

    __slots__ = ("expires", "seconds", "what")

    def __init__(self, seconds: float, what: str = "the router") -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.what = what

    def remaining(self) -> float:
        """Seconds left, always > 0.

        :raises RouterTimeout: if the deadline has passed.
        """
        left = self.expires - time.monotonic()
        if left <= 0:
            raise self.timeout_error()
        return left

    def timeout_error(self) -> RouterTimeout:
        """The error to raise when this deadline passes."""
        return RouterTimeout(f"{self.what} did not answer within {self.seconds:g} s")


#: One ``getaddrinfo`` entry: family, socket kind, protocol, canonical name, address.
AddressInfo = tuple[int, int, int, str, Any]

# getaddrinfo cannot be interrupted, so it runs here and the caller waits only until its deadline.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="routeros-resolve")


def resolve(host: str, port: int, deadline: Deadline) -> Sequence[AddressInfo]:
    """Resolve ``host`` for TCP within the deadline (an IP address skips the lookup).

    :raises Unreachable: if the name does not resolve.
    :raises RouterTimeout: if the resolver does not answer in time.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pending = _resolver.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            return pending.result(timeout=deadline.remaining())
        except FutureTimeout:
            raise RouterTimeout(
                f"resolving {host!r} took longer than the {deadline.seconds:g} s deadline; check DNS"
            ) from None
        except (socket.gaierror, UnicodeError) as exc:
            raise Unreachable(f"cannot resolve {host!r}: {exc}; check the router's address") from None
    return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)


def open_socket(
    host: str, port: int, deadline: Deadline, connect_timeout: float | None = None
) -> socket.socket:
    """Open a TCP connection within the deadline (and within ``connect_timeout`` if given).

    :raises Unreachable: on DNS failure, refusal or no route.
    :raises RouterTimeout: if resolving or connecting takes too long.
    """
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    failure: OSError | None = None
    for family, kind, proto, _, address in resolve(host, port, deadline):
        limit = deadline.remaining()
        if connect_timeout is not None:
            limit = min(limit, connect_timeout)
        sock = socket.socket(family, kind, proto)
        sock.settimeout(limit)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        break
    else:
        if isinstance(failure, TimeoutError):
            raise RouterTimeout(f"connecting to {where} timed out") from None
        reason = (failure.strerror if failure else None) or str(failure)
        if failure is not None and (
            failure.errno in _UNREACHABLE_ERRNOS or isinstance(failure, ConnectionRefusedError)
        ):
            raise Unreachable(
                f"cannot connect to {where}: {reason}; check the address, the port and that the service is on"
            ) from None
        raise Unreachable(f"cannot connect to {where}: {reason}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def tls_handshake(
    sock: socket.socket, context: ssl.SSLContext, server_hostname: str | None, deadline: Deadline
) -> ssl.SSLSocket:
    """Wrap ``sock`` in TLS and finish the handshake before the deadline.

    The handshake runs non-blocking so a peer that stalls or trickles cannot stretch it past the
    deadline (a blocking handshake would only bound each read).

    :raises TLSFailure: if the handshake fails or the certificate is not trusted.
    :raises RouterTimeout: if the handshake does not finish in time.
    """
    try:
        tls = context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
    except (ssl.SSLError, ValueError) as exc:
        sock.close()
        raise TLSFailure(f"cannot start TLS: {exc}") from None
    tls.setblocking(False)
    try:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                select.select([tls], [], [], deadline.remaining())
            except ssl.SSLWantWriteError:
                select.select([], [tls], [], deadline.remaining())
    except RouterTimeout:
        tls.close()
        raise RouterTimeout(f"TLS handshake did not finish within {deadline.seconds:g} s") from None
    except ssl.SSLCertVerificationError as exc:
        tls.close()
        raise TLSFailure(
            f"the router's certificate is not trusted ({exc.verify_message}); "
            "give its CA file, pin its SHA-256 fingerprint, or choose insecure explicitly"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        tls.close()
        raise TLSFailure(f"TLS handshake failed: {exc}; is this port really TLS (api-ssl/https)?") from None
    tls.setblocking(True)
    return tls


class Connection:
    """A connected socket with a sentence decoder: send encoded sentences, read decoded ones.

    Reads are buffered: one ``recv`` of up to :data:`RECV_SIZE` bytes can complete many words and
    sentences, which are queued until asked for.
    """

    def __init__(self, sock: socket.socket, where: str, max_word: int = 16 * 1024 * 1024) -> None:
        self.sock = sock
        self.where = where
        self._decoder = SentenceDecoder(max_word=max_word)
        self._ready: deque[list[str]] = deque()
        self._closed = False
        #: Set when the byte stream can no longer be trusted; the connection must not be reused.
        self.broken = False

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def send(self, data: bytes, deadline: Deadline) -> None:
        """Send all of ``data`` before the deadline.

        :raises RouterTimeout: if the router does not take the bytes in time.
        :raises ConnectionLost: if the connection drops.
        """
        try:
            self.sock.settimeout(deadline.remaining())
            self.sock.sendall(data)
        except TimeoutError:
            self.broken = True
            raise deadline.timeout_error() from None
        except RouterTimeout:
            self.broken = True
            raise
        except OSError as exc:
            self.broken = True
            raise ConnectionLost(f"connection to {self.where} lost while sending: {exc}") from None

    def read_sentence(self, deadline: Deadline) -> list[str]:
        """Return the next complete sentence, reading from the socket only when none is queued.

        :raises RouterTimeout: if no complete sentence arrives before the deadline.
        :raises ConnectionLost: if the router closes the connection first.
        :raises ProtocolError: on a control byte or an oversized word.
        """
        ready = self._ready
        while not ready:
            self._fill(deadline)
        return ready.popleft()

    def _fill(self, deadline: Deadline) -> None:
        sock = self.sock
        try:
            sock.settimeout(deadline.remaining())
            data = sock.recv(RECV_SIZE)
        except TimeoutError:
            self.broken = True
            raise deadline.timeout_error() from None
        except RouterTimeout:
            self.broken = True
            raise
        except ssl.SSLError as exc:
            self.broken = True
            raise ConnectionLost(f"TLS session with {self.where} failed mid-reply: {exc}") from None
        except OSError as exc:
            self.broken = True
            raise ConnectionLost(f"connection to {self.where} lost mid-reply: {exc}") from None
        if not data:
            self.broken = True
            state = "in the middle of a reply" if self._decoder.pending else "before replying"
            raise ConnectionLost(f"{self.where} closed the connection {state}")
        try:
            self._ready.extend(self._decoder.feed(data))
        except ProtocolError as exc:
            self.broken = True
            raise ProtocolError(f"{self.where} sent bytes that are not the RouterOS API: {exc}") from None

    def has_unread_data(self) -> bool:
        """True if the peer sent something (or closed) while nobody was asking: the stream is out of step."""
        if self._ready or self._closed:
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        return bool(readable)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.close()
        except OSError:
            # Closing a socket the peer already reset can fail; there is nothing left to release.
            pass
