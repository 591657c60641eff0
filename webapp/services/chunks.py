"""The codec of compacted metric chunks: many ``(ts, columns...)`` points of one series in a few bytes each.

Layout (then zlib): a header, the timestamps as delta-of-delta, then each column either as exact decimals
(scaled to integers, delta-encoded) or, when a column is not short decimals, as float64 bits XOR-ed with the
previous value (Gorilla's idea). Every integer stream is zigzag-mapped and stored as 8 byte planes (all first
bytes, then all second bytes...), so the zero high bytes of small deltas compress to almost nothing. The
whole thing round-trips exactly: decoding gives back the very floats that were encoded.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from array import array
from collections.abc import Sequence

_VERSION = 1
_HEADER = struct.Struct("<BIB")
_XOR = 255
#: Decimal places tried before a column falls back to XOR-ed float bits.
_MAX_SCALE = 6
_LIMIT = 2**62
_MASK = 2**64 - 1


class ChunkError(ValueError):
    """A chunk that is not in this codec's format (corrupt or from a newer version)."""


def _zigzag(values: Sequence[int]) -> list[int]:
    return [((v << 1) ^ (v >> 63)) & _MASK for v in values]


def _unzigzag(values: Sequence[int]) -> list[int]:
    return [(v >> 1) ^ -(v & 1) for v in values]


def _planes(values: Sequence[int]) -> bytes:
    raw = array("Q", values).tobytes()
    return b"".join(raw[i::8] for i in range(8))


def _unplanes(data: bytes, count: int) -> list[int]:
    raw = bytearray(count * 8)
    for i in range(8):
        raw[i::8] = data[i * count : (i + 1) * count]
    return array("Q", bytes(raw)).tolist()


def _deltas(values: Sequence[int]) -> list[int]:
    if not values:
        return []
    return [values[0], *(b - a for a, b in itertools.pairwise(values))]


def _undeltas(deltas: Sequence[int]) -> list[int]:
    out, total = [], 0
    for delta in deltas:
        total += delta
        out.append(total)
    return out


def _scale_of(column: Sequence[float]) -> int | None:
    for scale in range(_MAX_SCALE + 1):
        factor = 10**scale
        try:
            scaled = [round(v * factor) for v in column]
        except (OverflowError, ValueError):  # inf or nan
            return None
        if all(abs(s) < _LIMIT and s / factor == v for s, v in zip(scaled, column, strict=True)):
            return scale
    return None


def encode(timestamps: Sequence[int], columns: Sequence[Sequence[float]]) -> bytes:
    """Pack points (``timestamps`` ascending, one value per column per point) into one compressed blob."""
    count = len(timestamps)
    parts = [_HEADER.pack(_VERSION, count, len(columns))]
    parts.append(_planes(_zigzag(_deltas(_deltas(list(timestamps))))))
    for column in columns:
        scale = _scale_of(column)
        if scale is None:
            bits = array("Q", array("d", column).tobytes()).tolist()
            parts.append(bytes([_XOR]))
            parts.append(_planes(bits[:1] + [a ^ b for a, b in itertools.pairwise(bits)]))
        else:
            factor = 10**scale
            parts.append(bytes([scale]))
            parts.append(_planes(_zigzag(_deltas([round(v * factor) for v in column]))))
    return zlib.compress(b"".join(parts), 6)


def decode(blob: bytes) -> tuple[list[int], list[list[float]]]:
    """The timestamps and columns :func:`encode` packed.

    :raises ChunkError: when the blob is not a chunk of this version.
    """
    try:
        data = zlib.decompress(blob)
        version, count, width = _HEADER.unpack_from(data)
    except (zlib.error, struct.error) as exc:
        raise ChunkError(f"not a metric chunk: {exc}") from None
    if version != _VERSION:
        raise ChunkError(f"metric chunk version {version} is not supported")
    at = _HEADER.size
    size = count * 8
    timestamps = _undeltas(_undeltas(_unzigzag(_unplanes(data[at : at + size], count))))
    at += size
    columns: list[list[float]] = []
    for _ in range(width):
        mode = data[at]
        stream = _unplanes(data[at + 1 : at + 1 + size], count)
        at += 1 + size
        if mode == _XOR:
            bits, previous = [], 0
            for value in stream:
                previous ^= value
                bits.append(previous)
            columns.append(array("d", array("Q", bits).tobytes()).tolist())
        else:
            factor = 10**mode
            columns.append([v / factor for v in _undeltas(_unzigzag(stream))])
    return timestamps, columns
