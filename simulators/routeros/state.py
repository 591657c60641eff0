"""One router's configuration tree and the console commands that read and change it.

Everything here is synchronous and free of I/O: the binary API, API-SSL and REST doors all call
:meth:`RouterState.execute`, so a change made through one door is what the others see.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from simulators.routeros.menus import (
    BOARDS,
    HEALTH_V6,
    HEALTH_V7,
    HOTSPOT_COUNTERS,
    INTERFACE_COUNTERS,
    MIKROTIK_OUIS,
    SCHEMAS,
    USER_GROUP_POLICIES,
    VIRTUAL_BOARDS,
    Board,
    Field,
    MenuSchema,
)
from simulators.routeros.query import QueryError, compile_query
from simulators.routeros.values import (
    format_bool,
    format_date,
    format_datetime,
    format_duration,
    format_id,
    format_time,
    parse_bool,
    parse_duration,
    parse_id,
    version_tuple,
)

PERMISSION_DENIED = "not enough permissions (9)"
LOG_LIMIT = 1000
#: Print arguments that only change how the console renders, accepted and ignored.
_PRINT_FLAGS = frozenset({"detail", "stats", "terse", "without-paging", "brief", "value-list", "follow", "oid"})
_SERVICE_PORTS = (("telnet", 23, True), ("ftp", 21, True), ("www", 80, False), ("ssh", 22, False),
                  ("www-ssl", 443, False), ("api", 8728, False), ("winbox", 8291, False),
                  ("api-ssl", 8729, False))


class CommandError(Exception):
    """A command the router refuses: becomes ``!trap`` on the API and an error body on REST."""

    def __init__(self, message: str, category: int | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.status = status


def no_such_command(word: str) -> CommandError:
    """The error for an unknown menu or command word."""
    return CommandError(f"no such command or directory ({word})", status=400)


def no_such_item() -> CommandError:
    """The error for an id or name that matches nothing."""
    return CommandError("no such item", category=0, status=404)


@dataclass
class Reply:
    """What a command produced: ``!re`` rows and the attributes of ``!done``."""

    rows: list[dict[str, str]] = field(default_factory=list)
    done: dict[str, str] = field(default_factory=dict)


class Table:
    """The items of one menu, in id order."""

    __slots__ = ("items", "next_id", "schema")

    def __init__(self, schema: MenuSchema) -> None:
        self.schema = schema
        self.items: dict[int, dict[str, str]] = {}
        self.next_id = 1

    def insert(self, values: Mapping[str, str]) -> int:
        """Add an item with the schema's defaults filled in; return its number."""
        item = {f.name: f.default for f in self.schema.fields if f.default is not None}
        item.update(values)
        number = self.next_id
        self.next_id += 1
        self.items[number] = item
        return number

    def find(self, key: str) -> int | None:
        """The number of the item whose id (``*1``) or key property (name) is ``key``."""
        number = parse_id(key)
        if number is not None and number in self.items:
            return number
        if self.schema.key:
            for number, item in self.items.items():
                if item.get(self.schema.key) == key:
                    return number
        return None

    def names(self) -> list[str]:
        """Every value of the key property."""
        key = self.schema.key or "name"
        return [item[key] for item in self.items.values() if key in item]


Listener = Callable[[dict[str, str]], None]
Handler = Callable[["RouterState", Mapping[str, str]], Reply]


@dataclass
class Extension:
    """Menus added by another module: called when a router is built, on every clock advance and reboot,
    and after a write to a menu (``on_write(state, path)``)."""

    populate: Callable[[RouterState], None] | None = None
    advance: Callable[[RouterState], None] | None = None
    reboot: Callable[[RouterState], None] | None = None
    on_write: Callable[[RouterState, str], None] | None = None


#: Every registered extension, in registration order (see :func:`register_extension`).
EXTENSIONS: list[Extension] = []


def register_extension(extension: Extension) -> None:
    """Add menus and behaviour from another module (the simulator's own extensions register on import)."""
    EXTENSIONS.append(extension)


def register_command(path: str, policy: str, handler: Handler) -> None:
    """Answer the console command ``path`` (``system/script/run``) with ``handler`` after checking ``policy``."""
    _SPECIAL[path.strip("/")] = (policy, handler)


class RouterState:
    """The configuration and living data of one virtual router."""

    def __init__(
        self,
        *,
        name: str,
        version: str,
        username: str,
        password: str,
        seed: str,
        board: str | None = None,
    ) -> None:
        self.version = version
        self.version_info = version_tuple(version)
        self.v7 = self.version_info >= (7,)
        self.rng = random.Random(seed)  # noqa: S311 - simulated data, not security
        self.board = self._pick_board(board)
        self._cpu_phase = self.rng.random() * 1000
        self.wall_base = time.time()
        self._mono_base = time.monotonic()
        self.time_offset = 0.0
        self.boot_time = -float(self.rng.randint(600, 40 * 86400))
        self._last_advance = self.now()
        self.tables: dict[str, Table] = {}
        self._live: dict[tuple[str, int], dict[str, float]] = {}
        self._rates: dict[tuple[str, int], tuple[float, float]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self.on_services_changed: Callable[[], None] | None = None
        self.on_reboot: Callable[[], None] | None = None
        self._populate(name, username, password)

    def _pick_board(self, board: str | None) -> Board:
        if board:
            for candidate in (*BOARDS, *VIRTUAL_BOARDS):
                if board in (candidate.model, candidate.board_name):
                    return candidate
            names = [b.model for b in (*BOARDS, *VIRTUAL_BOARDS)]
            raise ValueError(f"unknown board {board!r}; choose one of {names}")
        return self.rng.choice(BOARDS)

    def now(self) -> float:
        """Simulated seconds since the simulator started (real time plus :meth:`add_traffic` jumps)."""
        return time.monotonic() - self._mono_base + self.time_offset

    def wall_clock(self) -> float:
        """The router's clock as a Unix time."""
        return self.wall_base + self.now()

    @property
    def iso_dates(self) -> bool:
        """True on v7.10 and later, which write dates as ``2023-07-14``."""
        return self.version_info >= (7, 10)

    @property
    def sends_empty(self) -> bool:
        """True on v7.18 and later, whose API answers an empty print with ``!empty``."""
        return self.version_info >= (7, 18)

    @property
    def has_rest(self) -> bool:
        """REST exists from v7.1 (over HTTPS; plain HTTP from v7.9)."""
        return self.version_info >= (7, 1)

    @property
    def has_rest_http(self) -> bool:
        """REST over plain HTTP (the www service) exists from v7.9."""
        return self.version_info >= (7, 9)

    @property
    def policies(self) -> tuple[str, ...]:
        """Every user-group policy this version knows."""
        return (*USER_GROUP_POLICIES, "rest-api") if self.v7 else (*USER_GROUP_POLICIES, "dude", "tikapp")

    def _mac(self, index: int) -> str:
        base = self._mac_base + index
        tail = ":".join(f"{(base >> shift) & 0xFF:02X}" for shift in (16, 8, 0))
        return f"{self._oui}:{tail}"

    def _table(self, schema: MenuSchema) -> Table:
        table = Table(schema)
        self.tables[schema.path] = table
        return table

    def _populate(self, name: str, username: str, password: str) -> None:
        rng = self.rng
        board = self.board
        self._oui = rng.choice(MIKROTIK_OUIS)
        self._mac_base = rng.randrange(0, 0xFFFF00)
        for schema in SCHEMAS.values():
            self._table(schema)
        health = self._table(HEALTH_V7 if self.v7 else HEALTH_V6)
        wall_now = self.wall_clock()
        boot_wall = self.wall_base + self.boot_time
        build = wall_now - rng.randint(30 * 86400, 400 * 86400)

        interfaces = self.tables["interface"]
        specs = [("ether1", "ether", True), ("ether2", "ether", True), ("ether3", "ether", True),
                 ("ether4", "ether", False), ("ether5", "ether", True), ("wlan1", "wlan", True),
                 ("bridge", "bridge", True)]
        for index, (if_name, if_type, running) in enumerate(specs):
            values = {
                "name": if_name, "type": if_type, "actual-mtu": "1500",
                "l2mtu": "1598" if if_type == "ether" else ("1600" if if_type == "wlan" else "1598"),
                "max-l2mtu": "9578" if if_type == "ether" else "1600",
                "mac-address": self._mac(index if if_type != "bridge" else 1),
                "running": format_bool(running),
                "slave": format_bool(if_name in ("ether2", "ether3", "ether4", "wlan1")),
            }
            if if_type != "bridge":
                values["default-name"] = if_name
            if running:
                values["last-link-up-time"] = format_datetime(boot_wall + rng.randint(5, 60), self.iso_dates)
            number = interfaces.insert(values)
            scale = 2_000_000 if if_name == "ether1" else 300_000
            self._rates[("interface", number)] = (rng.uniform(0.2, 1.0) * scale, rng.uniform(0.1, 0.6) * scale)
            self._live[("interface", number)] = {counter: 0.0 for counter in INTERFACE_COUNTERS}
        self._reset_interface_counters(initial=True)

        wan = f"203.0.113.{rng.randint(2, 254)}"
        addresses = self.tables["ip/address"]
        for address, interface, comment in (("192.168.88.1/24", "bridge", "defconf"),
                                            (f"{wan}/24", "ether1", None),
                                            ("10.5.50.1/24", "ether5", "hotspot network")):
            values = {"address": address, "interface": interface, "actual-interface": interface,
                      "network": str(ipaddress.ip_interface(address).network.network_address)}
            if comment:
                values["comment"] = comment
            addresses.insert(values)

        pools = self.tables["ip/pool"]
        pools.insert({"name": "default-dhcp", "ranges": "192.168.88.10-192.168.88.254"})
        pools.insert({"name": "hs-pool-5", "ranges": "10.5.50.2-10.5.50.254"})

        services = self.tables["ip/service"]
        for service, port, disabled in _SERVICE_PORTS:
            values = {"name": service, "port": str(port), "disabled": format_bool(disabled)}
            if service in ("api-ssl", "www-ssl"):
                values["certificate"] = "simulator"
            services.insert(values)

        profiles = self.tables["ip/hotspot/profile"]
        profiles.insert({"name": "default", "hotspot-address": "", "default": "true"})
        profiles.insert({"name": "hsprof1", "hotspot-address": "10.5.50.1",
                         "dns-name": f"hotspot.{name.lower()}.example.net"})
        self.tables["ip/hotspot"].insert({"name": "hotspot1", "interface": "ether5",
                                          "address-pool": "hs-pool-5", "profile": "hsprof1"})
        user_profiles = self.tables["ip/hotspot/user/profile"]
        user_profiles.insert({"name": "default", "default": "true"})
        user_profiles.insert({"name": "1h-2M", "rate-limit": "2M/2M", "session-timeout": "1h"})
        hotspot_users = self.tables["ip/hotspot/user"]
        hotspot_users.insert({"name": "default-trial", "dynamic": "true"})

        ppp_profiles = self.tables["ppp/profile"]
        ppp_profiles.insert({"name": "default", "default": "true"})
        ppp_profiles.insert({"name": "default-encryption", "use-encryption": "yes", "default": "true"})
        self.tables["ppp/secret"].insert({"name": "vpn-office", "password": "vpn-secret-1", "service": "l2tp",
                                          "remote-address": "10.99.0.2", "local-address": "10.99.0.1"})

        groups = self.tables["user/group"]
        everything = self.policies
        read_only = {"ftp", "write", "policy", "sensitive", "dude"}
        for group, denied in (("read", read_only), ("write", {"ftp", "policy", "sensitive", "dude"}),
                              ("full", set())):
            allowed = [p for p in everything if p not in denied]
            refused = [f"!{p}" for p in everything if p in denied]
            groups.insert({"name": group, "policy": ",".join(allowed + refused)})
        users = self.tables["user"]
        users.insert({"name": "admin", "group": "full", "password": "admin" if username != "admin" else password,
                      "comment": "system default user"})
        if username != "admin":
            users.insert({"name": username, "group": "full", "password": password})

        serial = board.serial_prefix + "".join(rng.choice("0123456789ABCDEF") for _ in range(10))
        firmware = self.version.split()[0] if self.v7 else "6.45.9"
        self.tables["system/identity"].insert({"name": name})
        self.tables["system/clock"].insert({})
        self.tables["system/routerboard"].insert({
            "board-name": board.board_name, "model": board.model, "serial-number": serial,
            "firmware-type": board.firmware_type, "factory-firmware": "6.45.9",
            "current-firmware": firmware, "upgrade-firmware": firmware,
        })
        license_row = {"software-id": "-".join("".join(rng.choice("0123456789ABCDEFGHIJKLMNPQRSTUVWXYZ")
                                                       for _ in range(4)) for _ in range(2)),
                       "nlevel": "4" if board.memory_mib < 1024 else "6"}
        if self.v7:
            license_row["level"] = license_row["nlevel"]
        else:
            license_row["upgradable-to"] = "v7.x"
        self.tables["system/license"].insert(license_row)
        self._build_time = format_datetime(build, self.iso_dates)
        self.tables["system/package"].insert({"name": "routeros", "version": self.version,
                                              "build-time": self._build_time})
        self.tables["system/resource"].insert({})
        if self.v7:
            for health_name, value, unit in (("voltage", "24.1", "V"), ("temperature", "37", "C"),
                                             ("cpu-temperature", "48", "C")):
                health.insert({"name": health_name, "value": value, "type": unit})
        else:
            health.insert({"voltage": "24.1", "temperature": "37"})
        self.log("system,info", "router rebooted")
        for extension in EXTENSIONS:
            if extension.populate:
                extension.populate(self)
        self._refresh_living()

    def subscribe(self, path: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every changed row of menu ``path``; return the unsubscribe function.

        :raises CommandError: if the menu does not exist.
        """
        self._menu(path.strip("/"), "listen")
        listeners = self._listeners.setdefault(path.strip("/"), [])
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def _notify(self, path: str, number: int, dead: bool = False) -> None:
        listeners = self._listeners.get(path)
        if not listeners:
            return
        if dead:
            row = {".id": format_id(number), ".dead": "yes"}
        else:
            row = self._render(self.tables[path], number, None)
        for listener in list(listeners):
            listener(row)

    def log(self, topics: str, message: str) -> None:
        """Append a line to /log, keeping the last :data:`LOG_LIMIT` lines."""
        table = self.tables["log"]
        clock = self.wall_clock()
        number = table.insert({"time": format_time(clock), "topics": topics, "message": message})
        if len(table.items) > LOG_LIMIT:
            del table.items[next(iter(table.items))]
        self._notify("log", number)

    def uptime(self) -> float:
        """Seconds since the last boot."""
        return self.now() - self.boot_time

    def _reset_interface_counters(self, initial: bool = False) -> None:
        for (path, number), live in self._live.items():
            if path != "interface":
                continue
            rx_rate, tx_rate = self._rates[(path, number)]
            span = self.uptime() if initial else 0.0
            running = self.tables["interface"].items[number]["running"] == "true"
            live.update(dict.fromkeys(INTERFACE_COUNTERS, 0.0))
            if running:
                live["rx-byte"] = rx_rate * span
                live["tx-byte"] = tx_rate * span

    def add_traffic(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead so uptime, counters and hotspot sessions advance."""
        self.time_offset += seconds
        self._advance()

    def reboot(self) -> None:
        """Restart: uptime from zero, counters cleared, hotspot sessions and API sessions dropped."""
        self._advance()
        self.boot_time = self.now()
        self._reset_interface_counters()
        active = self.tables["ip/hotspot/active"]
        for number in list(active.items):
            self._end_session(number, "router rebooted")
        self.tables["user/active"].items.clear()
        self.log("system,info", "router rebooted")
        for extension in EXTENSIONS:
            if extension.reboot:
                extension.reboot(self)
        self._refresh_living()
        if self.on_reboot:
            self.on_reboot()

    def _advance(self) -> None:
        now = self.now()
        elapsed = now - self._last_advance
        self._last_advance = now
        if elapsed > 0:
            self._grow_interfaces(elapsed)
            self._grow_hotspot(elapsed)
        self._refresh_living()
        for extension in EXTENSIONS:
            if extension.advance:
                extension.advance(self)

    def _grow_interfaces(self, elapsed: float) -> None:
        for number, item in self.tables["interface"].items.items():
            if item["running"] != "true" or item["disabled"] == "true":
                continue
            live = self._live[("interface", number)]
            rx_rate, tx_rate = self._rates[("interface", number)]
            rx, tx = rx_rate * elapsed, tx_rate * elapsed
            live["rx-byte"] += rx
            live["tx-byte"] += tx
            live["fp-rx-byte"] += rx * 0.6
            live["fp-tx-byte"] += tx * 0.6

    def _grow_hotspot(self, elapsed: float) -> None:
        active = self.tables["ip/hotspot/active"]
        users = self.tables["ip/hotspot/user"]
        for number in list(active.items):
            session = active.items[number]
            user_number = users.find(session["user"])
            live = self._live[("ip/hotspot/active", number)]
            if user_number is None:
                self._end_session(number, "user removed")
                continue
            user_live = self._live.setdefault(("ip/hotspot/user", user_number), self._counters_of(users, user_number))
            user = users.items[user_number]
            span = elapsed
            limit = parse_duration(user.get("limit-uptime") or "") or 0
            timeout = self._session_timeout(user)
            reason = None
            if limit and user_live["uptime"] + span >= limit:
                span, reason = max(0.0, limit - user_live["uptime"]), "uptime limit reached"
            if timeout and live["uptime"] + span >= timeout:
                span, reason = max(0.0, timeout - live["uptime"]), "session timeout"
            down_rate, up_rate = self._rates[("ip/hotspot/active", number)]
            grown = {"uptime": span, "bytes-out": down_rate * span, "bytes-in": up_rate * span}
            grown["packets-out"] = grown["bytes-out"] / 1200
            grown["packets-in"] = grown["bytes-in"] / 400
            total_limit = int(user.get("limit-bytes-total") or 0)
            if total_limit:
                used = user_live["bytes-in"] + user_live["bytes-out"]
                if used + grown["bytes-in"] + grown["bytes-out"] >= total_limit:
                    share = max(0.0, (total_limit - used) / max(grown["bytes-in"] + grown["bytes-out"], 1.0))
                    grown = {key: value * share for key, value in grown.items()}
                    reason = "traffic limit reached"
            for key, value in grown.items():
                live[key] += value
                user_live[key] += value
            if reason:
                self._end_session(number, reason)

    def _session_timeout(self, user: Mapping[str, str]) -> int:
        profile_number = self.tables["ip/hotspot/user/profile"].find(user.get("profile", "default"))
        if profile_number is None:
            return 0
        profile = self.tables["ip/hotspot/user/profile"].items[profile_number]
        return parse_duration(profile.get("session-timeout") or "") or 0

    @staticmethod
    def _counters_of(table: Table, number: int) -> dict[str, float]:
        item = table.items[number]
        counters = {key: float(item.get(key, "0") or 0) for key in HOTSPOT_COUNTERS[1:]}
        counters["uptime"] = float(parse_duration(item.get("uptime", "0s")) or 0)
        return counters

    def _end_session(self, number: int, reason: str) -> None:
        active = self.tables["ip/hotspot/active"]
        session = active.items.pop(number)
        self._live.pop(("ip/hotspot/active", number), None)
        self._rates.pop(("ip/hotspot/active", number), None)
        self.log("hotspot,account,info,debug",
                 f"{session['user']} ({session['address']}): logged out: {reason}")
        self._notify("ip/hotspot/active", number, dead=True)

    def _refresh_living(self) -> None:
        uptime = self.uptime()
        board = self.board
        load_seed = int(self.now() + self._cpu_phase)
        wave = (math.sin(self.now() / 37.0 + self._cpu_phase) + 1) / 2
        digest = hashlib.blake2s(f"{self._cpu_phase}:{load_seed}".encode(), digest_size=2).digest()
        cpu_load = int(2 + wave * 12 + digest[0] % 7 + 3 * len(self.tables["ip/hotspot/active"].items))
        total_memory = board.memory_mib * 1024 * 1024
        total_hdd = board.hdd_mib * 1024 * 1024
        resource = self.tables["system/resource"].items[1]
        resource.update({
            "uptime": format_duration(uptime),
            "version": f"{self.version} (stable)" if " " not in self.version else self.version,
            "build-time": self._build_time,
            "factory-software": "6.45.9",
            "free-memory": str(int(total_memory * (0.55 + 0.05 * wave))),
            "total-memory": str(total_memory),
            "cpu": board.cpu,
            "cpu-count": str(board.cpu_count),
            "cpu-frequency": str(board.cpu_frequency),
            "cpu-load": str(min(cpu_load, 100)),
            "free-hdd-space": str(int(total_hdd * 0.71)),
            "total-hdd-space": str(total_hdd),
            "write-sect-since-reboot": str(int(uptime / 30)),
            "write-sect-total": str(int(uptime / 30) + 48213),
            "bad-blocks": "0",
            "architecture-name": board.architecture,
            "board-name": board.board_name,
            "platform": "MikroTik",
        })
        clock = self.wall_clock()
        self.tables["system/clock"].items[1].update({"time": format_time(clock),
                                                     "date": format_date(clock, self.iso_dates)})
        health = self.tables.get("system/health")  # CHR and x86 have none
        temperature = f"{36 + wave * 4:.0f}"
        for item in health.items.values() if health else ():
            if self.v7 and item["name"] == "temperature":
                item["value"] = temperature
            elif not self.v7:
                item["temperature"] = temperature
        for number, item in self.tables["interface"].items.items():
            live = self._live[("interface", number)]
            rx, tx = live["rx-byte"], live["tx-byte"]
            live["rx-packet"], live["tx-packet"] = rx / 900, tx / 700
            live["fp-rx-packet"], live["fp-tx-packet"] = live["fp-rx-byte"] / 900, live["fp-tx-byte"] / 700
            for counter in INTERFACE_COUNTERS:
                item[counter] = str(int(live[counter]))
        users = self.tables["ip/hotspot/user"]
        for (path, number), live in self._live.items():
            if path == "ip/hotspot/active":
                item = self.tables[path].items[number]
            elif path == "ip/hotspot/user" and number in users.items:
                item = users.items[number]
            else:
                continue
            item["uptime"] = format_duration(live["uptime"])
            for counter in HOTSPOT_COUNTERS[1:]:
                item[counter] = str(int(live[counter]))
        active = self.tables["ip/hotspot/active"]
        for session in active.items.values():
            user_number = users.find(session["user"])
            if user_number is None:
                continue
            limit = parse_duration(users.items[user_number].get("limit-uptime") or "") or 0
            if limit:
                used = self._live[("ip/hotspot/user", user_number)]["uptime"]
                session["session-time-left"] = format_duration(limit - used)

    def user_record(self, name: str) -> dict[str, str] | None:
        """The /user row called ``name``, if any."""
        table = self.tables["user"]
        number = table.find(name)
        return None if number is None else table.items[number]

    def user_policies(self, name: str) -> set[str]:
        """The policies of the group ``name`` belongs to (empty when unknown)."""
        user = self.user_record(name)
        if user is None:
            return set()
        groups = self.tables["user/group"]
        number = groups.find(user["group"])
        if number is None:
            return set()
        return {p for p in groups.items[number]["policy"].split(",") if p and not p.startswith("!")}

    def authenticate(self, name: str, password: str, policy: str) -> bool:
        """True when the user exists, is enabled, has the password and has ``policy``."""
        user = self.user_record(name)
        if user is None or user.get("disabled") == "true" or user.get("password", "") != password:
            return False
        return policy in self.user_policies(name)

    def password_of(self, name: str) -> str | None:
        """The stored password of an enabled user (the MD5 challenge login needs it)."""
        user = self.user_record(name)
        if user is None or user.get("disabled") == "true":
            return None
        return user.get("password", "")

    def record_login(self, name: str, address: str, via: str) -> int:
        """Note a login in /user (last-logged-in), /user/active and /log; return the session number."""
        user = self.user_record(name)
        clock = self.wall_clock()
        if user is not None:
            user["last-logged-in"] = format_datetime(clock, self.iso_dates)
        self.log("system,info,account", f"user {name} logged in from {address} via {via}")
        group = user["group"] if user else ""
        return self.tables["user/active"].insert({
            "when": format_datetime(clock, self.iso_dates), "name": name, "address": address, "via": via,
            "group": group,
        })

    def record_logout(self, number: int) -> None:
        """Remove a /user/active row and log the logout."""
        session = self.tables["user/active"].items.pop(number, None)
        if session is not None:
            self.log("system,info,account",
                     f"user {session['name']} logged out from {session['address']} via {session['via']}")

    def services(self) -> dict[str, tuple[int, bool]]:
        """Each /ip/service entry as ``name -> (port, disabled)``."""
        return {item["name"]: (int(item["port"]), item["disabled"] == "true")
                for item in self.tables["ip/service"].items.values()}

    def set_service_port(self, name: str, port: int) -> None:
        """Record the port a door really listens on."""
        table = self.tables["ip/service"]
        number = table.find(name)
        if number is not None:
            table.items[number]["port"] = str(port)

    def hotspot_login(self, user: str, password: str, mac: str, address: str, server: str | None = None) -> str:
        """Start a hotspot session as a client logging in with a voucher; return the session id.

        :raises CommandError: when the router would refuse the login.
        """
        self._advance()
        users = self.tables["ip/hotspot/user"]
        number = users.find(user)
        if number is None or parse_id(user) is not None:
            raise CommandError("invalid username or password", category=4)
        record = users.items[number]
        if record.get("disabled") == "true" or record.get("password", "") != password:
            raise CommandError("invalid username or password", category=4)
        live = self._live.setdefault(("ip/hotspot/user", number), self._counters_of(users, number))
        limit = parse_duration(record.get("limit-uptime") or "") or 0
        if limit and live["uptime"] >= limit:
            raise CommandError(f"user {user} has reached uptime limit", category=4)
        total_limit = int(record.get("limit-bytes-total") or 0)
        if total_limit and live["bytes-in"] + live["bytes-out"] >= total_limit:
            raise CommandError(f"user {user} has reached traffic limit", category=4)
        active = self.tables["ip/hotspot/active"]
        shared = self._shared_users(record)
        sessions = [s for s in active.items.values() if s["user"] == user]
        if shared is not None and len(sessions) >= shared:
            raise CommandError(f"no more sessions are allowed for user {user}", category=4)
        hotspot = self.tables["ip/hotspot"]
        server_name = server or (record.get("server") if record.get("server") not in (None, "all") else None)
        if server_name is None:
            server_name = next(iter(hotspot.items.values()))["name"] if hotspot.items else "hotspot1"
        values = {"server": server_name, "user": user, "address": address, "mac-address": mac.upper(),
                  "idle-timeout": "5m", "keepalive-timeout": "none"}
        session = active.insert(values)
        down = self.rng.uniform(20_000, 250_000)
        up = self.rng.uniform(2_000, 25_000)
        cap = self._rate_cap(record)
        if cap:
            up, down = min(up, cap[0]), min(down, cap[1])
        self._rates[("ip/hotspot/active", session)] = (down, up)
        self._live[("ip/hotspot/active", session)] = dict.fromkeys(HOTSPOT_COUNTERS, 0.0)
        self.log("hotspot,account,info,debug", f"{user} ({address}): logged in")
        self._refresh_living()
        self._notify("ip/hotspot/active", session)
        return format_id(session)

    def hotspot_logout(self, user: str) -> bool:
        """End every active session of ``user``; return whether there was one."""
        self._advance()
        active = self.tables["ip/hotspot/active"]
        numbers = [n for n, s in active.items.items() if s["user"] == user]
        for number in numbers:
            self._end_session(number, "user request")
        return bool(numbers)

    def _user_profile(self, record: Mapping[str, str]) -> dict[str, str]:
        profiles = self.tables["ip/hotspot/user/profile"]
        number = profiles.find(record.get("profile", "default"))
        return profiles.items[number] if number is not None else {}

    def _shared_users(self, record: Mapping[str, str]) -> int | None:
        shared = self._user_profile(record).get("shared-users", "1")
        return None if shared == "unlimited" else int(shared)

    def _rate_cap(self, record: Mapping[str, str]) -> tuple[float, float] | None:
        """Bytes per second allowed as (upload, download) by the profile's ``rx/tx`` rate-limit."""
        limit = self._user_profile(record).get("rate-limit")
        if not limit:
            return None
        pieces = limit.split()[0].split("/")
        rates = [_bits(piece) / 8 for piece in (pieces + pieces)[:2]]
        return rates[0], rates[1]

    def execute(
        self,
        command: str,
        args: Mapping[str, str] | None = None,
        query: Sequence[str] = (),
        *,
        user: str | None = None,
    ) -> Reply:
        """Run one console command such as ``/ip/address/add`` as ``user`` (``None``: no policy checks).

        :raises CommandError: with the router's message when it refuses.
        """
        args = dict(args or {})
        words = [w for w in command.strip().strip("/").split("/") if w]
        if not words:
            raise no_such_command(command)
        self._advance()
        path, verb = "/".join(words[:-1]), words[-1]
        special = _SPECIAL.get("/".join(words))
        if special is not None:
            policy, handler = special
            self._check_policy(user, policy)
            return handler(self, args)
        schema = self._menu(path, verb)
        if verb == "getall":
            verb = "print"
        if verb in ("print", "listen"):
            self._check_policy(user, "read")
            return self._print(path, args, query)
        self._check_policy(user, schema.write_policy)
        if schema.write_policy != "write":
            self._check_policy(user, "write")
        write: Callable[[Table, dict[str, str]], Reply] = getattr(self, "_cmd_" + verb.replace("-", "_"))
        reply = write(self.tables[path], args)
        self._after_write(path)
        return reply

    def _check_policy(self, user: str | None, policy: str) -> None:
        if user is not None and policy not in self.user_policies(user):
            raise CommandError(PERMISSION_DENIED, status=403)

    def _menu(self, path: str, verb: str) -> MenuSchema:
        table = self.tables.get(path)
        if table is None:
            known: set[str] = set()
            for menu in self.tables:
                parts = menu.split("/")
                known.update("/".join(parts[: i + 1]) for i in range(len(parts)))
            known.update(key.rsplit("/", 1)[0] for key in _SPECIAL)
            parts = [*path.split("/"), verb]
            for i in range(len(parts)):
                if "/".join(parts[: i + 1]) not in known:
                    raise no_such_command(parts[i])
            raise no_such_command(verb)
        if verb not in table.schema.commands:
            raise no_such_command(verb)
        return table.schema

    def _after_write(self, path: str) -> None:
        for extension in EXTENSIONS:
            if extension.on_write:
                extension.on_write(self, path)
        if path == "ip/service" and self.on_services_changed:
            self.on_services_changed()

    def _render(self, table: Table, number: int, proplist: Sequence[str] | None) -> dict[str, str]:
        item = table.items[number]
        row: dict[str, str] = {}
        if not table.schema.single:
            row[".id"] = format_id(number)
        for spec in table.schema.fields:
            if spec.secret:
                continue
            value = item.get(spec.name)
            if value is not None:
                row[spec.name] = value
        if proplist is not None:
            row = {name: row[name] for name in proplist if name in row}
        return row

    def _print(self, path: str, args: Mapping[str, str], query: Sequence[str]) -> Reply:
        table = self.tables[path]
        proplist = None
        if args.get(".proplist"):
            proplist = [p.strip() for p in args[".proplist"].split(",") if p.strip()]
        unknown = set(args) - _PRINT_FLAGS - {".proplist", "count-only", ".id", "numbers", "where", "interval"}
        if unknown:
            raise CommandError(f"unknown parameter {sorted(unknown)[0]}", category=1)
        try:
            predicate = compile_query(query)
        except QueryError as exc:
            raise CommandError(str(exc), category=1) from exc
        wanted = args.get(".id") or args.get("numbers")
        numbers: Iterable[int] = table.items
        if wanted:
            numbers = self._select(table, wanted)
        rows = []
        for number in list(numbers):
            full = self._render(table, number, None)
            if query and not predicate(full):
                continue
            rows.append(full if proplist is None else {n: full[n] for n in proplist if n in full})
        if "count-only" in args:
            return Reply(done={"ret": str(len(rows))})
        return Reply(rows=rows)

    def _select(self, table: Table, wanted: str) -> list[int]:
        numbers = []
        for key in wanted.split(","):
            number = table.find(key.strip())
            if number is None:
                raise no_such_item()
            numbers.append(number)
        return numbers

    def _targets(self, table: Table, args: dict[str, str]) -> list[int]:
        if table.schema.single:
            args.pop(".id", None)
            args.pop("numbers", None)
            return [1]
        wanted = args.pop(".id", None) or args.pop("numbers", None)
        args.pop("numbers", None)
        if not wanted:
            raise CommandError("missing value(s) of argument(s) numbers", category=1)
        return self._select(table, wanted)

    def _coerce(self, table: Table, name: str, raw: str) -> str:
        spec = table.schema.by_name.get(name)
        if spec is None or not spec.writable:
            raise CommandError(f"unknown parameter {name}", category=1)
        return _coerce_value(self, spec, raw)

    def _check_unique(self, table: Table, candidate: Mapping[str, str], number: int | None) -> None:
        for combo in table.schema.unique:
            if any(name not in candidate for name in combo):
                continue
            for other, item in table.items.items():
                if other != number and all(item.get(n) == candidate[n] for n in combo):
                    raise CommandError("failure: already have such entry", category=4)

    def _derive(self, path: str, values: dict[str, str], changed: Mapping[str, str]) -> None:
        if path == "ip/address":
            iface = ipaddress.ip_interface(values["address"])
            if "address" in changed and "network" not in changed:
                values["network"] = str(iface.network.network_address)
            values["actual-interface"] = values["interface"]

    def _cmd_add(self, table: Table, args: dict[str, str]) -> Reply:
        values = {name: self._coerce(table, name, raw) for name, raw in args.items()}
        for spec in table.schema.fields:
            if spec.required and not values.get(spec.name):
                raise CommandError(f"missing value(s) of argument(s) {spec.name}", category=1)
        candidate = {f.name: f.default for f in table.schema.fields if f.default is not None}
        candidate.update(values)
        self._derive(table.schema.path, candidate, values)
        self._check_unique(table, candidate, None)
        number = table.insert(candidate)
        self._notify(table.schema.path, number)
        return Reply(done={"ret": format_id(number)})

    def _cmd_set(self, table: Table, args: dict[str, str]) -> Reply:
        numbers = self._targets(table, args)
        values = {name: self._coerce(table, name, raw) for name, raw in args.items()}
        for number in numbers:
            candidate = dict(table.items[number])
            candidate.update(values)
            self._derive(table.schema.path, candidate, values)
            self._check_unique(table, candidate, number)
        for number in numbers:
            item = table.items[number]
            old_name = item.get("name")
            item.update(values)
            self._derive(table.schema.path, item, values)
            if table.schema.path == "interface" and old_name != item.get("name"):
                self._rename_interface(old_name or "", item["name"])
            self._notify(table.schema.path, number)
        return Reply()

    def _rename_interface(self, old: str, new: str) -> None:
        for path in ("ip/address", "ip/hotspot"):
            for item in self.tables[path].items.values():
                if item.get("interface") == old:
                    item["interface"] = new
                if item.get("actual-interface") == old:
                    item["actual-interface"] = new

    def _cmd_unset(self, table: Table, args: dict[str, str]) -> Reply:
        numbers = self._targets(table, args)
        name = args.pop("value-name", "")
        if args:
            raise CommandError(f"unknown parameter {sorted(args)[0]}", category=1)
        spec = table.schema.by_name.get(name)
        if spec is None or not spec.writable or spec.required:
            raise CommandError("input does not match any value of value-name", category=1)
        for number in numbers:
            if spec.default is None:
                table.items[number].pop(name, None)
            else:
                table.items[number][name] = spec.default
            self._notify(table.schema.path, number)
        return Reply()

    def _toggle(self, table: Table, args: dict[str, str], disabled: bool) -> Reply:
        numbers = self._targets(table, args)
        if args:
            raise CommandError(f"unknown parameter {sorted(args)[0]}", category=1)
        for number in numbers:
            table.items[number]["disabled"] = format_bool(disabled)
            self._notify(table.schema.path, number)
        return Reply()

    def _cmd_enable(self, table: Table, args: dict[str, str]) -> Reply:
        return self._toggle(table, args, False)

    def _cmd_disable(self, table: Table, args: dict[str, str]) -> Reply:
        return self._toggle(table, args, True)

    def _cmd_remove(self, table: Table, args: dict[str, str]) -> Reply:
        numbers = self._targets(table, args)
        path = table.schema.path
        for number in numbers:
            item = table.items[number]
            if item.get("default") == "true" or (path == "user" and item.get("name") == "admin"
                                                 and len(self.tables["user"].items) == 1):
                raise CommandError("failure: can not remove default entry", category=4)
            if item.get("dynamic") == "true" and path != "ip/hotspot/user":
                raise CommandError("failure: can not remove dynamic entry", category=4)
        for number in numbers:
            if path == "ip/hotspot/active":
                self._end_session(number, "admin request")
                continue
            del table.items[number]
            self._live.pop((path, number), None)
            self._notify(path, number, dead=True)
        return Reply()

    def _cmd_reset_counters(self, table: Table, args: dict[str, str]) -> Reply:
        numbers = self._targets(table, args)
        for number in numbers:
            live = self._live.get((table.schema.path, number))
            if live is not None:
                for key in live:
                    live[key] = 0.0
            for counter in table.schema.counters:
                table.items[number][counter] = "0s" if counter == "uptime" else "0"
        self._refresh_living()
        return Reply()


def _bits(text: str) -> float:
    """``2M`` -> 2_000_000 bits per second."""
    text = text.strip()
    scale = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}.get(text[-1:], 1.0)
    number = text[:-1] if text[-1:] in "kKMG" else text
    try:
        return float(number) * scale
    except ValueError:
        return 0.0


def _coerce_value(state: RouterState, spec: Field, raw: str) -> str:
    """Check one written value the way the console does and return its stored form.

    :raises CommandError: when the value is not acceptable.
    """
    raw = raw.strip() if spec.kind != "str" else raw
    if spec.kind == "bool":
        parsed = parse_bool(raw)
        if parsed is None:
            raise CommandError(f"input does not match any value of {spec.name}", category=1)
        return format_bool(parsed)
    if spec.kind == "int":
        try:
            number = int(raw, 0) if raw.lower().startswith("0x") else int(raw)
        except ValueError:
            raise CommandError(f"invalid value for argument {spec.name}", category=1) from None
        if not spec.minimum <= number <= spec.maximum:
            raise CommandError(f"value of {spec.name} out of range ({spec.minimum}..{spec.maximum})",
                               category=1)
        return str(number)
    if spec.kind == "duration":
        seconds = parse_duration(raw)
        if seconds is None:
            raise CommandError(f"invalid value for argument {spec.name}", category=1)
        return format_duration(seconds)
    if spec.kind == "address":
        try:
            iface = ipaddress.ip_interface(raw)
        except ValueError:
            raise CommandError(f"invalid value for argument {spec.name}", category=1) from None
        return f"{iface.ip}/{iface.network.prefixlen}"
    if spec.kind == "choice":
        if raw not in spec.choices:
            raise CommandError(f"input does not match any value of {spec.name}", category=1)
        return raw
    if spec.kind == "ref":
        if raw in spec.choices or raw in state.tables[spec.ref or ""].names():
            return raw
        raise CommandError(f"input does not match any value of {spec.name}", category=1)
    return raw


def _reboot(state: RouterState, args: Mapping[str, str]) -> Reply:
    state.reboot()
    return Reply()


def _log_entry(level: str) -> Callable[[RouterState, Mapping[str, str]], Reply]:
    def handler(state: RouterState, args: Mapping[str, str]) -> Reply:
        if "message" not in args:
            raise CommandError("missing value(s) of argument(s) message", category=1)
        state.log(f"script,{level}", args["message"])
        return Reply()

    return handler


def _hotspot_active_login(state: RouterState, args: Mapping[str, str]) -> Reply:
    for required in ("user", "ip", "mac-address"):
        if not args.get(required):
            raise CommandError(f"missing value(s) of argument(s) {required}", category=1)
    state.hotspot_login(args["user"], args.get("password", ""), args["mac-address"], args["ip"],
                        args.get("server"))
    return Reply()


def _console_inspect(state: RouterState, args: Mapping[str, str]) -> Reply:
    """``/console/inspect request=child path=ip,address``: the menus and commands under a path (RouterOS 7)."""
    if not state.v7:
        raise no_such_command("console")
    if args.get("request") != "child":
        raise CommandError("input does not match any value of request", category=1)
    base = [word for word in (args.get("path") or "").split(",") if word]
    depth = len(base)
    children: dict[str, str] = {}
    for menu, table in state.tables.items():
        words = menu.split("/")
        if words[:depth] == base and len(words) > depth:
            children.setdefault(words[depth], "dir")
        elif words == base:
            for command in table.schema.commands:
                children.setdefault(command, "cmd")
    for key in _SPECIAL:
        words = key.split("/")
        if words[:depth] == base and len(words) > depth:
            children.setdefault(words[depth], "cmd" if len(words) == depth + 1 else "dir")
    if base and not children:
        raise no_such_command(base[-1])
    return Reply(rows=[{"type": "child", "name": name, "node-type": kind} for name, kind in sorted(children.items())])


_SPECIAL: dict[str, tuple[str, Callable[[RouterState, Mapping[str, str]], Reply]]] = {
    "console/inspect": ("read", _console_inspect),
    "system/reboot": ("reboot", _reboot),
    "log/info": ("write", _log_entry("info")),
    "log/warning": ("write", _log_entry("warning")),
    "log/error": ("write", _log_entry("error")),
    "log/debug": ("write", _log_entry("debug")),
    "ip/hotspot/active/login": ("write", _hotspot_active_login),
}
