"""The byte layer on a real socket pair: buffered reads, deadlines, and out-of-step detection."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from routeros.connection import Connection, Deadline, resolve
from routeros.errors import ConnectionLost, ProtocolError, RouterTimeout, Unreachable
from routeros.protocol import encode_sentence


class CountingSocket(socket.socket):
    """A real socket that counts its ``recv`` calls."""

    recv_calls = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.recv_calls += 1
        return super().recv(bufsize, flags)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, CountingSocket]]:
    left, right = socket.socketpair()
    counting = CountingSocket(right.family, right.type, right.proto, fileno=right.detach())
    yield left, counting
    left.close()
    counting.close()


def test_one_recv_serves_many_words_and_sentences(pair: tuple[socket.socket, CountingSocket]) -> None:
    router, client_sock = pair
    sentences = [["!re", f"=.id=*{i:X}", f"=name=item{i}", "=comment=", ".tag=1"] for i in range(2000)]
    payload = b"".join(encode_sentence(words) for words in sentences)
    router.sendall(payload)
    connection = Connection(client_sock, "pair")
    deadline = Deadline(5)
    assert [connection.read_sentence(deadline) for _ in sentences] == sentences
    # ~70 KB of 10,000 words arrive in a handful of reads, not one per word or byte.
    assert client_sock.recv_calls <= 4


def test_deadline_bounds_a_silent_peer(pair: tuple[socket.socket, CountingSocket]) -> None:
    _, client_sock = pair
    connection = Connection(client_sock, "pair")
    with pytest.raises(RouterTimeout, match=r"did not answer within 0\.05 s"):
        connection.read_sentence(Deadline(0.05, "pair"))
    assert connection.broken


def test_peer_closing_mid_sentence_is_connection_lost(pair: tuple[socket.socket, CountingSocket]) -> None:
    router, client_sock = pair
    router.sendall(b"\x03!re\x05=a=")
    router.close()
    connection = Connection(client_sock, "pair")
    with pytest.raises(ConnectionLost, match="in the middle of a reply"):
        connection.read_sentence(Deadline(5))


def test_control_byte_breaks_the_connection(pair: tuple[socket.socket, CountingSocket]) -> None:
    router, client_sock = pair
    router.sendall(b"\xf9garbage")
    connection = Connection(client_sock, "pair")
    with pytest.raises(ProtocolError, match="control byte"):
        connection.read_sentence(Deadline(5))
    assert connection.broken


def test_unsolicited_bytes_mark_an_idle_connection_out_of_step(
    pair: tuple[socket.socket, CountingSocket],
) -> None:
    router, client_sock = pair
    connection = Connection(client_sock, "pair")
    assert not connection.has_unread_data()
    router.sendall(encode_sentence(["!re", "=x=y"]))
    assert connection.has_unread_data()
    connection.close()
    assert connection.closed
    connection.close()


def test_resolve_takes_ip_literals_without_a_lookup() -> None:
    assert resolve("127.0.0.1", 8728, Deadline(1))[0][4] == ("127.0.0.1", 8728)
    assert resolve("::1", 8728, Deadline(1))[0][4][:2] == ("::1", 8728)


# A label over 63 characters fails in the IDNA encoder before any lookup: a DNS failure with no DNS query
# (this machine's resolver is not on loopback, and tests send traffic to loopback only).
UNRESOLVABLE = "no-such-router-" + "x" * 60 + ".invalid"


def test_resolve_names_and_failures() -> None:
    assert any(info[4][0] in ("127.0.0.1", "::1") for info in resolve("localhost", 80, Deadline(5)))
    with pytest.raises(Unreachable, match="cannot resolve"):
        resolve(UNRESOLVABLE, 80, Deadline(5))
