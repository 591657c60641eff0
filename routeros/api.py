"""The binary API client (TCP 8728, TLS 8729): login, tagged commands, replies to rows or errors."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence

from routeros.base import Client, Command, Result, clean_path
from routeros.config import RouterConfig
from routeros.connection import Connection, Deadline, open_socket, tls_handshake
from routeros.errors import (
    AuthenticationFailed,
    CommandRejected,
    ConnectionLost,
    FatalError,
    PermissionDenied,
    ProtocolError,
    RouterOSError,
)
from routeros.protocol import api_text, command_word, encode_sentence, query_words, reply_attributes
from routeros.values import Row

#: Tagged commands a pipeline keeps outstanding on the wire at once (the rest wait for replies to come back).
PIPELINE_WINDOW = 256

# RouterOS words for a policy refusal; the trap carries no dedicated category for it.
_PERMISSION_MARKERS = ("not enough permissions", "permission denied", "access denied")


def trap_error(attrs: Mapping[str, str], during_login: bool = False) -> RouterOSError:
    """Turn a ``!trap``'s attributes into the matching error."""
    message = attrs.get("message") or "the router rejected the command"
    raw_category = attrs.get("category", "")
    category = int(raw_category) if raw_category.isdigit() else None
    if during_login:
        return AuthenticationFailed(f"login refused: {message}")
    lowered = message.lower()
    if any(marker in lowered for marker in _PERMISSION_MARKERS):
        return PermissionDenied(f"{message}; the user's group lacks the policy this command needs")
    return CommandRejected(message, category)


def challenge_response(password: str, challenge_hex: str) -> str:
    """The pre-6.43 login answer: ``00`` + hex(md5(0x00 + password + challenge)).

    :raises ProtocolError: if the challenge is not hex.
    """
    try:
        challenge = bytes.fromhex(challenge_hex)
    except ValueError:
        raise ProtocolError(f"login challenge is not hex: {challenge_hex!r}") from None
    digest = hashlib.md5(b"\x00" + password.encode("utf-8") + challenge, usedforsecurity=False)
    return "00" + digest.hexdigest()


class ApiClient(Client):
    """A logged-in binary API session. Open it with :meth:`connect`."""

    def __init__(self, connection: Connection, config: RouterConfig, protocol: str) -> None:
        self.connection = connection
        self.config = config
        self.protocol = protocol
        self._tags = itertools.count(1)
        # Serialises commands if a client is shared across threads by mistake (one at a time on the wire).
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, config: RouterConfig, *, tls: bool, deadline: Deadline | None = None) -> ApiClient:
        """Connect (with TLS for api-ssl) and log in, choosing the login method the router supports.

        :raises RouterOSError: unreachable, timeout, TLS, authentication, fatal or protocol errors.
        """
        deadline = deadline or Deadline(config.timeout, config.where)
        sock = open_socket(config.host, config.port, deadline, config.connect_timeout)
        try:
            if tls:
                sock = tls_handshake(sock, config.ssl_context(), config.server_hostname, deadline)
                config.check_pin(sock.getpeercert(binary_form=True))
            client = cls(Connection(sock, config.where), config, "api-ssl" if tls else "api")
            client._login(deadline)
        except BaseException:
            sock.close()
            raise
        return client

    def _login(self, deadline: Deadline) -> None:
        """Post-6.43 plain login; a router that answers with ``=ret=`` wants the MD5 challenge instead."""
        name = self.config.username
        _, done = self._talk(
            ["/login", f"=name={name}", f"=password={self.config.password}"], deadline, during_login=True
        )
        challenge = done.get("ret")
        if challenge is not None:
            response = challenge_response(self.config.password, challenge)
            self._talk(["/login", f"=name={name}", f"=response={response}"], deadline, during_login=True)

    @property
    def usable(self) -> bool:
        """False once closed or after a failure left the stream out of step."""
        return not (self.connection.closed or self.connection.broken)

    def looks_alive(self) -> bool:
        """No unexpected bytes or EOF waiting on the idle socket."""
        return self.usable and not self.connection.has_unread_data()

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.connection.close()

    def _send(self, words: list[str], deadline: Deadline) -> str:
        tag = str(next(self._tags))
        words.append(f".tag={tag}")
        self.connection.send(encode_sentence(words), deadline)
        return tag

    def _talk(
        self, words: list[str], deadline: Deadline, *, during_login: bool = False
    ) -> tuple[list[Row], Row]:
        """Send one command and read to its ``!done``; return the ``!re`` rows and ``!done`` attributes."""
        with self._lock:
            return self._exchange(words, deadline, during_login)

    def _exchange(self, words: list[str], deadline: Deadline, during_login: bool) -> tuple[list[Row], Row]:
        if not self.usable:
            raise ConnectionLost(
                f"the connection to {self.config.where} is closed or broken; open a new client"
            )
        tag = self._send(words, deadline)
        rows: list[Row] = []
        trap: Row | None = None
        read = self.connection.read_sentence
        while True:
            sentence = read(deadline)
            reply = sentence[0]
            if reply == "!fatal":
                self._fatal(sentence)
            row, reply_tag = reply_attributes(sentence)
            if reply_tag is not None and reply_tag != tag:
                # Left over from a command that was cancelled or timed out earlier; not ours.
                continue
            if reply == "!re":
                rows.append(row)
            elif reply == "!done":
                break
            elif reply == "!trap":
                if trap is None:
                    trap = row
            elif reply != "!empty":
                self.connection.broken = True
                raise ProtocolError(f"{self.config.where} sent an unknown reply word {reply!r}")
        if trap is not None:
            raise trap_error(trap, during_login)
        return rows, row

    def _fatal(self, sentence: list[str]) -> None:
        reason = " ".join(word for word in sentence[1:] if not word.startswith(".tag=")) or "no reason given"
        self.connection.broken = True
        self.close()
        raise FatalError(f"{self.config.where} ended the session: {reason}")

    def command(
        self, path: str, words: list[str] | None = None, *, timeout: float | None = None
    ) -> list[Row]:
        """Send a raw API sentence (``path`` plus ready-made words) and return the ``!re`` rows.

        :raises RouterOSError: any error of the tree.
        """
        rows, _ = self._talk([command_word(path), *(words or [])], self._deadline(timeout))
        return rows

    def _print(
        self, path: str, words: list[str], proplist: list[str] | None, deadline: Deadline
    ) -> list[Row]:
        sentence = [command_word(path + "/print"), *words]
        if proplist is not None:
            sentence.append("=.proplist=" + ",".join(proplist))
        rows, _ = self._talk(sentence, deadline)
        return rows

    def _add(self, path: str, data: Mapping[str, object], deadline: Deadline) -> Row:
        _, done = self._talk([command_word(path + "/add"), *_attribute_words(data)], deadline)
        new_id = done.get("ret", "")
        if not new_id:
            return {}
        # REST answers an add with the created row; read it back so both protocols agree.
        rows = self._print(path, [f"?.id={new_id}"], None, deadline)
        return rows[0] if rows else {".id": new_id}

    def _set(self, path: str, item_id: str | None, data: Mapping[str, object], deadline: Deadline) -> Row:
        target = [] if item_id is None else [f"=.id={item_id}"]
        self._talk([command_word(path + "/set"), *target, *_attribute_words(data)], deadline)
        query = [] if item_id is None else [f"?.id={item_id}"]
        rows = self._print(path, query, None, deadline)
        if rows:
            return rows[0]
        return {} if item_id is None else {".id": item_id}

    def _remove(self, path: str, item_id: str, deadline: Deadline) -> None:
        self._talk([command_word(path + "/remove"), f"=.id={item_id}"], deadline)

    def _call(self, path: str, args: Mapping[str, object], deadline: Deadline) -> list[Row]:
        rows, done = self._talk([command_word(path), *_command_words(args)], deadline)
        if rows:
            return rows
        return [done] if done else []

    def pipeline(self, commands: Sequence[Command], *, timeout: float | None = None) -> list[Result]:
        """Send ``commands`` as tagged sentences on this one connection (up to :data:`PIPELINE_WINDOW` on the
        wire at once) and match the replies by tag; one round trip for the lot instead of one per command.

        An add's result is ``[{".id": new id}]`` (no read-back), a set's or remove's ``[]``.

        :raises RouterOSError: transport errors, timeouts, ``!fatal``; the connection is then not reused.
        """
        deadline = self._deadline(timeout)
        sentences = [_pipeline_sentence(command) for command in commands]
        results: list[Result] = [Result() for _ in commands]
        with self._lock:
            if not self.usable:
                raise ConnectionLost(f"the connection to {self.config.where} is closed or broken; open a new client")
            waiting: dict[str, tuple[int, list[Row], list[Row]]] = {}
            position = 0
            try:
                while position < len(sentences) or waiting:
                    burst: list[bytes] = []
                    while position < len(sentences) and len(waiting) < PIPELINE_WINDOW:
                        tag = str(next(self._tags))
                        burst.append(encode_sentence([*sentences[position], f".tag={tag}"]))
                        waiting[tag] = (position, [], [])
                        position += 1
                    if burst:
                        self.connection.send(b"".join(burst), deadline)
                    sentence = self.connection.read_sentence(deadline)
                    reply = sentence[0]
                    if reply == "!fatal":
                        self._fatal(sentence)
                    row, reply_tag = reply_attributes(sentence)
                    entry = waiting.get(reply_tag or "")
                    if entry is None:
                        continue  # left over from an earlier, abandoned command on this connection
                    index, rows, traps = entry
                    if reply == "!re":
                        rows.append(row)
                    elif reply == "!trap":
                        traps.append(row)
                    elif reply == "!done":
                        del waiting[reply_tag or ""]
                        results[index] = _pipeline_result(commands[index], rows, row, traps)
                    elif reply != "!empty":
                        raise ProtocolError(f"{self.config.where} sent an unknown reply word {reply!r}")
            except BaseException:
                # Replies to commands still on the wire would arrive later: this stream cannot be reused.
                self.connection.broken = True
                raise
        return results

    def stream(
        self, path: str, args: Mapping[str, object] | None = None, *, timeout: float | None = None
    ) -> Iterator[Row]:
        """Start a long-running command (``listen``, ``ping``...) now; iterate its ``!re`` rows as they come.

        Closing the iterator early sends ``/cancel`` for its tag and drains the reply, so the
        connection stays usable. ``timeout`` bounds the whole stream.

        :raises RouterOSError: any error of the tree (while iterating).
        """
        deadline = self._deadline(timeout)
        tag = self._send([command_word(path), *_command_words(args or {})], deadline)
        return self._iterate(tag, deadline)

    def _iterate(self, tag: str, deadline: Deadline) -> Iterator[Row]:
        finished = False
        try:
            while True:
                reply, row, reply_tag = self._next_reply(deadline)
                if reply_tag not in (None, tag):
                    continue
                if reply == "!re":
                    yield row
                elif reply == "!trap":
                    self._drain(tag, deadline)
                    finished = True
                    raise trap_error(row)
                elif reply == "!done":
                    finished = True
                    return
        finally:
            if not finished and self.usable:
                left = deadline.expires - time.monotonic()
                if left > 0:
                    self.cancel(tag, timeout=left)
                else:
                    # No time left to cancel cleanly: replies may still arrive, so never reuse it.
                    self.connection.broken = True

    def _next_reply(self, deadline: Deadline) -> tuple[str, Row, str | None]:
        sentence = self.connection.read_sentence(deadline)
        if sentence[0] == "!fatal":
            self._fatal(sentence)
        row: Row = {}
        reply_tag = None
        for word in sentence[1:]:
            if word.startswith("="):
                sep = word.find("=", 1)
                row[word[1:sep] if sep > 0 else word[1:]] = word[sep + 1 :] if sep > 0 else ""
            elif word.startswith(".tag="):
                reply_tag = word[5:]
        return sentence[0], row, reply_tag

    def _drain(self, tag: str, deadline: Deadline) -> None:
        while True:
            reply, _, reply_tag = self._next_reply(deadline)
            if reply == "!done" and reply_tag in (None, tag):
                return

    def cancel(self, tag: str | None = None, *, timeout: float | None = None) -> None:
        """Send ``/cancel`` (for one tag, or every running command) and read until the cancelled command ends.

        :raises RouterOSError: any error of the tree.
        """
        deadline = self._deadline(timeout)
        words = ["/cancel"] if tag is None else ["/cancel", f"=tag={tag}"]
        own = self._send(words, deadline)
        pending = {own} if tag is None else {own, tag}
        try:
            while pending:
                reply, _, reply_tag = self._next_reply(deadline)
                if reply == "!done":
                    pending.discard(reply_tag or own)
        except BaseException:
            self.connection.broken = True
            raise


def _pipeline_sentence(command: Command) -> list[str]:
    menu = clean_path(command.path)
    if command.action == "add":
        return [command_word(menu + "/add"), *_attribute_words(command.data)]
    if command.action == "set":
        target = [] if command.item is None else [f"=.id={command.item}"]
        return [command_word(menu + "/set"), *target, *_attribute_words(command.data)]
    if command.action == "remove":
        return [command_word(menu + "/remove"), f"=.id={command.item}"]
    if command.action == "print":
        words = [command_word(menu + "/print"), *(query_words(command.query) if command.query else [])]
        if command.proplist is not None:
            words.append("=.proplist=" + ",".join(command.proplist))
        return words
    return [command_word(menu), *_command_words(command.data)]


def _pipeline_result(command: Command, rows: list[Row], done: Row, traps: list[Row]) -> Result:
    if traps:
        error = trap_error(traps[0])
        assert isinstance(error, CommandRejected | PermissionDenied)
        return Result([], error)
    if command.action == "add":
        return Result([{".id": done["ret"]}] if done.get("ret") else [])
    if command.action in ("set", "remove"):
        return Result([])
    if command.action == "call" and not rows and done:
        return Result([done])
    return Result(rows)


def _attribute_words(data: Mapping[str, object]) -> list[str]:
    return [f"={key}={api_text(value)}" for key, value in data.items()]


def _command_words(args: Mapping[str, object]) -> list[str]:
    """Arguments of a console command; ``.proplist``/``.query`` are spelled as REST accepts them."""
    words: list[str] = []
    for key, value in args.items():
        if key in (".proplist", "_proplist"):
            props = value if isinstance(value, str) else ",".join(str(item) for item in value)  # type: ignore[attr-defined]
            words.append(f"=.proplist={props}")
        elif key == ".query":
            items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
            words.extend(item if item.startswith("?") else f"?{item}" for item in items)
        else:
            words.append(f"={key}={api_text(value)}")
    return words
