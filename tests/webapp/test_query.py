"""Edge cases of the one query-string parser every blueprint uses (webapp/blueprints/query.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import Flask

from webapp.blueprints import query
from webapp.services.errors import Invalid
from webapp.services.pagination import MAX_ID


@pytest.fixture
def ask(app: Flask):  # type: ignore[no-untyped-def]
    def run(function, qs: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        with app.test_request_context(f"/?{qs}"):
            return function(*args, **kwargs)

    return run


@pytest.mark.parametrize(("qs", "expected"), [
    ("", None), ("x=", None), ("x=true", True), ("x=TRUE", True), ("x=1", True), ("x=Yes", True),
    ("x=false", False), ("x=0", False), ("x=no", False),
])
def test_flag(ask, qs: str, expected: bool | None) -> None:  # type: ignore[no-untyped-def]
    assert ask(query.flag, qs, "x") is expected


@pytest.mark.parametrize("qs", ["x=maybe", "x=2", "x=%20true", "x=tru"])
def test_flag_refuses_anything_else(ask, qs: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        ask(query.flag, qs, "x")
    assert caught.value.fields == {"x": "true or false"}


@pytest.mark.parametrize(("qs", "expected"), [("", None), ("x=", None), ("x=7", 7), (f"x={MAX_ID}", MAX_ID)])
def test_id(ask, qs: str, expected: int | None) -> None:  # type: ignore[no-untyped-def]
    assert ask(query.id_arg, qs, "x") == expected


@pytest.mark.parametrize("raw", ["0", "-3", "+3", "%207", "7%20", "%D9%A3", "3.0", "1e3", str(MAX_ID + 1), "9" * 40])
def test_id_refuses_what_names_no_row(ask, raw: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid):
        ask(query.id_arg, f"x={raw}", "x")
    assert ask(query.lenient_id, f"x={raw}", "x") is None  # the dashboard shows the page without the filter


def test_moment(ask) -> None:  # type: ignore[no-untyped-def]
    assert ask(query.moment, "t=2025-08-13T13:19:26Z", "t") == datetime(2025, 8, 13, 13, 19, 26)
    assert ask(query.moment, "t=2025-08-13T16:19:26%2B03:00", "t") == datetime(2025, 8, 13, 13, 19, 26)
    assert ask(query.moment, "t=2025-08-13", "t") == datetime(2025, 8, 13)
    assert ask(query.moment, "t=0001-01-01T00:00:00%2B01:00", "t") == datetime.min  # noqa: DTZ901
    assert ask(query.moment, "t=", "t") is None
    with pytest.raises(Invalid):
        ask(query.moment, "t=yesterday", "t")


def test_day(ask) -> None:  # type: ignore[no-untyped-def]
    assert ask(query.day, "d=2025-08-13", "d") == date(2025, 8, 13)
    for raw in ("20250813", "2025-W33-3", "2025-02-30", "13/08/2025"):
        with pytest.raises(Invalid):
            ask(query.day, f"d={raw}", "d")


def test_range(ask) -> None:  # type: ignore[no-untyped-def]
    assert ask(query.range_name, "range=7d") == "7d"
    assert ask(query.range_name, "") is None
    assert ask(query.range_name, "range=2y", strict=False) == "24h"
    with pytest.raises(Invalid):
        ask(query.range_name, "range=2y")
    assert query.RANGES["30d"] == 30 * 86400
