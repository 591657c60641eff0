"""What a captive portal needs from a router, as RouterOS does it: ``/tool/fetch``, ``/ip/hotspot/walled-garden``
and ``/ip/hotspot/walled-garden/ip`` (``/ip/hotspot/active/login`` lives in the state module).

``/tool/fetch url=… dst-path=…`` downloads over HTTP into ``/file`` (``simulators.routeros.system.add_file``)
and, like RouterOS, answers one ``!re`` with ``status=finished``, ``downloaded``, ``total`` and ``duration``; a
failure is a trap ``failure: …``. Only loopback URLs are fetched: the simulator never reaches the outside world.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

from simulators.routeros.menus import Field, MenuSchema, ro
from simulators.routeros.state import (
    CommandError,
    Extension,
    Reply,
    RouterState,
    Table,
    register_command,
    register_extension,
)
from simulators.routeros.system import add_file

FETCH_TIMEOUT = 5.0


def _disabled() -> Field:
    return Field("disabled", kind="bool", default="false")


WALLED_GARDEN = MenuSchema(
    "ip/hotspot/walled-garden",
    (
        Field("dst-host", default=""),
        Field("dst-port", default=""),
        Field("path", default=""),
        Field("method", default=""),
        Field("src-address", default=""),
        Field("server", default="all"),
        Field("action", kind="choice", choices=("allow", "deny"), default="allow"),
        ro("hits", default="0"),
        Field("comment"),
        _disabled(),
    ),
    key=None,
    unique=(),
)
WALLED_GARDEN_IP = MenuSchema(
    "ip/hotspot/walled-garden/ip",
    (
        Field("dst-address", default=""),
        Field("dst-host", default=""),
        Field("dst-port", default=""),
        Field("protocol", default=""),
        Field("src-address", default=""),
        Field("server", default="all"),
        Field("action", kind="choice", choices=("accept", "drop", "reject"), default="accept"),
        ro("invalid", "bool", "false"),
        Field("comment"),
        _disabled(),
    ),
    key=None,
    unique=(),
)


#: The servlet pages RouterOS copies into a hotspot profile's html-directory (shortened: the variables are real).
DEFAULT_PAGES = {
    "login.html": (
        "<html><head><title>internet hotspot > login</title></head><body>\n"
        "$(if error)<p>$(error)</p>$(endif)\n"
        '<form name="login" action="$(link-login-only)" method="post">\n'
        '<input type="hidden" name="dst" value="$(link-orig)"><input type="hidden" name="popup" value="true">\n'
        'login <input name="username" value="$(username)"> password <input name="password" type="password">\n'
        '<input type="submit" value="OK"></form></body></html>\n'
    ),
    "alogin.html": '<html><head><meta http-equiv="refresh" content="2; url=$(link-redirect)"></head>'
                   "<body>You are logged in</body></html>\n",
    "status.html": "<html><body>$(username): $(uptime), $(bytes-in-nice)/$(bytes-out-nice)</body></html>\n",
}


def _populate(state: RouterState) -> None:
    for schema in (WALLED_GARDEN, WALLED_GARDEN_IP):
        state.tables[schema.path] = Table(schema)
    directories = {item.get("html-directory") or "hotspot"
                   for item in state.tables["ip/hotspot/profile"].items.values()}
    for directory in sorted(directories):
        for name, page in DEFAULT_PAGES.items():
            add_file(state, f"{directory}/{name}", page)


def _fetch(state: RouterState, args: Mapping[str, str]) -> Reply:
    url = args.get("url") or ""
    parts = urlsplit(url)
    mode = args.get("mode") or parts.scheme or "http"
    if not url or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CommandError("failure: invalid URL", category=1)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        # The simulator stands in for a router on a private network: it only ever reaches loopback.
        raise CommandError(f"failure: could not connect to {parts.hostname} (the simulator fetches only "
                           "from loopback)", category=4)
    if mode not in ("http", "https"):
        raise CommandError("failure: unsupported mode", category=1)
    output = args.get("output") or "file"
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - loopback http(s) only
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise CommandError(f"failure: closing connection: <{exc.code} {exc.reason}> {parts.hostname}:"
                           f"{parts.port or 80} (4)", category=4) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise CommandError(f"failure: connection timeout or refused ({parts.hostname})", category=4) from exc
    row = {"status": "finished", "downloaded": str(max(1, len(body) // 1024)), "total": str(max(1, len(body) // 1024)),
           "duration": f"{max(1, round(time.monotonic() - started))}s"}
    if output == "file":
        name = (args.get("dst-path") or parts.path.rsplit("/", 1)[-1] or "index.html").lstrip("/")
        add_file(state, name, body.decode("utf-8", errors="replace"))
    elif output == "user":
        row["data"] = body.decode("utf-8", errors="replace")
    return Reply(rows=[row])


register_extension(Extension(populate=_populate))
register_command("tool/fetch", "write", _fetch)
