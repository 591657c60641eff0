"""Every ``flask`` command's ``--help`` works before ``init-instance`` has written any secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # An empty secret overrides any instance/config.py on this machine: the app is as before init-instance.
    env = {**os.environ, "FLASK_SECRET_KEY": "", "FLASK_JWT_SECRET_KEY": "", "FLASK_ROUTER_PASSWORD_KEYS": ""}
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_help_of_every_command_works_without_secrets(app: Flask) -> None:
    # Every command RouterDeck adds (discovered, so new ones are covered) and Flask-Migrate's.
    commands = [[name] for name in app.cli.commands] + [["db", "upgrade"]]
    failures = {}
    for command in commands:
        answer = _run(*command, "--help")
        if answer.returncode != 0 or "Usage:" not in answer.stdout:
            failures[" ".join(command)] = answer.stderr[-300:]
    assert failures == {}


def test_real_commands_still_refuse_to_start_without_secrets() -> None:
    answer = _run("routes")
    assert answer.returncode != 0 and "refuses to start without real secrets" in answer.stderr
