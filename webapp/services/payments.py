"""M-Pesa self-service sales: owner settings, STK purchases, the callback, the sweep, the one atomic claim.

The invariants, and where each is enforced:

- A payment row exists before the prompt is sent (so a callback can never find nothing), and no database
  transaction is open while Daraja is called (read → commit → I/O → write).
- ``CheckoutRequestID`` and the M-Pesa receipt are unique columns: a second payment can never carry them.
- Every confirmation (callback, sweep query, "query now") goes through :func:`apply_result`, whose first
  statement is ``UPDATE payments SET status=… WHERE id=… AND status='pending'``; only the caller that changed
  the row assigns the voucher and records the sale, in the same transaction. Any number of repeats are no-ops.
- An amount that differs from the price is stored (receipt, amount), flagged ``amount_mismatch`` and sells
  nothing. Callbacks with an unknown token, from an address outside the allow-list, or unreadable are refused
  and kept as ``refused`` events; every accepted callback body is kept raw.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from webapp.database import rowcount
from webapp.extensions import db
from webapp.models import (
    MpesaAccount,
    Package,
    Payment,
    PaymentEvent,
    PoolVoucher,
    PortalSite,
    Router,
    Sale,
    User,
    Voucher,
    VoucherBatch,
)
from webapp.services import audit, daraja
from webapp.services.errors import Conflict, Invalid, NotFound, ServiceError
from webapp.services.hotspot_settings import currency_for
from webapp.services.pagination import Page, paginate
from webapp.services.phones import masked, normalise_phone
from webapp.services.vault import decrypt_password, encrypt_password
from webapp.services.vouchers import issued_terms, random_code
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

STATES = ("pending", "paid", "failed", "cancelled", "expired")
#: ResultCode → the payment's final status (anything else is ``failed``).
RESULT_STATUS = {0: "paid", 1032: "cancelled", 1037: "expired", 1019: "expired"}
QUERY_AFTER = timedelta(seconds=60)
EXPIRE_AFTER = timedelta(hours=2)
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")


class RateLimited(ServiceError):
    """Too many prompts for this phone, device or address; try again later."""

    status = 429

    def __init__(self, message: str, *, retry_after: int, reason: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason


class PaymentsUnavailable(ServiceError):
    """The owner has not set up M-Pesa (or the portal is off): the customer cannot buy here now."""

    status = 409

    def __init__(self, message: str, *, reason: str = "not_configured") -> None:
        super().__init__(message)
        self.reason = reason


# -- owner settings ------------------------------------------------------------------------------------------


def owner_id(actor: User) -> int:
    """The owner whose payments and M-Pesa account a person works with (staff act for their team's owner)."""
    return int(getattr(actor, "team_owner_id", None) or actor.id)


def account_of(user_id: int) -> MpesaAccount | None:
    """The owner's M-Pesa account row, if any."""
    return db.session.get(MpesaAccount, user_id)


def _stored_account(user_id: int) -> MpesaAccount:
    account = account_of(user_id)
    if account is None:
        account = MpesaAccount(user_id=user_id, callback_token=secrets.token_urlsafe(32), shortcode="",
                               till_number="", transaction_type="CustomerPayBillOnline", callback_allow_ips="",
                               sms_receipts=True)
        db.session.add(account)
    return account


def settings_view(account: MpesaAccount | None) -> dict[str, Any]:
    """The settings as both faces show them: secrets only as ``has_…`` flags."""
    return {
        "shortcode": account.shortcode if account else "",
        "till_number": account.till_number if account else "",
        "transaction_type": account.transaction_type if account else "CustomerPayBillOnline",
        "has_consumer_key": bool(account and account.encrypted_consumer_key),
        "has_consumer_secret": bool(account and account.encrypted_consumer_secret),
        "has_passkey": bool(account and account.encrypted_passkey),
        "configured": bool(account and account.configured),
        "callback_allow_ips": account.callback_allow_ips if account else "",
        "sms_receipts": account.sms_receipts if account else True,
    }


def _parse_allow_list(text: str) -> str:
    entries = [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise Invalid(f"Not an address or network: {entry}",
                          fields={"callback_allow_ips": f"not an address or network: {entry}"}) from exc
    return ",".join(entries)


def update_settings(actor: User, data: dict[str, Any], ip_address: str | None = None) -> MpesaAccount:
    """Change the actor's M-Pesa settings; a secret left out or blank keeps the stored one.

    :raises Invalid: per field (shortcode digits, transaction type, till for buy goods, allow-list).
    """
    fields: dict[str, str] = {}
    account = _stored_account(owner_id(actor))
    changed: list[str] = []
    for name in ("consumer_key", "consumer_secret", "passkey"):
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str) or len(value) > 200:
            fields[name] = "Must be text up to 200 characters."
            continue
        setattr(account, f"encrypted_{name}", encrypt_password(value.strip()))
        changed.append(name)
    for name, pattern in (("shortcode", r"^\d{5,7}$"), ("till_number", r"^(\d{5,7})?$")):
        value = data.get(name)
        if value is None:
            continue
        text = str(value).strip()
        if not re.match(pattern, text):
            fields[name] = "5 to 7 digits."
            continue
        setattr(account, name, text)
        changed.append(name)
    kind = data.get("transaction_type")
    if kind is not None:
        if kind not in daraja.TRANSACTION_TYPES:
            fields["transaction_type"] = "CustomerPayBillOnline or CustomerBuyGoodsOnline."
        else:
            account.transaction_type = kind
            changed.append("transaction_type")
    allow = data.get("callback_allow_ips")
    if allow is not None:
        try:
            account.callback_allow_ips = _parse_allow_list(str(allow))
            changed.append("callback_allow_ips")
        except Invalid as exc:
            fields.update(exc.fields)
    sms = data.get("sms_receipts")
    if sms is not None:
        if not isinstance(sms, bool):
            fields["sms_receipts"] = "true or false."
        else:
            account.sms_receipts = sms
            changed.append("sms_receipts")
    if account.transaction_type == "CustomerBuyGoodsOnline" and not account.till_number and not fields:
        fields["till_number"] = "Buy goods needs the till number customers pay."
    if fields:
        db.session.rollback()
        raise Invalid("Invalid M-Pesa settings: " + "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    audit.record(actor, "payments.settings", "M-Pesa settings changed", details={"changed": changed},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return account


def credentials_of(account: MpesaAccount) -> daraja.Credentials:
    """Decrypt the owner's credentials for one Daraja call (never stored decrypted).

    :raises PaymentsUnavailable: when a credential is missing.
    """
    if not account.configured:
        raise PaymentsUnavailable("M-Pesa is not set up for this hotspot yet")
    return daraja.Credentials(
        consumer_key=decrypt_password(account.encrypted_consumer_key or b""),
        consumer_secret=decrypt_password(account.encrypted_consumer_secret or b""),
        passkey=decrypt_password(account.encrypted_passkey or b""),
        shortcode=account.shortcode,
        transaction_type=account.transaction_type,
        till_number=account.till_number,
    )


def _client() -> daraja.DarajaClient:
    config = current_app.config
    return daraja.client_for(str(config["MPESA_BASE_URL"]), float(config["MPESA_TIMEOUT"]))


# -- purchases -----------------------------------------------------------------------------------------------


@dataclass
class PurchaseRequest:
    """What the portal collected from the customer (and from the hotspot's redirect)."""

    package_id: Any
    phone: Any
    mac: Any = ""
    ip: Any = ""
    client_ip: str = ""
    login_url: str = ""
    orig_url: str = ""


def _limits() -> tuple[tuple[str, int, int], ...]:
    config = current_app.config
    return (
        ("phone", int(config["PORTAL_LIMIT_PER_PHONE"]), int(config["PORTAL_LIMIT_WINDOW"])),
        ("mac", int(config["PORTAL_LIMIT_PER_MAC"]), int(config["PORTAL_LIMIT_WINDOW"])),
        ("client_ip", int(config["PORTAL_LIMIT_PER_IP"]), int(config["PORTAL_LIMIT_WINDOW"])),
    )


def _check_limits(values: dict[str, str], now: datetime) -> None:
    for column, limit, window in _limits():
        value = values.get(column)
        if not value or limit <= 0:
            continue
        since = now - timedelta(seconds=window)
        count = db.session.scalar(select(func.count(Payment.id)).where(getattr(Payment, column) == value,
                                                                       Payment.created_at >= since)) or 0
        if count >= limit:
            first = db.session.scalar(select(func.min(Payment.created_at)).where(
                getattr(Payment, column) == value, Payment.created_at >= since)) or now
            retry = max(1, int((first + timedelta(seconds=window) - now).total_seconds()))
            who = {"phone": "this phone number", "mac": "this device", "client_ip": "this address"}[column]
            raise RateLimited(f"Too many payment requests from {who}; try again in {retry // 60 + 1} minutes",
                              retry_after=retry, reason=f"rate_limited_{column.removeprefix('client_')}")


def _clean_mac(raw: Any) -> str:
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str) or not _MAC.match(raw.strip()):
        raise Invalid("Invalid device address", fields={"mac": "a MAC address such as 00:11:22:33:44:55"})
    return raw.strip().upper().replace("-", ":")


def _clean_ip(raw: Any, name: str = "ip") -> str:
    if raw in (None, ""):
        return ""
    try:
        return str(ipaddress.ip_address(str(raw).strip()))
    except ValueError as exc:
        raise Invalid("Invalid device IP address", fields={name: "an IP address such as 10.5.50.2"}) from exc


def _whole_shillings(amount: Decimal) -> bool:
    return amount == amount.to_integral_value() and amount >= 1


def start_purchase(site: PortalSite, request: PurchaseRequest, callback_url: Callable[[str], str],
                   now: datetime | None = None) -> Payment:
    """Create the payment row, then send the STK prompt (no transaction open during the call).

    ``callback_url(token)`` builds the externally reachable callback URL for the owner's token.

    :raises Invalid: unknown/inactive package, bad phone, MAC or IP.
    :raises RateLimited: too many prompts per phone, device or address.
    :raises PaymentsUnavailable: the portal is off or M-Pesa is not set up.
    :raises daraja.DarajaError: Daraja refused or could not be reached (the payment is then ``failed``).
    """
    moment = now or utcnow()
    router = site.router
    if not site.enabled:
        raise PaymentsUnavailable("This hotspot is not selling online right now", reason="portal_disabled")
    try:
        package_id = int(request.package_id)
    except (TypeError, ValueError):
        raise Invalid("Choose a package", fields={"package_id": "a package id"}) from None
    package = db.session.scalar(select(Package).where(Package.id == package_id, Package.router_id == router.id,
                                                      Package.is_active.is_(True)))
    if package is None:
        raise NotFound("That package is not on sale here")
    phone = normalise_phone(request.phone)
    mac = _clean_mac(request.mac)
    ip = _clean_ip(request.ip)
    amount = Decimal(package.price)
    if not _whole_shillings(amount):
        raise Invalid("M-Pesa takes whole shillings only; ask the owner to fix this package's price",
                      fields={"package_id": "price is not whole shillings"})
    account = account_of(router.user_id)
    if account is None or not account.configured:
        raise PaymentsUnavailable("M-Pesa is not set up for this hotspot yet")
    _check_limits({"phone": phone, "mac": mac, "client_ip": request.client_ip}, moment)
    payment = Payment(public_id=secrets.token_urlsafe(18), user_id=router.user_id, router_id=router.id,
                      package_id=package.id, package_name=package.name, amount=amount,
                      currency=currency_for(router.user_id), phone=phone, mac=mac, ip=ip,
                      client_ip=request.client_ip[:45], login_url=request.login_url[:500],
                      orig_url=request.orig_url[:500], transaction_type=account.transaction_type, status="pending",
                      created_at=moment)
    db.session.add(payment)
    db.session.commit()
    credentials = credentials_of(account)
    token_url = callback_url(account.callback_token)
    payment_id = payment.id
    reference = (site.slug.replace("-", "")[:8] + str(payment_id))[-12:].upper()
    try:
        accepted = _client().stk_push(credentials, phone=phone, amount=amount, reference=reference,
                                      description="WiFi " + package.name[:8], callback_url=token_url)
    except daraja.DarajaError as exc:
        db.session.execute(update(Payment).where(Payment.id == payment_id, Payment.status == "pending")
                           .values(status="failed", result_desc=exc.message[:255], settled_at=utcnow(),
                                   settled_by="request"))
        db.session.commit()
        raise
    db.session.execute(update(Payment).where(Payment.id == payment_id).values(
        checkout_request_id=accepted.checkout_request_id, merchant_request_id=accepted.merchant_request_id))
    db.session.commit()
    _replay_early_callbacks(accepted.checkout_request_id)
    return db.session.get(Payment, payment_id)  # type: ignore[return-value]


def _replay_early_callbacks(checkout_request_id: str) -> None:
    """A callback that beat our own bookkeeping (stored with no payment) is applied now."""
    early = list(db.session.scalars(select(PaymentEvent).where(
        PaymentEvent.checkout_request_id == checkout_request_id, PaymentEvent.kind == "callback",
        PaymentEvent.payment_id.is_(None))))
    for event in early:
        payment = db.session.scalar(select(Payment).where(Payment.checkout_request_id == checkout_request_id))
        if payment is None or payment.user_id != event.user_id:
            continue
        event.payment_id = payment.id
        db.session.commit()
        parsed = parse_callback(event.body)
        if parsed is not None:
            apply_result(payment.id, parsed.result_code, parsed.result_desc, parsed.items, source="callback")


# -- the callback --------------------------------------------------------------------------------------------


@dataclass
class ParsedCallback:
    """The parts of ``Body.stkCallback`` RouterDeck uses."""

    checkout_request_id: str
    merchant_request_id: str
    result_code: int
    result_desc: str
    items: dict[str, Any] = field(default_factory=dict)


def parse_callback(body: Any) -> ParsedCallback | None:
    """Read Daraja's callback body; None when it does not have the documented shape."""
    try:
        callback = body["Body"]["stkCallback"]
        checkout = callback["CheckoutRequestID"]
        code = int(callback["ResultCode"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(checkout, str) or not checkout:
        return None
    items: dict[str, Any] = {}
    metadata = callback.get("CallbackMetadata") or {}
    for item in metadata.get("Item") or [] if isinstance(metadata, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("Name"), str):
            items[item["Name"]] = item.get("Value")
    return ParsedCallback(checkout, str(callback.get("MerchantRequestID", "")), code,
                          str(callback.get("ResultDesc", ""))[:255], items)


def _allowed(account: MpesaAccount, source_ip: str | None) -> bool:
    if not account.callback_allow_ips:
        return True
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False)
               for entry in account.callback_allow_ips.split(",") if entry)


def _refuse(note: str, body: Any, source_ip: str | None, user_id: int | None = None) -> None:
    log.warning("M-Pesa callback refused (%s) from %s", note, source_ip)
    db.session.add(PaymentEvent(kind="refused", user_id=user_id, source_ip=source_ip, body=_storable(body),
                                note=note[:255]))
    db.session.commit()


def _storable(body: Any) -> Any:
    return body if isinstance(body, dict | list) else None


def handle_callback(token: str, body: Any, source_ip: str | None) -> tuple[int, dict[str, Any]]:
    """Receive one STK callback; answer ``(HTTP status, body)``. Refusals are logged and kept.

    Daraja is told ``ResultCode 0`` whenever we stored the callback, whether or not it changed anything.
    """
    account = db.session.scalar(select(MpesaAccount).where(MpesaAccount.callback_token == token)) if token else None
    if account is None or not secrets.compare_digest(account.callback_token, token):
        _refuse("unknown callback token", body, source_ip)
        return 404, {"error": "Not found"}
    if not _allowed(account, source_ip):
        _refuse("source address not in the allow-list", body, source_ip, account.user_id)
        return 403, {"error": "Forbidden"}
    parsed = parse_callback(body)
    if parsed is None:
        _refuse("not an stkCallback body", body, source_ip, account.user_id)
        return 400, {"error": "Not an STK callback"}
    payment = db.session.scalar(select(Payment).where(Payment.checkout_request_id == parsed.checkout_request_id,
                                                      Payment.user_id == account.user_id))
    db.session.add(PaymentEvent(kind="callback", user_id=account.user_id, payment_id=payment.id if payment else None,
                                checkout_request_id=parsed.checkout_request_id, source_ip=source_ip,
                                body=_storable(body), note=f"ResultCode {parsed.result_code}"))
    db.session.commit()
    if payment is None:
        # Either the callback beat our own write of the CheckoutRequestID (start_purchase replays it), or it is
        # for nothing we asked: it stays kept, unmatched, for the owner to see.
        payment = db.session.scalar(select(Payment).where(
            Payment.checkout_request_id == parsed.checkout_request_id, Payment.user_id == account.user_id))
        if payment is None:
            return 200, {"ResultCode": 0, "ResultDesc": "Accepted"}
    apply_result(payment.id, parsed.result_code, parsed.result_desc, parsed.items, source="callback")
    return 200, {"ResultCode": 0, "ResultDesc": "Accepted"}


# -- the one claim -------------------------------------------------------------------------------------------


def _amount(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number.quantize(Decimal("0.01")) if number.is_finite() else None


def apply_result(payment_id: int, result_code: int, result_desc: str, items: dict[str, Any], *, source: str,
                 now: datetime | None = None) -> bool:
    """Settle a pending payment with M-Pesa's answer; True only for the one caller that settled it.

    The claim is ``UPDATE … WHERE status = 'pending'``; the winner assigns the voucher and records the sale in the
    same transaction, so any number of callbacks, sweeps and queries give one voucher and one sale.
    """
    moment = now or utcnow()
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        return False
    status = RESULT_STATUS.get(result_code, "failed")
    values: dict[str, Any] = {"status": status, "result_code": result_code, "result_desc": result_desc[:255],
                              "settled_at": moment, "settled_by": source}
    if status == "paid":
        receipt = items.get("MpesaReceiptNumber")
        paid = _amount(items.get("Amount"))
        values["mpesa_receipt"] = str(receipt)[:32] if receipt else None
        values["paid_amount"] = paid
        if paid is not None and paid != Decimal(payment.amount):
            values["status"] = "failed"
            values["flag"] = "amount_mismatch"
            values["result_desc"] = f"Paid {paid} instead of {payment.amount}: flagged, nothing sold"[:255]
    try:
        won = rowcount(db.session.execute(update(Payment).where(Payment.id == payment_id,
                                                                Payment.status == "pending").values(**values))) == 1
        if not won:
            db.session.rollback()
            return False
        if values["status"] == "paid":
            _sell(payment_id, moment)
        db.session.commit()
    except IntegrityError:
        # The receipt already belongs to another payment: M-Pesa never reuses one, so this is a forged or
        # replayed confirmation; nothing is sold and the payment stays pending for the sweep to ask about.
        db.session.rollback()
        log.warning("payment %s: receipt %s already recorded elsewhere", payment_id, values.get("mpesa_receipt"))
        return False
    db.session.expire_all()
    settled = db.session.get(Payment, payment_id)
    if settled is not None and settled.status == "paid":
        from webapp.services import portal  # the portal's follow-up (login, SMS, pool) needs payments itself

        portal.after_paid(settled.id)
    return True


def _duration(voucher: Voucher) -> timedelta:
    return timedelta(minutes=voucher.duration_minutes)


def _sell(payment_id: int, now: datetime) -> None:
    """Assign a voucher (from the pool, else a fresh one) and record the sale; inside the claim's transaction."""
    payment = db.session.get(Payment, payment_id)
    assert payment is not None
    package = db.session.get(Package, payment.package_id) if payment.package_id else None
    if package is None:
        raise Conflict("The package was deleted while the customer paid")
    voucher = _take_from_pool(payment, package) or _fresh_voucher(payment, package, now)
    voucher.state = "active"
    voucher.activated_at = now
    voucher.expires_at = now + _duration(voucher)
    voucher.mac_address = payment.mac or None
    sale = Sale(user_id=payment.user_id, router_id=payment.router_id, package_id=package.id, batch_id=voucher.batch_id,
                voucher_id=voucher.id, package_name=payment.package_name, price=payment.amount,
                currency=payment.currency, sold_at=now)
    db.session.add(sale)
    db.session.flush()
    payment.voucher_id, payment.sale_id = voucher.id, sale.id
    db.session.flush()


def _take_from_pool(payment: Payment, package: Package) -> Voucher | None:
    for _attempt in range(5):
        candidate = db.session.scalar(
            select(PoolVoucher.voucher_id).join(Voucher, Voucher.id == PoolVoucher.voucher_id)
            .where(PoolVoucher.router_id == payment.router_id, PoolVoucher.package_id == package.id,
                   PoolVoucher.state == "available", Voucher.state == "unused", Voucher.on_router.is_(True),
                   # Only a voucher issued on the terms the customer is paying for (price and duration).
                   Voucher.price == payment.amount, Voucher.duration_minutes == package.duration_minutes)
            .order_by(PoolVoucher.created_at, PoolVoucher.voucher_id).limit(1))
        if candidate is None:
            return None
        taken = rowcount(db.session.execute(update(PoolVoucher).where(PoolVoucher.voucher_id == candidate,
                                                                      PoolVoucher.state == "available")
                                            .values(state="assigned", payment_id=payment.id)))
        if taken == 1:
            return db.session.get(Voucher, candidate)
    return None


def _fresh_voucher(payment: Payment, package: Package, now: datetime) -> Voucher:
    """A voucher made at payment time (empty pool): pushed to the router after commit, or by the next sync."""
    terms = {**issued_terms(package, payment.currency), "price": payment.amount}
    batch = VoucherBatch(router_id=payment.router_id, package_id=package.id, created_by_id=None, count=1,
                         code_length=8, mode="same", prefix="", push_state="pending", created_at=now,
                         shared_users=package.shared_users, validity_days=None, **terms)
    db.session.add(batch)
    db.session.flush()
    while True:
        code = random_code(8)
        clash = db.session.scalar(select(Voucher.id).where(Voucher.router_id == payment.router_id,
                                                           Voucher.code == code))
        if clash is None:
            break
    voucher = Voucher(router_id=payment.router_id, batch_id=batch.id, package_id=package.id, code=code,
                      password=code, state="unused", on_router=False, created_at=now, **terms)
    db.session.add(voucher)
    db.session.flush()
    return voucher


# -- reconciliation ------------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    """What one sweep did."""

    queried: int = 0
    settled: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)


def query_payment(payment_id: int, *, source: str = "query", now: datetime | None = None) -> bool:
    """Ask Daraja how one pending payment ended and apply the answer (True when this call settled it).

    :raises daraja.DarajaError: when Daraja cannot be asked.
    """
    moment = now or utcnow()
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != "pending" or not payment.checkout_request_id:
        return False
    account = account_of(payment.user_id)
    if account is None or not account.configured:
        return False
    credentials = credentials_of(account)
    checkout = payment.checkout_request_id
    db.session.commit()  # nothing open while Daraja is asked
    try:
        result = _client().stk_query(credentials, checkout)
    finally:
        db.session.execute(update(Payment).where(Payment.id == payment_id).values(
            query_count=Payment.query_count + 1, last_query_at=moment))
        db.session.commit()
    note = "processing" if result.result_code is None else f"ResultCode {result.result_code}"
    db.session.add(PaymentEvent(kind="query", user_id=payment.user_id, payment_id=payment_id,
                                checkout_request_id=checkout, body=result.raw, note=note))
    db.session.commit()
    if result.result_code is None:
        return False
    # The query has no receipt or amount; a paid answer settles at the price asked (Daraja confirms the
    # requested Amount) and a later callback, losing the claim, is kept as a raw event with its receipt.
    return apply_result(payment_id, result.result_code, result.result_desc,
                        {"Amount": str(payment.amount)} if result.result_code == 0 else {}, source=source, now=moment)


def sweep(now: datetime | None = None, limit: int = 100) -> SweepReport:
    """Query Daraja for payments pending over a minute; expire those pending over two hours (one claim each)."""
    moment = now or utcnow()
    report = SweepReport()
    stale = list(db.session.scalars(select(Payment.id).where(Payment.status == "pending",
                                                             Payment.created_at <= moment - EXPIRE_AFTER).limit(limit)))
    for payment_id in stale:
        expired = rowcount(db.session.execute(
            update(Payment).where(Payment.id == payment_id, Payment.status == "pending")
            .values(status="expired", settled_at=moment, settled_by="sweep",
                    result_desc="No answer from M-Pesa within 2 hours")))
        db.session.commit()
        report.expired += expired
    due = list(db.session.scalars(
        select(Payment.id).where(Payment.status == "pending", Payment.checkout_request_id.is_not(None),
                                 Payment.created_at <= moment - QUERY_AFTER,
                                 or_(Payment.last_query_at.is_(None),
                                     Payment.last_query_at <= moment - QUERY_AFTER / 2))
        .order_by(Payment.created_at).limit(limit)))
    for payment_id in due:
        report.queried += 1
        try:
            report.settled += query_payment(payment_id, source="sweep", now=moment)
        except daraja.DarajaError as exc:
            report.errors.append(f"payment {payment_id}: {exc.message}")
        except ServiceError as exc:
            report.errors.append(f"payment {payment_id}: {exc.message}")
    return report


# -- reading -------------------------------------------------------------------------------------------------


@dataclass
class PaymentFilters:
    """What the owner's payment list can be narrowed by."""

    status: str | None = None
    router_id: int | None = None
    phone: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    flagged: bool | None = None


def list_payments(actor: User, filters: PaymentFilters, page: int = 1, page_size: int = 50) -> Page[Payment]:
    """The actor's payments, newest first.

    :raises Invalid: for an unknown status.
    """
    statement = select(Payment).where(Payment.user_id == owner_id(actor))
    if filters.status:
        if filters.status not in STATES:
            raise Invalid("Unknown payment status", fields={"status": ", ".join(STATES)})
        statement = statement.where(Payment.status == filters.status)
    if filters.router_id is not None:
        statement = statement.where(Payment.router_id == filters.router_id)
    if filters.phone:
        digits = "".join(ch for ch in filters.phone if ch.isdigit())
        if digits.startswith("0"):
            digits = "254" + digits[1:]
        statement = statement.where(Payment.phone.contains(digits, autoescape=True))
    if filters.since is not None:
        statement = statement.where(Payment.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(Payment.created_at < filters.until)
    if filters.flagged:
        statement = statement.where(Payment.flag.is_not(None))
    return paginate(statement.order_by(Payment.created_at.desc(), Payment.id.desc()), page, page_size)


def get_payment(actor: User, payment_id: int) -> Payment:
    """The actor's payment.

    :raises NotFound: when it does not exist or belongs to someone else.
    """
    payment: Payment | None = db.session.scalar(select(Payment).where(Payment.id == payment_id,
                                                                      Payment.user_id == owner_id(actor)))
    if payment is None:
        raise NotFound("Payment not found")
    return payment


def events_of(payment: Payment) -> list[PaymentEvent]:
    """Every raw callback and query answer of a payment, oldest first."""
    return list(db.session.scalars(select(PaymentEvent).where(PaymentEvent.payment_id == payment.id)
                                   .order_by(PaymentEvent.id)))


def query_now(actor: User, payment_id: int, ip_address: str | None = None) -> Payment:
    """The owner's "query M-Pesa now" for one payment.

    :raises NotFound: not the actor's payment.
    :raises Conflict: it is not pending (nothing to ask).
    :raises daraja.DarajaError: Daraja could not be asked.
    """
    payment = get_payment(actor, payment_id)
    if payment.status != "pending":
        raise Conflict(f"Payment {payment.id} is already {payment.status}")
    if not payment.checkout_request_id:
        raise Conflict("M-Pesa never accepted this request; there is nothing to ask")
    audit.record(actor, "payments.query", f"Queried M-Pesa for payment {payment.id} ({masked(payment.phone)})",
                 router_id=payment.router_id, details={"payment_id": payment.id}, ip_address=ip_address)
    query_payment(payment.id, source="owner")
    db.session.expire_all()
    return get_payment(actor, payment_id)


def public_payment(site: PortalSite, public_id: str) -> Payment:
    """A payment as its customer's status URL names it.

    :raises NotFound: unknown id, or a payment of another hotspot.
    """
    payment: Payment | None = db.session.scalar(select(Payment).where(Payment.public_id == public_id,
                                                                      Payment.router_id == site.router_id))
    if payment is None:
        raise NotFound("Payment not found")
    return payment


def router_of_payment(payment: Payment) -> Router:
    """The router a payment was made on."""
    return payment.router
