"""Language choice (stored choice, switch cookie, Accept-Language), the user's time zone and the formatters."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD
from webapp import i18n
from webapp.extensions import db
from webapp.models import AuditEvent, User


def _csrf(client: FlaskClient, path: str = "/dashboard/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _login(client: FlaskClient, username: str = "alice") -> None:
    token = _csrf(client)
    answer = client.post("/dashboard/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_accept_language_picks_kiswahili_before_any_choice(client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/login", headers={"Accept-Language": "sw-KE,sw;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="sw"' in page and "Ingia" in page and "Jina la mtumiaji" in page
    english = client.get("/dashboard/login", headers={"Accept-Language": "fr,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="en"' in english and "Log in" in english


def test_switch_sets_a_cookie_for_anonymous_pages(client: FlaskClient) -> None:
    token = _csrf(client)
    answer = client.post("/dashboard/language", data={"language": "sw", "next": "/dashboard/login",
                                                      "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard/login"
    page = client.get("/dashboard/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="sw"' in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\t/evil.example"])
def test_switch_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    token = _csrf(client)
    answer = client.post("/dashboard/language", data={"language": "en", "next": target, "csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_switch_without_csrf_is_refused(client: FlaskClient) -> None:
    assert client.post("/dashboard/language", data={"language": "sw"}).status_code == 400


def test_logged_in_choice_is_stored_and_beats_the_browser(app: Flask, client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
    _login(client)
    token = _csrf(client, "/dashboard/")
    client.post("/dashboard/language", data={"language": "sw", "next": "/dashboard/", "csrf_token": token})
    fresh = app.test_client()  # a new browser: no cookie, English Accept-Language
    _login(fresh)
    page = fresh.get("/dashboard/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="sw"' in page and "Ruta" in page
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored is not None and stored.locale == "sw"
        assert db.session.query(AuditEvent).filter_by(action="user.preferences").count() == 1


def test_preferences_page_saves_language_and_zone(app: Flask, client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
    _login(client)
    page = client.get("/dashboard/preferences").get_data(as_text=True)
    assert "Africa/Nairobi" in page
    token = _csrf(client, "/dashboard/preferences")
    saved = client.post("/dashboard/preferences", data={"language": "en", "timezone": "Asia/Tokyo",
                                                        "csrf_token": token})
    assert saved.status_code == 303
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored is not None and (stored.locale, stored.timezone) == ("en", "Asia/Tokyo")
    assert "Asia/Tokyo (JST)" in client.get("/dashboard/preferences").get_data(as_text=True)


def test_preferences_refuse_an_unknown_zone_with_a_form_error(client: FlaskClient, user) -> None:  # type: ignore[no-untyped-def]
    _login(client)
    token = _csrf(client, "/dashboard/preferences")
    answer = client.post("/dashboard/preferences", data={"language": "", "timezone": "Mars/Olympus",
                                                         "csrf_token": token})
    assert answer.status_code == 422 and "field-error" in answer.get_data(as_text=True)


def test_zone_defaults_to_the_owners_then_nairobi(app: Flask, user) -> None:  # type: ignore[no-untyped-def]
    from webapp.services import hotspot_settings

    with app.app_context():
        alice = db.session.get(User, user.id)
        assert i18n.zone_name_for(alice) == "Africa/Nairobi"
        hotspot_settings.update_owner_settings(alice, {"timezone": "Africa/Lagos"})
        assert i18n.zone_name_for(alice) == "Africa/Lagos"
        alice.timezone = "Europe/London"
        assert i18n.zone_name_for(alice) == "Europe/London"


def test_timestamps_are_shown_in_the_zone_24_hour(app: Flask) -> None:
    stored = datetime(2026, 12, 31, 22, 30)  # naive UTC, as every table keeps it
    with app.test_request_context():
        assert i18n.format_datetime(stored, ZoneInfo("Africa/Nairobi")) == "2027-01-01 01:30"
        assert i18n.format_time(datetime(2026, 6, 1, 13, 5), ZoneInfo("Africa/Nairobi")) == "16:05"
        assert i18n.format_datetime(None) == "—"
        # Anonymous viewers see Nairobi time.
        assert i18n.format_datetime(stored) == "2027-01-01 01:30"


def test_dates_and_money_follow_the_language(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "sw"}):
        assert i18n.format_date(date(2026, 12, 1)) == "1 Des 2026"
        assert i18n.format_money(Decimal("1250.5"), "KES") == "KES 1,250.50"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.format_date(date(2026, 12, 1)) == "1 Dec 2026"
        assert i18n.format_money(20, "KES") == "KES 20.00"
        assert i18n.format_number(12500) == "12,500"
