"""The binary API door (8728, and 8729 once TLS is wrapped around it): one :class:`ApiSession` per connection."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from routeros.errors import ProtocolError
from routeros.protocol import SentenceDecoder, encode_sentence, split_attribute
from simulators.routeros.faults import api_wrong_types
from simulators.routeros.state import CommandError, Reply

if TYPE_CHECKING:
    from simulators.routeros.router import SimRouter

#: Pre-login words may not be larger than this (the manual: "there is a limit ... before it has logged in").
_PRELOGIN_WORD_LIMIT = 16 * 1024
_READ_SIZE = 65536


class _Closed(Exception):
    """The session ended while replying."""


def challenge_response(password: str, challenge_hex: str) -> str:
    """The ``=response=`` of the pre-6.43 login: ``00`` + md5(0x00 + password + challenge)."""
    digest = hashlib.md5(b"\x00" + password.encode() + bytes.fromhex(challenge_hex), usedforsecurity=False)
    return "00" + digest.hexdigest()


def reply_sentences(reply: Reply, tag: str | None, empty: bool, wrong_types: bool) -> list[list[str]]:
    """Turn a command's result into ``!re`` ... ``!done`` sentences."""
    suffix = [f".tag={tag}"] if tag else []
    sentences = []
    for row in reply.rows:
        shown = api_wrong_types(row) if wrong_types else row
        sentences.append(["!re", *(f"={k}={v}" for k, v in shown.items()), *suffix])
    if empty and not reply.rows and not reply.done:
        sentences.append(["!empty", *suffix])
    sentences.append(["!done", *(f"={k}={v}" for k, v in reply.done.items()), *suffix])
    return sentences


def trap_sentences(error: CommandError, tag: str | None) -> list[list[str]]:
    """A refused command: ``!trap`` (with ``=category=`` when it has one), then ``!done``."""
    suffix = [f".tag={tag}"] if tag else []
    trap = ["!trap"]
    if error.category is not None:
        trap.append(f"=category={error.category}")
    trap.append(f"=message={error.message}")
    return [trap + suffix, ["!done", *suffix]]


class ApiSession:
    """One client connection: login, commands, tags, ``listen`` and ``/cancel``."""

    def __init__(self, router: SimRouter, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.router = router
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = peer[0] if peer else "127.0.0.1"
        self.user: str | None = None
        self._challenge: str | None = None
        self._login_number: int | None = None
        self._listens: dict[str, tuple[asyncio.Task[None], asyncio.Queue[dict[str, str] | None]]] = {}
        self._write_lock = asyncio.Lock()
        self._tagged: set[asyncio.Task[None]] = set()
        self._busy = 0  # commands being answered; a reboot waits for their replies
        self._close_after_reply = False

    async def run(self) -> None:
        """Serve the connection until the client leaves, a fault cuts it, or the router drops it."""
        decoder = SentenceDecoder(max_word=_PRELOGIN_WORD_LIMIT)
        self.router.sessions.add(self)
        try:
            while True:
                data = await self.reader.read(_READ_SIZE)
                if not data:
                    break
                try:
                    sentences = decoder.feed(data)
                except ProtocolError:
                    break
                for sentence in sentences:
                    if self._runs_concurrently(sentence):
                        # Tagged commands run side by side, as on RouterOS: pipelining costs one round trip.
                        task = asyncio.create_task(self._dispatch_tagged(sentence))
                        self._tagged.add(task)
                        task.add_done_callback(self._tagged.discard)
                        continue
                    self._busy += 1
                    try:
                        await self._dispatch(sentence)
                    finally:
                        self._busy -= 1
                    if self.user is not None:
                        decoder.max_word = 16 * 1024 * 1024
                    if self._close_after_reply:
                        raise _Closed
        except (_Closed, ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            await self._finish()

    def _runs_concurrently(self, sentence: list[str]) -> bool:
        if self.user is None or sentence[0] in ("/login", "/cancel", "/quit") or sentence[0].endswith("/listen"):
            return False
        return any(word.startswith(".tag=") and len(word) > 5 for word in sentence[1:])

    async def _dispatch_tagged(self, sentence: list[str]) -> None:
        self._busy += 1
        try:
            await self._dispatch(sentence)
        except (_Closed, ConnectionError, OSError):
            self.writer.transport.abort()
            return
        finally:
            self._busy -= 1
        if self._close_after_reply and not self._busy:
            self.writer.close()

    def drop(self) -> None:
        """Close the connection (reboot): now when idle, after the reply being written otherwise."""
        if self._busy:
            self._close_after_reply = True
        else:
            self.writer.close()

    async def _finish(self) -> None:
        self.router.sessions.discard(self)
        for pending in list(self._tagged):
            pending.cancel()
        for task, queue in self._listens.values():
            queue.put_nowait(None)
            task.cancel()
        self._listens.clear()
        if self._login_number is not None:
            self.router.state.record_logout(self._login_number)
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def _dispatch(self, sentence: list[str]) -> None:
        command = sentence[0]
        args: dict[str, str] = {}
        query: list[str] = []
        tag: str | None = None
        for word in sentence[1:]:
            if word.startswith("="):
                name, value = split_attribute(word)
                args[name] = value
            elif word.startswith("?"):
                query.append(word)
            elif word.startswith(".tag="):
                tag = word[5:] or None
            elif word.startswith("."):
                name, _, value = word.partition("=")
                args[name] = value
            else:
                await self._reply(trap_sentences(CommandError(f"unknown parameter {word}", category=1), tag))
                return
        if command == "/login":
            await self._login(args, tag)
        elif command == "/quit":
            await self._send([["!fatal", "session terminated on request"]])
            raise _Closed
        elif self.user is None:
            await self._reply(trap_sentences(CommandError("not logged in"), tag))
        elif command == "/cancel":
            await self._cancel(args.get("tag"), tag)
        elif command.endswith("/listen"):
            await self._listen(command[: -len("/listen")], tag)
        else:
            await self._command(command, args, query, tag)

    async def _login(self, args: dict[str, str], tag: str | None) -> None:
        router = self.router
        faults = router.faults
        if "fatal_login" in faults:
            await self._send([["!fatal", "not logged in"]])
            raise _Closed
        state = router.state
        legacy = state.version_info < (6, 43)
        name = args.get("name", "")
        if legacy and "response" not in args:
            self._challenge = os.urandom(16).hex()
            await self._reply([["!done", f"=ret={self._challenge}", *([f".tag={tag}"] if tag else [])]])
            return
        if legacy:
            password = state.password_of(name)
            accepted = (
                self._challenge is not None
                and password is not None
                and args["response"] == challenge_response(password, self._challenge)
                and "api" in state.user_policies(name)
            )
            self._challenge = None
            failure = "cannot log in"
        else:
            accepted = "name" in args and state.authenticate(name, args.get("password", ""), "api")
            failure = "invalid user name or password (6)"
        if "wrong_credentials" in faults or not accepted:
            await self._reply(trap_sentences(CommandError(failure), tag))
            return
        self.user = name
        if self._login_number is not None:
            state.record_logout(self._login_number)
        self._login_number = state.record_login(name, self.peer, "api")
        await self._reply([["!done", *([f".tag={tag}"] if tag else [])]])

    async def _command(self, command: str, args: dict[str, str], query: Sequence[str], tag: str | None) -> None:
        state = self.router.state
        try:
            reply = state.execute(command, args, query, user=self.user)
        except CommandError as error:
            await self._reply(trap_sentences(error, tag))
            return
        verb = command.rstrip("/").rsplit("/", 1)[-1]
        empty = state.sends_empty and verb in ("print", "getall")
        await self._reply(reply_sentences(reply, tag, empty, "wrong_types" in self.router.faults))

    async def _listen(self, path: str, tag: str | None) -> None:
        queue: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()
        try:
            self._check_read()
            unsubscribe = self.router.state.subscribe(path, queue.put_nowait)
        except CommandError as error:
            await self._reply(trap_sentences(error, tag))
            return
        key = tag or ""
        previous = self._listens.pop(key, None)
        if previous:
            previous[0].cancel()
        task = asyncio.create_task(self._pump(queue, unsubscribe, tag))
        self._listens[key] = (task, queue)

    def _check_read(self) -> None:
        if self.user is not None and "read" not in self.router.state.user_policies(self.user):
            raise CommandError("not enough permissions (9)")

    async def _pump(self, queue: asyncio.Queue[dict[str, str] | None], unsubscribe: Callable[[], None],
                    tag: str | None) -> None:
        suffix = [f".tag={tag}"] if tag else []
        try:
            while True:
                row = await queue.get()
                if row is None:
                    break
                await self._reply([["!re", *(f"={k}={v}" for k, v in row.items()), *suffix]])
        except (_Closed, ConnectionError, OSError):
            pass
        finally:
            unsubscribe()

    async def _cancel(self, target: str | None, tag: str | None) -> None:
        keys = [target] if target is not None else list(self._listens)
        for key in keys:
            entry = self._listens.pop(key, None)
            if entry is None:
                continue
            task, queue = entry
            queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            interrupted = CommandError("interrupted", category=2)
            await self._reply(trap_sentences(interrupted, key or None))
        await self._reply([["!done", *([f".tag={tag}"] if tag else [])]])

    async def _reply(self, sentences: list[list[str]]) -> None:
        router = self.router
        delay = router.faults.delay() + router.base_latency
        if delay:
            await asyncio.sleep(delay)
        await self._send(sentences)

    async def _send(self, sentences: list[list[str]]) -> None:
        faults = self.router.faults
        if "blackhole" in faults:
            return
        first = encode_sentence(sentences[0])
        data = faults.corrupt(first + b"".join(encode_sentence(s) for s in sentences[1:]))
        writer = self.writer
        async with self._write_lock:
            if "drop_mid_sentence" in faults:
                writer.write(data[: max(1, len(first) // 2)])
                await writer.drain()
                writer.transport.abort()
                raise _Closed
            if "trickle" in faults:
                await self._trickle(data)
            else:
                writer.write(data)
                await writer.drain()

    async def _trickle(self, data: bytes) -> None:
        faults = self.router.faults
        sent = 0
        while sent < len(data):
            if "trickle" not in faults:
                self.writer.write(data[sent:])
                break
            rate = max(faults.param("trickle", "bytes_per_second"), 0.1)
            chunk = max(1, int(rate / 10))
            self.writer.write(data[sent : sent + chunk])
            await self.writer.drain()
            sent += chunk
            await asyncio.sleep(chunk / rate)
        await self.writer.drain()
