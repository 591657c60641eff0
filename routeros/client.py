"""Open a client for a router: pick the protocol (as given, by well-known port, or probed) and log in."""

from __future__ import annotations

from routeros.api import ApiClient
from routeros.base import Client
from routeros.config import WELL_KNOWN_PORTS, RouterConfig
from routeros.connection import Deadline, open_socket, tls_handshake
from routeros.errors import ConnectionLost, ProtocolError, RouterTimeout
from routeros.protocol import encode_sentence
from routeros.rest import RestClient

#: A probe gets at most this long (within the call's deadline) to hear which protocol a port speaks.
PROBE_SECONDS = 3.0


def _rest_uses_https(config: RouterConfig) -> bool:
    return config.use_https or config.port == 443


def probe_protocol(config: RouterConfig, deadline: Deadline | None = None) -> str:
    """Ask an unfamiliar port what it speaks: send an API ``/login`` and look at the first bytes back.

    An API service answers with a ``!`` reply sentence; an HTTP server answers ``HTTP/`` (usually
    ``400 Bad Request``) to bytes that are not a request line.

    :raises Unreachable: if nothing listens there.
    :raises TLSFailure: if ``use_https`` is set and the TLS handshake fails.
    :raises ProtocolError: if the answer is neither.
    :raises RouterTimeout: if the port stays silent (or the deadline passes first).
    :raises ConnectionLost: if the port hangs up without answering.
    """
    deadline = deadline or Deadline(config.timeout, config.where)
    probe = Deadline(min(deadline.remaining(), PROBE_SECONDS), config.where)
    sock = open_socket(config.host, config.port, probe, config.connect_timeout)
    try:
        if config.use_https:
            sock = tls_handshake(sock, config.ssl_context(), config.server_hostname, probe)
        head = b""
        silent = False
        try:
            sock.settimeout(probe.remaining())
            sock.sendall(encode_sentence(["/login"]))
            while len(head) < 5:
                sock.settimeout(probe.remaining())
                chunk = sock.recv(64)
                if not chunk:
                    break
                head += chunk
        except (TimeoutError, RouterTimeout):
            silent = not head
        except OSError:
            # A reset is an answer too: whatever arrived before it decides below.
            pass
    finally:
        sock.close()
    if head.startswith(b"HTTP/"):
        return "rest"
    if len(head) >= 2 and head[0] < 0x80 and head[1:2] == b"!":
        return "api-ssl" if config.use_https else "api"
    if silent:
        raise RouterTimeout(
            f"{config.where} accepted the connection but did not answer the protocol probe within "
            f"{probe.seconds:g} s; set the protocol (rest, api, api-ssl) explicitly or check the router"
        )
    if not head:
        raise ConnectionLost(
            f"{config.where} closed the connection without answering the protocol probe; "
            "the service may refuse this address (available-from) or be busy"
        )
    raise ProtocolError(
        f"{config.where} answered neither as the RouterOS API nor as HTTP; "
        "set the protocol (rest, api, api-ssl) explicitly"
    )


def resolve_protocol(config: RouterConfig, deadline: Deadline | None = None) -> str:
    """The protocol ``config`` will use: as given, by port (80/443 REST, 8728 api, 8729 api-ssl), or probed.

    :raises RouterOSError: the probe's errors (see :func:`probe_protocol`).
    """
    if config.protocol != "auto":
        return config.protocol
    known = WELL_KNOWN_PORTS.get(config.port)
    if known is not None:
        return known
    return probe_protocol(config, deadline)


def open_client(config: RouterConfig, deadline: Deadline | None = None) -> Client:
    """Connect and log in within ``config.timeout`` (or ``deadline`` when it comes first); also a context manager.

    :raises RouterOSError: unreachable, timeout, TLS, authentication, service, fatal or protocol errors.
    """
    own = Deadline(config.timeout, config.where)
    deadline = deadline if deadline is not None and deadline.expires < own.expires else own
    protocol = resolve_protocol(config, deadline)
    if protocol == "rest":
        return RestClient.connect(config, https=_rest_uses_https(config), deadline=deadline)
    return ApiClient.connect(config, tls=protocol == "api-ssl", deadline=deadline)
