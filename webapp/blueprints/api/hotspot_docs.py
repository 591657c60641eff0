"""What the OpenAPI document says about each hotspot endpoint: ``api/hotspot.py`` puts ``@documented(X)`` on the view.

The descriptions are named here rather than written out above each view only to keep ``api/hotspot.py`` under
500 lines; new endpoints write ``@documented(Doc(...))`` beside the view.
"""

from __future__ import annotations

from webapp.blueprints.api.hotspot_schemas import (
    DURATION_RULES,
    BatchCreated,
    BatchCreateRequest,
    BatchOut,
    BatchPage,
    DriftResponse,
    OwnerSettings,
    OwnerSettingsRequest,
    PackageChangeResponse,
    PackageCreateRequest,
    PackageListResponse,
    PackageOut,
    PackageWriteRequest,
    ReconcileAccepted,
    ReconcileRequest,
    ReconcileResponse,
    SalePage,
    SalesSummary,
    SessionsResponse,
    SiteSettings,
    SiteSettingsRequest,
    SyncResponse,
    TrialSettings,
    TrialSettingsRequest,
    VoucherOut,
    VoucherPage,
)
from webapp.blueprints.api.schemas import MessageResponse
from webapp.openapi import PAGINATION, Doc, ErrorResponse, Param, Tag
from webapp.services.pagination import MAX_ID
from webapp.services.sales import MAX_DAYS, MAX_MONTHS
from webapp.services.vouchers import STATES

_PACKAGES = Tag("Hotspot packages", "What a router sells: each package is a hotspot user profile on the router.")
_VOUCHERS = Tag("Vouchers", "Batches of voucher codes, each a hotspot user on its router, and their states.")
_HOTSPOT = Tag("Hotspot", "Sync with the router, its logged-in clients, and the settings printed on vouchers.")
_SALES = Tag("Sales", "What the vouchers sold for, per sale and as daily or monthly totals.")
_ROUTER_ERRORS = {502: ErrorResponse, 504: ErrorResponse}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_DRY_RUN = Param("dry_run", {"type": "boolean"}, "Only answer the commands the change would send; change nothing.")
_ROUTER = Param("router", _ID, "Only this router's (404 if not yours).")
_BATCH = Param("batch", _ID, "Only this batch's (404 if not yours).")
_STATE = Param("state", {"type": "string", "enum": list(STATES)}, "Only vouchers in this state.")
_CSV = "The answer is `text/csv` (an attachment)."

ROUTER_PACKAGES = Doc(
    "Packages of a router", _PACKAGES, {200: PackageListResponse},
    query=(Param("include_inactive", {"type": "boolean"}, "Inactive packages too (the message still counts "
                                                          "active ones)."),),
    description="The contract's list of active packages; each is a hotspot user profile on the router.",
)

PACKAGE_CREATE = Doc(
    "Create a package", _PACKAGES,
    {200: PackageChangeResponse, 201: PackageChangeResponse, 409: ErrorResponse},
    request=PackageCreateRequest, query=(_DRY_RUN,),
    description="Saves the package and adds its user profile on the router (`rate-limit` is "
    "`upload/download` from the router's side). An unreachable router leaves it `pending` for the next sync. "
    "With `dry_run=true` answers 200 with the commands only. A name the router already has "
    "answers 409. " + DURATION_RULES,
)

PACKAGE_DETAIL = Doc("One package", _PACKAGES, {200: PackageOut})

PACKAGE_UPDATE = Doc(
    "Change, activate or deactivate a package", _PACKAGES, {200: PackageChangeResponse, 409: ErrorResponse},
    request=PackageWriteRequest, query=(_DRY_RUN,),
    description="Only the fields sent change; issued vouchers keep the terms they were issued with. "
    "Deactivating removes the profile once no voucher of the package can be used any more. The duration must "
    "suit the type the package ends up with: sending only a type or only a duration is checked against the "
    "stored other one (400). A name another package of the router has answers 409. " + DURATION_RULES,
)

PACKAGE_DELETE = Doc(
    "Delete a package", _PACKAGES, {200: PackageChangeResponse, 409: ErrorResponse}, query=(_DRY_RUN,),
    description="Refused (409) while vouchers of the package are unused or active.",
)

PACKAGE_DRIFT = Doc(
    "Compare packages with the router's profiles", _PACKAGES, {200: DriftResponse, **_ROUTER_ERRORS},
    description="`missing`: ours, not on the router; `different`: rate-limit or shared-users differ; "
    "`extra`: on the router, not ours.",
)

PACKAGE_RECONCILE = Doc(
    "Resolve drift in one direction", _PACKAGES,
    {200: ReconcileResponse, 202: ReconcileAccepted, **_ROUTER_ERRORS},
    request=ReconcileRequest,
    description="`push` makes the router match RouterDeck as a job: 202 with `job` (`Location: /jobs/{id}/`); "
    "`commands` is filled once the job has finished (its `result` has them too). `pull` makes RouterDeck "
    "match the router at once (200; importing an extra profile needs `price`).",
)

BATCH_LIST = Doc("Voucher batches of a router", _VOUCHERS, {200: BatchPage}, query=PAGINATION)

BATCH_CREATE = Doc(
    "Generate a batch of vouchers", _VOUCHERS, {202: BatchCreated}, request=BatchCreateRequest,
    description="Codes avoid look-alikes (0/O, 1/I/l) and are unique per router. The vouchers are stored "
    "at once (state `unused`) and a job pushes them to the router as hotspot users: the answer is 202 with "
    "the batch and `job` (`Location: /jobs/{id}/`). An unreachable router fails the job and leaves the "
    "batch `pending` for the next sync; cancelling the job withdraws the vouchers not pushed yet.",
)

BATCH_DETAIL = Doc("One voucher batch", _VOUCHERS, {200: BatchOut})

BATCH_CSV = Doc("A batch's vouchers as CSV", _VOUCHERS, {200: None}, description=_CSV, csv=True)

VOUCHER_LIST = Doc(
    "Your vouchers", _VOUCHERS, {200: VoucherPage},
    query=(*PAGINATION, _ROUTER, _BATCH, _STATE, Param("search", {"type": "string"}, "Code contains.")),
    extra_errors=(404,),
)

VOUCHER_CSV = Doc("Your vouchers as CSV", _VOUCHERS, {200: None}, query=(_ROUTER, _BATCH, _STATE),
                       extra_errors=(404,), description=_CSV, csv=True)

VOUCHER_DETAIL = Doc("One voucher", _VOUCHERS, {200: VoucherOut})

VOUCHER_REVOKE = Doc(
    "Revoke a voucher", _VOUCHERS, {200: VoucherOut, 409: ErrorResponse},
    description="Kicks its session and removes its router user (or leaves that to the next sync when the "
    "router is unreachable).",
)

HOTSPOT_SYNC_NOW = Doc(
    "Sync a router's hotspot now", _HOTSPOT, {202: SyncResponse},
    description="Queues a job (or returns the one already queued) that pushes pending packages and vouchers, "
    "activates vouchers seen in use (recording a sale), expires vouchers past their wall-clock validity and "
    "removes or disables their router users. 202 with `job` (`Location: /jobs/{id}/`); the report fields "
    "are filled once the job has finished (the job's `result` has them too).",
)

HOTSPOT_SESSIONS = Doc("Logged-in hotspot clients", _HOTSPOT, {200: SessionsResponse, **_ROUTER_ERRORS})

HOTSPOT_KICK = Doc("End a hotspot session", _HOTSPOT, {200: MessageResponse, **_ROUTER_ERRORS})

HOTSPOT_SITE = Doc("A router's hotspot settings", _HOTSPOT, {200: SiteSettings})

HOTSPOT_SITE_UPDATE = Doc(
    "Change a router's hotspot settings", _HOTSPOT, {200: SiteSettings}, request=SiteSettingsRequest,
    description="The name and DNS name printed on vouchers, and whether expiry removes or disables users.",
)

HOTSPOT_TRIAL_UPDATE = Doc(
    "Change a router's free trial", _HOTSPOT, {200: TrialSettings}, request=TrialSettingsRequest,
    description="The RouterOS hotspot trial: `trial_minutes` of browsing once per device per "
    "`trial_reset_hours` (24: once a day), at the speed of `trial_package_id`. Saved, then set on every hotspot "
    "server profile the router uses; an unreachable router gets it with the next sync (`sync_error` says why).",
)

OWNER_SETTINGS = Doc("Your hotspot settings", _HOTSPOT, {200: OwnerSettings})

OWNER_SETTINGS_UPDATE = Doc(
    "Change your currency or time zone", _HOTSPOT, {200: OwnerSettings}, request=OwnerSettingsRequest,
    description="Sales days and months are counted in this time zone.",
)

SALE_LIST = Doc("Your sales", _SALES, {200: SalePage}, query=(*PAGINATION, _ROUTER), extra_errors=(404,))

SALE_CSV = Doc("Your sales as CSV", _SALES, {200: None}, query=(_ROUTER,), extra_errors=(404,),
                    description=_CSV, csv=True)

SALE_SUMMARY = Doc(
    "Sales totals per day or month", _SALES, {200: SalesSummary},
    query=(
        _ROUTER,
        Param("period", {"type": "string", "enum": ["daily", "monthly"]}, "Default daily."),
        Param("start", {"type": "string", "format": "date"}, "First local day (default: 30 days or 12 "
                                                              "months back)."),
        Param("end", {"type": "string", "format": "date"}, "Last local day (default: today)."),
    ),
    extra_errors=(404,),
    description=f"A range holds at most {MAX_DAYS} days (daily) or {MAX_MONTHS} months (monthly), and "
    "`start` must not be after `end`; either limit answers 400 (they relate two parameters, and the "
    "defaults to today, so no schema of one parameter can say them).",
)
