"""The router's side of the portal: a hotspot ``login.html`` that sends devices to RouterDeck's portal with the
router's variables, installed by the router itself (``/tool/fetch`` from RouterDeck), RouterDeck's host in the
walled garden, all previewable and undoable.

The generated page is a GET form that submits itself to the portal with ``$(mac)``, ``$(ip)``,
``$(link-login-only)`` and ``$(link-orig)`` (a button without JavaScript); when the hotspot shows the page with
``$(error)`` (a wrong voucher), it stays, shows the error and offers the voucher login form as well.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlsplit

from webapp.extensions import db
from webapp.models import PortalSite, Router, User
from webapp.services import audit, gateway
from webapp.services.errors import Conflict
from webapp.services.portal import portal_site, title_of
from webapp.timeutil import utcnow

#: The comment on every walled-garden entry RouterDeck adds (undo removes exactly these).
MARK = "routerdeck-portal"
WALLED_GARDEN = "ip/hotspot/walled-garden"
WALLED_GARDEN_IP = "ip/hotspot/walled-garden/ip"


def login_html(portal_url: str, title: str) -> str:
    """The hotspot login page: to the portal with the router's variables, or the voucher form after an error."""
    action = escape(portal_url, quote=True)
    name = escape(title)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="pragma" content="no-cache"><meta http-equiv="expires" content="-1">
<title>{name}</title></head>
<body style="font-family: sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem">
<h1>{name}</h1>
<form name="portal" action="{action}" method="get">
<input type="hidden" name="mac" value="$(mac)">
<input type="hidden" name="ip" value="$(ip)">
<input type="hidden" name="link-login-only" value="$(link-login-only)">
<input type="hidden" name="link-orig" value="$(link-orig)">
<button type="submit">Buy WiFi with M-Pesa / Nunua WiFi kwa M-Pesa</button>
</form>
$(if error)
<p style="color: #b00020">$(error)</p>
<form name="login" action="$(link-login-only)" method="post">
<input type="hidden" name="dst" value="$(link-orig)"><input type="hidden" name="popup" value="true">
<p><label>Voucher code <input name="username" autocomplete="off"></label></p>
<p><label>PIN (if any) <input name="password" type="password"></label></p>
<button type="submit">Connect</button>
</form>
$(else)
<script>document.portal.submit();</script>
$(endif)
</body></html>
"""


@dataclass
class InstallPlan:
    """What installing the portal on a router does (the preview), and what it found there."""

    router: Router
    login_url: str
    html_directory: str
    host: str
    commands: list[str] = field(default_factory=list)
    html: str = ""
    installed: bool = False


def _host_of(base_url: str) -> str:
    return urlsplit(base_url).hostname or ""


def _commands(plan: InstallPlan) -> list[str]:
    commands = [
        f'/tool fetch url="{plan.login_url}" dst-path="{plan.html_directory}/login.html" mode=http',
        f'/ip hotspot walled-garden add dst-host={plan.host} comment={MARK}',
    ]
    try:
        ipaddress.ip_address(plan.host)
    except ValueError:
        return commands
    commands.append(f"/ip hotspot walled-garden ip add dst-address={plan.host} action=accept comment={MARK}")
    return commands


def _html_directory(client: Any) -> str:
    """The html-directory of the first hotspot server's profile (RouterOS copies its pages there)."""
    servers = client.print("ip/hotspot", proplist=["name", "profile"])
    profiles = {row.get("name"): row for row in client.print("ip/hotspot/profile",
                                                            proplist=["name", "html-directory"])}
    for server in servers:
        directory = profiles.get(server.get("profile"), {}).get("html-directory")
        if directory:
            return str(directory).strip("/")
    return "hotspot"


def plan(actor: User, router_id: int, login_url: str, portal_url: str) -> InstallPlan:
    """The preview: the page, the router's html directory and the commands an install would run (reads only).

    :raises NotFound: not the actor's router.
    :raises RouterUnreachable: when the router cannot be asked where its pages live (RouterTimeout likewise).
    """
    site = portal_site(actor, router_id)
    router = site.router
    db.session.commit()
    with gateway.connect(router) as client:
        directory = _html_directory(client)
    result = InstallPlan(router, login_url, directory, _host_of(login_url), html=login_html(portal_url, title_of(site)),
                         installed=site.installed_at is not None)
    result.commands = _commands(result)
    return result


def _read_file(client: Any, name: str) -> str | None:
    for row in client.print("file", proplist=["name", "contents"]):
        if row.get("name") == name:
            return str(row.get("contents", ""))
    return None


def install(actor: User, router_id: int, login_url: str, portal_url: str, ip_address: str | None = None) -> InstallPlan:
    """Have the router download the login page from RouterDeck and let its devices reach RouterDeck.

    The router's own ``login.html`` is kept (the first time) so :func:`uninstall` can put it back; repeating an
    install is harmless (the walled-garden entries are added once).

    :raises NotFound: not the actor's router.
    :raises RouterUnreachable: / RouterTimeout / RouterRejected: the router could not do it (nothing is recorded).
    """
    site = portal_site(actor, router_id)
    router = site.router
    first_time = site.installed_at is None
    db.session.commit()
    with gateway.connect(router) as client:
        directory = _html_directory(client)
        result = InstallPlan(router, login_url, directory, _host_of(login_url),
                             html=login_html(portal_url, title_of(site)), installed=True)
        result.commands = _commands(result)
        target = f"{directory}/login.html"
        previous = _read_file(client, target) if first_time else None
        client.call("tool/fetch", {"url": login_url, "dst-path": target, "mode": "http"})
        garden = client.print(WALLED_GARDEN, proplist=[".id", "dst-host", "comment"])
        if not any(row.get("comment") == MARK and row.get("dst-host") == result.host for row in garden):
            client.add(WALLED_GARDEN, {"dst-host": result.host, "comment": MARK})
        if len(result.commands) == 3:
            by_ip = client.print(WALLED_GARDEN_IP, proplist=[".id", "dst-address", "comment"])
            if not any(row.get("comment") == MARK and row.get("dst-address") == result.host for row in by_ip):
                client.add(WALLED_GARDEN_IP, {"dst-address": result.host, "action": "accept", "comment": MARK})
    stored = db.session.get(PortalSite, router_id)
    assert stored is not None
    site = stored
    if first_time:
        site.previous_login_html = previous
        site.previous_html_directory = directory
    site.installed_at = utcnow()
    audit.record(actor, "portal.install", f"Portal login page installed on {router.name}", router_id=router.id,
                 details={"html_directory": directory, "walled_garden": result.host}, ip_address=ip_address,
                 commit=False)
    db.session.commit()
    return result


def uninstall(actor: User, router_id: int, ip_address: str | None = None) -> None:
    """Put the router's own login page back and remove RouterDeck's walled-garden entries.

    :raises NotFound: not the actor's router.
    :raises Conflict: nothing was installed.
    :raises RouterUnreachable: / RouterTimeout / RouterRejected: the router could not do it (still installed).
    """
    site = portal_site(actor, router_id)
    if site.installed_at is None:
        raise Conflict("The portal login page is not installed on this router")
    router = site.router
    directory = site.previous_html_directory or "hotspot"
    previous = site.previous_login_html
    db.session.commit()
    target = f"{directory}/login.html"
    with gateway.connect(router) as client:
        files = {row.get("name"): row for row in client.print("file", proplist=[".id", "name"])}
        if target in files:
            if previous is None:
                client.remove("file", files[target][".id"])
            else:
                client.set("file", files[target][".id"], {"contents": previous})
        for menu in (WALLED_GARDEN, WALLED_GARDEN_IP):
            for row in client.print(menu, proplist=[".id", "comment"]):
                if row.get("comment") == MARK:
                    client.remove(menu, row[".id"])
    stored = db.session.get(PortalSite, router_id)
    assert stored is not None
    site = stored
    site.installed_at = None
    site.previous_login_html = None
    audit.record(actor, "portal.uninstall", f"Router's own login page restored on {router.name}",
                 router_id=router.id, ip_address=ip_address, commit=False)
    db.session.commit()
