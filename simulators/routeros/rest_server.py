"""The REST door (www and www-ssl): ``/rest/...`` mapped onto the same commands as the binary API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING

from aiohttp import web

from simulators.routeros.faults import GARBAGE, HTML_PAGE, json_bytes, rest_wrong_types
from simulators.routeros.state import CommandError, Reply

if TYPE_CHECKING:
    from simulators.routeros.router import SimRouter

_JSON = "application/json"


class RestError(Exception):
    """An HTTP error with RouterOS's body ``{"error": status, "message": reason, "detail": ...}``."""

    def __init__(self, status: int, detail: str | None = None) -> None:
        super().__init__(detail or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail

    def body(self) -> dict[str, object]:
        """The JSON error object."""
        payload: dict[str, object] = {"error": self.status, "message": HTTPStatus(self.status).phrase}
        if self.detail:
            payload["detail"] = self.detail
        return payload


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


def _text(value: object) -> str:
    """A JSON value as the console would take it (RouterOS accepts numbers and booleans as well)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)


class RestHandler:
    """Answers HTTP requests for one router."""

    def __init__(self, router: SimRouter) -> None:
        self.router = router

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        """Serve one request, faults included."""
        router = self.router
        faults = router.faults
        delay = faults.delay() + router.base_latency
        if delay:
            await asyncio.sleep(delay)
        if "blackhole" in faults:
            while "blackhole" in faults:
                await asyncio.sleep(0.05)
        if "rest_html" in faults:
            return web.Response(body=HTML_PAGE, content_type="text/html")
        if "rest_500" in faults:
            return self._json(RestError(500, "internal error").body(), 500)
        try:
            status, payload = await self._handle(request)
        except RestError as error:
            status, payload = error.status, error.body()
        headers = {"WWW-Authenticate": 'Basic realm="RouterOS"'} if status == 401 else None
        if status == 204:
            return await self._send(request, b"", 204, None)
        if "wrong_types" in faults and status < 400:
            payload = rest_wrong_types(payload)
        body = GARBAGE if "garbage" in faults else json_bytes(payload)
        return await self._send(request, body, status, headers)

    @staticmethod
    def _json(payload: object, status: int) -> web.Response:
        return web.Response(body=json_bytes(payload), status=status, content_type=_JSON)

    async def _send(self, request: web.BaseRequest, body: bytes, status: int,
                    headers: Mapping[str, str] | None) -> web.StreamResponse:
        faults = self.router.faults
        if "drop_mid_sentence" not in faults and "trickle" not in faults:
            whole = web.Response(body=body or None, status=status, headers=headers)
            if body:
                whole.content_type = _JSON
            return whole
        response = web.StreamResponse(status=status, headers=headers)
        response.content_type = _JSON
        response.content_length = len(body)
        await response.prepare(request)
        if "drop_mid_sentence" in faults:
            await response.write(body[: max(1, len(body) // 2)])
            if request.transport is not None:
                request.transport.abort()
            return response
        sent = 0
        while sent < len(body):
            if "trickle" not in faults:
                await response.write(body[sent:])
                break
            rate = max(faults.param("trickle", "bytes_per_second"), 0.1)
            chunk = max(1, int(rate / 10))
            await response.write(body[sent : sent + chunk])
            sent += chunk
            await asyncio.sleep(chunk / rate)
        await response.write_eof()
        return response

    async def _handle(self, request: web.BaseRequest) -> tuple[int, object]:
        path = request.path
        if path != "/rest" and not path.startswith("/rest/"):
            raise RestError(404)
        user = self._authenticate(request)
        words = [w for w in path[len("/rest"):].split("/") if w]
        method = request.method
        state = self.router.state
        try:
            if method == "GET":
                return 200, self._get(words, request.query, user)
            body = await self._body(request)
            if method == "POST":
                return 200, self._post(words, body, user)
            menu, item = self._menu_and_item(words)
            fields = {key: _text(value) for key, value in body.items()}
            if method == "PUT":
                if item is not None:
                    raise RestError(400, f"no such command or directory ({item})")
                self._require(menu, "add")
                reply = state.execute(f"/{menu}/add", fields, user=user)
                return 200, self._one(menu, reply.done["ret"], user)
            if method == "PATCH":
                self._require(menu, "set")
                args = dict(fields)
                if item is not None:
                    args[".id"] = self._resolve(menu, item, user)
                state.execute(f"/{menu}/set", args, user=user)
                if item is None:
                    return 200, state.execute(f"/{menu}/print", user=user).rows[0]
                return 200, self._one(menu, args[".id"], user)
            if method == "DELETE":
                if item is None:
                    raise RestError(400, "no such command or directory (remove)")
                self._require(menu, "remove")
                state.execute(f"/{menu}/remove", {".id": self._resolve(menu, item, user)}, user=user)
                return 204, None
        except CommandError as error:
            raise self._rest_error(error) from None
        raise RestError(400, f"unsupported method {method}")

    @staticmethod
    def _rest_error(error: CommandError) -> RestError:
        if error.status == 404:
            return RestError(404)
        return RestError(error.status, error.message)

    def _authenticate(self, request: web.BaseRequest) -> str:
        credentials = _basic_credentials(request.headers.get("Authorization"))
        state = self.router.state
        if (
            credentials is None
            or "wrong_credentials" in self.router.faults
            or not state.authenticate(credentials[0], credentials[1], "rest-api")
        ):
            raise RestError(401)
        return credentials[0]

    async def _body(self, request: web.BaseRequest) -> dict[str, object]:
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RestError(400, "JSON parse error") from None
        if not isinstance(data, dict):
            raise RestError(400, "JSON object expected")
        return {str(key): value for key, value in data.items()}

    def _menu_and_item(self, words: list[str]) -> tuple[str, str | None]:
        tables = self.router.state.tables
        full = "/".join(words)
        if full in tables:
            return full, None
        if len(words) > 1 and "/".join(words[:-1]) in tables:
            return "/".join(words[:-1]), words[-1]
        missing = next((w for i, w in enumerate(words) if not any(
            t == "/".join(words[: i + 1]) or t.startswith("/".join(words[: i + 1]) + "/") for t in tables)),
            words[-1] if words else "rest")
        raise RestError(400, f"no such command or directory ({missing})")

    def _require(self, menu: str, verb: str) -> None:
        if verb not in self.router.state.tables[menu].schema.commands:
            raise RestError(406, f"no such command or directory ({verb})")

    def _resolve(self, menu: str, item: str, user: str) -> str:
        table = self.router.state.tables[menu]
        if table.schema.single:
            raise RestError(400, f"no such command or directory ({item})")
        number = table.find(item)
        if number is None:
            raise RestError(404)
        return f"*{number:X}"

    def _one(self, menu: str, item_id: str, user: str) -> dict[str, str]:
        rows = self.router.state.execute(f"/{menu}/print", {".id": item_id}, user=user).rows
        if not rows:
            raise RestError(404)
        return rows[0]

    def _get(self, words: list[str], params: Mapping[str, str], user: str) -> object:
        menu, item = self._menu_and_item(words)
        state = self.router.state
        args: dict[str, str] = {}
        query = []
        for key, value in params.items():
            if key == ".proplist":
                args[".proplist"] = value
            else:
                query.append(f"?{key}={value}")
        if item is not None:
            args[".id"] = self._resolve(menu, item, user)
            rows = state.execute(f"/{menu}/print", args, query, user=user).rows
            if not rows:
                raise RestError(404)
            return rows[0]
        return state.execute(f"/{menu}/print", args, query, user=user).rows

    def _post(self, words: list[str], body: dict[str, object], user: str) -> object:
        if not words:
            raise RestError(400, "no such command or directory (rest)")
        args = {key: _text(value) for key, value in body.items() if key != ".query"}
        raw_query = body.get(".query", [])
        if isinstance(raw_query, str):
            raw_query = [raw_query]
        if not isinstance(raw_query, list):
            raise RestError(400, "invalid .query")
        query = [word if str(word).startswith("?") else f"?{word}" for word in raw_query]
        reply: Reply = self.router.state.execute("/" + "/".join(words), args, query, user=user)
        if reply.rows:
            return reply.rows
        if reply.done:
            return reply.done
        return []
