"""The Bot API server (see the package docstring)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web

from simulators._http import ThreadedServer


@dataclass(frozen=True)
class Sent:
    """One message the bot sent."""

    chat_id: str
    text: str
    message_id: int


class TelegramSimulator(ThreadedServer):
    """A bot with one token; chats are known unless marked unknown or blocked."""

    def __init__(self, *, token: str = "123456789:AAHsimulatedTelegramBotTokenValue00",  # noqa: S107 - a test bot
                 host: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__(host, port)
        self.token = token
        self._lock = threading.Lock()
        self._sent: list[Sent] = []
        self._unknown: set[str] = set()
        self._blocked: set[str] = set()

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        return app

    def messages(self) -> list[Sent]:
        """Every message accepted so far."""
        with self._lock:
            return list(self._sent)

    def set_chat(self, chat_id: str, state: str) -> None:
        """Mark a chat ``unknown`` (400 chat not found), ``blocked`` (403) or ``ok``."""
        with self._lock:
            self._unknown.discard(chat_id)
            self._blocked.discard(chat_id)
            if state == "unknown":
                self._unknown.add(chat_id)
            elif state == "blocked":
                self._blocked.add(chat_id)

    @staticmethod
    def _error(status: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params: dict[str, str] = {str(k): str(v) for k, v in request.query.items()}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = json.loads(await request.read() or b"{}")
                except ValueError:
                    return self._error(400, "Bad Request: can't parse JSON object")
                if isinstance(body, dict):
                    params.update({str(k): str(v) for k, v in body.items()})
            else:
                params.update({str(k): str(v) for k, v in (await request.post()).items()})
        if method == "getMe":
            bot_id = int(self.token.split(":", 1)[0])
            return web.json_response({"ok": True, "result": {"id": bot_id, "is_bot": True,
                                                             "first_name": "RouterDeck", "username": "routerdeck_bot"}})
        if method != "sendMessage":
            return self._error(404, "Not Found")
        chat_id = params.get("chat_id", "")
        text = params.get("text", "")
        if not chat_id:
            return self._error(400, "Bad Request: chat_id is empty")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        with self._lock:
            if chat_id in self._unknown:
                return self._error(400, "Bad Request: chat not found")
            if chat_id in self._blocked:
                return self._error(403, "Forbidden: bot was blocked by the user")
            message = Sent(chat_id, text, len(self._sent) + 1)
            self._sent.append(message)
        chat = {"id": int(chat_id)} if chat_id.lstrip("-").isdigit() else {"id": -1, "username": chat_id.lstrip("@")}
        return web.json_response({"ok": True, "result": {"message_id": message.message_id, "chat": chat,
                                                         "date": int(time.time()), "text": text}})
