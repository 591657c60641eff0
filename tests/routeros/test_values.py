"""Value normalisation shared by both transports, and the duration/boolean helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routeros import values
from routeros.errors import BadValue, ProtocolError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2d20h12m20s", 245540),
        ("1w3d", 864000),
        ("45s", 45),
        ("500ms", 0),
        ("1m30s500ms", 90),
        ("00:05:00", 300),
        ("1d02:03:04", 93784),
        ("3w4d01:02:03", 2163723),
        ("12:00:00.250", 43200),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert values.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "2x", "1h 2m", "h1"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(BadValue):
        values.parse_duration(text)


def test_bad_value_is_a_value_error_and_a_protocol_error() -> None:
    with pytest.raises(ValueError, match="duration"):
        values.parse_duration("soon")
    with pytest.raises(ProtocolError):
        values.to_bool("maybe")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0d 00:00:00"),
        (59, "0d 00:00:59"),
        (3600, "0d 01:00:00"),
        (228645, "2d 15:30:45"),
        (245540.9, "2d 20:12:20"),
    ],
)
def test_format_uptime(seconds: float, text: str) -> None:
    assert values.format_uptime(seconds) == text


@given(st.integers(min_value=0, max_value=10**8))
def test_uptime_round_trips_through_parse(seconds: int) -> None:
    days, clock = values.format_uptime(seconds).split(" ")
    assert values.parse_duration(f"{days}{clock}") == seconds


@pytest.mark.parametrize("text", ["true", "yes", "True", "on", "1", True])
def test_to_bool_true(text: object) -> None:
    assert values.to_bool(text) is True


@pytest.mark.parametrize("text", ["false", "no", "off", "0", "", None, False])
def test_to_bool_false(text: object) -> None:
    assert values.to_bool(text) is False


def test_normalise_row_renders_json_types_as_routeros_strings() -> None:
    row = {
        "mtu": 1500,
        "running": True,
        "disabled": False,
        "comment": None,
        "load": 1.0,
        "ratio": 0.5,
        "l": [1, "a"],
    }
    assert values.normalise_row(row) == {
        "mtu": "1500",
        "running": "true",
        "disabled": "false",
        "comment": "",
        "load": "1",
        "ratio": "0.5",
        "l": "1,a",
    }


def test_to_int() -> None:
    assert values.to_int("134217728") == 134217728
    assert values.to_int("5%") == 5
    assert values.to_int("", default=7) == 7
    with pytest.raises(BadValue):
        values.to_int("lots")
