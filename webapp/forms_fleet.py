"""Dashboard forms of the fleet pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from webapp.services.alerts import DEFAULT_RULES


class GroupForm(FlaskForm):
    """Add or edit a router group (site) and its defaults."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=500)])
    poll_interval_seconds = IntegerField(_l("Poll every (seconds, blank: server default)"),
                                         validators=[Optional(), NumberRange(min=10, max=86400)])
    backup_hour_utc = IntegerField(_l("Daily configuration export at (UTC hour 0-23, blank: off)"),
                                   default=2, validators=[Optional(), NumberRange(min=0, max=23)])

    def group_data(self) -> dict[str, Any]:
        """The fields as the group service takes them."""
        return {"name": self.name.data or "", "description": self.description.data or "",
                "poll_interval_seconds": self.poll_interval_seconds.data,
                "backup_hour_utc": self.backup_hour_utc.data}


class RuleForm(FlaskForm):
    """An alert rule override: fleet-wide or one router's."""

    kind = SelectField(_l("Alert"), choices=[SelectChoice(k, r.label) for k, r in DEFAULT_RULES.items()])
    router_id = SelectField(_l("Applies to"), choices=[], validate_choice=False)
    threshold = DecimalField(_l("Threshold % (CPU, memory)"), places=1,
                             validators=[Optional(), NumberRange(min=0, max=100)])
    duration_minutes = IntegerField(_l("For how many minutes"), validators=[Optional(), NumberRange(min=0, max=10080)])
    enabled = BooleanField(_l("Enabled"), default=True)

    def rule_data(self) -> dict[str, Any]:
        """The fields as the alert service takes them."""
        raw_router = str(self.router_id.data or "")
        data: dict[str, Any] = {"kind": self.kind.data, "enabled": bool(self.enabled.data),
                                "router_id": int(raw_router) if raw_router.isdigit() else None,
                                "threshold": float(self.threshold.data) if self.threshold.data is not None else None}
        if self.duration_minutes.data is not None:
            data["duration_minutes"] = self.duration_minutes.data
        return data


class ChannelForm(FlaskForm):
    """A notification channel; the Telegram bot token is write-only."""

    kind = SelectField(_l("Kind"), choices=[SelectChoice("email", _l("E-mail")), SelectChoice("webhook", "Webhook"),
                                            SelectChoice("telegram", "Telegram"), SelectChoice("sms", "SMS")])
    target = StringField(_l("Address, URL, chat id or phone number"), validators=[DataRequired(), Length(max=500)])
    secret = PasswordField(_l("Telegram bot token"), validators=[Optional(), Length(max=200)])
    cooldown_minutes = IntegerField(_l("Quiet minutes between repeats"), default=30,
                                    validators=[Optional(), NumberRange(min=0, max=10080)])

    def channel_data(self) -> dict[str, Any]:
        """The fields as the notification service takes them."""
        return {"kind": self.kind.data, "target": self.target.data or "", "secret": self.secret.data or None,
                "cooldown_minutes": self.cooldown_minutes.data if self.cooldown_minutes.data is not None else 30}


class SafeChangeForm(FlaskForm):
    """A change applied with an automatic rollback; data is one ``key=value`` per line."""

    command = StringField(_l("Command"), validators=[DataRequired(), Length(max=200)])
    method = SelectField(_l("Method"), choices=[SelectChoice("PUT", "PUT (set)"), SelectChoice("POST", "POST")],
                         default="PUT")
    data = TextAreaField(_l("Values, one key=value per line"), validators=[Optional(), Length(max=4000)])
    rollback_minutes = IntegerField(_l("Undo by itself after (minutes)"), default=5,
                                    validators=[DataRequired(), NumberRange(min=1, max=60)])
    confirm = BooleanField(_l("I know this command is risky"))

    def values(self) -> dict[str, str]:
        """The data lines as a mapping (blank lines and lines without ``=`` are ignored)."""
        pairs = (line.split("=", 1) for line in (self.data.data or "").splitlines() if "=" in line)
        return {key.strip(): value.strip() for key, value in pairs if key.strip()}


class OnboardingForm(FlaskForm):
    """What the onboarding script needs to know."""

    routerdeck_address = StringField(_l("RouterDeck's address as the router sees it"),
                                     validators=[DataRequired(), Length(max=50)])
    protocol = SelectField(_l("Management service"), choices=[SelectChoice("api-ssl", "API-SSL (8729)"),
                                                              SelectChoice("api", "API (8728)"),
                                                              SelectChoice("rest", "REST over HTTPS (443)")])
    routeros_major = SelectField(_l("RouterOS"), choices=[SelectChoice("7", "7.x"), SelectChoice("6", "6.x")])
    identity = StringField(_l("Router name (optional)"), validators=[Optional(), Length(max=32)])
    wg_endpoint = StringField(_l("WireGuard: RouterDeck's public host (optional)"), validators=[Optional(),
                                                                                                  Length(max=255)])
    wg_port = IntegerField(_l("WireGuard port"), default=51820, validators=[Optional(), NumberRange(1, 65535)])
    wg_public_key = StringField(_l("WireGuard: RouterDeck's public key"), validators=[Optional(), Length(max=44)])


class ProfileForm(FlaskForm):
    """A credential profile; the password is write-only."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=50)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class BulkCommandForm(FlaskForm):
    """One command on every router of a group (or with a tag)."""

    command = StringField(_l("Command"), validators=[DataRequired(), Length(max=200)])
    method = SelectField(_l("Method"), choices=[SelectChoice("GET", "GET (read)"), SelectChoice("POST", "POST"),
                                                SelectChoice("PUT", "PUT (set)"), SelectChoice("DELETE", "DELETE")])
    data = TextAreaField(_l("Values, one key=value per line"), validators=[Optional(), Length(max=4000)])
    concurrency = IntegerField(_l("Routers at once"), default=4, validators=[DataRequired(), NumberRange(1, 16)])
    confirm = BooleanField(_l("Yes, run this risky command on every router"))

    def values(self) -> dict[str, str]:
        """The data lines as a mapping."""
        pairs = (line.split("=", 1) for line in (self.data.data or "").splitlines() if "=" in line)
        return {key.strip(): value.strip() for key, value in pairs if key.strip()}
