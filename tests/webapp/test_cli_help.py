"""Every ``flask`` command's ``--help`` works before ``init-instance`` has written any secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
# An empty secret overrides any instance/config.py on this machine: the app is as before init-instance.
NO_SECRETS = {"FLASK_SECRET_KEY": "", "FLASK_JWT_SECRET_KEY": "", "FLASK_ROUTER_PASSWORD_KEYS": ""}

# One interpreter runs `flask --app wsgi <command> --help` for every command (a process per command would
# spend minutes importing the app again and again); argv is set as the flask script sets it.
_HELP_LOOP = """
import json, sys
from flask.cli import cli
failures = {}
for command in json.loads(sys.argv[1]):
    sys.argv = ["flask", "--app", "wsgi", *command, "--help"]
    try:
        cli.main(args=sys.argv[1:], prog_name="flask")
    except SystemExit as stop:
        if stop.code not in (0, None):
            failures[" ".join(command)] = f"exit {stop.code}"
    except Exception as error:
        failures[" ".join(command)] = repr(error)[:300]
print(json.dumps(failures))
"""


def test_help_of_every_command_works_without_secrets(app: Flask) -> None:
    # Every command RouterDeck adds (discovered, so new ones are covered) and Flask-Migrate's.
    commands = [[name] for name in app.cli.commands] + [["db", "upgrade"]]
    answer = subprocess.run([sys.executable, "-c", _HELP_LOOP, json.dumps(commands)], cwd=ROOT,
                            env={**os.environ, **NO_SECRETS}, capture_output=True, text=True, timeout=110,
                            check=False)
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert json.loads(answer.stdout.strip().splitlines()[-1]) == {}
    assert answer.stdout.count("Usage:") >= len(commands)


def test_real_commands_still_refuse_to_start_without_secrets() -> None:
    answer = subprocess.run([FLASK, "--app", "wsgi", "routes"], cwd=ROOT, env={**os.environ, **NO_SECRETS},
                            capture_output=True, text=True, timeout=110, check=False)
    assert answer.returncode != 0 and "refuses to start without real secrets" in answer.stderr
