"""The customers' captive portal (HTML, public): packages, phone number, STK prompt, self-updating status.

The JSON face of the same purchase lives in ``webapp.blueprints.api.payments``; both call
:func:`webapp.services.payments.start_purchase`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from webapp.models import PortalSite
from webapp.permissions import Capability, policy
from webapp.security import CONTENT_SECURITY_POLICY
from webapp.services import hotspot_pages, payments, portal
from webapp.services.daraja import DarajaError
from webapp.services.errors import Invalid, NotFound, ServiceError
from webapp.services.hotspot_settings import currency_for
from webapp.services.phones import masked
from webapp.services.portal_links import external_url, purchase_out, safe_login_url

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _hotspot_args(site: PortalSite) -> dict[str, str]:
    """What the router's login page forwarded: ``$(mac)``, ``$(ip)``, ``$(link-login-only)``, ``$(link-orig)``."""
    source = request.form if request.method == "POST" else request.args
    return {
        "mac": (source.get("mac") or "")[:32],
        "ip": (source.get("ip") or "")[:64],
        "link_login_only": safe_login_url(source.get("link_login_only") or source.get("link-login-only"), site),
        "link_orig": safe_login_url(source.get("link_orig") or source.get("link-orig")),
    }


def _page(site: PortalSite, status: int = 200, **context: Any) -> Response:
    account = payments.account_of(site.router.user_id)
    currency = currency_for(site.router.user_id)
    response = make_response(render_template(
        "portal/page.html", site=site, title=portal.title_of(site), currency=currency,
        packages=[portal.package_view(p) for p in portal.for_sale(site)], hotspot=_hotspot_args(site),
        selling=bool(site.enabled and account is not None and account.configured), **context), status)
    return response


@bp.get("/<slug>/")
@policy(Capability.PUBLIC)
def home(slug: str) -> Response:
    site = portal.site_by_slug(slug)
    return _page(site, form={"phone": "", "package_id": request.args.get("package") or ""}, errors={})


@bp.post("/<slug>/buy")
@policy(Capability.PUBLIC)
def buy(slug: str) -> ResponseReturnValue:
    site = portal.site_by_slug(slug)
    hotspot = _hotspot_args(site)
    form = {"phone": (request.form.get("phone") or "")[:32], "package_id": request.form.get("package_id") or ""}
    purchase = payments.PurchaseRequest(
        package_id=form["package_id"], phone=form["phone"], mac=hotspot["mac"], ip=hotspot["ip"],
        client_ip=request.remote_addr or "", login_url=hotspot["link_login_only"], orig_url=hotspot["link_orig"])
    try:
        payment = payments.start_purchase(site, purchase,
                                          lambda token: external_url("api.mpesa_callback", token=token))
    except Invalid as exc:
        return _page(site, 422, form=form, errors=exc.fields or {"form": exc.message})
    except (payments.RateLimited, payments.PaymentsUnavailable, DarajaError) as exc:
        response = _page(site, exc.status, form=form, errors={"form": exc.message})
        retry = getattr(exc, "retry_after", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
        return response
    return redirect(url_for("portal.purchase", slug=site.slug, public_id=payment.public_id), code=303)


def _status_context(slug: str, public_id: str) -> dict[str, Any]:
    site = portal.site_by_slug(slug)
    payment = payments.public_payment(site, public_id)
    return {"site": site, "title": portal.title_of(site), "payment": payment, "purchase": purchase_out(site, payment),
            "phone": masked(payment.phone)}


def _allow_hotspot_login(response: Response, login_url: str) -> Response:
    """The page may post the voucher to the hotspot's $(link-login-only): add its origin to ``form-action``."""
    if login_url:
        parts = urlsplit(login_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {origin}")
    return response


@bp.get("/<slug>/p/<public_id>")
@policy(Capability.PUBLIC)
def purchase(slug: str, public_id: str) -> Response:
    context = _status_context(slug, public_id)
    response = make_response(render_template("portal/status.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return _allow_hotspot_login(response, context["payment"].login_url)


@bp.get("/<slug>/p/<public_id>/status")
@policy(Capability.PUBLIC)
def purchase_status(slug: str, public_id: str) -> Response:
    context = _status_context(slug, public_id)
    response = make_response(render_template("portal/_status.html", **context))
    response.headers["Cache-Control"] = "no-store"
    return _allow_hotspot_login(response, context["payment"].login_url)


@bp.get("/<slug>/hotspot/login.html")
@policy(Capability.PUBLIC)
def hotspot_login_html(slug: str) -> Response:
    """The login page the router downloads (``/tool/fetch``) into its hotspot directory."""
    site = portal.site_by_slug(slug)
    response = make_response(hotspot_pages.login_html(external_url("portal.home", slug=site.slug),
                                                      portal.title_of(site)))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ServiceError)
def _portal_error(exc: ServiceError) -> tuple[str, int]:
    message = exc.message if not isinstance(exc, NotFound) else "This hotspot page does not exist"
    return render_template("portal/error.html", message=message, status=exc.status), exc.status
