"""Flask's JSON provider backed by orjson: the API serialises lists of thousands of routers and metric points."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


def _fallback(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class OrjsonProvider(DefaultJSONProvider):
    """Same answers as Flask's default provider (field order kept, no key sorting), several times faster."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:  # callers asking for json.dumps options (indent...) get the standard library
            return super().dumps(obj, **kwargs)
        return orjson.dumps(obj, default=_fallback, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:
            return super().loads(s, **kwargs)
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        # Flask's app (not the sans-IO base the provider is typed against) makes werkzeug responses.
        response_class = cast("type[Response]", self._app.response_class)
        return response_class(
            orjson.dumps(obj, default=_fallback, option=orjson.OPT_NON_STR_KEYS), mimetype=self.mimetype
        )
