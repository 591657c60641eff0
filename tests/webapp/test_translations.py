"""The Kiswahili catalogue is complete: every message translated, none fuzzy, placeholders intact."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parents[2] / "webapp" / "translations" / "sw" / "LC_MESSAGES" / "messages.po"


def _catalogue():  # type: ignore[no-untyped-def]
    with CATALOGUE.open("rb") as handle:
        return read_po(handle, locale="sw")


def test_every_kiswahili_message_is_translated() -> None:
    catalog = _catalogue()
    untranslated = [
        message.id for message in catalog
        if message.id and not (all(message.string) if isinstance(message.string, tuple) else message.string)
    ]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    assert len(catalog) > 20
    assert untranslated == [], f"untranslated in {CATALOGUE.name}: {untranslated}"
    assert fuzzy == [], f"fuzzy (unchecked) entries: {fuzzy}"


def test_kiswahili_placeholders_match_the_english() -> None:
    problems = [(message.id, [str(error) for error in errors]) for message, errors in _catalogue().check()]
    assert problems == []
