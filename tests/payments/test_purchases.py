"""Buying through the portal's JSON face against the Daraja simulator: every outcome, the invariants, the limits."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from tests.payments.conftest import PRICE, Shop
from webapp.extensions import db
from webapp.models import Payment, PaymentEvent, PoolVoucher, Sale, SmsMessage, Voucher
from webapp.services import payments, portal
from webapp.timeutil import utcnow

MAC = "AA:BB:CC:00:00:{:02X}"


def counts(shop: Shop, payment_id: int) -> tuple[int, int]:
    """(vouchers assigned to the payment through the pool or directly, sales of its voucher)."""

    def read() -> tuple[int, int]:
        payment = db.session.get(Payment, payment_id)
        assert payment is not None
        pooled = db.session.scalar(select(func.count()).select_from(PoolVoucher)
                                   .where(PoolVoucher.payment_id == payment_id)) or 0
        sales = db.session.scalar(select(func.count(Sale.id)).where(Sale.voucher_id == payment.voucher_id)) or 0 \
            if payment.voucher_id else 0
        return max(pooled, 1 if payment.voucher_id else 0), sales

    return shop.with_app(read)


def test_paid_purchase_gives_a_voucher_logs_the_device_in_and_texts_a_receipt(shop: Shop) -> None:
    answer = shop.buy("0712 345 601", mac=MAC.format(1), ip="10.5.50.101",
                      link_login_only="http://10.5.50.1/login", link_orig="http://example.com/")
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert set(body) >= {"id", "status", "status_url"} and body["status"] == "pending"
    assert answer.headers["Location"] == body["status_url"]
    (sent,) = [tx for tx in shop.daraja.transactions() if tx["PhoneNumber"] == "254712345601"]
    assert sent["Amount"] == 20 and sent["TransactionType"] == "CustomerPayBillOnline"
    assert sent["CallBackURL"].startswith(shop.url + "/payments/mpesa/callback/")
    settled = shop.wait_settled(body["id"])
    assert settled["status"] == "paid"
    voucher = settled["voucher"]
    assert voucher["code"] and voucher["password"] and voucher["expires"].endswith("Z")
    assert settled["login_url"] == "http://10.5.50.1/login"
    shop.wait_follow_ups()
    payment = shop.payment(body["id"])
    assert payment.mpesa_receipt and payment.paid_amount == Decimal(PRICE) and payment.settled_by == "callback"
    assert counts(shop, payment.id) == (1, 1)
    active = {row["user"]: row for row in shop.router.execute("/ip/hotspot/active/print")}
    assert active[voucher["code"]]["mac-address"] == MAC.format(1)
    assert payment.router_login == "logged in by RouterDeck"
    (message,) = [m for m in shop.sms.messages() if m["number"] == "+254712345601"]
    assert voucher["code"] in message["message"] and payment.mpesa_receipt in message["message"]

    def stored_sms() -> SmsMessage:
        return db.session.scalar(select(SmsMessage).where(SmsMessage.payment_id == payment.id))

    record = shop.with_app(stored_sms)
    assert record.cost == "KES 0.8000" and record.message_id == message["messageId"]
    deadline = time.monotonic() + 5
    while shop.with_app(stored_sms).status != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shop.with_app(stored_sms).status == "delivered"


@pytest.mark.parametrize(("outcome", "status", "code"), [
    ("cancelled", "cancelled", 1032),
    ("timeout", "expired", 1037),
    ("insufficient_funds", "failed", 1),
    ("wrong_pin", "failed", 2001),
])
def test_unpaid_outcomes_sell_nothing(shop: Shop, outcome: str, status: str, code: int) -> None:
    phone = f"2547110{code:05d}"
    shop.daraja.set_outcome(phone, outcome)
    public_id = shop.buy(phone).json()["id"]
    settled = shop.wait_settled(public_id)
    assert settled["status"] == status and settled["voucher"] is None
    payment = shop.payment(public_id)
    assert payment.result_code == code and payment.voucher_id is None and payment.sale_id is None


def test_wrong_amount_is_flagged_and_sells_nothing(shop: Shop) -> None:
    shop.daraja.set_outcome("254711000101", "wrong_amount")
    public_id = shop.buy("254711000101").json()["id"]
    settled = shop.wait_settled(public_id)
    assert settled["status"] == "failed" and settled["voucher"] is None
    payment = shop.payment(public_id)
    assert payment.flag == "amount_mismatch" and payment.paid_amount == Decimal("19.00")
    assert payment.mpesa_receipt and payment.sale_id is None and payment.voucher_id is None


def test_callback_twice_gives_one_voucher_and_one_sale(shop: Shop) -> None:
    shop.daraja.set_outcome("254711000102", "callback_twice")
    public_id = shop.buy("254711000102").json()["id"]
    assert shop.wait_settled(public_id)["status"] == "paid"
    payment = shop.payment(public_id)
    deadline = time.monotonic() + 5
    while len(shop.daraja.transaction(payment.checkout_request_id)["callbacks"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert counts(shop, payment.id) == (1, 1)


def test_twenty_concurrent_duplicate_callbacks_give_one_voucher_and_one_sale(shop: Shop) -> None:
    shop.daraja.set_outcome("254711000103", "no_callback")
    public_id = shop.buy("254711000103").json()["id"]
    payment = shop.payment(public_id)
    deadline = time.monotonic() + 5
    while not shop.daraja.transaction(payment.checkout_request_id)["settled"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    body = shop.daraja.callback_body(payment.checkout_request_id)
    url = shop.daraja.transaction(payment.checkout_request_id)["CallBackURL"]
    start = threading.Barrier(20)
    answers: list[int] = []

    def post() -> None:
        start.wait()
        answers.append(requests.post(url, json=body, timeout=15).status_code)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 20
    assert shop.wait_settled(public_id)["status"] == "paid"
    assert counts(shop, payment.id) == (1, 1)
    kept = shop.with_app(lambda: db.session.scalar(select(func.count(PaymentEvent.id)).where(
        PaymentEvent.payment_id == payment.id, PaymentEvent.kind == "callback")))
    assert kept == 20


def test_a_lost_callback_is_settled_by_the_sweep(shop: Shop) -> None:
    shop.daraja.set_outcome("254711000104", "no_callback")
    public_id = shop.buy("254711000104").json()["id"]
    payment = shop.payment(public_id)
    deadline = time.monotonic() + 5
    while not shop.daraja.transaction(payment.checkout_request_id)["settled"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert shop.payment(public_id).status == "pending"
    early = shop.with_app(lambda: payments.sweep(utcnow()))
    assert early.queried == 0  # not pending for a minute yet
    report = shop.with_app(lambda: payments.sweep(utcnow() + timedelta(seconds=61)))
    assert report.settled >= 1
    settled = shop.payment(public_id)
    assert settled.status == "paid" and settled.settled_by == "sweep" and settled.voucher_id is not None
    assert counts(shop, settled.id) == (1, 1)


def test_a_late_callback_after_the_sweep_changes_nothing(shop: Shop) -> None:
    shop.daraja.set_outcome("254711000105", "late_callback")
    public_id = shop.buy("254711000105").json()["id"]
    payment = shop.payment(public_id)
    deadline = time.monotonic() + 5
    while not shop.daraja.transaction(payment.checkout_request_id)["settled"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    shop.with_app(lambda: payments.sweep(utcnow() + timedelta(seconds=61)))
    assert shop.payment(public_id).settled_by == "sweep"
    while not any("result" in c for c in shop.daraja.transaction(payment.checkout_request_id)["callbacks"]):
        assert time.monotonic() < deadline + 5
        time.sleep(0.02)
    (delivery,) = shop.daraja.transaction(payment.checkout_request_id)["callbacks"]
    assert delivery["result"] == 200
    settled = shop.payment(public_id)
    assert settled.settled_by == "sweep" and counts(shop, settled.id) == (1, 1)
    events = shop.with_app(lambda: [e.kind for e in db.session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == settled.id))])
    assert "callback" in events and "query" in events


def test_pending_payments_expire_after_two_hours(shop: Shop) -> None:
    shop.daraja.set_outcome("254711000106", "paid", delay=3600)
    public_id = shop.buy("254711000106").json()["id"]
    shop.with_app(lambda: payments.sweep(utcnow() + timedelta(hours=2, seconds=1)))
    assert shop.payment(public_id).status == "expired"


def test_callbacks_need_the_owners_token_and_allowed_address(shop: Shop) -> None:
    forged = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_forged", "ResultCode": 0}}}
    assert requests.post(f"{shop.url}/payments/mpesa/callback/guess/", json=forged, timeout=5).status_code == 404
    refused = shop.with_app(lambda: db.session.scalar(select(PaymentEvent).where(PaymentEvent.kind == "refused")
                                                      .order_by(PaymentEvent.id.desc())))
    assert refused.note == "unknown callback token" and refused.body == forged

    def token_and_lock() -> str:
        account = payments.account_of(shop.owner_id)
        assert account is not None
        account.callback_allow_ips = "196.201.214.0/24"
        db.session.commit()
        return account.callback_token

    token = shop.with_app(token_and_lock)
    try:
        answer = requests.post(f"{shop.url}/payments/mpesa/callback/{token}/", json=forged, timeout=5)
        assert answer.status_code == 403
    finally:
        def unlock() -> None:
            account = payments.account_of(shop.owner_id)
            assert account is not None
            account.callback_allow_ips = ""
            db.session.commit()

        shop.with_app(unlock)
    garbage = requests.post(f"{shop.url}/payments/mpesa/callback/{token}/", data=b"not json", timeout=5)
    assert garbage.status_code == 400


def test_a_router_unreachable_at_payment_time_still_gets_the_customer_online(shop: Shop) -> None:
    shop.router.set_fault("refuse")
    try:
        public_id = shop.buy("254711000107", mac=MAC.format(7), ip="10.5.50.107").json()["id"]
        settled = shop.wait_settled(public_id)
        assert settled["status"] == "paid"
        shop.wait_follow_ups()
        payment = shop.payment(public_id)
        assert payment.router_login and payment.router_login.startswith("router not reached")
    finally:
        shop.router.clear_faults()
    code, password = settled["voucher"]["code"], settled["voucher"]["password"]
    # The voucher came from the pool, already on the router: the customer's own login works at once.
    shop.router.execute("/ip/hotspot/active/login", {"user": code, "password": password,
                                                     "mac-address": MAC.format(7), "ip": "10.5.50.107"})
    active = {row["user"] for row in shop.router.execute("/ip/hotspot/active/print")}
    assert code in active


def test_rate_limits_per_phone_device_and_address(shop: Shop) -> None:
    config = shop.app.config
    saved = {k: config[k] for k in ("PORTAL_LIMIT_PER_PHONE", "PORTAL_LIMIT_PER_MAC", "PORTAL_LIMIT_PER_IP")}
    try:
        config["PORTAL_LIMIT_PER_PHONE"] = 2
        for _ in range(2):
            assert shop.buy("254711000108").status_code == 202
        limited = shop.buy("0711000108")
        assert limited.status_code == 429 and limited.json()["reason"] == "rate_limited_phone"
        assert int(limited.headers["Retry-After"]) > 0
        config["PORTAL_LIMIT_PER_MAC"] = 1
        assert shop.buy("254711000109", mac=MAC.format(9)).status_code == 202
        assert shop.buy("254711000110", mac=MAC.format(9)).json()["reason"] == "rate_limited_mac"
        config["PORTAL_LIMIT_PER_IP"] = 1
        assert shop.buy("254711000111").json()["reason"] == "rate_limited_ip"
    finally:
        config.update(saved)


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "0812345678"}, "phone"),
    ({"phone": "+255712345678"}, "phone"),
    ({"phone": "0712345678", "mac": "not-a-mac"}, "mac"),
    ({"phone": "0712345678", "ip": "10.5.50"}, "ip"),
])
def test_bad_purchases_are_refused_clearly(shop: Shop, body: dict[str, object], field: str) -> None:
    answer = requests.post(shop.purchases_url, json={"package_id": shop.package_id, **body}, timeout=5)
    assert answer.status_code == 400 and field in answer.json()["fields"]


def test_a_package_not_on_sale_here_is_404(shop: Shop) -> None:
    answer = requests.post(shop.purchases_url, json={"package_id": 999999, "phone": "0712345678"}, timeout=5)
    assert answer.status_code == 404


def test_status_of_another_hotspot_or_unknown_id_is_404(shop: Shop) -> None:
    assert requests.get(f"{shop.purchases_url}nope/", timeout=5).status_code == 404
    assert requests.get(f"{shop.url}/portal/no-such-hotspot/purchases/x/", timeout=5).status_code == 404


def test_pool_vouchers_stay_unsold_until_paid(shop: Shop) -> None:
    def pool() -> list[Voucher]:
        return list(db.session.scalars(select(Voucher).join(PoolVoucher, PoolVoucher.voucher_id == Voucher.id)
                                       .where(PoolVoucher.state == "available")))

    def quiet() -> bool:
        recent = utcnow() - timedelta(minutes=5)
        return not db.session.scalar(select(func.count(Payment.id)).where(
            Payment.status == "pending", Payment.created_at > recent, Payment.phone != "254711000106"))

    deadline = time.monotonic() + 10
    while not shop.with_app(quiet):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    shop.wait_follow_ups()
    # A top-up after the last sale (one ran while the router was refusing connections) leaves the pool full.
    shop.with_app(lambda: portal.replenish_pool(shop.router_id))
    waiting = shop.with_app(pool)
    assert len(waiting) == 3 and all(v.state == "unused" and v.on_router for v in waiting)
    users = {row["name"] for row in shop.router.execute("/ip/hotspot/user/print")}
    assert {v.code for v in waiting} <= users
