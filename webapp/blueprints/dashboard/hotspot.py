"""Dashboard pages for the hotspot business: package catalog, drift, voucher batches and print sheets,
sessions, sales. Same services as the JSON API; forms that fail validation answer 422 with their fragment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.blueprints import query
from webapp.blueprints.dashboard.blueprint import bp
from webapp.blueprints.dashboard.jobs import kind_label
from webapp.blueprints.htmx import navigate, safe_next
from webapp.forms import (
    HotspotOwnerForm,
    HotspotSiteForm,
    PackageForm,
    SalesFilterForm,
    TrialForm,
    VoucherBatchForm,
)
from webapp.models import Package, Router
from webapp.permissions import Capability, policy
from webapp.services import hotspot_settings, hotspot_sync, hotspot_trial, packages, routers, sales, vouchers
from webapp.services.errors import Conflict, Invalid, RouterError, ServiceError
from webapp.services.hotspot_settings import money
from webapp.services.pagination import page_numbers
from webapp.services.routers import RouterFilters
from webapp.timeutil import utcnow

LAYOUTS = {"a4": _l("A4 sheet"), "80mm": _l("80 mm thermal"), "58mm": _l("58 mm thermal")}
MODE_NAMES = {"same": _l("Code is username and password"), "pin": _l("Username + PIN")}
_ROUTER_DOWN = RouterError


#: Service field names shown on another form field (the form asks for a duration in the type's unit).
_FORM_FIELD = {"duration_minutes": "duration", "duration_hours": "duration"}


def _apply(form: Any, error: ServiceError) -> None:
    leftover = []
    for name, message in error.fields.items():
        field = form._fields.get(_FORM_FIELD.get(name, name))
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            leftover.append(message)
    if leftover or not error.fields:
        form.form_errors.append(error.message if not leftover else " ".join(leftover))


def _money(amount: Any, currency: str) -> str:
    return money(amount, currency)


def _currency() -> str:
    return hotspot_settings.currency_for(current_user.team_owner_id)


def _mbps(package: Package) -> str:
    return f"{package.download_speed_mbps} Mbps down · {package.upload_speed_mbps} Mbps up"


def _common(router: Router) -> dict[str, Any]:
    return {"router": router, "currency": _currency(), "money": _money, "duration_display": packages.duration_display,
            "speeds": _mbps, "site": hotspot_settings.site_of(router)}


@bp.get("/hotspot")
@policy(Capability.READ)
def hotspot_home() -> ResponseReturnValue:
    owned = routers.all_routers(current_user, RouterFilters())
    settings = hotspot_settings.owner_settings(current_user.team_owner_id)
    form = HotspotOwnerForm(formdata=None, currency=settings.currency, timezone=settings.timezone)
    today = sales.report(current_user, period="daily", now=utcnow())
    return render_template("hotspot/home.html", routers=owned, owner_form=form, report=today, saved=False)


@bp.post("/hotspot/settings")
@policy(Capability.BILLING)
def hotspot_owner_settings() -> ResponseReturnValue:
    form = HotspotOwnerForm()
    status = 200
    if form.validate_on_submit():
        try:
            hotspot_settings.update_owner_settings(current_user, {"currency": form.currency.data,
                                                                  "timezone": form.timezone.data},
                                                   request.remote_addr)
        except Invalid as error:
            _apply(form, error)
            status = 422
    else:
        status = 422
    return render_template("hotspot/_owner_form.html", owner_form=form, saved=status == 200), status


def _catalog(router: Router, form: PackageForm | None = None, preview: Any = None) -> dict[str, Any]:
    _, found = packages.list_packages(current_user, router.id, include_inactive=True)
    return {**_common(router), "packages": found, "form": form or PackageForm(formdata=None), "preview": preview,
            "package": None}


@bp.get("/routers/<int:router_id>/packages")
@policy(Capability.READ)
def hotspot_packages(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    return render_template("hotspot/packages.html", **_catalog(router))


@bp.post("/routers/<int:router_id>/packages")
@policy(Capability.OPERATE)
def hotspot_package_create(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = PackageForm()
    preview = None
    if form.validate_on_submit():
        dry_run = request.form.get("action") == "preview"
        try:
            change = packages.create_package(current_user, router.id, form.package_data(), dry_run=dry_run,
                                             ip_address=request.remote_addr)
        except Invalid as error:
            _apply(form, error)
        else:
            if dry_run:
                preview = change
                return render_template("hotspot/_package_form.html", **{**_catalog(router, form, preview)})
            assert change.package is not None
            if change.synced:
                flash(_('Package "%(name)s" created and added to the router.', name=change.package.name), "success")
            else:
                flash(_('Package "%(name)s" saved; the router could not be reached, so it is pending sync.',
                        name=change.package.name), "error")
            return navigate(url_for("dashboard.hotspot_packages", router_id=router.id))
    return render_template("hotspot/_package_form.html", **_catalog(router, form, preview)), 422


@bp.get("/packages/<int:package_id>/edit")
@policy(Capability.OPERATE)
def hotspot_package_edit(package_id: int) -> ResponseReturnValue:
    package = packages.get_package(current_user, package_id)
    form = PackageForm(formdata=None, obj=package)
    form.price.data = packages.price_text(package.price)
    form.show_duration(package.package_type, package.duration_minutes)
    return render_template("hotspot/package_edit.html", **_common(package.router), form=form, package=package,
                           preview=None)


@bp.post("/packages/<int:package_id>/edit")
@policy(Capability.OPERATE)
def hotspot_package_update(package_id: int) -> ResponseReturnValue:
    package = packages.get_package(current_user, package_id)
    router = package.router
    form = PackageForm()
    if form.validate_on_submit():
        dry_run = request.form.get("action") == "preview"
        try:
            change = packages.update_package(current_user, package_id, form.package_data(), dry_run=dry_run,
                                             ip_address=request.remote_addr)
        except Invalid as error:
            _apply(form, error)
        else:
            if dry_run:
                return render_template("hotspot/_package_form.html", **_common(router), form=form,
                                       package=package, preview=change)
            flash(_('Package "%(name)s" saved.', name=package.name) if change.synced
                  else _('Package "%(name)s" saved; pending sync.', name=package.name),
                  "success" if change.synced else "error")
            return navigate(url_for("dashboard.hotspot_packages", router_id=router.id))
    return render_template("hotspot/_package_form.html", **_common(router), form=form, package=package,
                           preview=None), 422


@bp.post("/packages/<int:package_id>/toggle")
@policy(Capability.OPERATE)
def hotspot_package_toggle(package_id: int) -> ResponseReturnValue:
    package = packages.get_package(current_user, package_id)
    change = packages.update_package(current_user, package_id, {"is_active": not package.is_active},
                                     ip_address=request.remote_addr)
    assert change.package is not None
    return render_template("hotspot/_package_card.html", **_common(change.package.router), package=change.package)


@bp.post("/packages/<int:package_id>/delete")
@policy(Capability.OPERATE)
def hotspot_package_delete(package_id: int) -> ResponseReturnValue:
    package = packages.get_package(current_user, package_id)
    router_id, name = package.router_id, package.name
    try:
        packages.delete_package(current_user, package_id, ip_address=request.remote_addr)
    except Conflict as error:
        flash(error.message, "error")
    else:
        flash(_('Package "%(name)s" deleted.', name=name), "success")
    return navigate(url_for("dashboard.hotspot_packages", router_id=router_id))


@bp.get("/routers/<int:router_id>/packages/drift")
@policy(Capability.MONITOR)
def hotspot_drift(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    error: str | None = None
    items: list[packages.DriftItem] = []
    try:
        _, items = packages.drift(current_user, router_id)
    except _ROUTER_DOWN as exc:
        error = exc.message
    return render_template("hotspot/drift.html", **_common(router), items=items, error=error)


@bp.post("/routers/<int:router_id>/packages/reconcile")
@policy(Capability.OPERATE)
def hotspot_reconcile(router_id: int) -> ResponseReturnValue:
    direction = request.form.get("direction", "")
    profile = request.form.get("profile") or None
    if direction == "push":
        job = packages.start_reconcile_push(current_user, router_id, [profile] if profile else None,
                                            ip_address=request.remote_addr)
        if job.state == "succeeded":
            flash(gettext("Reconciled: %(n)s command(s) sent to the router.",
                          n=len((job.result or {}).get("commands", []))), "success")
        elif job.state == "failed":
            flash(gettext("The reconcile failed: %(error)s", error=job.error), "error")
        else:
            flash(gettext("Reconcile started: see Jobs for its progress."), "success")
        return navigate(url_for("dashboard.hotspot_drift", router_id=router_id))
    try:
        sent, changed = packages.reconcile(current_user, router_id, direction, [profile] if profile else None,
                                           import_price=request.form.get("price") or None,
                                           ip_address=request.remote_addr)
    except Invalid as error:
        flash(_("Importing needs a price: %(reason)s", reason=error.fields["price"]) if error.fields.get("price")
              else error.message, "error")
    except _ROUTER_DOWN as exc:
        flash(exc.message, "error")
    else:
        flash(ngettext("Reconciled: %(num)s command sent to the router.",
                       "Reconciled: %(num)s commands sent to the router.", len(sent)) if direction == "push"
              else ngettext("Reconciled: %(num)s package updated from the router.",
                            "Reconciled: %(num)s packages updated from the router.", len(changed)), "success")
    return navigate(url_for("dashboard.hotspot_drift", router_id=router_id))


@bp.post("/routers/<int:router_id>/hotspot/sync")
@policy(Capability.OPERATE)
def hotspot_sync_now(router_id: int) -> ResponseReturnValue:
    job = hotspot_sync.start_sync(current_user, router_id)
    report = job.result if job.state == "succeeded" and isinstance(job.result, dict) else None
    if report is not None:
        flash(gettext("Synced: %(activated)s activated, %(expired)s expired, %(pushed)s pushed.",
                activated=len(report["activated"]), expired=len(report["expired"]),
                pushed=report["pushed_packages"] + report["pushed_vouchers"]), "success")
    elif job.state == "failed":
        flash(gettext("Sync failed: %(error)s", error=job.error), "error")
    else:
        flash(gettext("Sync started: see Jobs for its progress."), "success")
    fallback = url_for("dashboard.hotspot_vouchers", router_id=router_id)
    return navigate(safe_next(request.form.get("next"), fallback))


def _batch_form(router: Router, formdata: Any = None) -> VoucherBatchForm:
    form = VoucherBatchForm(formdata=formdata) if formdata is not None else VoucherBatchForm(formdata=None)
    _, on_sale = packages.list_packages(current_user, router.id)
    form.package_id.choices = [(p.id, f"{p.name} — {_money(p.price, _currency())}") for p in on_sale]
    return form


def _trial_form(router: Router, formdata: Any = None) -> TrialForm:
    site = hotspot_settings.site_of(router)
    if formdata is not None:
        form = TrialForm(formdata=formdata)
    else:
        form = TrialForm(formdata=None, trial_enabled=bool(site.trial_enabled), trial_minutes=site.trial_minutes or 30,
                         trial_reset_hours=site.trial_reset_hours or 24, trial_package_id=site.trial_package_id or 0)
    _, found = packages.list_packages(current_user, router.id, include_inactive=True)
    form.trial_package_id.choices = [(0, gettext("The router's default profile")),
                                     *((p.id, p.name) for p in found)]
    return form


def _vouchers_context(router: Router, form: VoucherBatchForm | None = None,
                      site_form: HotspotSiteForm | None = None) -> dict[str, Any]:
    number, _ = page_numbers(request.args.get("page"), None)
    site = hotspot_settings.site_of(router)
    return {
        **_common(router),
        "batches": vouchers.batch_summaries(current_user, router.id, number, 20),
        "form": form or _batch_form(router),
        "site_form": site_form or HotspotSiteForm(formdata=None, obj=site),
        "site_saved": False,
        "trial_form": _trial_form(router),
        "trial_result": None,
    }


@bp.get("/routers/<int:router_id>/vouchers")
@policy(Capability.VOUCHERS)
def hotspot_vouchers(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    return render_template("hotspot/vouchers.html", **_vouchers_context(router))


@bp.post("/routers/<int:router_id>/vouchers")
@policy(Capability.VOUCHERS)
def hotspot_batch_create(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = _batch_form(router, request.form)
    if form.validate_on_submit():
        try:
            result = vouchers.generate_batch(
                current_user, router.id, form.package_id.data, form.count.data, code_length=form.code_length.data,
                mode=form.mode.data, prefix=form.prefix.data or "", pin_length=form.pin_length.data or 6,
                ip_address=request.remote_addr)
        except (Invalid, Conflict) as error:
            _apply(form, error)
        else:
            if result.error:
                flash(gettext("%(count)s vouchers generated; the router could not be reached (%(error)s), so they "
                        "will be pushed by the next sync.", count=len(result.vouchers), error=result.error), "error")
            elif result.job is not None and result.job.state == "succeeded":
                flash(gettext("%(count)s vouchers generated and added to the router.", count=len(result.vouchers)),
                      "success")
            else:
                flash(gettext("%(count)s vouchers generated; they are being added to the router.",
                        count=len(result.vouchers)), "success")
            return navigate(url_for("dashboard.hotspot_batch", batch_id=result.batch.id))
    return render_template("hotspot/_batch_form.html", **_vouchers_context(router, form)), 422


@bp.post("/routers/<int:router_id>/hotspot/site")
@policy(Capability.OPERATE)
def hotspot_site(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = HotspotSiteForm()
    status = 200
    if form.validate_on_submit():
        try:
            hotspot_settings.update_site(current_user, router.id, {
                "display_name": form.display_name.data or "", "dns_name": form.dns_name.data or "",
                "expiry_action": form.expiry_action.data}, request.remote_addr)
        except Invalid as error:
            _apply(form, error)
            status = 422
    else:
        status = 422
    return render_template("hotspot/_site_form.html", router=router, site_form=form,
                           site_saved=status == 200), status


@bp.post("/routers/<int:router_id>/hotspot/trial")
@policy(Capability.OPERATE)
def hotspot_trial_save(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = _trial_form(router, request.form)
    result = None
    if form.validate_on_submit():
        try:
            result = hotspot_trial.update_trial(current_user, router.id, {
                "trial_enabled": bool(form.trial_enabled.data), "trial_minutes": form.trial_minutes.data,
                "trial_reset_hours": form.trial_reset_hours.data,
                "trial_package_id": form.trial_package_id.data or None}, ip_address=request.remote_addr)
        except Invalid as error:
            _apply(form, error)
    status = 200 if result is not None else 422
    return render_template("hotspot/_trial_form.html", router=router, trial_form=form,
                           trial_result=result), status


def _batch_context(batch_id: int) -> dict[str, Any]:
    batch = vouchers.get_batch(current_user, batch_id)
    state = request.args.get("state") or None
    number, _ = page_numbers(request.args.get("page"), None)
    try:
        page = vouchers.list_vouchers(current_user, batch_id=batch.id, state=state, page=number, page_size=50)
    except Invalid:
        state = None
        page = vouchers.list_vouchers(current_user, batch_id=batch.id, page=number, page_size=50)
    return {**_common(batch.router), "batch": batch, "summary": vouchers.summary_of(batch), "page": page,
            "job": vouchers.push_job_of(batch), "kind_label": kind_label,
            "state": state, "states": vouchers.STATES, "layouts": LAYOUTS, "modes": MODE_NAMES}


@bp.get("/batches/<int:batch_id>")
@policy(Capability.VOUCHERS)
def hotspot_batch(batch_id: int) -> ResponseReturnValue:
    return render_template("hotspot/batch.html", **_batch_context(batch_id))


@bp.get("/batches/<int:batch_id>/rows")
@policy(Capability.VOUCHERS)
def hotspot_batch_rows(batch_id: int) -> ResponseReturnValue:
    return render_template("hotspot/_voucher_rows.html", **_batch_context(batch_id))


@bp.post("/vouchers/<int:voucher_id>/revoke")
@policy(Capability.VOUCHERS)
def hotspot_voucher_revoke(voucher_id: int) -> ResponseReturnValue:
    try:
        voucher = vouchers.revoke(current_user, voucher_id, ip_address=request.remote_addr)
    except Conflict:
        voucher = vouchers.get_voucher(current_user, voucher_id)
    return render_template("hotspot/_voucher_row.html", voucher=voucher)


@bp.get("/batches/<int:batch_id>/vouchers.csv")
@policy(Capability.VOUCHERS)
def hotspot_batch_csv(batch_id: int) -> ResponseReturnValue:
    text = vouchers.vouchers_csv(current_user, batch_id=batch_id)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="vouchers-batch-{batch_id}.csv"'})


@bp.get("/batches/<int:batch_id>/print")
@policy(Capability.VOUCHERS)
def hotspot_batch_print(batch_id: int) -> ResponseReturnValue:
    layout = request.args.get("layout", "a4")
    if layout not in LAYOUTS:
        layout = "a4"
    sheet = vouchers.print_sheet(current_user, batch_id, include_used=request.args.get("all") == "1")
    return render_template("hotspot/print.html", sheet=sheet, layout=layout, layouts=LAYOUTS)


@bp.get("/routers/<int:router_id>/sessions")
@policy(Capability.READ)
def hotspot_sessions(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    error: str | None = None
    sessions: list[hotspot_sync.Session] = []
    try:
        _, sessions = hotspot_sync.active_sessions(current_user, router_id)
    except _ROUTER_DOWN as exc:
        error = exc.message
    return render_template("hotspot/sessions.html", **_common(router), sessions=sessions, error=error)


@bp.post("/routers/<int:router_id>/sessions/kick")
@policy(Capability.OPERATE)
def hotspot_kick(router_id: int) -> ResponseReturnValue:
    session_id = request.form.get("session_id", "")
    try:
        user = hotspot_sync.kick(current_user, router_id, session_id, request.remote_addr)
    except ServiceError as error:
        if error.status == 404 and error.message.startswith("Router"):
            raise
        flash(error.message, "error")
    else:
        flash(_("Session of %(user)s ended.", user=user), "success")
    return navigate(url_for("dashboard.hotspot_sessions", router_id=router_id))


def _chart(report: sales.SalesReport) -> dict[str, Any]:
    """Bar geometry for the inline SVG chart (viewBox units)."""
    width, height, gap = 1000.0, 160.0, 2.0
    peak = max((bucket.total for bucket in report.buckets), default=Decimal("0"))
    scale = peak or Decimal("1")  # no sales yet: flat bars, and the caption still says KES 0.00
    slot = width / max(1, len(report.buckets))
    bars = []
    for index, bucket in enumerate(report.buckets):
        bar_height = float(bucket.total / scale) * (height - 10) if bucket.total else 0.0
        bars.append({"x": index * slot + gap / 2, "y": height - bar_height, "w": max(1.0, slot - gap),
                     "h": bar_height, "bucket": bucket})
    return {"width": width, "height": height, "bars": bars, "peak": peak}


@bp.get("/sales")
@policy(Capability.SALES)
def hotspot_sales() -> ResponseReturnValue:
    form = SalesFilterForm(formdata=request.args)
    owned = routers.all_routers(current_user, RouterFilters())
    form.router.choices = [("", _("All routers"))] + [(str(r.id), r.name) for r in owned]
    router_arg = form.router.data or ""
    router_id = query.parse_id(router_arg)
    period = form.period.data if form.period.data in sales.PERIODS else "daily"
    report = sales.report(current_user, router_id=router_id, period=period, now=utcnow())
    recent = sales.list_sales(current_user, router_id=router_id, page=1, page_size=20)
    names = {r.id: r.name for r in owned}
    return render_template("hotspot/sales.html", form=form, report=report, chart=_chart(report), recent=recent,
                           names=names, money=_money, router_id=router_id)


@bp.get("/sales.csv")
@policy(Capability.SALES)
def hotspot_sales_csv() -> ResponseReturnValue:
    router_arg = request.args.get("router", "")
    router_id = query.parse_id(router_arg)
    return Response(sales.sales_csv(current_user, router_id=router_id), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="sales.csv"'})
