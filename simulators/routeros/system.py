"""Administration menus: /file, /export, /import, /system/script, /system/scheduler, /system/package/update,
CHR/x86 installs, and a console-script interpreter (what pasting into the terminal does).

Registered as a :class:`~simulators.routeros.state.Extension` on import, so every router has them. What each
behaviour follows (RouterOS manual pages "Files", "Scheduler", "Scripting", "Packages", "Configuration
Management", and the API clients' issue trackers where the manual is silent):

- ``/export`` over the API answers only ``!done``: the text goes to the console, not to the API (so clients
  write it to a file with ``file=`` and read ``/file`` ``contents``). v7 hides sensitive values (passwords,
  secrets) unless ``show-sensitive``; v6 shows them unless ``hide-sensitive``. /user rows are never exported.
  The first line (``# <date> <time> by RouterOS <version>``) changes on every export.
- ``/file`` shows ``contents`` for files up to 60 KiB on v7 and 4 KiB on v6 (bigger files: no ``contents``);
  ``/file/add`` exists from 7.9.
- ``/system/scheduler``: ``start-time=startup`` runs 3 s after boot (only when ``interval=0``); otherwise the
  first run is at start-date/start-time if that is ahead, then every ``interval``; ``interval=0`` with a past
  start never runs; a reboot resets ``run-count``. Entries fire on the simulated clock (real time plus
  ``add_traffic`` jumps), even while every service is disabled.
- ``/system/package/update``: ``check-for-updates`` fills ``installed-version``/``latest-version``/``status``
  ("New version is available" / "System is already up to date"), ``download`` stores the ``.npk`` in /file
  ("Downloaded, please reboot router to upgrade it"), ``install`` downloads and reboots; a ``.npk`` in /file is
  installed by the next reboot.
- CHR and x86 (``RouterSpec(board="CHR")``): no ``/system/routerboard`` and no ``/system/health`` (both answer
  ``no such command or directory``), a ``system-id`` and a CHR licence ``level`` instead of ``software-id``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping

from simulators.routeros.menus import INTERFACE_COUNTERS, Field, MenuSchema, ro
from simulators.routeros.state import (
    CommandError,
    Extension,
    Reply,
    RouterState,
    Table,
    no_such_command,
    register_command,
    register_extension,
)
from simulators.routeros.values import (
    format_bool,
    format_datetime,
    format_id,
    parse_bool,
    parse_duration,
    version_tuple,
)

SCRIPT_POLICIES = "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon"
CHANNELS = ("stable", "long-term", "testing", "development")
#: What the simulated upgrade server offers per channel, by major version (change with ``set_upgrade``).
DEFAULT_LATEST = {
    7: {"stable": "7.16.2", "long-term": "7.12.2", "testing": "7.17rc3", "development": "7.17beta6"},
    6: {"stable": "6.49.17", "long-term": "6.49.17", "testing": "6.49.17", "development": "6.49.17"},
}
STATUS_NEW = "New version is available"
STATUS_CURRENT = "System is already up to date"
STATUS_DOWNLOADED = "Downloaded, please reboot router to upgrade it"
STARTUP_DELAY = 3.0

FILE_SCHEMA = MenuSchema(
    "file",
    (
        Field("name", required=True),
        ro("type"),
        ro("size", default="0"),
        ro("creation-time"),
        ro("last-modified"),
        Field("contents", default=""),
        ro("package-name"),
        ro("package-version"),
        ro("package-architecture"),
    ),
    can_add=False,
)
SCRIPT_SCHEMA = MenuSchema(
    "system/script",
    (
        Field("name", required=True),
        ro("owner", default="admin"),
        Field("policy", default=SCRIPT_POLICIES),
        Field("dont-require-permissions", kind="bool", default="false"),
        Field("source", default=""),
        ro("last-started"),
        ro("run-count", default="0"),
        ro("invalid", "bool", "false"),
        Field("comment"),
    ),
)
SCHEDULER_SCHEMA = MenuSchema(
    "system/scheduler",
    (
        Field("name", required=True),
        Field("start-date"),
        Field("start-time"),
        Field("interval", kind="duration", default="0s"),
        Field("on-event", default=""),
        ro("owner", default="admin"),
        Field("policy", default=SCRIPT_POLICIES),
        ro("run-count", default="0"),
        ro("next-run"),
        Field("disabled", kind="bool", default="false"),
        Field("comment"),
    ),
)
CERTIFICATE_SCHEMA = MenuSchema(
    "certificate",
    (
        Field("name", required=True),
        Field("common-name", required=True),
        Field("key-usage", default="digital-signature,key-encipherment,tls-server"),
        Field("key-size", default="2048"),
        Field("days-valid", kind="int", default="365", minimum=1, maximum=36500),
        Field("subject-alt-name", default=""),
        ro("private-key", "bool", "false"),
        ro("trusted", "bool", "false"),
        ro("fingerprint"),
        ro("invalid-after"),
    ),
)
WIREGUARD_SCHEMA = MenuSchema(
    "interface/wireguard",
    (
        Field("name", required=True),
        Field("listen-port", kind="int", default="13231", minimum=1, maximum=65535),
        Field("mtu", kind="int", default="1420", minimum=1280, maximum=65535),
        Field("private-key"),
        ro("public-key"),
        ro("running", "bool", "true"),
        Field("disabled", kind="bool", default="false"),
        Field("comment"),
    ),
)
WIREGUARD_PEER_SCHEMA = MenuSchema(
    "interface/wireguard/peers",
    (
        Field("interface", kind="ref", ref="interface/wireguard", required=True),
        Field("public-key", required=True),
        Field("endpoint-address", default=""),
        Field("endpoint-port", kind="int", default="0", minimum=0, maximum=65535),
        Field("allowed-address", required=True),
        Field("persistent-keepalive", kind="duration"),
        Field("disabled", kind="bool", default="false"),
        Field("comment"),
    ),
    key=None,
    unique=(("interface", "public-key"),),
)
UPDATE_SCHEMA = MenuSchema(
    "system/package/update",
    (
        Field("channel", kind="choice", choices=CHANNELS, default="stable"),
        ro("installed-version"),
        ro("latest-version"),
        ro("status"),
    ),
    single=True,
)


class SystemData:
    """Per-router state of these menus that is not a menu property (kept on the router as ``state.system``)."""

    def __init__(self) -> None:
        self.file_data: dict[int, str] = {}
        self.next_run: dict[int, float | None] = {}
        self.sched_seen: dict[int, tuple[str, str, str, str]] = {}
        self.latest: dict[str, str] = {}
        self.upgrade_error: str | None = None
        self.running = False


def _data(state: RouterState) -> SystemData:
    data = getattr(state, "system", None)
    if data is None:
        data = SystemData()
        state.system = data  # type: ignore[attr-defined]
    return data


# ---------------------------------------------------------------- files


def contents_limit(state: RouterState) -> int:
    """Largest file whose ``contents`` the menu shows: 60 KiB on v7, 4 KiB on v6."""
    return 60 * 1024 if state.v7 else 4 * 1024


def _file_type(state: RouterState, name: str) -> str:
    if name.endswith(".npk"):
        return "package"
    if name.endswith(".rsc"):
        return "script" if state.v7 else ".rsc file"
    if name.endswith(".backup"):
        return "backup"
    suffix = name.rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else ""
    return f".{suffix} file" if suffix else "file"


def add_file(state: RouterState, name: str, contents: str, **extra: str) -> int:
    """Create or overwrite ``name`` in /file with ``contents``; return its number."""
    table = state.tables["file"]
    data = _data(state)
    number = table.find(name)
    stamp = format_datetime(state.wall_clock(), state.iso_dates)
    if number is None:
        number = table.insert({"name": name, "type": _file_type(state, name), "creation-time": stamp})
    item = table.items[number]
    item.update(extra)
    item["last-modified"] = stamp
    data.file_data[number] = contents
    _show_contents(state, number)
    return number


def read_file(state: RouterState, name: str) -> str | None:
    """The whole contents of a file, whatever its size (for the simulator's own use)."""
    number = state.tables["file"].find(name)
    return None if number is None else _data(state).file_data.get(number, "")


def _show_contents(state: RouterState, number: int) -> None:
    item = state.tables["file"].items[number]
    text = _data(state).file_data.get(number, "")
    size = len(text.encode())
    item["size"] = str(size)
    if size <= contents_limit(state) and item.get("type") != "package":
        item["contents"] = text
    else:
        item.pop("contents", None)
    if not state.v7:
        item.pop("last-modified", None)
    else:
        item.pop("creation-time", None)


def _file_add(state: RouterState, args: Mapping[str, str]) -> Reply:
    if state.version_info < (7, 9):
        raise no_such_command("add")
    name = (args.get("name") or "").strip().lstrip("/")
    if not name:
        raise CommandError("missing value(s) of argument(s) name", category=1)
    if state.tables["file"].find(name) is not None:
        raise CommandError("failure: file already exists", category=4)
    unknown = set(args) - {"name", "contents", "type"}
    if unknown:
        raise CommandError(f"unknown parameter {sorted(unknown)[0]}", category=1)
    number = add_file(state, name, args.get("contents", ""))
    return Reply(done={"ret": format_id(number)})


# ---------------------------------------------------------------- export

_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.:/,*+@%!^~-]+")


def quote(value: str) -> str:
    """A value as the console writes it: bare when safe, else in quotes with ``\\`` escapes."""
    if value and _PLAIN_VALUE.fullmatch(value):
        return value
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("?", "\\?")
               .replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t"))
    return f'"{escaped}"'


#: console menu, table, how rows are written, sensitive properties. Order follows a real export.
_EXPORT_MENUS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("/interface bridge", "interface", "bridges", ()),
    ("/interface ethernet", "interface", "ethernet", ()),
    ("/ip hotspot profile", "ip/hotspot/profile", "rows", ()),
    ("/ip hotspot user profile", "ip/hotspot/user/profile", "rows", ()),
    ("/ip pool", "ip/pool", "rows", ()),
    ("/ip hotspot", "ip/hotspot", "rows", ()),
    ("/ppp profile", "ppp/profile", "rows", ()),
    ("/user group", "user/group", "groups", ()),
    ("/ip address", "ip/address", "rows", ()),
    ("/ip hotspot user", "ip/hotspot/user", "rows", ("password",)),
    ("/ip service", "ip/service", "services", ()),
    ("/ppp secret", "ppp/secret", "rows", ("password",)),
    ("/system clock", "system/clock", "single", ()),
    ("/system identity", "system/identity", "single", ()),
    ("/system scheduler", "system/scheduler", "rows", ()),
    ("/system script", "system/script", "rows", ()),
)
_BUILTIN_GROUPS = ("read", "write", "full")
_SERVICE_DEFAULTS = {"telnet": "yes", "ftp": "yes"}
_ALWAYS = frozenset({"name", "address", "interface", "ranges"})


def _changed(table: Table, item: Mapping[str, str], sensitive: bool, hidden: tuple[str, ...]) -> list[str]:
    words = []
    for spec in sorted(table.schema.fields, key=lambda f: f.name):
        value = item.get(spec.name)
        if value is None or not spec.writable or spec.secret:
            continue
        if spec.name in hidden and not sensitive:
            continue
        if value == (spec.default or "") and spec.name not in _ALWAYS and not (spec.required and value):
            continue
        words.append(f"{spec.name}={quote(value)}")
    return words


def _section(state: RouterState, table_path: str, mode: str, sensitive: bool,
             hidden: tuple[str, ...]) -> list[str]:
    table = state.tables.get(table_path)
    if table is None:
        return []
    lines = []
    for item in table.items.values():
        if item.get("dynamic") == "true":
            continue
        if mode == "bridges":
            if item.get("type") == "bridge":
                lines.append(f"add name={quote(item['name'])}")
            continue
        if mode == "ethernet":
            if item.get("type") != "ether":
                continue
            words = [w for w in _changed(table, item, sensitive, hidden) if not w.startswith("name=")]
            if item.get("name") != item.get("default-name"):
                words.insert(0, f"name={quote(item['name'])}")
            if words:
                lines.append(f"set [ find default-name={item.get('default-name')} ] {' '.join(words)}")
            continue
        if mode == "services":
            words = []
            disabled = item.get("disabled", "false") == "true"
            if disabled != (_SERVICE_DEFAULTS.get(item["name"]) == "yes"):
                words.append(f"disabled={'yes' if disabled else 'no'}")
            if item.get("address"):
                words.append(f"address={quote(item['address'])}")
            if words:
                lines.append(f"set {item['name']} {' '.join(words)}")
            continue
        if mode == "groups" and item.get("name") in _BUILTIN_GROUPS:
            continue
        words = _changed(table, item, sensitive, hidden)
        if mode == "single":
            if words:
                lines.append("set " + " ".join(words))
            continue
        if item.get("default") == "true":
            words = [w for w in words if not w.startswith("name=")]
            where = "default=yes" if item.get("name") == "default" else f"name={quote(item.get('name', ''))}"
            if words:
                lines.append(f"set [ find {where} ] {' '.join(words)}")
            continue
        if words:
            lines.append("add " + " ".join(words))
    return lines


def _wrap(line: str, width: int = 80) -> list[str]:
    """Break a long line at spaces outside quotes, as the console does (``\\`` then 4 spaces)."""
    if len(line) <= width:
        return [line]
    pieces: list[str] = []
    current = ""
    in_quote = False
    escape = False
    token = ""
    for char in line:
        token += char
        if escape:
            escape = False
        elif char == "\\":
            escape = True
        elif char == '"':
            in_quote = not in_quote
        elif char == " " and not in_quote:
            if len(current) + len(token) > width - 2 and current:
                pieces.append(current.rstrip())
                current = "    "
            current += token
            token = ""
    if len(current) + len(token) > width - 2 and current.strip():
        pieces.append(current.rstrip())
        current = "    "
    current += token
    pieces.append(current)
    return [piece + " \\" for piece in pieces[:-1]] + [pieces[-1]]


def export_text(state: RouterState, *, sensitive: bool) -> str:
    """The configuration as ``/export`` writes it (compact, the default since 6.41)."""
    clock = state.wall_clock()
    stamp = format_datetime(clock, state.iso_dates)
    if not state.iso_dates:
        stamp = stamp.replace(stamp[:3], stamp[:3].lower(), 1)
    header = [f"# {stamp} by RouterOS {state.version}"]
    licence = state.tables["system/license"].items.get(1, {})
    if state.board.virtual:
        header.append(f"# system id = {licence.get('system-id', '')}")
    else:
        header.append(f"# software id = {licence.get('software-id', '')}")
    header.append("#")
    if not state.board.virtual:
        board = state.tables["system/routerboard"].items.get(1, {})
        header.append(f"# model = {board.get('model', state.board.model)}")
        header.append(f"# serial number = {board.get('serial-number', '')}")
    lines = list(header)
    for console, table_path, mode, hidden in _EXPORT_MENUS:
        body = _section(state, table_path, mode, sensitive, hidden)
        if body:
            lines.append(console)
            for line in body:
                lines.extend(_wrap(line))
    return "\n".join(lines) + "\n"


def _export(state: RouterState, args: Mapping[str, str]) -> Reply:
    allowed = {"file", "compact", "verbose", "terse"} | ({"show-sensitive", "hide-sensitive"} if state.v7
                                                           else {"hide-sensitive"})
    unknown = set(args) - allowed
    if unknown:
        raise CommandError(f"unknown parameter {sorted(unknown)[0]}", category=1)
    sensitive = "show-sensitive" in args if state.v7 else "hide-sensitive" not in args
    text = export_text(state, sensitive=sensitive)
    name = args.get("file")
    if name:
        name = name.strip().lstrip("/")
        if not name.endswith(".rsc"):
            name += ".rsc"
        add_file(state, name, text)
    # Without file= the text goes to the console only: the API gets a bare !done.
    return Reply()


def _import(state: RouterState, args: Mapping[str, str]) -> Reply:
    name = args.get("file-name") or args.get("numbers") or ""
    text = read_file(state, name.strip().lstrip("/"))
    if text is None:
        raise CommandError("no such item", category=0, status=404)
    run_script(state, text)
    state.log("system,info", f"Script file loaded and executed successfully ({name})")
    return Reply()


# ---------------------------------------------------------------- the console interpreter

def _tokens(text: str) -> Iterator[list[str]]:
    """Split console text into commands (lists of words); quotes are decoded, ``[...]`` kept whole."""
    words: list[str] = []
    word = ""
    has_word = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "\r\n":
            i += 1
            while i < len(text) and text[i] in "\r\n \t":
                i += 1
            continue
        if char == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\\" and i + 1 < len(text):
                    nxt = text[i + 1]
                    word += {"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt)
                    i += 2
                    continue
                word += text[i]
                i += 1
            if i >= len(text):
                raise CommandError("syntax error (unterminated quote)", category=1)
            has_word = True
            i += 1
            continue
        if char in "[{":
            close = "]" if char == "[" else "}"
            depth = 0
            start = i
            while i < len(text):
                if text[i] == char:
                    depth += 1
                elif text[i] == close:
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            word += text[start:i + 1]
            has_word = True
            i += 1
            continue
        if char == "#" and not has_word and not words:
            while i < len(text) and text[i] not in "\r\n":
                i += 1
            continue
        if char in " \t":
            if has_word:
                words.append(word)
                word, has_word = "", False
            i += 1
            continue
        if char in ";\r\n":
            if has_word:
                words.append(word)
                word, has_word = "", False
            if words:
                yield words
                words = []
            i += 1
            continue
        word += char
        has_word = True
        i += 1
    if has_word:
        words.append(word)
    if words:
        yield words


def _directories(state: RouterState) -> set[str]:
    """Every menu path and every prefix of one (``ip``, ``ip/hotspot``...): the words a path is made of."""
    from simulators.routeros.state import _SPECIAL

    known: set[str] = set()
    for path in state.tables:
        parts = path.split("/")
        known.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    for path in _SPECIAL:
        parts = path.split("/")[:-1]
        known.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return known


def _find(state: RouterState, menu: str, expression: str) -> str:
    """``[ find name=x ]`` / ``[ find where name=x ]`` / ``[ find default-name=ether1 ]`` as item ids."""
    inner = expression.strip()[1:-1].strip()
    words = next(_tokens(inner), [])
    if not words or words[0] != "find":
        raise CommandError(f"expression not supported by the simulator: {expression}", category=1)
    table = state.tables.get(menu)
    if table is None:
        raise no_such_command("find")
    conditions = {}
    for word in words[1:]:
        if word == "where":
            continue
        key, _, value = word.partition("=")
        conditions[key] = value
    return ",".join(format_id(n) for n, item in table.items.items()
                    if all(_same(item.get(k), v) for k, v in conditions.items()))


def _same(stored: str | None, wanted: str) -> bool:
    if stored == wanted:
        return True
    flag = parse_bool(wanted)
    return flag is not None and stored == format_bool(flag)


def run_script(state: RouterState, text: str) -> list[Reply]:
    """Run console text line by line, as a pasted script or ``/import`` does; stop at the first error.

    Understood: absolute (``/ip service set api disabled=no``, ``/ip/service/set``) and menu-relative
    commands after a bare menu line, positional item names, ``[ find key=value ]``, quoted values with
    escapes, ``\\`` line continuations, ``;``, comments, ``:log``, ``:delay`` and ``:put``.

    :raises CommandError: the first command the router refuses (earlier commands stay applied).
    """
    from simulators.routeros.state import _SPECIAL

    directories = _directories(state)
    context: list[str] = []
    replies = []
    for words in _tokens(text):
        head = words[0]
        if head.startswith(":"):
            replies.append(_console_builtin(state, head[1:], words[1:]))
            continue
        if head.startswith("/"):
            rest = [w for w in head.split("/") if w] + words[1:]
            path: list[str] = []
        else:
            rest = list(words)
            path = list(context)
        index = 0
        while (index < len(rest) and "=" not in rest[index] and not rest[index].startswith("[")
               and "/".join([*path, rest[index]]) in directories):
            path.append(rest[index])
            index += 1
        if index == len(rest):
            context = path
            continue
        verb = rest[index]
        menu = "/".join(path)
        full = "/".join([*path, verb])
        if full not in _SPECIAL and menu not in state.tables:
            raise no_such_command(verb)
        args: dict[str, str] = {}
        for word in rest[index + 1:]:
            key, equals, value = word.partition("=")
            if word.startswith("["):
                args["numbers"] = _find(state, menu, word)
            elif equals:
                args[key] = _find(state, menu, value) if value.startswith("[") else value
            elif "numbers" not in args and verb not in ("add", "print", "export"):
                args["numbers"] = word
            else:
                args[word] = ""
        if "numbers" in args and not args["numbers"]:
            continue  # [ find ... ] matched nothing: the console does nothing
        replies.append(state.execute("/" + full, args))
    return replies


def _console_builtin(state: RouterState, name: str, words: list[str]) -> Reply:
    if name == "log" and words:
        level = words[0]
        message = " ".join(w.partition("=")[2] if w.startswith("message=") else w for w in words[1:])
        if level not in ("info", "warning", "error", "debug"):
            raise CommandError(f"bad command name {level}", category=1)
        state.log(f"script,{level}", message)
        return Reply()
    if name in ("delay", "put", "local", "global"):
        return Reply()
    raise CommandError(f"bad command name {name}", category=1)


def _run_source(state: RouterState, source: str, origin: str) -> None:
    try:
        run_script(state, source)
    except CommandError as error:
        state.log("script,error", f"{origin}: {error.message}")


def _script_run(state: RouterState, args: Mapping[str, str]) -> Reply:
    table = state.tables["system/script"]
    wanted = args.get(".id") or args.get("numbers") or args.get("number") or ""
    number = table.find(wanted.strip())
    if number is None:
        raise CommandError("no such item", category=0, status=404)
    item = table.items[number]
    item["run-count"] = str(int(item.get("run-count", "0")) + 1)
    item["last-started"] = format_datetime(state.wall_clock(), state.iso_dates)
    run_script(state, item.get("source", ""))
    return Reply()


# ---------------------------------------------------------------- scheduler


def _parse_start(state: RouterState, item: Mapping[str, str]) -> float | None:
    """The simulated second of an entry's start-date/start-time (None for ``startup``)."""
    start_time = item.get("start-time", "")
    if start_time == "startup":
        return None
    date_text = item.get("start-date", "")
    clock = time.gmtime(state.wall_clock())
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date_text):
            year, month, day = (int(p) for p in date_text.split("-"))
        elif re.fullmatch(r"[a-z]{3}/\d{2}/\d{4}", date_text.lower()):
            from simulators.routeros.values import _MONTHS

            month = _MONTHS.index(date_text[:3].lower()) + 1
            day, year = int(date_text[4:6]), int(date_text[7:])
        else:
            year, month, day = clock.tm_year, clock.tm_mon, clock.tm_mday
        hours, minutes, seconds = (int(p) for p in start_time.split(":"))
    except ValueError:
        return state.now()
    epoch = _timegm(year, month, day, hours, minutes, seconds)
    return epoch - state.wall_base


def _timegm(year: int, month: int, day: int, hours: int, minutes: int, seconds: int) -> float:
    import calendar

    return float(calendar.timegm((year, month, day, hours, minutes, seconds, 0, 0, 0)))


def _schedule(state: RouterState, number: int, *, created: bool) -> None:
    data = _data(state)
    item = state.tables["system/scheduler"].items[number]
    now = state.now()
    if created and not item.get("start-time"):
        clock = state.wall_clock()
        item["start-time"] = time.strftime("%H:%M:%S", time.gmtime(clock))
    if created and not item.get("start-date") and item.get("start-time") != "startup":
        item["start-date"] = format_datetime(state.wall_clock(), state.iso_dates).split(" ")[0]
    interval = parse_duration(item.get("interval") or "0s") or 0
    if item.get("start-time") == "startup":
        due = state.boot_time + STARTUP_DELAY if interval == 0 else None
        if due is not None and due < now:
            due = None
    else:
        start = _parse_start(state, item)
        if start is None:
            due = None
        elif start > now:
            due = start
        elif interval:
            steps = int((now - start) // interval) + 1
            due = start + steps * interval
        else:
            due = None
    data.next_run[number] = due
    if due is None or item.get("disabled") == "true":
        item.pop("next-run", None)
    else:
        item["next-run"] = format_datetime(state.wall_base + due, state.iso_dates)
    data.sched_seen[number] = (item.get("start-date", ""), item.get("start-time", ""),
                               item.get("interval", ""), item.get("disabled", ""))


def _scheduler_written(state: RouterState) -> None:
    data = _data(state)
    table = state.tables["system/scheduler"]
    for number in list(data.next_run):
        if number not in table.items:
            data.next_run.pop(number, None)
            data.sched_seen.pop(number, None)
    for number, item in table.items.items():
        key = (item.get("start-date", ""), item.get("start-time", ""), item.get("interval", ""),
               item.get("disabled", ""))
        if data.sched_seen.get(number) != key:
            _schedule(state, number, created=number not in data.sched_seen)


def _fire(state: RouterState, number: int) -> None:
    data = _data(state)
    table = state.tables["system/scheduler"]
    item = table.items[number]
    due = data.next_run[number] or 0.0
    item["run-count"] = str(int(item.get("run-count", "0")) + 1)
    interval = parse_duration(item.get("interval") or "0s") or 0
    if interval:
        data.next_run[number] = due + interval
        item["next-run"] = format_datetime(state.wall_base + due + interval, state.iso_dates)
    else:
        data.next_run[number] = None
        item.pop("next-run", None)
    event = item.get("on-event", "")
    if state.tables["system/script"].find(event) is not None:
        try:
            _script_run(state, {"numbers": event})
        except CommandError as error:
            state.log("script,error", f"scheduler {item.get('name')}: {error.message}")
    else:
        _run_source(state, event, f"scheduler {item.get('name')}")


def run_timers(state: RouterState) -> None:
    """Fire every scheduler entry that is due on the simulated clock."""
    data = _data(state)
    if data.running or "system/scheduler" not in state.tables:
        return
    data.running = True
    try:
        table = state.tables["system/scheduler"]
        now = state.now()
        for _ in range(1000):  # a clock jump (add_traffic) fires every run it skipped, as real time would
            due_now = [n for n, when in data.next_run.items()
                       if when is not None and when <= now and n in table.items
                       and table.items[n].get("disabled") != "true"]
            if not due_now:
                break
            number = min(due_now, key=lambda n: (data.next_run[n] or 0.0, n))
            _fire(state, number)
    finally:
        data.running = False


# ---------------------------------------------------------------- package update


def _latest(state: RouterState, channel: str) -> str:
    data = _data(state)
    major = state.version_info[0] if state.version_info else 7
    return data.latest.get(channel) or DEFAULT_LATEST.get(major, DEFAULT_LATEST[7])[channel]


def _update_row(state: RouterState) -> dict[str, str]:
    return state.tables["system/package/update"].items[1]


def _check(state: RouterState) -> dict[str, str]:
    row = _update_row(state)
    data = _data(state)
    channel = row.get("channel", "stable")
    row["installed-version"] = state.version
    if data.upgrade_error:
        row["status"] = data.upgrade_error
        row.pop("latest-version", None)
    else:
        latest = _latest(state, channel)
        row["latest-version"] = latest
        row["status"] = STATUS_NEW if version_tuple(latest) > state.version_info else STATUS_CURRENT
    return {"channel": channel, **{k: row[k] for k in ("installed-version", "latest-version", "status")
                                   if k in row}}


def _check_for_updates(state: RouterState, args: Mapping[str, str]) -> Reply:
    return Reply(rows=[_check(state)])


def _download(state: RouterState, args: Mapping[str, str]) -> Reply:
    reply = _check(state)
    row = _update_row(state)
    if row["status"] == STATUS_NEW:
        latest = row["latest-version"]
        arch = state.board.architecture
        add_file(state, f"routeros-{latest}-{arch}.npk", "", **{
            "package-name": "routeros", "package-version": latest, "package-architecture": arch})
        row["status"] = STATUS_DOWNLOADED
        reply = {**reply, "status": STATUS_DOWNLOADED}
        state.log("system,info", f"downloaded routeros-{latest}-{arch}.npk")
    return Reply(rows=[reply])


def _install(state: RouterState, args: Mapping[str, str]) -> Reply:
    reply = _download(state, args)
    if _update_row(state)["status"] == STATUS_DOWNLOADED:
        state.log("system,info", "system will reboot to install the update")
        state.reboot()
    return reply


def _install_pending(state: RouterState) -> None:
    files = state.tables["file"]
    for number, item in list(files.items.items()):
        if item.get("type") != "package" or item.get("package-name") != "routeros":
            continue
        version = item.get("package-version", "")
        del files.items[number]
        _data(state).file_data.pop(number, None)
        if not version or version_tuple(version)[:1] != state.version_info[:1]:
            state.log("system,error", f"could not install routeros-{version}: not a version of this major")
            continue
        state.version = version
        state.version_info = version_tuple(version)
        state._build_time = format_datetime(state.wall_clock(), state.iso_dates)
        for package in state.tables["system/package"].items.values():
            if package.get("name") == "routeros":
                package["version"] = version
                package["build-time"] = state._build_time
        row = _update_row(state)
        row["installed-version"] = version
        row["status"] = ""
        if state.v7 and "system/routerboard" in state.tables:
            state.tables["system/routerboard"].items[1]["upgrade-firmware"] = version
        state.log("system,info", f"installed routeros-{version}")


# ---------------------------------------------------------------- wiring


def _populate(state: RouterState) -> None:
    for schema in (FILE_SCHEMA, SCRIPT_SCHEMA, SCHEDULER_SCHEMA, UPDATE_SCHEMA, CERTIFICATE_SCHEMA):
        state.tables[schema.path] = Table(schema)
    if state.v7:  # WireGuard arrived with RouterOS 7
        for schema in (WIREGUARD_SCHEMA, WIREGUARD_PEER_SCHEMA):
            state.tables[schema.path] = Table(schema)
    state.tables["system/package/update"].insert({"installed-version": state.version})
    _data(state)
    if state.board.virtual:
        state.tables.pop("system/routerboard", None)
        state.tables.pop("system/health", None)
        licence = state.tables["system/license"].items[1]
        system_id = licence.pop("software-id", "")
        licence.pop("nlevel", None)
        licence.pop("upgradable-to", None)
        licence["system-id"] = system_id.replace("-", "") + "A1b2"
        licence["level"] = "p1" if state.board.model == "CHR" else licence.get("level", "4")
        if state.board.model != "CHR":
            licence["software-id"] = system_id
            licence["nlevel"] = "4"


def _advance(state: RouterState) -> None:
    run_timers(state)


def _reboot(state: RouterState) -> None:
    _install_pending(state)
    data = _data(state)
    scheduler = state.tables["system/scheduler"]
    for number, item in scheduler.items.items():
        item["run-count"] = "0"
        _schedule(state, number, created=False)
    files = state.tables["file"]
    for number in list(files.items):
        _show_contents(state, number)
    data.running = False


def _wg_key(state: RouterState) -> str:
    import base64

    return base64.b64encode(bytes(state.rng.getrandbits(8) for _ in range(32))).decode()


def _certificate_sign(state: RouterState, args: Mapping[str, str]) -> Reply:
    table = state.tables["certificate"]
    wanted = args.get(".id") or args.get("numbers") or ""
    number = table.find(wanted.strip())
    if number is None:
        raise CommandError("no such item", category=0, status=404)
    item = table.items[number]
    if item.get("private-key") == "true":
        raise CommandError("failure: certificate is already signed", category=4)
    days = int(item.get("days-valid", "365"))
    item.update({"private-key": "true", "trusted": "true",
                 "fingerprint": hashlib.sha256(f"{item['name']}{state.now()}".encode()).hexdigest(),
                 "invalid-after": format_datetime(state.wall_clock() + days * 86400, state.iso_dates)})
    return Reply(rows=[{"progress": "done"}])


def _written(state: RouterState, path: str) -> None:
    if path == "interface/wireguard":
        for item in state.tables[path].items.values():
            # RouterOS makes a private key when none is given, and shows the public key that goes with it.
            if not item.get("private-key"):
                item["private-key"] = _wg_key(state)
            if not item.get("public-key"):
                item["public-key"] = hashlib.sha256(item["private-key"].encode()).digest().hex()[:43] + "="
            interfaces = state.tables["interface"]
            if interfaces.find(item["name"]) is None:  # every interface also shows in /interface
                number = interfaces.insert({"name": item["name"], "type": "wg", "running": "true",
                                            "actual-mtu": item.get("mtu", "1420"), "slave": "false"})
                state._live[("interface", number)] = dict.fromkeys(INTERFACE_COUNTERS, 0.0)
                state._rates[("interface", number)] = (0.0, 0.0)
    if path == "system/scheduler":
        _scheduler_written(state)
    elif path == "file":
        files = state.tables["file"]
        data = _data(state)
        for number, item in files.items.items():
            if "contents" in item and item["contents"] != data.file_data.get(number, ""):
                data.file_data[number] = item["contents"]
                item["last-modified"] = format_datetime(state.wall_clock(), state.iso_dates)
                _show_contents(state, number)
        for number in list(data.file_data):
            if number not in files.items:
                del data.file_data[number]


def set_upgrade(state: RouterState, latest: Mapping[str, str] | None = None, error: str | None = None) -> None:
    """Change what the upgrade server offers (``{"stable": "7.16.3"}``) or make it fail with ``error``."""
    data = _data(state)
    if latest is not None:
        data.latest.update(latest)
    data.upgrade_error = error


def scheduler_next_runs(state: RouterState) -> dict[str, float | None]:
    """Each scheduler entry's next run as simulated seconds (for tests)."""
    table = state.tables["system/scheduler"]
    data = _data(state)
    return {item["name"]: data.next_run.get(number) for number, item in table.items.items()}


register_extension(Extension(populate=_populate, advance=_advance, reboot=_reboot, on_write=_written))
_HANDLERS: dict[str, tuple[str, Callable[[RouterState, Mapping[str, str]], Reply]]] = {
    "export": ("read", _export),
    "import": ("write", _import),
    "certificate/sign": ("write", _certificate_sign),
    "file/add": ("write", _file_add),
    "system/script/run": ("test", _script_run),
    "system/package/update/check-for-updates": ("read", _check_for_updates),
    "system/package/update/download": ("write", _download),
    "system/package/update/install": ("reboot", _install),
}
for _path, (_policy, _handler) in _HANDLERS.items():
    register_command(_path, _policy, _handler)
