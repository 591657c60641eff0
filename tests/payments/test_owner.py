"""The owner's side: payments list/detail/query in JSON and HTML, write-only M-Pesa settings, portal settings,
isolation between owners."""

from __future__ import annotations

import time

import requests
from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_from
from tests.payments.conftest import Shop
from webapp.extensions import db
from webapp.models import MpesaAccount
from webapp.services import accounts


def token(shop: Shop, username: str = "owner") -> dict[str, str]:
    answer = requests.post(f"{shop.url}/users/login/", json={"username": username, "password": PASSWORD}, timeout=5)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def html_session(shop: Shop, username: str = "owner") -> requests.Session:
    session = requests.Session()
    page = session.get(f"{shop.url}/dashboard/login", timeout=5).text
    answer = session.post(f"{shop.url}/dashboard/login", timeout=5, data={
        "username": username, "password": PASSWORD, "csrf_token": csrf_from(page)})
    assert answer.status_code == 200 and "/dashboard/login" not in answer.url
    return session


def test_owner_lists_filters_and_reads_payments(shop: Shop) -> None:
    public_id = shop.buy("0712 000 301").json()["id"]
    assert shop.wait_settled(public_id)["status"] == "paid"
    headers = token(shop)
    listed = requests.get(f"{shop.url}/payments/", params={"phone": "0712000301"}, headers=headers, timeout=5).json()
    (payment,) = listed["results"]
    assert payment["status"] == "paid" and payment["amount"] == "20.00" and payment["voucher_code"]
    assert requests.get(f"{shop.url}/payments/", params={"status": "nope"}, headers=headers,
                        timeout=5).status_code == 400
    detail = requests.get(f"{shop.url}/payments/{payment['id']}/", headers=headers, timeout=5).json()
    assert [e["kind"] for e in detail["events"]] == ["callback"]
    assert detail["events"][0]["body"]["Body"]["stkCallback"]["ResultCode"] == 0
    again = requests.post(f"{shop.url}/payments/{payment['id']}/query/", headers=headers, timeout=5)
    assert again.status_code == 409
    hotspot = requests.get(f"{shop.url}/routers/{shop.router_id}/hotspot/", headers=headers, timeout=5).json()
    assert hotspot["portal_url"] == f"{shop.url}/portal/{shop.slug}/"


def test_query_now_settles_a_pending_payment(shop: Shop) -> None:
    shop.daraja.set_outcome("254712000302", "no_callback")
    public_id = shop.buy("254712000302").json()["id"]
    payment = shop.payment(public_id)
    deadline = time.monotonic() + 5
    while not shop.daraja.transaction(payment.checkout_request_id)["settled"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    answer = requests.post(f"{shop.url}/payments/{payment.id}/query/", headers=token(shop), timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "paid"
    assert answer.json()["settled_by"] == "owner"


def test_mpesa_secrets_are_write_only_and_encrypted(shop: Shop) -> None:
    headers = token(shop)
    settings = requests.get(f"{shop.url}/payments/settings/", headers=headers, timeout=5).json()
    assert settings["has_consumer_key"] and settings["configured"]
    assert shop.daraja.consumer_secret not in str(settings)
    assert settings["callback_url"].startswith(f"{shop.url}/payments/mpesa/callback/")
    kept = requests.put(f"{shop.url}/payments/settings/", headers=headers, timeout=5,
                        json={"consumer_key": "", "shortcode": "174379", "sms_receipts": True})
    assert kept.status_code == 200 and kept.json()["configured"]
    stored = shop.with_app(lambda: db.session.scalar(select(MpesaAccount)))
    assert shop.daraja.consumer_secret.encode() not in stored.encrypted_consumer_secret
    buy_goods = requests.put(f"{shop.url}/payments/settings/", headers=headers, timeout=5,
                             json={"transaction_type": "CustomerBuyGoodsOnline"})
    assert buy_goods.status_code == 400 and "till_number" in buy_goods.json()["fields"]
    page = html_session(shop).get(f"{shop.url}/dashboard/payments/settings", timeout=5).text
    assert shop.daraja.consumer_key not in page and "stored — leave blank to keep" in page


def test_another_owner_sees_none_of_it(shop: Shop) -> None:
    shop.with_app(lambda: accounts.create_user("stranger", PASSWORD))
    headers = token(shop, "stranger")
    assert requests.get(f"{shop.url}/payments/", headers=headers, timeout=5).json()["count"] == 0
    mine = requests.get(f"{shop.url}/payments/", headers=token(shop), timeout=5).json()["results"][0]["id"]
    assert requests.get(f"{shop.url}/payments/{mine}/", headers=headers, timeout=5).status_code == 404
    assert requests.get(f"{shop.url}/routers/{shop.router_id}/portal/", headers=headers, timeout=5).status_code == 404
    session = html_session(shop, "stranger")
    assert session.get(f"{shop.url}/dashboard/payments/{mine}", timeout=5).status_code == 404


def test_dashboard_pages_show_payments_and_the_portal(shop: Shop) -> None:
    session = html_session(shop)
    listing = session.get(f"{shop.url}/dashboard/payments", timeout=5)
    assert listing.status_code == 200 and 'data-testid="payments"' in listing.text
    mine = requests.get(f"{shop.url}/payments/", headers=token(shop), timeout=5).json()["results"][0]["id"]
    detail = session.get(f"{shop.url}/dashboard/payments/{mine}", timeout=5).text
    assert 'data-testid="payment-events"' in detail
    portal_page = session.get(f"{shop.url}/dashboard/routers/{shop.router_id}/portal", timeout=5).text
    assert f"/portal/{shop.slug}/" in portal_page and 'data-testid="pool"' in portal_page
    saved = session.post(f"{shop.url}/dashboard/routers/{shop.router_id}/portal", timeout=15, data={
        "csrf_token": csrf_from(portal_page), "enabled": "on", "title": "Kibera WiFi", "primary_color": "#123456",
        "accent_color": "#abcdef", "logo_url": "", "support_phone": "0700 111 222", "pool_size": "3",
        "silence_hours": "6"})
    assert saved.status_code == 200 and "Kibera WiFi" in requests.get(f"{shop.url}/portal/{shop.slug}/", timeout=5).text
    bad = session.post(f"{shop.url}/dashboard/routers/{shop.router_id}/portal", timeout=5, data={
        "csrf_token": csrf_from(portal_page), "primary_color": "red", "pool_size": "3", "silence_hours": "6"})
    assert bad.status_code == 422


def test_a_price_change_retires_pool_vouchers_issued_at_the_old_price(shop: Shop) -> None:
    from webapp.models import Package, PoolVoucher, Voucher
    from webapp.services import packages, portal

    def change_price() -> None:
        owner = shop.owner()
        packages.update_package(owner, shop.package_id, {"price": "25.00"})
        portal.replenish_pool(shop.router_id)

    shop.with_app(change_price)
    public_id = shop.buy("0712 000 309").json()["id"]
    settled = shop.wait_settled(public_id)
    assert settled["status"] == "paid" and settled["amount"] == "25.00"

    def read() -> tuple[set[str], str, list[str]]:
        available = db.session.scalars(select(Voucher).join(PoolVoucher, PoolVoucher.voucher_id == Voucher.id)
                                       .where(PoolVoucher.state == "available"))
        sold = db.session.scalar(select(Voucher).where(Voucher.code == settled["voucher"]["code"]))
        retired = db.session.scalars(select(Voucher.state).join(PoolVoucher, PoolVoucher.voucher_id == Voucher.id)
                                     .where(PoolVoucher.state == "retired"))
        assert db.session.get(Package, shop.package_id).price == 25
        return {f"{v.price:.2f}" for v in available}, f"{sold.price:.2f}", list(retired)

    prices, sold_price, retired = shop.with_app(read)
    assert prices <= {"25.00"} and sold_price == "25.00" and retired and set(retired) == {"revoked"}


def test_pool_vouchers_never_reach_a_print_sheet(shop: Shop) -> None:
    """A pooled code printed and sold over the counter could also be handed to an M-Pesa buyer: sold twice."""
    from webapp.models import PoolVoucher, Voucher
    from webapp.services import vouchers

    def read() -> tuple[int, set[str], set[str]]:
        pooled = db.session.scalars(select(Voucher).join(PoolVoucher, PoolVoucher.voucher_id == Voucher.id)
                                    .where(PoolVoucher.state == "available")).all()
        assert pooled, "the shop keeps a pool"
        batch_id = pooled[0].batch_id
        sheet = vouchers.print_sheet(shop.owner(), batch_id, include_used=True)
        return batch_id, {v.code for v in pooled}, {printed.code for printed in sheet.vouchers}

    _batch_id, pooled_codes, printed_codes = shop.with_app(read)
    assert pooled_codes and not (pooled_codes & printed_codes)
