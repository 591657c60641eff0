"""Fault modes a virtual router can be switched into at runtime, and the byte-level lies they tell."""

from __future__ import annotations

import json
from collections.abc import Mapping

from routeros.protocol import encode_sentence

#: Every fault name with the parameters it accepts (and their defaults).
FAULT_PARAMETERS: dict[str, dict[str, float]] = {
    "refuse": {},
    "blackhole": {},
    "latency": {"ms": 100.0},
    "trickle": {"bytes_per_second": 16.0},
    "drop_mid_sentence": {},
    "garbage": {},
    "oversized_length": {},
    "control_byte": {},
    "wrong_credentials": {},
    "fatal_login": {},
    "rest_html": {},
    "rest_500": {},
    "wrong_types": {},
}

#: Faults that change which sockets listen, so switching them rebinds or closes doors.
LISTENER_FAULTS = frozenset({"refuse"})

#: A framed sentence whose words are not replies (``!re``...), as a confused device might send.
GARBAGE = encode_sentence(["\x13\x37garbage", "$#@%*&^", "=not=a=reply"])
#: A 5-byte length announcing a 2 GiB word, then a few bytes of it.
OVERSIZED = b"\xf0\x7f\xff\xff\xff" + b"!re" * 8
#: A first byte in the reserved control range (>= 0xF8).
CONTROL = b"\xf8\x00\x00\x00\x00"

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>RouterOS router configuration page</title></head>"
    b"<body><noscript>Javascript is not enabled in your browser</noscript>"
    b"<div id=\"webfig\">mikrotik routeros configuration page</div></body></html>\n"
)


class Faults:
    """The set of active faults of one router, with their parameters."""

    __slots__ = ("_active",)

    def __init__(self) -> None:
        self._active: dict[str, dict[str, float]] = {}

    def set(self, name: str, **params: float) -> None:
        """Switch a fault on (again), e.g. ``set("latency", ms=300)``.

        :raises ValueError: for an unknown fault or parameter.
        """
        if name not in FAULT_PARAMETERS:
            raise ValueError(f"unknown fault {name!r}; known: {sorted(FAULT_PARAMETERS)}")
        allowed = FAULT_PARAMETERS[name]
        unknown = set(params) - set(allowed)
        if unknown:
            raise ValueError(f"fault {name!r} takes {sorted(allowed) or 'no parameters'}, not {sorted(unknown)}")
        self._active[name] = {**allowed, **{k: float(v) for k, v in params.items()}}

    def clear(self, name: str | None = None) -> None:
        """Switch one fault off, or every fault when ``name`` is None."""
        if name is None:
            self._active.clear()
        else:
            self._active.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._active

    def param(self, name: str, key: str) -> float:
        """A parameter of an active fault."""
        return self._active[name][key]

    def active(self) -> dict[str, dict[str, float]]:
        """A copy of the active faults and their parameters."""
        return {name: dict(params) for name, params in self._active.items()}

    def delay(self) -> float:
        """Seconds the latency fault adds to each reply."""
        return self._active["latency"]["ms"] / 1000.0 if "latency" in self._active else 0.0

    def corrupt(self, data: bytes) -> bytes:
        """Replace reply bytes by what the garbage / oversized / control-byte faults send."""
        if "control_byte" in self._active:
            return CONTROL
        if "oversized_length" in self._active:
            return OVERSIZED
        if "garbage" in self._active:
            return GARBAGE
        return data


def _mistype(value: str) -> str:
    if value.isdigit():
        return "unknown"
    if value in ("true", "false"):
        return "maybe"
    return value


def api_wrong_types(row: Mapping[str, str]) -> dict[str, str]:
    """Values of the wrong type on the binary API: numbers become ``unknown``, booleans ``maybe``."""
    return {key: value if key == ".id" else _mistype(value) for key, value in row.items()}


def _json_native(value: str) -> object:
    if value.isdigit():
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    if value == "":
        return None
    return value


def rest_wrong_types(payload: object) -> object:
    """Values of the wrong type on REST: JSON numbers, booleans and null where RouterOS sends strings."""
    if isinstance(payload, list):
        return [rest_wrong_types(item) for item in payload]
    if isinstance(payload, dict):
        return {key: _json_native(value) if isinstance(value, str) else value for key, value in payload.items()}
    return payload


def json_bytes(payload: object) -> bytes:
    """Compact JSON as RouterOS writes it."""
    return json.dumps(payload, separators=(",", ":")).encode()
