"""Installing the portal's login page on a (simulated) router: preview, /tool/fetch from RouterDeck, walled garden,
undo back to the router's own page."""

from __future__ import annotations

import requests

from tests.payments.conftest import Shop
from tests.payments.test_owner import token


def files(shop: Shop) -> dict[str, str]:
    return {row["name"]: row.get("contents", "") for row in shop.router.execute("/file/print")}


def test_preview_install_and_undo(shop: Shop) -> None:
    headers = token(shop)
    url = f"{shop.url}/routers/{shop.router_id}/portal/login-page/"
    original = files(shop)["hotspot/login.html"]
    preview = requests.get(url, headers=headers, timeout=10).json()
    assert preview["installed"] is False and preview["html_directory"] == "hotspot"
    assert preview["commands"][0].startswith(f'/tool fetch url="{shop.url}/portal/{shop.slug}/hotspot/login.html"')
    assert "$(link-login-only)" in preview["html"] and "$(mac)" in preview["html"]
    assert files(shop)["hotspot/login.html"] == original  # a preview changes nothing

    installed = requests.post(url, headers=headers, timeout=15)
    assert installed.status_code == 200, installed.text
    served = requests.get(f"{shop.url}/portal/{shop.slug}/hotspot/login.html", timeout=5).text
    assert files(shop)["hotspot/login.html"] == served
    assert f'action="{shop.url}/portal/{shop.slug}/"' in served
    garden = shop.router.execute("/ip/hotspot/walled-garden/print")
    assert [(row["dst-host"], row["comment"]) for row in garden] == [("127.0.0.1", "routerdeck-portal")]
    assert len(shop.router.execute("/ip/hotspot/walled-garden/ip/print")) == 1
    again = requests.post(url, headers=headers, timeout=15)
    assert again.status_code == 200 and len(shop.router.execute("/ip/hotspot/walled-garden/print")) == 1

    undone = requests.delete(url, headers=headers, timeout=15)
    assert undone.status_code == 200
    assert files(shop)["hotspot/login.html"] == original
    assert shop.router.execute("/ip/hotspot/walled-garden/print") == []
    assert shop.router.execute("/ip/hotspot/walled-garden/ip/print") == []
    assert requests.delete(url, headers=headers, timeout=15).status_code == 409


def test_an_unreachable_router_installs_nothing(shop: Shop) -> None:
    shop.router.set_fault("refuse")
    try:
        answer = requests.post(f"{shop.url}/routers/{shop.router_id}/portal/login-page/", headers=token(shop),
                               timeout=15)
    finally:
        shop.router.clear_faults()
    assert answer.status_code == 502 and answer.json()["reason"]
    preview = requests.get(f"{shop.url}/routers/{shop.router_id}/portal/login-page/", headers=token(shop), timeout=10)
    assert preview.json()["installed"] is False


def test_the_dashboard_previews_installs_and_undoes(shop: Shop) -> None:
    from tests.conftest import csrf_from
    from tests.payments.test_owner import html_session

    session = html_session(shop)
    page = session.get(f"{shop.url}/dashboard/routers/{shop.router_id}/portal", timeout=5).text
    fragment = session.get(f"{shop.url}/dashboard/routers/{shop.router_id}/portal/login-page", timeout=10).text
    assert "/tool fetch url=" in fragment and "walled-garden add dst-host=127.0.0.1" in fragment
    original = files(shop)["hotspot/login.html"]
    done = session.post(f"{shop.url}/dashboard/routers/{shop.router_id}/portal/login-page", timeout=15,
                        data={"csrf_token": csrf_from(page)})
    assert done.status_code == 200 and "devices to the portal" in done.text
    assert files(shop)["hotspot/login.html"] != original
    undone = session.post(f"{shop.url}/dashboard/routers/{shop.router_id}/portal/login-page/undo", timeout=15,
                          data={"csrf_token": csrf_from(page)})
    assert undone.status_code == 200 and files(shop)["hotspot/login.html"] == original
