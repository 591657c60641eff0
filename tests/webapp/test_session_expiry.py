"""An expired session in any request sends the user to the login page and, after logging in, back where they were;
error answers to htmx carry a readable reason."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, url_for
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_from
from webapp.permissions import Capability, policy_of

HX = {"HX-Request": "true"}


def _next_of(location: str) -> str | None:
    parts = urlsplit(location)
    assert parts.path == "/dashboard/login"
    return parse_qs(parts.query).get("next", [None])[0]


_PUBLIC = {"auth.login", "auth.logout", "preferences.switch_language", "static"}


def test_htmx_request_of_any_method_gets_hx_redirect_back_to_the_page(app: Flask, client: FlaskClient) -> None:
    """Every dashboard endpoint (discovered from the url_map) and each of its methods."""
    headers = {**HX, "HX-Current-URL": "http://localhost/dashboard/routers/7?tab=console",
               "X-CSRFToken": "left-over-token-of-a-dead-session"}
    tried: set[str] = set()
    failures = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/dashboard") or rule.endpoint in _PUBLIC:
            continue
        if policy_of(app.view_functions.get(rule.endpoint)) is Capability.PUBLIC:
            continue  # pages for visitors (an invitation link) have no session to expire
        with app.test_request_context():
            path = url_for(rule.endpoint, **{name: 7 for name in rule.arguments})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            tried.add(method)
            answer = client.open(path, method=method, headers=headers)
            if answer.status_code != 401 or _next_of(answer.headers.get("HX-Redirect", "/dashboard/login")) != \
                    "/dashboard/routers/7?tab=console" or "log in" not in unquote(answer.headers["X-Error-Message"]):
                failures.append(f"{method} {path}: {answer.status_code}")
    assert {"GET", "POST"} <= tried and failures == []


def test_htmx_redirect_ignores_a_current_url_on_another_site(client: FlaskClient) -> None:
    headers = {**HX, "HX-Current-URL": "https://evil.example/dashboard/routers"}
    answer = client.get("/dashboard/routers/rows", headers=headers)
    assert answer.status_code == 401 and _next_of(answer.headers["HX-Redirect"]) is None


def test_plain_get_redirects_with_next_and_login_returns_there(client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/dashboard/alerts?state=resolved")
    assert answer.status_code == 302 and _next_of(answer.headers["Location"]) == "/dashboard/alerts?state=resolved"
    plain = client.get("/dashboard/routers")
    assert _next_of(plain.headers["Location"]) == "/dashboard/routers"  # no stray "?"
    login_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    token = csrf_from(login_page)
    logged_in = client.post(answer.headers["Location"], data={"username": "alice", "password": PASSWORD,
                                                              "csrf_token": token})
    assert logged_in.status_code == 302 and logged_in.headers["Location"] == "/dashboard/alerts?state=resolved"


def test_plain_form_post_after_expiry_goes_to_login_with_the_form_page(client: FlaskClient) -> None:
    answer = client.post("/dashboard/routers/new", data={"name": "x", "csrf_token": "stale"},
                         headers={"Referer": "http://localhost/dashboard/routers/new"})
    assert answer.status_code == 302 and _next_of(answer.headers["Location"]) == "/dashboard/routers/new"


def test_htmx_error_answers_carry_a_readable_reason(client: FlaskClient, html, user) -> None:  # type: ignore[no-untyped-def]
    assert html.login().status_code == 302
    token = csrf_from(client.get("/dashboard/routers/new").get_data(as_text=True))
    missing = client.post("/dashboard/routers/999/test", headers={**HX, "X-CSRFToken": token})
    assert missing.status_code == 404 and unquote(missing.headers["X-Error-Message"])
    stale = client.post("/dashboard/routers/999/test", headers={**HX, "X-CSRFToken": "stale"})
    assert stale.status_code == 400
    assert "reload" in unquote(stale.headers["X-Error-Message"])


def test_kiswahili_reason_survives_the_latin1_header(client: FlaskClient, html, user) -> None:  # type: ignore[no-untyped-def]
    assert html.login().status_code == 302
    answer = client.post("/dashboard/routers/999/test", headers={**HX, "X-CSRFToken": "stale",
                                                                 "Accept-Language": "sw"})
    assert answer.status_code == 400
    reason = "Ukurasa huu umepitwa na wakati; upakie upya kisha ujaribu tena."
    assert unquote(answer.headers["X-Error-Message"]) == reason
