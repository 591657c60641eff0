"""Pure encoding and decoding of the RouterOS binary API (lengths, words, sentences, queries).

Nothing here touches a socket: the connection layer feeds bytes to :class:`SentenceDecoder`
and sends what :func:`encode_sentence` returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from routeros.errors import ProtocolError

#: Largest length the seed's five forms can carry (0xF0 + four bytes).
MAX_LENGTH = 0xFFFFFFFF

_ONE = 0x7F
_TWO = 0x3FFF
_THREE = 0x1FFFFF
_FOUR = 0xFFFFFFF


def encode_length(length: int) -> bytes:
    """Encode a word length in the 1- to 5-byte form of the seed's table.

    :raises ValueError: if the length is negative or above :data:`MAX_LENGTH`.
    """
    if length < 0 or length > MAX_LENGTH:
        raise ValueError(f"word length {length} cannot be encoded")
    if length <= _ONE:
        return bytes((length,))
    if length <= _TWO:
        return (length | 0x8000).to_bytes(2, "big")
    if length <= _THREE:
        return (length | 0xC00000).to_bytes(3, "big")
    if length <= _FOUR:
        return (length | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + length.to_bytes(4, "big")


def decode_length(data: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int] | None:
    """Decode the length starting at ``data[pos]``; return ``(length, next_pos)`` or ``None`` if incomplete.

    :raises ProtocolError: on a reserved control byte (``>= 0xF8``).
    """
    end = len(data)
    if pos >= end:
        return None
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    if first < 0xC0:
        if pos + 2 > end:
            return None
        return ((first & 0x3F) << 8) | data[pos + 1], pos + 2
    if first < 0xE0:
        if pos + 3 > end:
            return None
        return ((first & 0x1F) << 16) | (data[pos + 1] << 8) | data[pos + 2], pos + 3
    if first < 0xF0:
        if pos + 4 > end:
            return None
        return int.from_bytes(data[pos : pos + 4], "big") & 0x0FFFFFFF, pos + 4
    if first < 0xF8:
        if pos + 5 > end:
            return None
        return int.from_bytes(data[pos + 1 : pos + 5], "big"), pos + 5
    raise ProtocolError(f"reserved control byte 0x{first:02X} received; cannot continue the stream")


def _to_bytes(word: str | bytes) -> bytes:
    return word if isinstance(word, bytes) else word.encode("utf-8")


def encode_word(word: str | bytes) -> bytes:
    """Encode one word: its length followed by its bytes (UTF-8 for ``str``)."""
    raw = _to_bytes(word)
    return encode_length(len(raw)) + raw


#: Length prefixes of short words, pre-rendered as Latin-1 text (one char per byte) for encode_sentence.
_PREFIX_TEXT = [encode_length(n).decode("latin-1") for n in range(0x1000)]


def encode_sentence(words: Iterable[str | bytes]) -> bytes:
    """Encode a sentence: every word, then the terminating zero-length word.

    Built as Latin-1 text and encoded once: an ASCII word's characters are its bytes, and any other
    word is turned into its UTF-8 bytes seen as Latin-1. One ``encode`` per sentence instead of one
    per word is what makes this about twice as fast as encoding word by word.
    """
    parts: list[str] = []
    append = parts.append
    prefixes = _PREFIX_TEXT
    for word in words:
        if isinstance(word, str):
            if not word.isascii():
                word = word.encode("utf-8").decode("latin-1")
        else:
            word = bytes(word).decode("latin-1")
        n = len(word)
        append(prefixes[n] if n < 0x1000 else encode_length(n).decode("latin-1"))
        append(word)
    append("\x00")
    return "".join(parts).encode("latin-1")


def decode_word(raw: bytes) -> str:
    """Decode a word's bytes: UTF-8 when valid, else Latin-1 (older RouterOS sends legacy code pages)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class SentenceDecoder:
    """Incremental decoder: :meth:`feed` bytes as they arrive and get back every complete sentence.

    Empty sentences are dropped, as the seed says. ``max_word`` bounds the size of one word so a
    lying length cannot make the client buffer gigabytes.
    """

    __slots__ = ("_buf", "_pos", "_words", "max_word")

    def __init__(self, max_word: int = 16 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._words: list[str] = []
        self.max_word = max_word

    @property
    def pending(self) -> bool:
        """True while a sentence has started but not ended."""
        return bool(self._words) or self._pos < len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[list[str]]:
        """Add received bytes and return the sentences they complete.

        :raises ProtocolError: on a reserved control byte or a word longer than ``max_word``.
        """
        buf = self._buf
        if self._pos:
            del buf[: self._pos]
            self._pos = 0
        buf += data
        end = len(buf)
        max_word = self.max_word
        head = decode_length(buf, 0)
        if head is None:
            return []
        if head[0] > max_word:
            raise ProtocolError(f"word of {head[0]} bytes exceeds the {max_word}-byte limit")
        if head[0] + head[1] > end:
            # Still inside the first word (a large one arriving in pieces): decode nothing yet.
            return []
        # One Latin-1 decode of the whole buffer yields a str whose offsets are the byte offsets, so
        # an ASCII word (nearly every word RouterOS sends) is a plain slice of it: measured ~1.5x
        # faster than decoding each word's bytes. Other words are re-decoded as UTF-8.
        text = buf.decode("latin-1")
        sentences: list[list[str]] = []
        words = self._words
        pos = 0
        while pos < end:
            first = buf[pos]
            if first < 0x80:
                length = first
                start = pos + 1
            else:
                decoded = decode_length(buf, pos)
                if decoded is None:
                    break
                length, start = decoded
                if length > max_word:
                    raise ProtocolError(f"word of {length} bytes exceeds the {max_word}-byte limit")
            stop = start + length
            if stop > end:
                break
            pos = stop
            if length == 0:
                if words:
                    sentences.append(words)
                    words = []
                continue
            word = text[start:stop]
            if not word.isascii():
                try:
                    word = buf[start:stop].decode("utf-8")
                except UnicodeDecodeError:
                    # Older RouterOS sends legacy code pages; the Latin-1 reading keeps every byte.
                    pass
            words.append(word)
        self._words = words
        self._pos = pos
        return sentences


def split_attribute(word: str) -> tuple[str, str]:
    """Split ``=name=value`` (value may be empty or contain ``=``) into ``(name, value)``.

    :raises ProtocolError: if the word is not an attribute word.
    """
    if len(word) < 2 or word[0] != "=":
        raise ProtocolError(f"not an attribute word: {word!r}")
    sep = word.find("=", 1)
    if sep == -1:
        return word[1:], ""
    return word[1:sep], word[sep + 1 :]


def api_text(value: object) -> str:
    """Render a value for a word: ``True``/``False`` as ``yes``/``no``, ``None`` as empty, else ``str``."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    return str(value)


def attribute_word(name: str, value: object) -> str:
    """Build ``=name=value``; booleans become ``yes``/``no`` as RouterOS expects."""
    return f"={name}={api_text(value)}"


def api_parameter(name: str, value: str) -> str:
    """Build an API parameter such as ``.tag=7`` or ``.proplist=name,type``."""
    return f".{name.lstrip('.')}={value}"


def command_word(path: str) -> str:
    """Turn a console path (``ip/address/print``, ``/ip address print``) into the API command word."""
    return "/" + "/".join(part for part in path.replace(" ", "/").split("/") if part)


def parse_reply(sentence: list[str]) -> tuple[str, dict[str, str], str | None]:
    """Split a reply sentence into ``(reply_word, attributes, tag)``.

    :raises ProtocolError: if the sentence does not start with a ``!`` reply word.
    """
    if not sentence or not sentence[0].startswith("!"):
        raise ProtocolError(f"reply does not start with a '!' word: {sentence[:1]!r}")
    attrs: dict[str, str] = {}
    tag: str | None = None
    for word in sentence[1:]:
        if word.startswith("="):
            sep = word.find("=", 1)
            if sep == -1:
                attrs[word[1:]] = ""
            else:
                attrs[word[1:sep]] = word[sep + 1 :]
        elif word.startswith(".tag="):
            tag = word[5:]
        elif not word.startswith("."):
            # Other API parameters (".section=...") carry nothing a caller needs; anything
            # else means the stream is out of step.
            raise ProtocolError(f"unexpected word in reply: {word!r}")
    return sentence[0], attrs, tag


def query_words(query: Mapping[str, object] | Iterable[str] | str) -> list[str]:
    """Turn a query into ``?`` words, keeping its order (which is significant).

    A mapping gives one word per key (a leading ``?`` on a key is optional):
    ``{"name": "x"}`` → ``?name=x``; ``{"comment": None}`` → ``?comment`` (has the property);
    ``{"-comment": None}`` → ``?-comment``; ``{">rx": 5}`` → ``?>rx=5``; ``{"#": "|!"}`` → ``?#|!``.
    An iterable of strings is taken as raw query words (``"type=ether"``, ``"#|"``), with ``?``
    prefixed where missing; a single string is one word.
    """
    if isinstance(query, str):
        query = (query,)
    if not isinstance(query, Mapping):
        return [item if item.startswith("?") else f"?{item}" for item in query]
    words: list[str] = []
    for key, value in query.items():
        name = key[1:] if key.startswith("?") else key
        if name.startswith("#"):
            # The operator string may sit in the key ("#|") or the value ({"#": "|"}).
            words.append(f"?{name}{api_text(value)}")
        elif name.startswith("-") or value is None:
            words.append(f"?{name}")
        else:
            words.append(f"?{name}={api_text(value)}")
    return words


def reply_attributes(sentence: list[str]) -> tuple[dict[str, str], str | None]:
    """The attributes and ``.tag`` of a reply sentence, ignoring any other word (lenient :func:`parse_reply`).

    Used where replies of several tagged commands are read together and a bare word (``!fatal``'s reason)
    must not abort the whole read.
    """
    row: dict[str, str] = {}
    tag = None
    for word in sentence[1:]:
        if word[:1] == "=":
            sep = word.find("=", 1)
            if sep < 0:
                row[word[1:]] = ""
            else:
                row[word[1:sep]] = word[sep + 1 :]
        elif word.startswith(".tag="):
            tag = word[5:]
    return row, tag
