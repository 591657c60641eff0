"""The onboarding script: RouterOS commands to paste into a new router's terminal so RouterDeck can manage it.

It creates a least-privilege user group and user with a random password, opens only the management service
RouterDeck will use (API-SSL with a self-signed certificate, the plain API, or REST over HTTPS) and only to
RouterDeck's address, and optionally a WireGuard tunnel to RouterDeck's host for routers behind carrier-grade NAT
(RouterOS 7). Nothing is stored: the password is shown once, with the script.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import string
from dataclasses import dataclass

from webapp.services.errors import Invalid

PROTOCOLS = ("api-ssl", "api", "rest")
#: What RouterDeck needs (read, write, api/rest-api, test for ping, reboot and password for upgrades and
#: password rotation); never ftp, telnet, ssh, winbox, web, sniff, sensitive, policy or romon.
POLICIES = ("read", "write", "api", "test", "reboot", "password")
DENIED = ("local", "telnet", "ssh", "ftp", "winbox", "web", "sniff", "sensitive", "policy", "romon")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_WG_KEY = re.compile(r"^[A-Za-z0-9+/]{42,43}=$")


@dataclass(frozen=True)
class WireGuard:
    """RouterDeck's end of the tunnel."""

    endpoint: str
    port: int
    public_key: str
    router_address: str  # the router's tunnel address, e.g. 10.99.0.2/24
    routerdeck_address: str  # RouterDeck's tunnel address, e.g. 10.99.0.1


@dataclass(frozen=True)
class OnboardingScript:
    """The script and what to enter in RouterDeck afterwards."""

    script: str
    username: str
    password: str
    protocol: str
    port: int
    host_hint: str | None


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(24))


def generate(*, routerdeck_address: str, protocol: str = "api-ssl", username: str = "routerdeck",
             routeros_major: int = 7, identity: str | None = None,
             wireguard: WireGuard | None = None) -> OnboardingScript:
    """Build the script.

    :raises Invalid: with per-field messages for a bad address, protocol, name or WireGuard setting.
    """
    errors: dict[str, str] = {}
    try:
        source = ipaddress.ip_network(routerdeck_address.strip(), strict=False)
    except ValueError:
        errors["routerdeck_address"] = "RouterDeck's IP address (or network) as routers see it"
        source = None
    if protocol not in PROTOCOLS:
        errors["protocol"] = "api-ssl, api or rest"
    if routeros_major not in (6, 7):
        errors["routeros_major"] = "6 or 7"
    elif protocol == "rest" and routeros_major == 6:
        errors["protocol"] = "RouterOS 6 has no REST API: use api-ssl or api"
    if not _NAME.match(username):
        errors["username"] = "1-32 letters, digits, _ . -"
    if identity is not None and not _NAME.match(identity):
        errors["identity"] = "1-32 letters, digits, _ . -"
    if wireguard is not None:
        if routeros_major != 7:
            errors["wireguard"] = "WireGuard needs RouterOS 7"
        if not _WG_KEY.match(wireguard.public_key):
            errors["wireguard.public_key"] = "a WireGuard public key (44 characters of base64)"
        try:
            ipaddress.ip_interface(wireguard.router_address)
            ipaddress.ip_address(wireguard.routerdeck_address)
        except ValueError:
            errors["wireguard.router_address"] = "tunnel addresses such as 10.99.0.2/24 and 10.99.0.1"
        if not 1 <= wireguard.port <= 65535 or not wireguard.endpoint.strip():
            errors["wireguard.endpoint"] = "RouterDeck's public host name or address and UDP port"
    if errors or source is None:
        raise Invalid("Invalid onboarding request: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                      fields=errors)
    password = _password()
    policies = [*POLICIES, *(("rest-api",) if routeros_major == 7 else ())]
    allowed = str(source)
    if wireguard is not None:
        allowed = f"{allowed},{wireguard.routerdeck_address}/32"
    policy = ",".join([*policies, *(f"!{p}" for p in DENIED)])
    lines = [
        "# RouterDeck onboarding: paste into the router's terminal (New Terminal in WinBox, or SSH).",
        f"/user group add name={username} policy={policy} comment=\"RouterDeck: least privilege\"",
        f"/user add name={username} group={username} password=\"{password}\" address={allowed} "
        "comment=\"RouterDeck\"",
    ]
    if identity:
        lines.append(f"/system identity set name={identity}")
    if protocol == "api-ssl":
        lines += [
            f"/certificate add name=routerdeck-api common-name={identity or 'router'} days-valid=3650 "
            "key-usage=digital-signature,key-encipherment,tls-server",
            "/certificate sign routerdeck-api",
            f"/ip service set api-ssl certificate=routerdeck-api address={allowed} disabled=no",
        ]
        port = 8729
    elif protocol == "api":
        lines.append(f"/ip service set api address={allowed} disabled=no")
        port = 8728
    else:
        lines += [
            f"/certificate add name=routerdeck-www common-name={identity or 'router'} days-valid=3650 "
            "key-usage=digital-signature,key-encipherment,tls-server",
            "/certificate sign routerdeck-www",
            f"/ip service set www-ssl certificate=routerdeck-www address={allowed} disabled=no",
        ]
        port = 443
    host_hint = None
    if wireguard is not None:
        lines += [
            "/interface wireguard add name=wg-routerdeck listen-port=13231",
            f"/interface wireguard peers add interface=wg-routerdeck public-key=\"{wireguard.public_key}\" "
            f"endpoint-address={wireguard.endpoint.strip()} endpoint-port={wireguard.port} "
            f"allowed-address={wireguard.routerdeck_address}/32 persistent-keepalive=25s",
            f"/ip address add address={wireguard.router_address} interface=wg-routerdeck "
            "comment=\"RouterDeck tunnel\"",
        ]
        host_hint = str(ipaddress.ip_interface(wireguard.router_address).ip)
    lines.append(':log info "RouterDeck onboarding done"')
    return OnboardingScript("\n".join(lines) + "\n", username, password, protocol, port, host_hint)
