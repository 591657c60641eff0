"""Many binary-API sessions on one thread: connect, log in and run pipelined tagged commands on a fleet at once.

A poll of a thousand routers is mostly waiting. Instead of a thread per router, one ``selectors`` loop
drives every plain-API socket without blocking: each router's conversation (login when the connection
is new, then every command sent at once under its own tag) is a small generator that yields bytes to
send and receives the sentences that arrive. Each router has its own :class:`Deadline`, so a router that
never answers costs exactly its deadline, once, while the others carry on.

Connections come from and go back to a :class:`ClientPool` as ordinary :class:`ApiClient` objects, so a
warm connection serves the next cycle and any other caller; a broken one is closed, never pooled.
TLS (api-ssl), REST, protocol probing and DNS names are not handled here: :func:`can_multiplex` says
which configs are, and the rest stay on threads.
"""

from __future__ import annotations

import errno
import heapq
import ipaddress
import itertools
import os
import selectors
import socket
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from routeros.api import ApiClient, challenge_response, trap_error
from routeros.config import WELL_KNOWN_PORTS, RouterConfig
from routeros.connection import _UNREACHABLE_ERRNOS, Connection, Deadline
from routeros.errors import (
    ConnectionLost,
    FatalError,
    ProtocolError,
    RouterOSError,
    RouterTimeout,
    Unreachable,
)
from routeros.pool import ClientPool
from routeros.protocol import encode_sentence, reply_attributes
from routeros.values import Row

#: One ``recv`` asks for this much (a monitoring reply is a few kilobytes).
RECV_SIZE = 64 * 1024

#: A conversation yields bytes to send, or None to ask for the next sentence; it returns the replies.
Conversation = Generator[bytes | None, list[str] | None, "list[Reply]"]


@dataclass
class Reply:
    """One tagged command's answer: its ``!re`` rows, the ``!done`` attributes, the first ``!trap`` if any."""

    rows: list[Row]
    done: Row
    trap: Row | None = None


@dataclass
class Outcome:
    """One router's result: the replies in command order, or the error that ended the session."""

    replies: list[Reply] | None = None
    error: RouterOSError | None = None
    seconds: float = 0.0
    protocol: str = "api"


def can_multiplex(config: RouterConfig) -> bool:
    """True for a plain binary-API router at an IP address (what :func:`run_pipelines` can drive)."""
    protocol = config.protocol if config.protocol != "auto" else WELL_KNOWN_PORTS.get(config.port)
    if protocol != "api":
        return False
    try:
        ipaddress.ip_address(config.host)
    except ValueError:
        return False
    return True


def _fatal(client: ApiClient, sentence: list[str]) -> FatalError:
    reason = " ".join(word for word in sentence[1:] if not word.startswith(".tag=")) or "no reason given"
    client.connection.broken = True
    return FatalError(f"{client.config.where} ended the session: {reason}")


def _talk(client: ApiClient, words: list[str], *, during_login: bool) -> Generator[bytes | None, list[str] | None, Row]:
    """Send one command and read to its ``!done``; return the ``!done`` attributes."""
    tag = str(next(client._tags))
    yield encode_sentence([*words, f".tag={tag}"])
    trap: Row | None = None
    while True:
        sentence = yield None
        assert sentence is not None
        if sentence[0] == "!fatal":
            raise _fatal(client, sentence)
        row, reply_tag = reply_attributes(sentence)
        if reply_tag is not None and reply_tag != tag:
            continue
        word = sentence[0]
        if word == "!trap":
            trap = trap or row
        elif word == "!done":
            if trap is not None:
                raise trap_error(trap, during_login)
            return row
        elif word not in ("!re", "!empty"):
            client.connection.broken = True
            raise ProtocolError(f"{client.config.where} sent an unknown reply word {word!r}")


def _converse(client: ApiClient, commands: Sequence[Sequence[str]], login: bool) -> Conversation:
    """Log in if the connection is new, then send every command at once and collect each tag's reply."""
    config = client.config
    if login:
        name = config.username
        done = yield from _talk(
            client, ["/login", f"=name={name}", f"=password={config.password}"], during_login=True
        )
        challenge = done.get("ret")
        if challenge is not None:
            response = challenge_response(config.password, challenge)
            yield from _talk(client, ["/login", f"=name={name}", f"=response={response}"], during_login=True)
    tags: dict[str, int] = {}
    payload = bytearray()
    for index, words in enumerate(commands):
        tag = str(next(client._tags))
        tags[tag] = index
        payload += encode_sentence([*words, f".tag={tag}"])
    yield bytes(payload)
    replies = [Reply([], {}) for _ in commands]
    pending = len(tags)
    while pending:
        sentence = yield None
        assert sentence is not None
        word = sentence[0]
        if word == "!fatal":
            raise _fatal(client, sentence)
        row, reply_tag = reply_attributes(sentence)
        slot = tags.get(reply_tag) if reply_tag is not None else None
        if reply_tag is None or slot is None:
            continue  # a leftover of an earlier, abandoned command on this connection
        reply = replies[slot]
        if word == "!re":
            reply.rows.append(row)
        elif word == "!trap":
            reply.trap = reply.trap or row
        elif word == "!done":
            reply.done = row
            del tags[reply_tag]
            pending -= 1
        elif word != "!empty":
            client.connection.broken = True
            raise ProtocolError(f"{config.where} sent an unknown reply word {word!r}")
    return replies


class _Session:
    """One router's place in the loop."""

    __slots__ = (
        "client",
        "commands",
        "config",
        "connecting",
        "deadline",
        "done",
        "expires",
        "outbox",
        "outcome",
        "position",
        "retried",
        "sock",
        "steps",
        "warm",
    )

    def __init__(self, position: int, config: RouterConfig, commands: Sequence[Sequence[str]]) -> None:
        self.position = position
        self.config = config
        self.commands = commands
        self.deadline = Deadline(config.timeout, config.where)
        self.expires = self.deadline.expires
        self.client: ApiClient | None = None
        self.sock: socket.socket | None = None
        self.steps: Conversation | None = None
        self.outbox = bytearray()
        self.connecting = False
        self.warm = False
        self.retried = False
        self.done = False
        self.outcome = Outcome()


def _take_idle(pool: ClientPool, config: RouterConfig) -> ApiClient | None:
    """An idle pooled client for ``config`` that looks alive, without opening one.

    ``ClientPool.acquire`` would open a new client with a blocking connect, and health-check one idle past
    ``check_after`` with a blocking ping; here a fresh connection is opened inside the loop instead and a
    stale one is found out by the poll itself (see the retry in :func:`run_pipelines`).
    """
    now = time.monotonic()
    found: ApiClient | None = None
    stale = []
    with pool._lock:
        stack = pool._idle.get(config)
        while stack:
            last_used, client = stack.pop()
            if now - last_used <= pool.idle_timeout and isinstance(client, ApiClient):
                found = client
                break
            stale.append(client)
    for client in stale:
        client.close()
    if found is not None and not found.looks_alive():
        found.close()
        return None
    return found


def _connect_error(config: RouterConfig, code: int) -> RouterOSError:
    where = config.where
    if code in (errno.ETIMEDOUT,):
        return RouterTimeout(f"connecting to {where} timed out")
    reason = os.strerror(code)
    if code in _UNREACHABLE_ERRNOS:
        return Unreachable(
            f"cannot connect to {where}: {reason}; check the address, the port and that the service is on"
        )
    return Unreachable(f"cannot connect to {where}: {reason}")


class _Loop:
    def __init__(
        self,
        pool: ClientPool | None,
        waiting: list[_Session],
        limit: int,
        on_done: Callable[[int, Outcome], None] | None,
    ) -> None:
        self.pool = pool
        self.on_done = on_done
        self.waiting = waiting
        self.limit = limit
        self.selector = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, _Session]] = []
        self._order = itertools.count()
        self.active = 0

    def start(self, session: _Session) -> None:
        self.active += 1
        # The deadline counts from the session's start, not from when the batch was handed in.
        session.deadline = Deadline(session.config.timeout, session.config.where)
        session.expires = session.deadline.expires
        client = _take_idle(self.pool, session.config) if self.pool is not None else None
        heapq.heappush(self.timers, (session.expires, next(self._order), session))
        if client is not None:
            session.warm = True
            self._attach(session, client)
            self._advance(session, None)
        else:
            self._connect(session)

    def _connect(self, session: _Session) -> None:
        config = session.config
        session.warm = False
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                config.host, config.port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
            )[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            self._finish(session, Unreachable(f"cannot connect to {config.where}: {exc}"))
            return
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            sock.close()
            self._finish(session, _connect_error(config, code))
            return
        session.sock = sock
        session.connecting = True
        if config.connect_timeout is not None:
            connect_by = min(session.expires, time.monotonic() + config.connect_timeout)
            heapq.heappush(self.timers, (connect_by, next(self._order), session))
        self.selector.register(sock, selectors.EVENT_WRITE, session)

    def _attach(self, session: _Session, client: ApiClient) -> None:
        session.client = client
        session.sock = client.connection.sock
        session.sock.setblocking(False)
        session.steps = _converse(client, session.commands, login=not session.warm)
        self.selector.register(session.sock, selectors.EVENT_READ, session)

    def _connected(self, session: _Session) -> None:
        assert session.sock is not None
        sock = session.sock
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.selector.unregister(sock)
        session.connecting = False
        if code:
            sock.close()
            session.sock = None
            self._finish(session, _connect_error(session.config, code))
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._attach(session, ApiClient(Connection(sock, session.config.where), session.config, "api"))
        self._advance(session, None)

    def _advance(self, session: _Session, sentence: list[str] | None) -> None:
        """Run the conversation until it needs a sentence that has not arrived yet, then flush the outbox."""
        assert session.steps is not None
        assert session.client is not None
        ready = session.client.connection._ready
        value = sentence
        try:
            while True:
                step = session.steps.send(value)
                if step is not None:
                    session.outbox += step
                    value = None
                elif ready:
                    value = ready.popleft()
                else:
                    break
        except StopIteration as stop:
            self._flush(session)
            self._finish(session, None, stop.value)
            return
        except RouterOSError as exc:
            self._finish(session, exc)
            return
        self._flush(session)

    def _flush(self, session: _Session) -> None:
        if not session.outbox or session.done:
            return
        assert session.sock is not None
        try:
            sent = session.sock.send(session.outbox)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._lost(session, f"connection to {session.config.where} lost while sending: {exc}")
            return
        del session.outbox[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if session.outbox else 0)
        self.selector.modify(session.sock, events, session)

    def _lost(self, session: _Session, message: str) -> None:
        self._finish(session, ConnectionLost(message))

    def readable(self, session: _Session) -> None:
        assert session.sock is not None
        assert session.client is not None
        connection = session.client.connection
        try:
            data = session.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(session, f"connection to {session.config.where} lost mid-reply: {exc}")
            return
        if not data:
            state = "in the middle of a reply" if connection._decoder.pending else "before replying"
            self._lost(session, f"{session.config.where} closed the connection {state}")
            return
        try:
            connection._ready.extend(connection._decoder.feed(data))
        except ProtocolError as exc:
            self._finish(
                session,
                ProtocolError(f"{session.config.where} sent bytes that are not the RouterOS API: {exc}"),
            )
            return
        if connection._ready:
            self._advance(session, connection._ready.popleft())

    def expire(self, now: float) -> None:
        timers = self.timers
        while timers and timers[0][0] <= now:
            _, _, session = heapq.heappop(timers)
            if session.done:
                continue
            if session.connecting:
                self._finish(session, RouterTimeout(f"connecting to {session.config.where} timed out"))
            elif session.expires <= now:
                self._finish(session, session.deadline.timeout_error())

    def _finish(self, session: _Session, error: RouterOSError | None, replies: list[Reply] | None = None) -> None:
        sock, client = session.sock, session.client
        if sock is not None:
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass
        if error is not None and client is not None:
            client.connection.broken = True
        if (
            error is not None
            and session.warm
            and not session.retried
            and isinstance(error, ConnectionLost | FatalError)
            and session.expires > time.monotonic()
        ):
            # A pooled connection the router dropped while idle: that says nothing about the router now.
            if client is not None:
                client.close()
            session.retried = True
            session.client = session.sock = session.steps = None
            session.outbox.clear()
            self._connect(session)
            return
        session.done = True
        self.active -= 1
        session.outcome.seconds = time.monotonic() - session.deadline.expires + session.deadline.seconds
        if error is not None:
            session.outcome.error = error
            if client is not None:
                client.close()
            elif sock is not None:
                sock.close()
        else:
            session.outcome.replies = replies
            assert client is not None
            assert sock is not None
            sock.setblocking(True)
            if self.pool is not None:
                self.pool.release(session.config, client)
            else:
                client.close()
        if self.on_done is not None:
            self.on_done(session.position, session.outcome)

    def run(self) -> None:
        selector = self.selector
        while self.active or self.waiting:
            while self.waiting and self.active < self.limit:
                self.start(self.waiting.pop())
            now = time.monotonic()
            self.expire(now)
            if not self.active:
                continue
            timeout = max(self.timers[0][0] - now, 0.0) if self.timers else None
            for key, events in selector.select(timeout):
                session: _Session = key.data
                if session.done:
                    continue
                if session.connecting:
                    self._connected(session)
                    continue
                if events & selectors.EVENT_WRITE:
                    self._flush(session)
                if events & selectors.EVENT_READ and not session.done:
                    self.readable(session)
        selector.close()


def run_pipelines(
    pool: ClientPool | None,
    jobs: Sequence[tuple[RouterConfig, Sequence[Sequence[str]]]],
    *,
    limit: int | None = None,
    on_done: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Send each router its commands at once (tagged) and collect the replies, every router concurrently.

    ``jobs`` pairs a config (see :func:`can_multiplex`) with its command sentences (words without a tag).
    A warm pooled connection is used when there is one, otherwise one is opened and logged in inside the
    loop; each router has ``config.timeout`` for all of it. A pooled connection that turns out to be dead
    is replaced once within the same deadline. Usable connections go back to ``pool`` (closed if None).
    A ``!trap`` of a command is returned in its :class:`Reply`; errors that end a session are returned,
    never raised, in the router's :class:`Outcome`. At most ``limit`` routers are in flight at once.
    ``on_done(position, outcome)`` is called (on this thread) as each router finishes, so a caller can
    start on early answers while slow routers are still being waited for.
    """
    sessions = [_Session(position, config, commands) for position, (config, commands) in enumerate(jobs)]
    loop = _Loop(pool, sessions[::-1], max(1, limit or len(sessions)), on_done)
    try:
        loop.run()
    finally:
        for session in sessions:
            if not session.done:
                # Interrupted (KeyboardInterrupt, a bug): nothing half-read may go back to the pool.
                session.done = True
                if session.client is not None:
                    session.client.close()
                elif session.sock is not None:
                    session.sock.close()
    return [session.outcome for session in sessions]
