"""Menu schemas (which properties exist, which can be written, how they are checked) and board models."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One property of a menu item.

    ``kind`` is one of ``str``, ``bool``, ``int``, ``duration``, ``address`` (an IP with optional prefix),
    ``choice`` (one of ``choices``) or ``ref`` (the name of an item in menu ``ref``, or one of ``choices``).
    """

    name: str
    kind: str = "str"
    writable: bool = True
    required: bool = False
    default: str | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None
    secret: bool = False
    minimum: int = 0
    maximum: int = 0xFFFFFFFF


@dataclass(frozen=True)
class MenuSchema:
    """A console menu: its path, properties and which generic commands it has."""

    path: str
    fields: tuple[Field, ...]
    single: bool = False
    key: str | None = "name"
    unique: tuple[tuple[str, ...], ...] = (("name",),)
    can_add: bool = True
    can_remove: bool = True
    counters: tuple[str, ...] = ()
    write_policy: str = "write"
    by_name: dict[str, Field] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def commands(self) -> frozenset[str]:
        """The generic commands this menu answers."""
        names = {"print", "getall"}
        writable = any(f.writable for f in self.fields)
        if writable:
            names.add("set")
        if self.single:
            return frozenset(names)
        names.add("listen")
        if writable:
            names.add("unset")
        if self.can_add:
            names.add("add")
        if self.can_remove:
            names.add("remove")
        if "disabled" in self.by_name and self.by_name["disabled"].writable:
            names.update(("enable", "disable"))
        if self.counters:
            names.add("reset-counters")
        return frozenset(names)


def ro(name: str, kind: str = "str", default: str | None = None) -> Field:
    """A read-only property."""
    return Field(name, kind=kind, writable=False, default=default)


def _disabled() -> Field:
    return Field("disabled", kind="bool", default="false")


def _comment() -> Field:
    return Field("comment")


INTERFACE_COUNTERS = (
    "rx-byte", "tx-byte", "rx-packet", "tx-packet", "rx-drop", "tx-drop", "tx-queue-drop",
    "rx-error", "tx-error", "fp-rx-byte", "fp-tx-byte", "fp-rx-packet", "fp-tx-packet",
)
HOTSPOT_COUNTERS = ("uptime", "bytes-in", "bytes-out", "packets-in", "packets-out")

USER_GROUP_POLICIES = (
    "local", "telnet", "ssh", "ftp", "reboot", "read", "write", "policy", "test", "winbox", "password",
    "web", "sniff", "sensitive", "api", "romon",
)


def _schemas() -> dict[str, MenuSchema]:
    menus = [
        MenuSchema(
            "interface",
            (
                Field("name", required=True),
                ro("default-name"),
                ro("type"),
                Field("mtu", kind="int", default="1500", minimum=32, maximum=65535),
                ro("actual-mtu"),
                ro("l2mtu"),
                ro("max-l2mtu"),
                ro("mac-address"),
                ro("last-link-up-time"),
                ro("link-downs", default="0"),
                *(ro(name, default="0") for name in INTERFACE_COUNTERS),
                ro("running", "bool"),
                ro("slave", "bool", "false"),
                _disabled(),
                _comment(),
            ),
            can_add=False,
            can_remove=False,
            counters=INTERFACE_COUNTERS,
        ),
        MenuSchema(
            "ip/address",
            (
                Field("address", kind="address", required=True),
                Field("network"),
                Field("interface", kind="ref", ref="interface", required=True),
                ro("actual-interface"),
                ro("invalid", "bool", "false"),
                ro("dynamic", "bool", "false"),
                _disabled(),
                _comment(),
            ),
            key=None,
            unique=(("address", "interface"),),
        ),
        MenuSchema(
            "ip/pool",
            (
                Field("name", required=True),
                Field("ranges", required=True),
                Field("next-pool", kind="ref", ref="ip/pool", choices=("none",), default="none"),
                _comment(),
            ),
        ),
        MenuSchema(
            "ip/service",
            (
                ro("name"),
                Field("port", kind="int", minimum=1, maximum=65535),
                Field("address", default=""),
                Field("certificate"),
                Field("vrf", default="main"),
                ro("invalid", "bool", "false"),
                _disabled(),
            ),
            can_add=False,
            can_remove=False,
        ),
        MenuSchema(
            "ip/hotspot",
            (
                Field("name", required=True),
                Field("interface", kind="ref", ref="interface", required=True),
                Field("address-pool", kind="ref", ref="ip/pool", choices=("none",), default="none"),
                Field("profile", kind="ref", ref="ip/hotspot/profile", default="default"),
                Field("idle-timeout", kind="duration", default="5m"),
                Field("keepalive-timeout", default="none"),
                Field("addresses-per-mac", default="2"),
                ro("HTTPS", "bool", "false"),
                ro("invalid", "bool", "false"),
                _disabled(),
                _comment(),
            ),
        ),
        MenuSchema(
            "ip/hotspot/profile",
            (
                Field("name", required=True),
                Field("hotspot-address", default=""),
                Field("dns-name", default=""),
                Field("html-directory", default="hotspot"),
                Field("rate-limit"),
                Field("http-proxy", default="0.0.0.0:0"),
                Field("smtp-server", default="0.0.0.0"),  # noqa: S104 - RouterOS default value, not a bind
                Field("login-by", default="cookie,http-chap"),
                Field("http-cookie-lifetime", kind="duration", default="3d"),
                Field("trial-uptime-limit", kind="duration", default="30m"),
                Field("trial-uptime-reset", kind="duration", default="1d"),
                Field("trial-user-profile", default="default"),
                Field("split-user-domain", kind="bool", default="false"),
                Field("use-radius", kind="bool", default="false"),
                ro("default", "bool", "false"),
            ),
        ),
        MenuSchema(
            "ip/hotspot/user/profile",
            (
                Field("name", required=True),
                Field("address-pool", kind="ref", ref="ip/pool", choices=("none",), default="none"),
                Field("idle-timeout", default="none"),
                Field("keepalive-timeout", default="2m"),
                Field("status-autorefresh", kind="duration", default="1m"),
                Field("shared-users", default="1"),
                Field("rate-limit"),
                Field("session-timeout", kind="duration"),
                Field("mac-cookie-timeout", kind="duration", default="3d"),
                Field("add-mac-cookie", kind="bool", default="true"),
                Field("transparent-proxy", kind="bool", default="false"),
                Field("open-status-page", kind="choice", choices=("always", "http-login"), default="always"),
                ro("default", "bool", "false"),
            ),
        ),
        MenuSchema(
            "ip/hotspot/user",
            (
                Field("server", kind="ref", ref="ip/hotspot", choices=("all",), default="all"),
                Field("name", required=True),
                Field("password", default=""),
                Field("profile", kind="ref", ref="ip/hotspot/user/profile", default="default"),
                Field("address"),
                Field("mac-address"),
                Field("email"),
                Field("limit-uptime", kind="duration"),
                Field("limit-bytes-in", kind="int"),
                Field("limit-bytes-out", kind="int"),
                Field("limit-bytes-total", kind="int"),
                ro("uptime", default="0s"),
                *(ro(name, default="0") for name in HOTSPOT_COUNTERS[1:]),
                ro("dynamic", "bool", "false"),
                _disabled(),
                _comment(),
            ),
            counters=HOTSPOT_COUNTERS,
        ),
        MenuSchema(
            "ip/hotspot/active",
            (
                ro("server"),
                ro("user"),
                ro("domain", default=""),
                ro("address"),
                ro("mac-address"),
                ro("login-by", default="http-chap"),
                ro("uptime", default="0s"),
                ro("session-time-left"),
                ro("idle-time", default="0s"),
                ro("idle-timeout"),
                ro("keepalive-timeout"),
                *(ro(name, default="0") for name in HOTSPOT_COUNTERS[1:]),
                ro("radius", "bool", "false"),
                ro("blocked", "bool", "false"),
            ),
            key=None,
            unique=(),
            can_add=False,
        ),
        MenuSchema(
            "ppp/profile",
            (
                Field("name", required=True),
                Field("local-address"),
                Field("remote-address"),
                Field("rate-limit"),
                Field("only-one", kind="choice", choices=("default", "yes", "no"), default="default"),
                Field("change-tcp-mss", kind="choice", choices=("default", "yes", "no"), default="yes"),
                Field("use-encryption", kind="choice", choices=("default", "yes", "no", "required"),
                      default="default"),
                Field("dns-server"),
                _comment(),
                ro("default", "bool", "false"),
            ),
        ),
        MenuSchema(
            "ppp/secret",
            (
                Field("name", required=True),
                Field("password", default=""),
                Field("service", kind="choice",
                      choices=("any", "async", "l2tp", "ovpn", "pppoe", "pptp", "sstp"), default="any"),
                Field("profile", kind="ref", ref="ppp/profile", default="default"),
                Field("local-address"),
                Field("remote-address"),
                Field("caller-id", default=""),
                Field("routes", default=""),
                Field("limit-bytes-in", kind="int", default="0"),
                Field("limit-bytes-out", kind="int", default="0"),
                _disabled(),
                _comment(),
            ),
        ),
        MenuSchema(
            "user",
            (
                Field("name", required=True),
                Field("group", kind="ref", ref="user/group", required=True),
                Field("address", default=""),
                Field("password", secret=True, default=""),
                ro("last-logged-in"),
                _disabled(),
                _comment(),
            ),
            write_policy="policy",
        ),
        MenuSchema(
            "user/group",
            (
                Field("name", required=True),
                Field("policy", required=True),
                Field("skin", default="default"),
                _comment(),
            ),
            write_policy="policy",
        ),
        MenuSchema(
            "user/active",
            (ro("when"), ro("name"), ro("address"), ro("via"), ro("group"), ro("radius", "bool", "false")),
            key=None,
            unique=(),
            can_add=False,
            can_remove=False,
        ),
        MenuSchema(
            "log",
            (ro("time"), ro("topics"), ro("message")),
            key=None,
            unique=(),
            can_add=False,
            can_remove=False,
        ),
        MenuSchema(
            "system/package",
            (ro("name"), ro("version"), ro("build-time"), ro("scheduled", default=""),
             ro("disabled", "bool", "false")),
            can_add=False,
            can_remove=False,
        ),
        MenuSchema("system/identity", (Field("name", required=True),), single=True),
        MenuSchema(
            "system/clock",
            (
                ro("time"),
                ro("date"),
                Field("time-zone-autodetect", kind="bool", default="true"),
                Field("time-zone-name", default="manual"),
                ro("gmt-offset", default="+00:00"),
                ro("dst-active", "bool", "false"),
            ),
            single=True,
        ),
        MenuSchema(
            "system/resource",
            tuple(
                ro(name)
                for name in (
                    "uptime", "version", "build-time", "factory-software", "free-memory", "total-memory",
                    "cpu", "cpu-count", "cpu-frequency", "cpu-load", "free-hdd-space", "total-hdd-space",
                    "write-sect-since-reboot", "write-sect-total", "bad-blocks", "architecture-name",
                    "board-name", "platform",
                )
            ),
            single=True,
        ),
        MenuSchema(
            "system/routerboard",
            (
                ro("routerboard", "bool", "true"),
                ro("board-name"),
                ro("model"),
                ro("serial-number"),
                ro("firmware-type"),
                ro("factory-firmware"),
                ro("current-firmware"),
                ro("upgrade-firmware"),
                Field("auto-upgrade", kind="bool", default="false"),
            ),
            single=True,
        ),
        MenuSchema(
            "system/license",
            (ro("software-id"), ro("system-id"), ro("upgradable-to"), ro("nlevel"), ro("level"),
             ro("deadline-at"), ro("features", default="")),
            single=True,
        ),
    ]
    return {menu.path: menu for menu in menus}


SCHEMAS: dict[str, MenuSchema] = _schemas()

#: v6 answers /system/health as one row of attributes; v7 as a list of name/value/type rows.
HEALTH_V6 = MenuSchema("system/health", (ro("voltage"), ro("temperature")), single=True)
HEALTH_V7 = MenuSchema(
    "system/health",
    (ro("name"), ro("value"), ro("type")),
    can_add=False,
    can_remove=False,
)


@dataclass(frozen=True)
class Board:
    """A RouterBOARD model the simulator can pretend to be."""

    model: str
    board_name: str
    architecture: str
    cpu: str
    cpu_count: int
    cpu_frequency: int
    memory_mib: int
    hdd_mib: int
    firmware_type: str
    serial_prefix: str
    virtual: bool = False


BOARDS = (
    Board("RB4011iGS+5HacQ2HnD", "RB4011iGS+", "arm", "ARMv7", 4, 1400, 1024, 512, "al2", "D4"),
    Board("RBD52G-5HacD2HnD", "hAP ac^2", "arm", "ARMv7", 4, 716, 128, 16, "ipq4000L", "A8"),
    Board("RB750Gr3", "hEX", "mmips", "MIPS 1004Kc V2.15", 4, 880, 256, 16, "mt7621L", "9B"),
    Board("CCR2004-16G-2S+", "CCR2004-16G-2S+", "arm64", "ARM64", 4, 1700, 4096, 128, "al52400", "HE"),
    Board("RB951Ui-2HnD", "RB951Ui-2HnD", "mipsbe", "MIPS 74Kc V4.12", 1, 600, 128, 128, "ar9344", "64"),
)

#: Installs without RouterBOARD hardware: no /system/routerboard and no /system/health menu, a CHR licence.
VIRTUAL_BOARDS = (
    Board("CHR", "CHR QEMU Standard PC (i440FX + PIIX, 1996)", "x86_64", "QEMU", 2, 2400, 1024, 128, "",
          "", virtual=True),
    Board("x86", "x86", "x86_64", "Intel(R) Celeron(R) CPU J1900 @ 1.99GHz", 4, 1999, 4096, 15000, "", "",
          virtual=True),
)

MIKROTIK_OUIS = ("48:8F:5A", "DC:2C:6E", "64:D1:54", "CC:2D:E0", "B8:69:F4")
