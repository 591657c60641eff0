"""The Telegram Bot API's sendMessage on loopback, for alert notifications in tests and the demo.

    from simulators.telegram import TelegramSimulator
    with TelegramSimulator(token="123456:ABC...") as tg:
        tg.base_url        # point TELEGRAM_API_URL here
        tg.messages()      # every message accepted: chat_id, text

As the Bot API documents (core.telegram.org/bots/api): methods are ``POST /bot<token>/<method>`` with JSON or
form parameters; answers are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "..."}``. A wrong token is 401 ``Unauthorized``; an unknown chat 400 ``Bad Request: chat not
found``; an empty text 400 ``Bad Request: message text is empty``; a chat that blocked the bot 403
``Forbidden: bot was blocked by the user``. ``getMe`` answers the bot's own user.
"""

from __future__ import annotations

from simulators.telegram.server import TelegramSimulator

__all__ = ["TelegramSimulator"]
