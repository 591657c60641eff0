"""How to reach one router: address, credentials, protocol choice, deadlines and TLS trust."""

from __future__ import annotations

import hashlib
import hmac
import os
import ssl
from dataclasses import dataclass, field
from typing import Literal

from routeros.errors import InvalidRequest, TLSFailure

Protocol = Literal["auto", "rest", "api", "api-ssl"]
PROTOCOLS: tuple[str, ...] = ("auto", "rest", "api", "api-ssl")

#: Ports whose meaning is fixed by convention (the contract's ``port``/``use_https`` and RouterOS defaults).
WELL_KNOWN_PORTS: dict[int, str] = {80: "rest", 443: "rest", 8728: "api", 8729: "api-ssl"}


def normalise_fingerprint(fingerprint: str) -> str:
    """Lower-case hex without separators (accepts ``AA:BB:...`` and ``sha256/...`` styles).

    :raises InvalidRequest: if it is not 64 hex digits (a SHA-256 digest).
    """
    text = fingerprint.strip().lower().removeprefix("sha256:").removeprefix("sha256/")
    text = text.replace(":", "").replace(" ", "")
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise InvalidRequest(f"fingerprint must be a SHA-256 digest in hex, got {fingerprint!r}")
    return text


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as lower-case hex."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class RouterConfig:
    """Everything needed to open a client for one router.

    ``verify`` is ``True`` (system CAs), ``False`` (explicitly insecure) or a CA file path;
    ``ca_pem`` trusts the given PEM bytes; ``fingerprint`` pins the router's certificate by its
    SHA-256 and skips CA and hostname checks (self-signed router certificates are the norm).
    ``timeout`` is the total deadline of every call; ``connect_timeout`` optionally caps connecting.
    """

    host: str
    port: int = 8728
    username: str = "admin"
    password: str = field(default="", repr=False)
    protocol: Protocol = "auto"
    use_https: bool = False
    timeout: float = 10.0
    connect_timeout: float | None = None
    verify: bool | str = True
    ca_pem: bytes | None = field(default=None, repr=False)
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InvalidRequest(f"protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if not self.host:
            raise InvalidRequest("host is empty")
        if not 0 < self.port < 65536:
            raise InvalidRequest(f"port must be 1-65535, got {self.port}")
        if self.timeout <= 0:
            raise InvalidRequest(f"timeout must be positive, got {self.timeout}")
        if self.fingerprint is not None:
            object.__setattr__(self, "fingerprint", normalise_fingerprint(self.fingerprint))

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        """Build the TLS context that expresses this config's trust choice.

        :raises TLSFailure: if the CA file or PEM cannot be loaded.
        """
        if self.fingerprint is not None or self.verify is False:
            # Trust is decided by the pin (checked after the handshake) or waived on request.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        try:
            if self.ca_pem is not None:
                return ssl.create_default_context(cadata=self.ca_pem.decode("ascii"))
            if isinstance(self.verify, str):
                if os.path.isdir(self.verify):
                    return ssl.create_default_context(capath=self.verify)
                return ssl.create_default_context(cafile=self.verify)
        except (OSError, ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise TLSFailure(f"cannot load the CA certificate to trust: {exc}") from None
        return ssl.create_default_context()

    def check_pin(self, der: bytes | None) -> None:
        """Compare the peer certificate with the pinned fingerprint, if one is set.

        :raises TLSFailure: if the router's certificate does not match the pin.
        """
        if self.fingerprint is None:
            return
        actual = certificate_fingerprint(der or b"")
        if not hmac.compare_digest(actual, self.fingerprint):
            raise TLSFailure(
                f"the certificate of {self.where} has SHA-256 {actual}, not the pinned {self.fingerprint}; "
                "if the router's certificate was renewed, update the pin"
            )

    @property
    def server_hostname(self) -> str | None:
        """Name to send in SNI and check against the certificate (``None`` when checks are off)."""
        if self.fingerprint is not None or self.verify is False:
            return None
        return self.host
