"""Kenyan mobile numbers: every form customers type, normalised to the ``2547XXXXXXXX`` M-Pesa expects."""

from __future__ import annotations

import re

from webapp.services.errors import Invalid

_SEPARATORS = re.compile(r"[\s\-().]")
_FORMS = (
    re.compile(r"^0([17]\d{8})$"),       # 0712 345 678, 0112 345 678
    re.compile(r"^\+254([17]\d{8})$"),   # +254712345678
    re.compile(r"^254([17]\d{8})$"),     # 254712345678
)


def normalise_phone(raw: object) -> str:
    """``07xx…``, ``01xx…``, ``+2547…``, ``2547…`` (spaces and dashes allowed) → ``2547XXXXXXXX``.

    :raises Invalid: for anything else (with a message a customer understands).
    """
    text = _SEPARATORS.sub("", raw) if isinstance(raw, str) else ""
    for form in _FORMS:
        match = form.match(text)
        if match:
            return "254" + match.group(1)
    raise Invalid("Enter a Kenyan mobile number such as 0712 345 678 or +254 712 345 678",
                  fields={"phone": "Enter a Kenyan mobile number such as 0712 345 678"})


def masked(phone: str) -> str:
    """``254712***678``: enough for a customer to recognise, not enough to harvest."""
    return phone[:6] + "***" + phone[-3:] if len(phone) >= 9 else "***"
