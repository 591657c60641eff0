"""Path suggestions for the command console, read from the menus the router actually has.

RouterOS 7 lists a menu's children with ``/console/inspect request=child path=ip,address``; older routers (and
any router that cannot be read right now) fall back to a list of common menus. Answers are cached per router
and menu for a few minutes, so typing costs at most one router call per new menu level.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from webapp.models import User
from webapp.services import gateway, routers
from webapp.services.errors import RouterRejected, RouterTimeout, RouterUnreachable

#: Offered when the router cannot tell (RouterOS 6 has no /console/inspect).
COMMON_MENUS = (
    "ip/address", "ip/address/add", "ip/hotspot", "ip/hotspot/user", "ip/hotspot/user/add",
    "ip/hotspot/active", "ip/hotspot/profile", "ip/hotspot/user/profile", "ip/pool", "ip/dhcp-server",
    "ip/dhcp-server/lease", "ip/route", "ip/firewall/filter", "ip/firewall/nat", "ip/dns", "ip/service",
    "interface", "interface/wireless",
    "system/resource", "system/identity", "system/clock", "system/routerboard", "system/license",
    "system/health", "system/package", "system/reboot", "user", "ppp/secret", "ppp/active", "log",
)
CACHE_SECONDS = 300.0
#: Suggestions are a convenience: never wait long for them.
INSPECT_TIMEOUT = 3.0
_cache: dict[tuple[int, str], tuple[float, list[str]]] = {}
_lock = threading.Lock()


def _children(router_id: int, menu: str, fetch: Callable[[], list[str] | None]) -> list[str] | None:
    key = (router_id, menu)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    names = fetch()
    if names is not None:
        with _lock:
            _cache[key] = (now, names)
    return names


def suggestions(actor: User, router_id: int, typed: str, limit: int = 60) -> list[str]:
    """Menu paths that continue what was typed (``ip/`` → ``ip/address``, ``ip/hotspot``...).

    :raises NotFound: when the router is not the actor's.
    """
    router = routers.get_router(actor, router_id)
    raw = (typed or "").strip().lower()
    text = raw.strip("/")
    words = [w for w in text.split("/") if w]
    # "ip/addr" completes inside "ip"; "ip/" lists what is under "ip".
    base = words if raw.endswith("/") else words[:-1]
    menu = "/".join(base)

    def fetch() -> list[str] | None:
        try:
            with gateway.connect(router, timeout=INSPECT_TIMEOUT) as client:
                rows = client.call("console/inspect", {"request": "child", "path": ",".join(base)})
        except (RouterUnreachable, RouterTimeout, RouterRejected):
            return None
        return sorted(str(row["name"]) for row in rows if row.get("type", "child") == "child" and row.get("name"))

    names = _children(router.id, menu, fetch)
    if names is None:
        return [m for m in COMMON_MENUS if m.startswith(text)][:limit]
    prefix = f"{menu}/" if menu else ""
    partial = "" if raw.endswith("/") else (words[-1] if words else "")
    return [prefix + name for name in names if name.startswith(partial)][:limit]
