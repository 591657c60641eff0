"""The one client interface both transports implement, and everything built on its five primitives.

A transport provides ``_print``, ``_add``, ``_set``, ``_remove`` and ``_call``; this class turns the
contract's command form and the app's device reads into those calls, so the rows, errors and
behaviour above the driver are the same whichever protocol ran.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType

from routeros.config import RouterConfig
from routeros.connection import Deadline
from routeros.errors import CommandRejected, InvalidRequest, PermissionDenied
from routeros.protocol import query_words
from routeros.values import Row

Query = Mapping[str, object] | Iterable[str]

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Keys of "params"/"data" that name the item an operation targets, most specific first.
_ID_KEYS = (".id", "numbers", "number")


def clean_path(path: str) -> str:
    """``/ip/address/`` or ``ip address`` → ``ip/address``.

    :raises InvalidRequest: if nothing is left.
    """
    cleaned = "/".join(part for part in path.replace(" ", "/").split("/") if part)
    if not cleaned:
        raise InvalidRequest("command path is empty")
    return cleaned


def split_action(path: str) -> tuple[str, str]:
    """``ip/hotspot/add`` → ``("ip/hotspot", "add")``; a single segment has no menu."""
    menu, _, action = path.rpartition("/")
    return menu, action


def _proplist(value: object) -> list[str] | None:
    """``.proplist`` as REST accepts it: a comma-separated string or a list of names."""
    if value is None:
        return None
    if isinstance(value, str):
        return [name for name in value.split(",") if name]
    if isinstance(value, Iterable):
        return [str(name) for name in value]
    raise InvalidRequest(f".proplist must be a string or a list of names, got {value!r}")


#: Actions a :class:`Command` can name besides any console command (``system/reboot`` is ``call``).
PIPELINE_ACTIONS = frozenset({"print", "add", "set", "remove", "call"})


@dataclass(frozen=True)
class Command:
    """One command of a :meth:`Client.pipeline`: ``action`` on the menu ``path``.

    ``add`` takes ``data``; ``set`` and ``remove`` take ``item`` (an internal id ``*1``; ``None`` sets a
    single-item menu); ``print`` takes ``query``/``proplist``; ``call`` runs ``path`` as a console command
    with ``data`` as its arguments.
    """

    path: str
    action: str = "print"
    data: Mapping[str, object] = field(default_factory=dict)
    item: str | None = None
    query: Mapping[str, object] | None = None
    proplist: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.action not in PIPELINE_ACTIONS:
            raise InvalidRequest(f"pipeline action must be one of {', '.join(sorted(PIPELINE_ACTIONS))}")
        if self.action == "remove" and not self.item:
            raise InvalidRequest("remove needs the item's internal id")
        if self.item is not None and not self.item.startswith("*"):
            raise InvalidRequest(f"pipelined commands address items by internal id (*1), got {self.item!r}")


@dataclass
class Result:
    """One pipelined command's outcome: its rows (an add's created row, with ``.id``), or the router's refusal."""

    rows: list[Row] = field(default_factory=list)
    error: CommandRejected | PermissionDenied | None = None

    @property
    def ok(self) -> bool:
        """True when the router carried the command out."""
        return self.error is None


class Client(ABC):
    """A logged-in session with one router. Not thread-safe: use one per thread (or a :class:`ClientPool`)."""

    #: ``"rest"``, ``"api"`` or ``"api-ssl"``: the protocol that actually runs.
    protocol: str
    config: RouterConfig
    #: A deadline shared by several calls (one web request's); no call outlives it. See :meth:`within`.
    _ceiling: Deadline | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    @property
    @abstractmethod
    def usable(self) -> bool:
        """False once the connection is closed or its stream can no longer be trusted."""

    @abstractmethod
    def looks_alive(self) -> bool:
        """A cheap local check (no round trip) that the idle connection was not closed or disturbed."""

    @abstractmethod
    def _print(
        self, path: str, words: list[str], proplist: list[str] | None, deadline: Deadline
    ) -> list[Row]:
        """Rows of ``path`` matching ``?`` query ``words``."""

    @abstractmethod
    def _add(self, path: str, data: Mapping[str, object], deadline: Deadline) -> Row:
        """Create an item and return it as the router shows it."""

    @abstractmethod
    def _set(self, path: str, item_id: str | None, data: Mapping[str, object], deadline: Deadline) -> Row:
        """Change an item (by internal id; ``None`` for a single-item menu) and return it as shown."""

    @abstractmethod
    def _remove(self, path: str, item_id: str, deadline: Deadline) -> None:
        """Delete an item by internal id."""

    @abstractmethod
    def _call(self, path: str, args: Mapping[str, object], deadline: Deadline) -> list[Row]:
        """Run a console command; ``!re`` rows, else the ``!done`` data as one row, else nothing."""

    def _deadline(self, timeout: float | None) -> Deadline:
        own = Deadline(self.config.timeout if timeout is None else timeout, self.config.where)
        ceiling = self._ceiling
        return ceiling if ceiling is not None and ceiling.expires < own.expires else own

    @contextmanager
    def within(self, deadline: Deadline | None) -> Iterator[Client]:
        """Bound every call in the block by ``deadline`` as well as by its own timeout (whichever comes first).

        One web request's many calls share one deadline this way, so the request finishes in time however
        many round trips it makes.
        """
        previous = self._ceiling
        self._ceiling = deadline if previous is None or (deadline is not None and deadline.expires < previous.expires) \
            else previous
        try:
            yield self
        finally:
            self._ceiling = previous

    def pipeline(self, commands: Sequence[Command], *, timeout: float | None = None) -> list[Result]:
        """Run ``commands`` and return one :class:`Result` per command, in order, within one deadline.

        The binary API sends them at once as tagged commands on this connection; REST keeps a few requests in
        flight. A router's refusal of one command is that command's ``error``; the others still run.

        :raises RouterOSError: transport errors, timeouts, ``!fatal`` (the whole pipeline's outcome is then
            unknown: read the router's state before retrying).
        """
        deadline = self._deadline(timeout)
        return [self._run_command(command, deadline) for command in commands]

    def _run_command(self, command: Command, deadline: Deadline) -> Result:
        """Run one pipelined command on its own (the sequential fallback and REST's worker step)."""
        menu = clean_path(command.path)
        try:
            if command.action == "add":
                rows = [self._add(menu, command.data, deadline)]
            elif command.action == "set":
                rows = [self._set(menu, command.item, command.data, deadline)]
            elif command.action == "remove":
                self._remove(menu, command.item or "", deadline)
                rows = []
            elif command.action == "print":
                words = query_words(command.query) if command.query else []
                rows = self._print(menu, words, list(command.proplist) if command.proplist else None, deadline)
            else:
                rows = self._call(menu, command.data, deadline)
        except (CommandRejected, PermissionDenied) as exc:
            return Result([], exc)
        return Result(rows)

    def print(
        self,
        path: str,
        query: Query | None = None,
        proplist: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Row]:
        """Rows of a menu, filtered by ``query`` (see :func:`routeros.protocol.query_words`).

        :raises RouterOSError: any error of the tree.
        """
        menu = clean_path(path)
        if menu.endswith("/print"):
            menu = menu[: -len("/print")]
        words = query_words(query) if query else []
        props = list(proplist) if proplist is not None else None
        return self._print(menu, words, props, self._deadline(timeout))

    def add(self, path: str, data: Mapping[str, object], *, timeout: float | None = None) -> Row:
        """Create an item; return the created row (with its ``.id``).

        :raises RouterOSError: any error of the tree.
        """
        return self._add(clean_path(path), data, self._deadline(timeout))

    def set(
        self, path: str, item: str | None, data: Mapping[str, object], *, timeout: float | None = None
    ) -> Row:
        """Change the item with internal id (``*1``) or name ``item``; return the updated row.

        ``item`` is ``None`` for single-item menus such as ``system/identity``.

        :raises RouterOSError: any error of the tree.
        """
        menu = clean_path(path)
        deadline = self._deadline(timeout)
        item_id = None if item is None else self._resolve_id(menu, item, deadline)
        return self._set(menu, item_id, data, deadline)

    def remove(self, path: str, item: str, *, timeout: float | None = None) -> None:
        """Delete the item with internal id (``*1``) or name ``item``.

        :raises RouterOSError: any error of the tree.
        """
        menu = clean_path(path)
        deadline = self._deadline(timeout)
        self._remove(menu, self._resolve_id(menu, item, deadline), deadline)

    def call(
        self, command: str, args: Mapping[str, object] | None = None, *, timeout: float | None = None
    ) -> list[Row]:
        """Run any console command (``system/reboot``, ``ip/address/print``...) and return its rows.

        :raises RouterOSError: any error of the tree.
        """
        return self._call(clean_path(command), args or {}, self._deadline(timeout))

    def run(
        self,
        command: str,
        method: str = "GET",
        params: Mapping[str, object] | None = None,
        data: Mapping[str, object] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Row]:
        """Carry the contract's command form onto this protocol.

        GET → print with ``?`` queries from ``params``; POST ``…/add`` → add; PUT/PATCH ``…/set`` →
        set; DELETE ``…/remove`` → remove; anything else → the console command with ``data``.
        Add and set return ``[row]``, remove returns ``[]``.

        :raises InvalidRequest: for an unknown method or a set/remove that names no item.
        :raises RouterOSError: any other error of the tree.
        """
        verb = (method or "GET").upper()
        if verb not in _METHODS:
            raise InvalidRequest(f"method must be one of {', '.join(sorted(_METHODS))}, got {method!r}")
        path = clean_path(command)
        menu, action = split_action(path)
        params = dict(params or {})
        body = dict(data or {})
        deadline = self._deadline(timeout)
        if verb == "GET":
            props = _proplist(params.pop(".proplist", None))
            target = menu if action == "print" and menu else path
            query = query_words(params) if params else []
            return self._print(target, query, props, deadline)
        if verb == "POST" and action == "add" and menu:
            return [self._add(menu, body, deadline)]
        if verb in ("PUT", "PATCH") and action == "set" and menu:
            # No item is fine: single-item menus (system/identity, ip/dns...) are set as a whole.
            item = self._pop_item(body, params)
            item_id = None if item is None else self._resolve_id(menu, item, deadline)
            return [self._set(menu, item_id, body, deadline)]
        if verb == "DELETE" and action == "remove" and menu:
            item = self._pop_item(body, params)
            if item is None:
                raise InvalidRequest("remove needs the item: give '.id' (or 'numbers') in data")
            self._remove(menu, self._resolve_id(menu, item, deadline), deadline)
            return []
        return self._call(path, body or params, deadline)

    @staticmethod
    def _pop_item(body: dict[str, object], params: dict[str, object]) -> str | None:
        for source in (body, params):
            for key in _ID_KEYS:
                for spelled in (key, f"?{key}"):
                    if spelled in source and source[spelled] not in (None, ""):
                        return str(source.pop(spelled))
        return None

    def _resolve_id(self, menu: str, item: str, deadline: Deadline) -> str:
        """Internal ids pass through; a name is looked up so both protocols address items the same way."""
        if item.startswith("*"):
            return item
        rows = self._print(menu, [f"?name={item}"], [".id", "name"], deadline)
        if not rows or ".id" not in rows[0]:
            raise CommandRejected(f"no such item ({item})", category=0)
        return rows[0][".id"]

    def ping(self, *, timeout: float | None = None) -> None:
        """Make one cheap round trip (used as the pool's health check).

        :raises RouterOSError: any error of the tree.
        """
        self._print("system/identity", [], None, self._deadline(timeout))

    def _one(self, path: str, timeout: float | None) -> Row:
        rows = self._print(path, [], None, self._deadline(timeout))
        return rows[0] if rows else {}

    def identity(self, *, timeout: float | None = None) -> str:
        """The router's name (``/system identity``).

        :raises RouterOSError: any error of the tree.
        """
        return self._one("system/identity", timeout).get("name", "")

    def resource(self, *, timeout: float | None = None) -> Row:
        """``/system resource``: version, uptime, cpu-load, memory and disk figures.

        :raises RouterOSError: any error of the tree.
        """
        return self._one("system/resource", timeout)

    def routerboard(self, *, timeout: float | None = None) -> Row:
        """``/system routerboard``: model, serial and firmware (``routerboard: false`` on CHR/x86).

        :raises RouterOSError: any error of the tree.
        """
        return self._one("system/routerboard", timeout)

    def license(self, *, timeout: float | None = None) -> Row:
        """``/system license``: level and software id.

        :raises RouterOSError: any error of the tree.
        """
        return self._one("system/license", timeout)

    def clock(self, *, timeout: float | None = None) -> Row:
        """``/system clock``: date, time and time zone.

        :raises RouterOSError: any error of the tree.
        """
        return self._one("system/clock", timeout)

    def interfaces(self, *, timeout: float | None = None) -> list[Row]:
        """Every row of ``/interface``.

        :raises RouterOSError: any error of the tree.
        """
        return self._print("interface", [], None, self._deadline(timeout))

    def health(self, *, timeout: float | None = None) -> Row:
        """``/system health`` as one ``{name: value}`` mapping, whatever the version's shape.

        RouterOS 7 answers one row per sensor (``name``/``value``/``type``); RouterOS 6 answers one
        row with a property per sensor. Both become ``{"temperature": "41", "voltage": "24.1"}``.

        :raises RouterOSError: any error of the tree.
        """
        rows = self._print("system/health", [], None, self._deadline(timeout))
        merged: Row = {}
        for row in rows:
            if "name" in row and "value" in row:
                merged[row["name"]] = row["value"]
            else:
                merged.update((key, value) for key, value in row.items() if not key.startswith("."))
        return merged
