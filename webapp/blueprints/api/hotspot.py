"""The hotspot business in JSON: packages (the contract's ``/routers/{id}/packages/`` and management beyond it),
drift and reconcile, voucher batches and vouchers, the sync, sessions, settings and sales."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import Response, request
from flask_babel import gettext
from flask_jwt_extended import current_user, jwt_required

from webapp.blueprints import query
from webapp.blueprints.api import hotspot_docs as docs
from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.hotspot_schemas import (
    BatchCreateRequest,
    OwnerSettingsRequest,
    PackageCreateRequest,
    PackageWriteRequest,
    ReconcileRequest,
    SiteSettingsRequest,
    TrialSettingsRequest,
)
from webapp.blueprints.api.jobs import accepted
from webapp.blueprints.api.presenters import page_out
from webapp.extensions import db
from webapp.models import HotspotSite, Package, Router, Sale, Voucher, VoucherBatch
from webapp.openapi import documented
from webapp.permissions import Capability, policy
from webapp.services import hotspot_settings, hotspot_sync, hotspot_trial, packages, sales, vouchers
from webapp.services.hotspot_settings import money
from webapp.services.packages import DriftItem, PackageChange, RouterCommand
from webapp.services.pagination import page_numbers
from webapp.services.vouchers import BatchSummary
from webapp.timeutil import isoformat_z, utcnow

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _page() -> tuple[int, int]:
    return page_numbers(request.args.get("page"), request.args.get("page_size"))


def _csv(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _mbps(value: int) -> str:
    return f"{value} Mbps"


def package_out(package: Package, currency: str | None = None) -> dict[str, Any]:
    """The contract's package document plus RouterDeck's additions (profile, sync state)."""
    return {
        "id": package.id,
        "name": package.name,
        "package_type": package.package_type,
        "package_type_display": packages.PACKAGE_TYPES.get(package.package_type, package.package_type),
        "duration_hours": package.duration_hours,
        "duration_minutes": package.duration_minutes,
        "duration_display": packages.duration_display(package.duration_minutes, package.package_type),
        "price": packages.price_text(package.price),
        "currency": currency or packages.package_currency(package),
        "download_speed_mbps": package.download_speed_mbps,
        "upload_speed_mbps": package.upload_speed_mbps,
        "download_speed_display": _mbps(package.download_speed_mbps),
        "upload_speed_display": _mbps(package.upload_speed_mbps),
        "speed_display": f"{_mbps(package.download_speed_mbps)} / {_mbps(package.upload_speed_mbps)}",
        "description": package.description,
        "is_active": package.is_active,
        "router_id": package.router_id,
        "shared_users": package.shared_users,
        "data_limit_mb": package.data_limit_mb,
        "validity_days": package.validity_days,
        "profile_name": package.profile_name,
        "rate_limit": packages.rate_limit(package),
        "sync_state": package.sync_state,
        "sync_error": package.sync_error,
        "synced_at": isoformat_z(package.synced_at),
        "created_at": isoformat_z(package.created_at),
        "updated_at": isoformat_z(package.updated_at),
    }


def _commands(commands: list[RouterCommand]) -> list[dict[str, Any]]:
    return [command.as_dict() for command in commands]


def _change_out(change: PackageChange, message: str) -> dict[str, Any]:
    return {
        "package": package_out(change.package) if change.package is not None else None,
        "commands": _commands(change.commands),
        "dry_run": change.dry_run,
        "router_checked": change.router_checked,
        "synced": change.synced,
        "sync_error": change.sync_error,
        "message": message,
    }


def _change_message(change: PackageChange, done: str) -> str:
    if change.dry_run:
        count = len(change.commands)
        guess = "" if change.router_checked else " (router unreachable: assuming it holds the last synced state)"
        return f"Dry run: {count} command{'s' if count != 1 else ''} would be sent{guess}"
    if change.synced:
        return f"{done} and synced to the router"
    return f"{done}; the router could not be updated ({change.sync_error}), so the change is pending sync"


def terms_out(issued: Voucher | VoucherBatch) -> dict[str, Any]:
    """The terms a voucher or batch was issued with (frozen: a package edit never changes them)."""
    return {
        "package_name": issued.package_name,
        "price": packages.price_text(issued.price),
        "currency": issued.currency,
        "price_display": money(issued.price, issued.currency),
        "duration_minutes": issued.duration_minutes,
        "duration_display": packages.duration_display(issued.duration_minutes),
        "download_speed_mbps": issued.download_speed_mbps,
        "upload_speed_mbps": issued.upload_speed_mbps,
        "data_limit_mb": issued.data_limit_mb,
    }


def voucher_out(voucher: Voucher) -> dict[str, Any]:
    """One voucher (the password is the code itself, or the PIN) with the terms it was issued with."""
    return {
        "id": voucher.id,
        "code": voucher.code,
        "password": voucher.password,
        "state": voucher.state,
        "router_id": voucher.router_id,
        "batch_id": voucher.batch_id,
        "package_id": voucher.package_id,
        **terms_out(voucher),
        "use_before": isoformat_z(voucher.use_before),
        "on_router": voucher.on_router,
        "activated_at": isoformat_z(voucher.activated_at),
        "expires_at": isoformat_z(voucher.expires_at),
        "ended_at": isoformat_z(voucher.ended_at),
        "mac_address": voucher.mac_address,
        "created_at": isoformat_z(voucher.created_at),
    }


def batch_out(summary: BatchSummary) -> dict[str, Any]:
    """One batch with its vouchers counted per state."""
    batch: VoucherBatch = summary.batch
    return {
        "id": batch.id,
        "router_id": batch.router_id,
        "package_id": batch.package_id,
        **terms_out(batch),
        "shared_users": batch.shared_users,
        "validity_days": batch.validity_days,
        "count": batch.count,
        "code_length": batch.code_length,
        "mode": batch.mode,
        "prefix": batch.prefix,
        "push_state": batch.push_state,
        "push_error": batch.push_error,
        "checked_at": isoformat_z(batch.checked_at),
        "missing_at_check": batch.missing_at_check or 0,
        "created_at": isoformat_z(batch.created_at),
        "counts": summary.counts,
    }


def _drift_item_out(item: DriftItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "profile": item.profile,
        "package_id": item.package.id if item.package is not None else None,
        "package_name": item.package.name if item.package is not None else None,
        "ours": item.ours,
        "router": item.theirs,
        "differences": {name: {"ours": ours, "router": theirs} for name, (ours, theirs) in item.differences.items()},
    }


def portal_url_of(router_id: int) -> str:
    """The router's public captive portal (created with its slug on first use)."""
    from webapp.services.portal import site_for
    from webapp.services.portal_links import portal_url

    router = db.session.get(Router, router_id)
    return portal_url(site_for(router)) if router is not None else ""


def site_out(site: HotspotSite) -> dict[str, Any]:
    return {
        "router_id": site.router_id,
        "display_name": site.display_name,
        "dns_name": site.dns_name,
        "expiry_action": site.expiry_action,
        "last_sync_at": isoformat_z(site.last_sync_at),
        "last_sync_error": site.last_sync_error,
        "portal_url": portal_url_of(site.router_id),
        "trial_enabled": bool(site.trial_enabled),
        "trial_minutes": site.trial_minutes if site.trial_minutes is not None else 30,
        "trial_reset_hours": site.trial_reset_hours if site.trial_reset_hours is not None else 24,
        "trial_package_id": site.trial_package_id,
        "trial_sync_state": site.trial_sync_state or "synced",
        "router_serial": site.router_serial,
        "router_identity": site.router_identity,
        "replaced_at": isoformat_z(site.replaced_at),
        "replaced_note": site.replaced_note,
    }


def sale_out(sale: Sale) -> dict[str, Any]:
    return {
        "id": sale.id,
        "router_id": sale.router_id,
        "package_id": sale.package_id,
        "package_name": sale.package_name,
        "batch_id": sale.batch_id,
        "voucher_id": sale.voucher_id,
        "price": f"{sale.price:.2f}",
        "currency": sale.currency,
        "price_display": money(sale.price, sale.currency),
        "sold_at": isoformat_z(sale.sold_at),
    }


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


@bp.get("/routers/<int:router_id>/packages/")
@documented(docs.ROUTER_PACKAGES)
@jwt_required()
@policy(Capability.READ)
def router_packages(router_id: int) -> Response:
    include_inactive = bool(query.flag("include_inactive"))
    router, found = packages.list_packages(current_user, router_id, include_inactive=include_inactive)
    currency = hotspot_settings.currency_for(router.user_id)
    active = sum(1 for package in found if package.is_active)
    return json_ok({
        "router_id": router.id,
        "router_name": router.name,
        "packages": [package_out(package, currency) for package in found],
        "message": f"Found {active} active packages for {router.name}",
    })


@bp.post("/routers/<int:router_id>/packages/")
@documented(docs.PACKAGE_CREATE)
@jwt_required()
@policy(Capability.OPERATE)
def package_create(router_id: int) -> Response:
    body = json_body(PackageCreateRequest)
    dry_run = bool(query.flag("dry_run"))
    change = packages.create_package(current_user, router_id, body.model_dump(exclude_none=True), dry_run=dry_run,
                                     ip_address=request.remote_addr)
    name = change.package.name if change.package is not None else ""
    return json_ok(_change_out(change, _change_message(change, f'Package "{name}" created')), 200 if dry_run else 201)


@bp.get("/packages/<int:package_id>/")
@documented(docs.PACKAGE_DETAIL)
@jwt_required()
@policy(Capability.READ)
def package_detail(package_id: int) -> Response:
    return json_ok(package_out(packages.get_package(current_user, package_id)))


@bp.put("/packages/<int:package_id>/")
@documented(docs.PACKAGE_UPDATE)
@bp.patch("/packages/<int:package_id>/")
@jwt_required()
@policy(Capability.OPERATE)
def package_update(package_id: int) -> Response:
    body = json_body(PackageWriteRequest)
    change = packages.update_package(current_user, package_id, body.model_dump(exclude_unset=True),
                                     dry_run=bool(query.flag("dry_run")), ip_address=request.remote_addr)
    name = change.package.name if change.package is not None else ""
    return json_ok(_change_out(change, _change_message(change, f'Package "{name}" saved')))


@bp.delete("/packages/<int:package_id>/")
@documented(docs.PACKAGE_DELETE)
@jwt_required()
@policy(Capability.OPERATE)
def package_delete(package_id: int) -> Response:
    name = packages.get_package(current_user, package_id).name
    change = packages.delete_package(current_user, package_id, dry_run=bool(query.flag("dry_run")),
                                     ip_address=request.remote_addr)
    if change.dry_run:
        message = _change_message(change, "")
    elif change.synced:
        message = f'Package "{name}" has been successfully deleted'
    else:
        message = (f'Package "{name}" has been deleted; its router profile could not be removed '
                   f"({change.sync_error}) and shows in the drift view")
    return json_ok(_change_out(change, message))


@bp.get("/routers/<int:router_id>/packages/drift/")
@documented(docs.PACKAGE_DRIFT)
@jwt_required()
@policy(Capability.MONITOR)
def package_drift(router_id: int) -> Response:
    router, items = packages.drift(current_user, router_id)
    return json_ok({"router_id": router.id, "router_name": router.name, "in_sync": not items,
                    "items": [_drift_item_out(item) for item in items]})


@bp.post("/routers/<int:router_id>/packages/reconcile/")
@documented(docs.PACKAGE_RECONCILE)
@jwt_required()
@policy(Capability.OPERATE)
def package_reconcile(router_id: int) -> Response:
    body = json_body(ReconcileRequest)
    if body.direction == "push":
        job = packages.start_reconcile_push(current_user, router_id, body.profiles, ip_address=request.remote_addr)
        result = job.result if job.state == "succeeded" and isinstance(job.result, dict) else {"commands": []}
        message = {"succeeded": gettext("Reconciled: %(n)s commands sent", n=len(result["commands"])),
                   "failed": gettext("The reconcile failed: %(error)s", error=job.error)}.get(
                       job.state, gettext("Reconcile started; follow the job for its outcome"))
        return accepted({"direction": "push", "commands": result["commands"], "packages": [],
                         "message": message}, job)
    sent, changed = packages.reconcile(current_user, router_id, body.direction, body.profiles,
                                       import_price=None if body.price is None else body.price,
                                       ip_address=request.remote_addr)
    return json_ok({"direction": body.direction, "commands": _commands(sent),
                    "packages": [package_out(p) for p in changed],
                    "message": f"Reconciled: {len(changed)} packages updated"})


@bp.get("/routers/<int:router_id>/voucher-batches/")
@documented(docs.BATCH_LIST)
@jwt_required()
@policy(Capability.VOUCHERS)
def batch_list(router_id: int) -> Response:
    number, size = _page()
    page = vouchers.batch_summaries(current_user, router_id, number, size)
    return json_ok(page_out(page, [batch_out(summary) for summary in page.items]))


@bp.post("/routers/<int:router_id>/voucher-batches/")
@documented(docs.BATCH_CREATE)
@jwt_required()
@policy(Capability.VOUCHERS)
def batch_create(router_id: int) -> Response:
    body = json_body(BatchCreateRequest)
    result = vouchers.generate_batch(current_user, router_id, body.package_id, body.count,
                                     code_length=body.code_length, mode=body.mode, prefix=body.prefix,
                                     pin_length=body.pin_length, ip_address=request.remote_addr)
    out = batch_out(vouchers.summary_of(result.batch))
    out.update({"pushed": result.pushed, "vouchers": [voucher_out(v) for v in result.vouchers]})
    assert result.job is not None
    return accepted(out, result.job)


@bp.get("/voucher-batches/<int:batch_id>/")
@documented(docs.BATCH_DETAIL)
@jwt_required()
@policy(Capability.VOUCHERS)
def batch_detail(batch_id: int) -> Response:
    return json_ok(batch_out(vouchers.summary_of(vouchers.get_batch(current_user, batch_id))))


@bp.get("/voucher-batches/<int:batch_id>/vouchers.csv")
@documented(docs.BATCH_CSV)
@jwt_required()
@policy(Capability.VOUCHERS)
def batch_csv(batch_id: int) -> Response:
    return _csv(vouchers.vouchers_csv(current_user, batch_id=batch_id), f"vouchers-batch-{batch_id}.csv")


@bp.get("/vouchers/")
@documented(docs.VOUCHER_LIST)
@jwt_required()
@policy(Capability.VOUCHERS)
def voucher_list() -> Response:
    number, size = _page()
    page = vouchers.list_vouchers(current_user, router_id=query.id_arg("router"), batch_id=query.id_arg("batch"),
                                  state=request.args.get("state") or None, search=request.args.get("search"),
                                  page=number, page_size=size)
    return json_ok(page_out(page, [voucher_out(v) for v in page.items]))


@bp.get("/vouchers.csv")
@documented(docs.VOUCHER_CSV)
@jwt_required()
@policy(Capability.VOUCHERS)
def voucher_csv() -> Response:
    text = vouchers.vouchers_csv(current_user, router_id=query.id_arg("router"), batch_id=query.id_arg("batch"),
                                 state=request.args.get("state") or None)
    return _csv(text, "vouchers.csv")


@bp.get("/vouchers/<int:voucher_id>/")
@documented(docs.VOUCHER_DETAIL)
@jwt_required()
@policy(Capability.VOUCHERS)
def voucher_detail(voucher_id: int) -> Response:
    return json_ok(voucher_out(vouchers.get_voucher(current_user, voucher_id)))


@bp.post("/vouchers/<int:voucher_id>/revoke/")
@documented(docs.VOUCHER_REVOKE)
@jwt_required()
@policy(Capability.VOUCHERS)
def voucher_revoke(voucher_id: int) -> Response:
    return json_ok(voucher_out(vouchers.revoke(current_user, voucher_id, ip_address=request.remote_addr)))


@bp.post("/routers/<int:router_id>/hotspot/sync/")
@documented(docs.HOTSPOT_SYNC_NOW)
@jwt_required()
@policy(Capability.OPERATE)
def hotspot_sync_now(router_id: int) -> Response:
    job = hotspot_sync.start_sync(current_user, router_id)
    report = job.result if job.state == "succeeded" and isinstance(job.result, dict) else {}
    fields = ("activated", "expired", "sales", "cleaned", "pushed_packages", "pushed_vouchers", "missing",
              "restored", "profile_fixed", "missing_profiles", "replaced")
    if report:
        message = f"{len(report['activated'])} activated, {len(report['expired'])} expired"
    elif job.state == "failed":
        message = f"The sync failed: {job.error}"
    else:
        message = "Sync queued; follow the job for its outcome"
    return accepted({"router_id": router_id, **{name: report.get(name) for name in fields},
                     "synced_at": isoformat_z(job.finished_at) if report else None, "message": message}, job)


@bp.get("/routers/<int:router_id>/hotspot/sessions/")
@documented(docs.HOTSPOT_SESSIONS)
@jwt_required()
@policy(Capability.READ)
def hotspot_sessions(router_id: int) -> Response:
    router, sessions = hotspot_sync.active_sessions(current_user, router_id)
    return json_ok({"router_id": router.id, "router_name": router.name, "sessions": [
        {"id": s.id, "user": s.user, "address": s.address, "mac_address": s.mac_address,
         "uptime_seconds": s.uptime_seconds, "bytes_in": s.bytes_in, "bytes_out": s.bytes_out,
         "voucher_id": s.voucher.id if s.voucher is not None else None} for s in sessions]})


@bp.delete("/routers/<int:router_id>/hotspot/sessions/<session_id>/")
@documented(docs.HOTSPOT_KICK)
@jwt_required()
@policy(Capability.OPERATE)
def hotspot_kick(router_id: int, session_id: str) -> Response:
    user = hotspot_sync.kick(current_user, router_id, session_id, request.remote_addr)
    return json_ok({"message": f"Session of {user} ended"})


@bp.get("/routers/<int:router_id>/hotspot/")
@documented(docs.HOTSPOT_SITE)
@jwt_required()
@policy(Capability.READ)
def hotspot_site(router_id: int) -> Response:
    return json_ok(site_out(hotspot_settings.get_site(current_user, router_id)))


@bp.put("/routers/<int:router_id>/hotspot/")
@documented(docs.HOTSPOT_SITE_UPDATE)
@bp.patch("/routers/<int:router_id>/hotspot/")
@jwt_required()
@policy(Capability.OPERATE)
def hotspot_site_update(router_id: int) -> Response:
    body = json_body(SiteSettingsRequest)
    site = hotspot_settings.update_site(current_user, router_id, body.model_dump(exclude_unset=True),
                                        request.remote_addr)
    return json_ok(site_out(site))


@bp.put("/routers/<int:router_id>/hotspot/trial/")
@bp.patch("/routers/<int:router_id>/hotspot/trial/")
@documented(docs.HOTSPOT_TRIAL_UPDATE)
@jwt_required()
@policy(Capability.OPERATE)
def hotspot_trial_update(router_id: int) -> Response:
    body = json_body(TrialSettingsRequest)
    result = hotspot_trial.update_trial(current_user, router_id, body.model_dump(exclude_unset=True),
                                        ip_address=request.remote_addr)
    out = site_out(result.site)
    out.update({"commands": _commands(result.commands), "sync_error": result.error})
    return json_ok(out)


@bp.get("/hotspot/settings/")
@documented(docs.OWNER_SETTINGS)
@jwt_required()
@policy(Capability.READ)
def owner_settings() -> Response:
    row = hotspot_settings.owner_settings(current_user.team_owner_id)
    return json_ok({"currency": row.currency, "timezone": row.timezone})


@bp.put("/hotspot/settings/")
@documented(docs.OWNER_SETTINGS_UPDATE)
@bp.patch("/hotspot/settings/")
@jwt_required()
@policy(Capability.BILLING)
def owner_settings_update() -> Response:
    body = json_body(OwnerSettingsRequest)
    row = hotspot_settings.update_owner_settings(current_user, body.model_dump(exclude_unset=True),
                                                 request.remote_addr)
    return json_ok({"currency": row.currency, "timezone": row.timezone})


@bp.get("/sales/")
@documented(docs.SALE_LIST)
@jwt_required()
@policy(Capability.SALES)
def sale_list() -> Response:
    number, size = _page()
    page = sales.list_sales(current_user, router_id=query.id_arg("router"), page=number, page_size=size)
    return json_ok(page_out(page, [sale_out(s) for s in page.items]))


@bp.get("/sales.csv")
@documented(docs.SALE_CSV)
@jwt_required()
@policy(Capability.SALES)
def sale_csv() -> Response:
    return _csv(sales.sales_csv(current_user, router_id=query.id_arg("router")), "sales.csv")


@bp.get("/sales/summary/")
@documented(docs.SALE_SUMMARY)
@jwt_required()
@policy(Capability.SALES)
def sale_summary() -> Response:
    result = sales.report(current_user, router_id=query.id_arg("router"), period=request.args.get("period") or "daily",
                          start=query.day("start"), end=query.day("end"), now=utcnow())
    return json_ok({
        "period": result.period,
        "currency": result.currency,
        "timezone": result.timezone,
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "count": result.count,
        "total": _amount(result.total),
        "total_display": result.show(result.total),
        "buckets": [{"key": b.key, "label": b.label, "count": b.count, "total": _amount(b.total),
                     "total_display": result.show(b.total)} for b in result.buckets],
        "routers": [{"router_id": r.router_id, "router_name": r.router_name, "count": r.count,
                     "total": _amount(r.total), "total_display": result.show(r.total)} for r in result.routers],
        "other_currencies": {code: _amount(total) for code, total in result.other_currencies.items()},
    })
