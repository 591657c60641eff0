"""``pip install .`` without extras gives a ``routeros`` driver that imports and talks to a router without aiohttp.

A fresh virtual environment (no system site-packages) gets the project installed from a copy of the source; a
simulator started from this test's own environment (which has the ``simulators`` extra) is the router.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.routeros import RouterSpec, Simulator

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "standalone-pass-1"

PROBE = """
import json, sys
import routeros
from routeros import RouterConfig, open_client

port, protocol = int(sys.argv[1]), sys.argv[2]
config = RouterConfig(host="127.0.0.1", port=port, username="admin", password=sys.argv[3], protocol=protocol,
                      timeout=10)
with open_client(config) as client:
    identity = client.identity()
try:
    import aiohttp  # noqa: F401
    has_aiohttp = True
except ImportError:
    has_aiohttp = False
print(json.dumps({"identity": identity, "aiohttp": has_aiohttp, "file": routeros.__file__,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "flask", "simulators"))}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a clean venv with the project installed from a copy of its source (no extras)."""
    work = tmp_path_factory.mktemp("standalone")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("routeros", "simulators", "webapp"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        check=True, timeout=540, capture_output=True,
    )
    return python


@pytest.fixture(scope="module")
def router() -> Iterator[Simulator]:
    spec = RouterSpec(name="standalone-lab", version="7.16.1", username="admin", password=PASSWORD)
    with Simulator([spec], host="127.0.0.1") as sim:
        yield sim


@pytest.mark.timeout(600)
@pytest.mark.parametrize("protocol", ["api", "rest"])
def test_the_driver_works_installed_without_extras(installed: Path, router: Simulator, protocol: str) -> None:
    sim_router = router.routers[0]
    port = sim_router.api_port if protocol == "api" else sim_router.rest_port
    result = subprocess.run(
        [str(installed), "-c", PROBE, str(port), protocol, PASSWORD],
        check=True, capture_output=True, text=True, timeout=120, cwd=installed.parent,
    )
    answer = json.loads(result.stdout)
    assert answer["identity"] == "standalone-lab"
    assert answer["aiohttp"] is False and answer["loaded"] == []
    assert str(installed.parents[1]) in answer["file"]  # the installed copy, not this checkout
