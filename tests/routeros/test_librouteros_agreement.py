"""Our codec and librouteros (the reference client) agree on every encoding both can express.

librouteros stops at 4-byte lengths (< 0x10000000); the 5-byte ``0xF0`` form is ours alone and is
covered by the seed-table tests.
"""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from librouteros import protocol as lib

from routeros.connection import Connection, Deadline
from routeros.protocol import (
    SentenceDecoder,
    attribute_word,
    decode_length,
    encode_length,
    encode_sentence,
    encode_word,
)

LIB_MAX = 0x0FFFFFFF
BOUNDARIES = [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, LIB_MAX]
ascii_words = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=200)
utf8_words = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=200)


@pytest.mark.parametrize("length", BOUNDARIES, ids=hex)
def test_length_boundaries_agree(length: int) -> None:
    ours = encode_length(length)
    assert ours == lib.encode_length(length)
    assert lib.decode_length(ours) == length
    assert lib.determine_length(ours[:1]) == len(ours) - 1


@given(st.integers(min_value=0, max_value=LIB_MAX))
def test_lengths_agree(length: int) -> None:
    ours = encode_length(length)
    assert ours == lib.encode_length(length)
    assert decode_length(ours) == (lib.decode_length(ours), len(ours))


@given(utf8_words)
def test_words_agree(word: str) -> None:
    assert encode_word(word) == lib.encode_word(word, "utf-8")


@given(st.lists(utf8_words, min_size=1, max_size=20))
def test_sentences_agree(words: list[str]) -> None:
    ours = encode_sentence(words)
    assert ours == lib.encode_sentence(*words, encoding="utf-8")
    assert SentenceDecoder().feed(lib.encode_sentence(*words, encoding="utf-8")) == [words]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "ether1"),
        ("disabled", True),
        ("disabled", False),
        ("mtu", 1500),
        ("comment", ""),
        ("x", "a=b"),
    ],
)
def test_attribute_words_agree(key: str, value: object) -> None:
    assert attribute_word(key, value) == lib.compose_word(key, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "value"), [("name", "ether1"), ("comment", ""), ("script", ":put a=b")])
def test_attribute_parsing_agrees(key: str, value: str) -> None:
    word = attribute_word(key, value)
    assert lib.parse_word(word) == (key, value)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(ascii_words, min_size=1, max_size=8), min_size=1, max_size=6))
def test_librouteros_reads_what_we_write_over_a_real_socket(sentences: list[list[str]]) -> None:
    left, right = socket.socketpair()
    try:
        reader = lib.ApiProtocol(transport=lib.SocketTransport(sock=right), encoding="utf-8")
        left.sendall(b"".join(encode_sentence(words) for words in sentences))
        for words in sentences:
            reply_word, rest = reader.readSentence()
            assert [reply_word, *rest] == words
    finally:
        left.close()
        right.close()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(utf8_words, min_size=1, max_size=8), min_size=1, max_size=6))
def test_we_read_what_librouteros_writes_over_a_real_socket(sentences: list[list[str]]) -> None:
    left, right = socket.socketpair()
    try:
        writer = lib.ApiProtocol(transport=lib.SocketTransport(sock=left), encoding="utf-8")
        for words in sentences:
            writer.writeSentence(*words)
        connection = Connection(right, "pair")
        deadline = Deadline(5)
        assert [connection.read_sentence(deadline) for _ in sentences] == sentences
    finally:
        left.close()
        right.close()
