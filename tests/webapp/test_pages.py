"""The dashboard face: login/logout, redirects, CSRF, htmx session expiry, HTML errors, API keys page."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, csrf_from


def test_root_sends_anonymous_to_login_and_users_to_dashboard(client, html, user) -> None:  # type: ignore[no-untyped-def]
    anonymous = client.get("/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].endswith("/dashboard/login")
    assert html.login().status_code == 302
    logged_in = client.get("/")
    assert logged_in.status_code == 302 and logged_in.headers["Location"].endswith("/dashboard/")


def test_login_page_has_csrf_htmx_and_css(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert "vendor/htmx-2.0.11.min.js" in page and "vendor/pico-2.1.1.min.css" in page
    assert 'hx-headers=\'{"X-CSRFToken":' in page
    assert 'name="viewport"' in page
    static = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert static.status_code == 200
    assert b"htmx" in static.data
    static.close()


def test_login_with_wrong_password_shows_form_error(html, user) -> None:  # type: ignore[no-untyped-def]
    response = html.login(password="not the password")
    assert response.status_code == 401
    assert "Invalid username or password" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, user) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/dashboard/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302  # still anonymous


def test_login_redirects_to_safe_next_only(client, user) -> None:  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    evil = client.post(
        "/dashboard/login?next=//evil.example/x", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert evil.headers["Location"] == "/dashboard/"


def test_logout_requires_post_with_csrf(client, html, user) -> None:  # type: ignore[no-untyped-def]
    html.login()
    page = client.get("/dashboard/").get_data(as_text=True)
    assert client.get("/dashboard/logout").status_code == 405
    forged = client.post("/dashboard/logout")
    assert forged.status_code == 400
    assert client.get("/dashboard/").status_code == 200
    client.post("/dashboard/logout", data={"csrf_token": csrf_from(page)})
    assert client.get("/dashboard/").status_code == 302


def test_htmx_request_with_expired_session_gets_hx_redirect(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/dashboard/api-keys", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/dashboard/login"
    plain = client.get("/dashboard/api-keys")
    assert plain.status_code == 302 and "/dashboard/login" in plain.headers["Location"]


def test_html_paths_get_html_error_pages(client, html, user) -> None:  # type: ignore[no-untyped-def]
    html.login()
    missing = client.get("/dashboard/no-such-page")
    assert missing.status_code == 404
    assert missing.content_type.startswith("text/html")
    assert "Not found" in missing.get_data(as_text=True)


def test_api_keys_page_creates_shows_once_and_revokes(client, html, user) -> None:  # type: ignore[no-untyped-def]
    html.login()
    page = client.get("/dashboard/api-keys").get_data(as_text=True)
    assert "No API keys yet" in page
    token = csrf_from(page)
    no_csrf = client.post("/dashboard/api-keys", data={"name": "x"}, headers={"HX-Request": "true"})
    assert no_csrf.status_code == 400
    created = client.post(
        "/dashboard/api-keys", data={"name": "router-script"}, headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert created.status_code == 200
    fragment = created.get_data(as_text=True)
    assert "rdk_sec_" in fragment and "router-script" in fragment
    assert "<html" not in fragment  # a fragment, not a page
    later = client.get("/dashboard/api-keys").get_data(as_text=True)
    assert "router-script" in later and "rdk_sec_" not in later  # the private key is never shown again
    invalid = client.post("/dashboard/api-keys", data={"name": ""}, headers={"X-CSRFToken": token})
    assert invalid.status_code == 422
    assert "field-error" in invalid.get_data(as_text=True)
    key_id = fragment.split("/dashboard/api-keys/")[1].split("/revoke")[0]
    revoked = client.post(f"/dashboard/api-keys/{key_id}/revoke", headers={"X-CSRFToken": token})
    assert revoked.status_code == 200
    assert "router-script" not in revoked.get_data(as_text=True)


def test_overview_shows_fleet_alerts_and_sales(client, html, api, user) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    for name in ("a", "b"):
        body = {"name": name, "host": "10.0.0.1", "username": "admin", "password": "pw"}
        assert client.post("/routers/", json=body, headers=headers).status_code == 201
    html.login()
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "2 not checked" in page and "of 2" in page
    assert "no open alerts" in page
    assert "KES 0.00" in page and "0 sales" in page


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "/%09/evil.example", "/%0a/x", "https://evil.example/", "/\\evil"]
)
def test_login_never_redirects_off_site(client, user, target: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    response = client.post(
        f"/dashboard/login?next={target}", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"


def test_impossible_ids_are_404_not_500(client, html, user) -> None:  # type: ignore[no-untyped-def]
    html.login()
    assert client.get("/dashboard/routers/99999999999999999999999").status_code == 404
    assert client.get("/dashboard/alerts?router_id=%C2%B2").status_code == 200
    assert client.get("/dashboard/sales?router=99999999999999999999999").status_code == 200


def test_security_headers_and_no_caching_of_new_keys(client, api) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/login")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    created = client.post("/users/api-keys/", json={"name": "k"}, headers=api.headers())
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
