"""The pure codec: every row of the seed's length table, control bytes, words, sentences and queries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routeros.errors import ProtocolError
from routeros.protocol import (
    MAX_LENGTH,
    SentenceDecoder,
    api_parameter,
    attribute_word,
    command_word,
    decode_length,
    decode_word,
    encode_length,
    encode_sentence,
    encode_word,
    parse_reply,
    query_words,
    split_attribute,
)

# Each row of the seed's table, at both ends of its range, with the exact bytes it must produce.
SEED_TABLE = [
    (0x00, b"\x00"),
    (0x01, b"\x01"),
    (0x7F, b"\x7f"),
    (0x80, b"\x80\x80"),
    (0x3FFF, b"\xbf\xff"),
    (0x4000, b"\xc0\x40\x00"),
    (0x1FFFFF, b"\xdf\xff\xff"),
    (0x200000, b"\xe0\x20\x00\x00"),
    (0xFFFFFFF, b"\xef\xff\xff\xff"),
    (0x10000000, b"\xf0\x10\x00\x00\x00"),
    (0xFFFFFFFF, b"\xf0\xff\xff\xff\xff"),
]


@pytest.mark.parametrize(("length", "encoded"), SEED_TABLE, ids=[hex(n) for n, _ in SEED_TABLE])
def test_seed_table_row_encodes_exactly(length: int, encoded: bytes) -> None:
    assert encode_length(length) == encoded


@pytest.mark.parametrize(("length", "encoded"), SEED_TABLE, ids=[hex(n) for n, _ in SEED_TABLE])
def test_seed_table_row_decodes_exactly(length: int, encoded: bytes) -> None:
    assert decode_length(encoded + b"tail") == (length, len(encoded))


@pytest.mark.parametrize(("length", "encoded"), SEED_TABLE[1:], ids=[hex(n) for n, _ in SEED_TABLE[1:]])
def test_truncated_length_is_incomplete_not_wrong(length: int, encoded: bytes) -> None:
    for cut in range(len(encoded)):
        assert decode_length(encoded[:cut]) is None


@pytest.mark.parametrize("control", range(0xF8, 0x100))
def test_reserved_control_bytes_are_rejected(control: int) -> None:
    with pytest.raises(ProtocolError, match="control byte"):
        decode_length(bytes((control, 0, 0, 0, 0)))
    with pytest.raises(ProtocolError, match="control byte"):
        SentenceDecoder().feed(b"\x05!done" + bytes((control,)))


@pytest.mark.parametrize("length", [-1, MAX_LENGTH + 1])
def test_unencodable_lengths(length: int) -> None:
    with pytest.raises(ValueError, match="cannot be encoded"):
        encode_length(length)


@given(st.integers(min_value=0, max_value=MAX_LENGTH))
def test_length_round_trip(length: int) -> None:
    encoded = encode_length(length)
    assert decode_length(encoded) == (length, len(encoded))


def test_decode_length_at_offset() -> None:
    assert decode_length(b"xx\x80\x80", 2) == (0x80, 4)
    assert decode_length(b"xx", 2) is None


def test_word_encoding_counts_utf8_bytes() -> None:
    assert encode_word("") == b"\x00"
    assert encode_word("!done") == b"\x05!done"
    assert encode_word("=name=ä") == b"\x08=name=\xc3\xa4"
    assert encode_word(b"\xff") == b"\x01\xff"
    assert encode_word("x" * 0x80) == b"\x80\x80" + b"x" * 0x80


def test_sentence_ends_with_empty_word() -> None:
    assert encode_sentence(["/login", "=name=admin"]) == b"\x06/login\x0b=name=admin\x00"
    assert encode_sentence([]) == b"\x00"


words_strategy = st.lists(st.text(min_size=1, max_size=300), min_size=1, max_size=12)


# Machine load must not fail a correctness test: no per-example time limit.
@settings(deadline=None)
@given(st.lists(words_strategy, min_size=1, max_size=5), st.integers(min_value=1, max_value=64))
def test_sentences_round_trip_whatever_the_chunking(sentences: list[list[str]], chunk: int) -> None:
    stream = b"".join(encode_sentence(words) for words in sentences)
    decoder = SentenceDecoder()
    decoded: list[list[str]] = []
    for start in range(0, len(stream), chunk):
        decoded.extend(decoder.feed(stream[start : start + chunk]))
    assert decoded == sentences
    assert not decoder.pending


# Machine load must not fail a correctness test: no per-example time limit.
@settings(deadline=None)
@given(st.binary(min_size=0x80, max_size=0x4100))
def test_long_binary_words_round_trip(payload: bytes) -> None:
    decoded = SentenceDecoder().feed(encode_sentence([b"!re", payload]))
    assert decoded == [["!re", decode_word(payload)]]
    assert decode_word(payload).encode("utf-8" if _is_utf8(payload) else "latin-1") == payload


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_invalid_utf8_falls_back_to_latin1() -> None:
    assert SentenceDecoder().feed(b"\x03!re\x02\xe9t\x00") == [["!re", "ét"]]


def test_empty_sentences_are_ignored() -> None:
    assert SentenceDecoder().feed(b"\x00\x00\x05!done\x00\x00") == [["!done"]]


def test_five_byte_length_word_decodes() -> None:
    # librouteros cannot read this form; the seed's table says it exists.
    decoder = SentenceDecoder()
    assert decoder.feed(b"\x03!re\xf0\x00\x00\x00\x03abc\x00") == [["!re", "abc"]]


def test_oversized_word_is_refused_before_buffering() -> None:
    decoder = SentenceDecoder(max_word=1024)
    with pytest.raises(ProtocolError, match="exceeds"):
        decoder.feed(b"\x03!re" + encode_length(4096))


def test_pending_tracks_partial_sentences() -> None:
    decoder = SentenceDecoder()
    assert decoder.feed(b"\x03!re\x04=a=") == []
    assert decoder.pending
    assert decoder.feed(b"b\x00") == [["!re", "=a=b"]]
    assert not decoder.pending


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("=name=ether1", ("name", "ether1")),
        ("=comment=", ("comment", "")),
        ("=script=:put a=b", ("script", ":put a=b")),
        ("=.id=*1", (".id", "*1")),
        ("=flag", ("flag", "")),
    ],
)
def test_split_attribute(word: str, expected: tuple[str, str]) -> None:
    assert split_attribute(word) == expected


@pytest.mark.parametrize("word", ["", "=", "name=x", "?name=x"])
def test_split_attribute_rejects_non_attributes(word: str) -> None:
    with pytest.raises(ProtocolError):
        split_attribute(word)


@given(
    st.text(alphabet=st.characters(blacklist_characters="=", blacklist_categories=["Cs"]), min_size=1),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"])),
)
def test_attribute_round_trip(name: str, value: str) -> None:
    assert split_attribute(attribute_word(name, value)) == (name, value)


def test_attribute_word_renders_python_values() -> None:
    assert attribute_word("disabled", True) == "=disabled=yes"
    assert attribute_word("disabled", False) == "=disabled=no"
    assert attribute_word("comment", None) == "=comment="
    assert attribute_word("mtu", 1500) == "=mtu=1500"


def test_api_parameters() -> None:
    assert api_parameter("tag", "7") == ".tag=7"
    assert api_parameter(".proplist", "name,type") == ".proplist=name,type"
    assert api_parameter("id", "*1") == ".id=*1"


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("ip/address/print", "/ip/address/print"),
        ("/ip address print", "/ip/address/print"),
        ("/login", "/login"),
    ],
)
def test_command_word(path: str, word: str) -> None:
    assert command_word(path) == word


def test_parse_reply() -> None:
    assert parse_reply(["!re", "=.id=*1", "=name=a=b", ".tag=3"]) == (
        "!re",
        {".id": "*1", "name": "a=b"},
        "3",
    )
    assert parse_reply(["!done"]) == ("!done", {}, None)
    with pytest.raises(ProtocolError):
        parse_reply(["=name=x"])
    with pytest.raises(ProtocolError):
        parse_reply(["!re", "garbage"])


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"name": "x"}, ["?name=x"]),
        ({"?name": "x"}, ["?name=x"]),
        ({"comment": None}, ["?comment"]),
        ({"-comment": None}, ["?-comment"]),
        ({">rx-byte": 5}, ["?>rx-byte=5"]),
        ({"<mtu": 1500}, ["?<mtu=1500"]),
        ({">comment": ""}, ["?>comment="]),
        ({"disabled": False}, ["?disabled=no"]),
        ({"type": "ether", "?type2": "vlan", "#": "|!"}, ["?type=ether", "?type2=vlan", "?#|!"]),
        ({"#|": None}, ["?#|"]),
        (["type=ether", "type=vlan", "#|!"], ["?type=ether", "?type=vlan", "?#|!"]),
        (["?-name"], ["?-name"]),
        ("#|", ["?#|"]),
    ],
)
def test_query_words(query: object, words: list[str]) -> None:
    assert query_words(query) == words  # type: ignore[arg-type]


# Machine load must not fail a correctness test: no per-example time limit.
@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=50),
            st.binary(max_size=50),
            st.integers(min_value=0x0FF0, max_value=0x4010).map(lambda n: "é" * (n // 2) + "x" * (n % 2)),
        ),
        max_size=6,
    )
)
def test_sentence_encoder_matches_word_by_word_encoding(words: list[str | bytes]) -> None:
    # encode_sentence builds Latin-1 text for speed; it must equal the plain definition byte for byte.
    assert encode_sentence(words) == b"".join(encode_word(word) for word in words) + b"\x00"
