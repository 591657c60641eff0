"""``routeros`` is a library of its own: importing it must not pull in Flask or the web app."""

from __future__ import annotations

import subprocess
import sys


def test_import_routeros_does_not_import_flask() -> None:
    code = (
        "import sys, routeros, routeros.pool, routeros.rest, routeros.api;"
        "bad = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('flask', 'webapp', 'werkzeug', 'aiohttp', 'simulators'));"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
