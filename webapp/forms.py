"""WTForms for the dashboard; every form carries Flask-WTF's CSRF token."""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SearchField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    ValidationError,
)
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me logged in"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])


class InvitationForm(FlaskForm):
    new_password = PasswordField("Choose a password", validators=[DataRequired(), Length(max=1024)])


STAFF_ROLE_CHOICES = [SelectChoice("operator", "Operator: everything on your routers but team and billing"),
                      SelectChoice("cashier", "Cashier: vouchers and sales on the routers you pick"),
                      SelectChoice("viewer", "Viewer: read-only, no secrets, no console")]


class TeamMemberForm(FlaskForm):
    """Add a staff account; a blank password sends an invitation link instead."""

    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    email = StringField("Email (optional)", validators=[Optional(), Length(max=255)])
    password = PasswordField("Password (blank: make an invitation link)", validators=[Optional(), Length(max=1024)])
    role = SelectField("Role", choices=STAFF_ROLE_CHOICES, default="cashier")
    router_ids = SelectMultipleField("Routers (cashiers)", coerce=int, validate_choice=False)


class TeamMemberEditForm(FlaskForm):
    """Change a member's role, routers or active flag, or reset the password (each ends their sessions)."""

    role = SelectField("Role", choices=STAFF_ROLE_CHOICES)
    router_ids = SelectMultipleField("Routers (cashiers)", coerce=int, validate_choice=False)
    is_active = BooleanField("Account active")
    password = PasswordField("New password (blank: keep)", validators=[Optional(), Length(max=1024)])


class ApiKeyForm(FlaskForm):
    name = StringField("Key name", validators=[DataRequired(), Length(max=100)])


class ConfirmForm(FlaskForm):
    """An empty form: a POST that only needs its CSRF token (logout, revoke)."""


ROUTER_PROTOCOLS = [SelectChoice("auto", "Auto (REST, then API)"), SelectChoice("rest", "REST"),
                    SelectChoice("api", "API"), SelectChoice("api-ssl", "API-SSL")]
COMMAND_METHODS = [SelectChoice("GET", "GET (print)"), SelectChoice("POST", "POST (add / run)"),
                   SelectChoice("PUT", "PUT (set)"), SelectChoice("DELETE", "DELETE (remove)")]


class RouterForm(FlaskForm):
    """Add or edit a router; the password is write-only (blank on edit keeps the stored one)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    host = StringField("Host", validators=[DataRequired(), Length(max=255)])
    port = IntegerField("Port", validators=[Optional(), NumberRange(min=1, max=65535)])
    protocol = SelectField("Protocol", choices=ROUTER_PROTOCOLS, default="auto")
    username = StringField("Username", validators=[DataRequired(), Length(max=50)])
    password = PasswordField("Password", validators=[Length(max=256)])
    use_https = BooleanField("Use HTTPS for REST")
    verify_tls = BooleanField("Verify the TLS certificate against system CAs")
    tls_fingerprint = StringField("Pinned certificate SHA-256 (optional)", validators=[Length(max=95)])
    # Choices are the actor's groups, filled in by the view.
    group_id = SelectField("Group", choices=[SelectChoice("", "No group")], default="", validate_choice=False)
    tags = StringField("Tags (comma-separated)", validators=[Length(max=500)])
    credential_profile_id = SelectField("Credential profile", choices=[SelectChoice("", "None (the username and "
                                        "password above)")], default="", validate_choice=False)

    def router_data(self) -> dict[str, Any]:
        """The fields as the router service takes them (a blank port or password is left out)."""
        data: dict[str, Any] = {
            "name": self.name.data or "",
            "host": self.host.data or "",
            "username": self.username.data or "",
            "protocol": self.protocol.data or "auto",
            "use_https": bool(self.use_https.data),
            "verify_tls": bool(self.verify_tls.data),
            "tls_fingerprint": self.tls_fingerprint.data or "",
        }
        if self.port.data is not None:
            data["port"] = self.port.data
        if self.password.data:
            data["password"] = self.password.data
        raw_group = str(self.group_id.data or "")
        data["group_id"] = int(raw_group) if raw_group.isdigit() else None
        data["tags"] = [tag.strip() for tag in (self.tags.data or "").split(",") if tag.strip()]
        raw_profile = str(self.credential_profile_id.data or "")
        data["credential_profile_id"] = int(raw_profile) if raw_profile.isdigit() else None
        return data


class KeyValueField(Field):
    """Repeated ``<name>-key`` / ``<name>-value`` inputs read as an ordered dict (blank rows are dropped)."""

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors: list[str] = []
        self.rows: list[tuple[str, str]] = []
        if formdata is not None:
            keys = formdata.getlist(f"{self.name}-key")
            values = formdata.getlist(f"{self.name}-value")
            self.rows = [(k, v) for k, v in zip_longest(keys, values, fillvalue="") if k.strip() or v.strip()]
        elif isinstance(data, dict):
            self.rows = [(str(k), "" if v is None else str(v)) for k, v in data.items()]
        self.data = {key.strip(): value for key, value in self.rows if key.strip()}

    def pre_validate(self, form: FlaskForm) -> None:
        if any(not key.strip() for key, _ in self.rows):
            raise ValidationError("every value needs a name")


class CommandForm(FlaskForm):
    """The command console: a menu path, a method, and params/data as key/value rows."""

    command = StringField("Command", validators=[DataRequired(), Length(max=200)])
    method = SelectField("Method", choices=COMMAND_METHODS, default="GET")
    params = KeyValueField("Params (print filters, or the item to set/remove)")
    body = KeyValueField("Data (values to add or set)")
    # Sent only by the "Confirm and run" button, so editing the command after a warning never carries it over.
    confirm = HiddenField(default="")

    @property
    def confirmed(self) -> bool:
        return self.confirm.data in {"1", "true", "yes"}


class RouterFilterForm(FlaskForm):
    """Query-string filters of the router list (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    search = SearchField("Search", validators=[Optional(), Length(max=100)])
    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status"), SelectChoice("online", "Online"),
                 SelectChoice("offline", "Offline")],
        default="",
        validate_choice=False,
    )
    protocol = SelectField(
        "Protocol",
        choices=[SelectChoice("", "Any protocol"), *ROUTER_PROTOCOLS[1:], SelectChoice("auto", "Auto")],
        default="",
        validate_choice=False,
    )
    group = SelectField("Group", choices=[SelectChoice("", "Any group")], default="", validate_choice=False)
    tag = StringField("Tag", validators=[Optional(), Length(max=50)])
    ordering = SelectField(
        "Order by",
        choices=[SelectChoice("name", "Order: name"), SelectChoice("-last_checked", "Order: last checked"),
                 SelectChoice("-created_at", "Order: newest"), SelectChoice("host", "Order: host")],
        default="name",
        validate_choice=False,
    )
    page = IntegerField(default=1, validators=[Optional()])

    @property
    def is_online(self) -> bool | None:
        return {"online": True, "offline": False}.get(self.status.data or "")


class CommandFilterForm(FlaskForm):
    """Query-string filters of a router's command history (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status"), SelectChoice("success", "Success"),
                 SelectChoice("failed", "Failed"), SelectChoice("timeout", "Timeout"),
                 SelectChoice("running", "Running")],
        default="",
        validate_choice=False,
    )
    method = SelectField("Method", choices=[SelectChoice("", "Any method"), *COMMAND_METHODS], default="",
                         validate_choice=False)
    search = SearchField("Command contains", validators=[Optional(), Length(max=100)])
    page = IntegerField(default=1, validators=[Optional()])


PACKAGE_TYPES = [
    SelectChoice("minutes", _l("Minutes (10–1,440 minutes)")),
    SelectChoice("hourly", _l("Hourly (1–24 hours)")),
    SelectChoice("daily", _l("Daily (1–365 days)")),
    SelectChoice("weekly", _l("Weekly (1–52 weeks)")),
    SelectChoice("monthly", _l("Monthly (1–12 months of 30 days)")),
]
VOUCHER_MODES = [SelectChoice("same", "Code is username and password"), SelectChoice("pin", "Username + PIN")]
#: Minutes in one unit of each package type's duration (the form asks for "how many" of that unit).
UNIT_MINUTES = {"minutes": 1, "hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200}


class PackageForm(FlaskForm):
    """Create or edit a hotspot package; the package service checks ranges and uniqueness."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    package_type = SelectField(_l("Type"), choices=PACKAGE_TYPES, default="hourly")
    duration = IntegerField(_l("Duration (minutes, hours, days, weeks or months, as the type says)"),
                            validators=[Optional()])
    price = StringField(_l("Price"), validators=[DataRequired(), Length(max=16)])
    download_speed_mbps = IntegerField(_l("Download (Mbps)"), validators=[DataRequired(message=_l("Required."))])
    upload_speed_mbps = IntegerField(_l("Upload (Mbps)"), validators=[DataRequired(message=_l("Required."))])
    shared_users = IntegerField(_l("Devices at once"), default=1, validators=[Optional()])
    data_limit_mb = IntegerField(_l("Data cap (MB, blank = unlimited)"), validators=[Optional()])
    validity_days = IntegerField(_l("Must be first used within (days, blank = no limit)"), validators=[Optional()])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=1000)])
    is_active = BooleanField(_l("On sale"), default=True)

    def show_duration(self, package_type: str, minutes: int) -> None:
        """Fill the duration as a count of the type's unit (an edit page of a stored package)."""
        unit = UNIT_MINUTES.get(package_type, 1)
        self.duration.data = minutes // unit if minutes % unit == 0 else minutes

    def package_data(self) -> dict[str, Any]:
        """The fields as the package service takes them (the duration in minutes)."""
        package_type = self.package_type.data or "hourly"
        count = self.duration.data
        return {
            "name": self.name.data or "",
            "package_type": package_type,
            "duration_minutes": None if count is None else count * UNIT_MINUTES.get(package_type, 1),
            "price": (self.price.data or "").strip(),
            "download_speed_mbps": self.download_speed_mbps.data,
            "upload_speed_mbps": self.upload_speed_mbps.data,
            "shared_users": self.shared_users.data if self.shared_users.data is not None else 1,
            "data_limit_mb": self.data_limit_mb.data,
            "validity_days": self.validity_days.data,
            "description": self.description.data or "",
            "is_active": bool(self.is_active.data),
        }


class VoucherBatchForm(FlaskForm):
    """Generate a batch of vouchers for one package."""

    package_id = SelectField("Package", coerce=int, validate_choice=False)
    count = IntegerField("How many", default=10, validators=[DataRequired(), NumberRange(min=1, max=1000)])
    code_length = IntegerField("Code length", default=8, validators=[DataRequired(), NumberRange(min=4, max=16)])
    mode = SelectField("Login", choices=VOUCHER_MODES, default="same")
    prefix = StringField("Prefix (optional)", validators=[Optional(), Length(max=6)])
    pin_length = IntegerField("PIN length", default=6, validators=[Optional(), NumberRange(min=4, max=8)])


class HotspotSiteForm(FlaskForm):
    """What voucher sheets print and what expiry does on the router."""

    display_name = StringField("Hotspot name on vouchers", validators=[Optional(), Length(max=100)])
    dns_name = StringField("Login DNS name (QR codes)", validators=[Optional(), Length(max=255)])
    expiry_action = SelectField("When a voucher expires",
                                choices=[SelectChoice("remove", "Remove the router user"),
                                         SelectChoice("disable", "Disable the router user")], default="remove")


class TrialForm(FlaskForm):
    """The router's free trial: RouterOS's hotspot trial login, once per device per reset period."""

    trial_enabled = BooleanField(_l("Offer a free trial"))
    trial_minutes = IntegerField(_l("Minutes of free browsing"), default=30,
                                 validators=[DataRequired(), NumberRange(min=1, max=1440)])
    trial_reset_hours = IntegerField(_l("Once per device every (hours)"), default=24,
                                     validators=[DataRequired(), NumberRange(min=1, max=720)])
    trial_package_id = SelectField(_l("Speed of the trial"), coerce=int, validate_choice=False, default=0)


class HotspotOwnerForm(FlaskForm):
    """The owner's currency and the time zone sales days are counted in."""

    currency = StringField("Currency", validators=[DataRequired(), Length(min=3, max=3)])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])


class SalesFilterForm(FlaskForm):
    """Query-string filters of the sales page (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    period = SelectField("Period", choices=[SelectChoice("daily", "Daily (30 days)"),
                                            SelectChoice("monthly", "Monthly (12 months)")], default="daily",
                         validate_choice=False)
    router = SelectField("Router", coerce=str, validate_choice=False, default="")


class LanguageForm(FlaskForm):
    """The language switch in every page's footer."""

    language = HiddenField("Language", validators=[DataRequired(), Length(max=8)])


def _zone_choices() -> list[SelectChoice]:
    from webapp.i18n import timezone_names

    return [SelectChoice("", _l("Default (my owner's time zone)")), *(SelectChoice(n, n) for n in timezone_names())]


class PreferencesForm(FlaskForm):
    """The user's language and time zone."""

    language = SelectField(_l("Language"), choices=[SelectChoice("", _l("Follow my browser")),
                                                   SelectChoice("en", "English"), SelectChoice("sw", "Kiswahili")],
                           default="")
    timezone = SelectField(_l("Time zone"), choices=_zone_choices, default="")
