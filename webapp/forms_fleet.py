"""Dashboard forms of the fleet pages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


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
