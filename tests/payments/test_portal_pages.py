"""The portal's HTML face over real HTTP: packages, CSRF, phone errors, the self-updating status, the voucher."""

from __future__ import annotations

import re
import time

import requests

from tests.conftest import csrf_from
from tests.payments.conftest import Shop


def portal_page(shop: Shop, session: requests.Session, query: str = "") -> str:
    answer = session.get(f"{shop.url}/portal/{shop.slug}/{query}", timeout=5)
    assert answer.status_code == 200
    return answer.text


def test_page_lists_packages_in_kes_with_terms(shop: Shop) -> None:
    page = portal_page(shop, requests.Session())
    assert "Kibera Shop" in page and "KES 20.00" in page and "1 hour" in page.lower()
    assert "5/2 Mbps" in page and 'name="csrf_token"' in page


def test_the_form_needs_its_csrf_token(shop: Shop) -> None:
    answer = requests.post(f"{shop.url}/portal/{shop.slug}/buy",
                           data={"package_id": shop.package_id, "phone": "0712345678"}, timeout=5)
    assert answer.status_code == 400


def test_a_bad_phone_is_refused_with_a_clear_message(shop: Shop) -> None:
    session = requests.Session()
    token = csrf_from(portal_page(shop, session))
    answer = session.post(f"{shop.url}/portal/{shop.slug}/buy",
                          data={"package_id": shop.package_id, "phone": "12345", "csrf_token": token}, timeout=5)
    assert answer.status_code == 422
    assert 'data-testid="phone-error"' in answer.text and "0712 345 678" in answer.text


def test_buying_through_the_form_shows_the_code_and_the_hotspot_login(shop: Shop) -> None:
    session = requests.Session()
    query = ("?mac=AA:BB:CC:00:01:01&ip=10.5.50.201&link-login-only=http%3A%2F%2F10.5.50.1%2Flogin"
             "&link-orig=http%3A%2F%2Fexample.com%2F")
    page = portal_page(shop, session, query)
    assert 'value="AA:BB:CC:00:01:01"' in page and 'value="http://10.5.50.1/login"' in page
    answer = session.post(f"{shop.url}/portal/{shop.slug}/buy", allow_redirects=False, timeout=15, data={
        "package_id": shop.package_id, "phone": "0712 345 701", "csrf_token": csrf_from(page),
        "mac": "AA:BB:CC:00:01:01", "ip": "10.5.50.201", "link_login_only": "http://10.5.50.1/login",
        "link_orig": "http://example.com/"})
    assert answer.status_code == 303
    status_page = session.get(shop.url + answer.headers["Location"], timeout=5).text
    assert 'hx-trigger="every 2s"' in status_page and "254712***701" in status_page
    fragment_url = re.search(r'hx-get="([^"]+)"', status_page)
    assert fragment_url
    deadline = time.monotonic() + 10
    while True:
        fragment = session.get(shop.url + fragment_url.group(1), timeout=5).text
        if 'data-status="pending"' not in fragment or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert 'data-status="paid"' in fragment and "hx-trigger" not in fragment
    code = re.search(r'data-testid="voucher-code">([A-Z0-9]+)<', fragment)
    assert code
    assert 'action="http://10.5.50.1/login"' in fragment and f'name="username" value="{code.group(1)}"' in fragment


def test_a_login_url_with_credentials_or_another_scheme_is_dropped(shop: Shop) -> None:
    kept = '<input type="hidden" name="link_login_only" value="">'
    assert kept in portal_page(shop, requests.Session(), "?link-login-only=javascript%3Aalert(1)")
    assert kept in portal_page(shop, requests.Session(), "?link-login-only=http%3A%2F%2Fu%3Ap%4010.5.50.1%2F")
    # Only the hotspot itself (a private address or its DNS name) may receive the voucher's credentials.
    assert kept in portal_page(shop, requests.Session(), "?link-login-only=http%3A%2F%2Fevil.example.com%2Flogin")
    assert '<input type="hidden" name="link_login_only" value="http://10.5.50.1/login">' in portal_page(
        shop, requests.Session(), "?link-login-only=http%3A%2F%2F10.5.50.1%2Flogin")


def test_unknown_hotspot_is_a_friendly_404(shop: Shop) -> None:
    answer = requests.get(f"{shop.url}/portal/no-such-place/", timeout=5)
    assert answer.status_code == 404 and "does not exist" in answer.text


def test_the_portal_speaks_kiswahili_after_the_switch(shop: Shop) -> None:
    session = requests.Session()
    page = portal_page(shop, session)
    assert "Pay with M-Pesa" in page and 'data-testid="language-switch"' in page
    switched = session.post(f"{shop.url}/dashboard/language", timeout=5, allow_redirects=False, data={
        "language": "sw", "csrf_token": csrf_from(page), "next": f"/portal/{shop.slug}/"})
    assert switched.status_code == 303 and switched.headers["Location"].endswith(f"/portal/{shop.slug}/")
    page = portal_page(shop, session)
    assert "Lipa kwa M-Pesa" in page and "Chagua kifurushi" in page and '<html lang="sw">' in page
