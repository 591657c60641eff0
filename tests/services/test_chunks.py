"""The metric chunk codec: exact round trips for any series, and a typed error for garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.services import chunks

finite = st.floats(allow_nan=False, allow_infinity=True, width=64)
decimals = st.integers(min_value=-10**12, max_value=10**12).map(lambda n: n / 100)


@st.composite
def series(draw: st.DrawFn) -> tuple[list[int], list[list[float]]]:
    gaps = draw(st.lists(st.integers(min_value=1, max_value=10**6), max_size=200))
    first = draw(st.integers(min_value=0, max_value=2**40))
    timestamps = [first]
    for gap in gaps:
        timestamps.append(timestamps[-1] + gap)
    width = draw(st.integers(min_value=1, max_value=4))
    columns = [draw(st.lists(st.one_of(finite, decimals), min_size=len(timestamps), max_size=len(timestamps)))
               for _ in range(width)]
    return timestamps, columns


@given(series())
def test_round_trip_is_exact(points: tuple[list[int], list[list[float]]]) -> None:
    timestamps, columns = points
    decoded_ts, decoded_columns = chunks.decode(chunks.encode(timestamps, columns))
    assert decoded_ts == timestamps
    assert decoded_columns == columns


def test_regular_polls_cost_a_few_bytes_a_point() -> None:
    timestamps = list(range(1_780_000_000, 1_780_000_000 + 3600, 60))
    cpu = [float(i % 7) for i in range(60)]
    uptime = [float(86400 + i * 60) for i in range(60)]
    assert len(chunks.encode(timestamps, [cpu])) < 60 * 2
    assert len(chunks.encode(timestamps, [uptime])) < 60


@pytest.mark.parametrize("blob", [b"", b"not zlib", __import__("zlib").compress(b"\x09\x00")])
def test_garbage_is_a_chunk_error(blob: bytes) -> None:
    with pytest.raises(chunks.ChunkError):
        chunks.decode(blob)
