"""The factory's configuration order and its refusal to run without real secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webapp import MissingSecretsError, create_app

REPO = Path(__file__).resolve().parents[2]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return env


def test_refuses_to_start_without_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FLASK_"):
            monkeypatch.delenv(name)
    with pytest.raises(MissingSecretsError) as excinfo:
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": None})
    assert "init-instance" in str(excinfo.value)
    assert "FLASK_SECRET_KEY" in str(excinfo.value)


@pytest.mark.parametrize("placeholder", ["dev", "change-me", "short"])
def test_refuses_placeholder_secret(tmp_path: Path, placeholder: str) -> None:
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
        "SECRET_KEY": placeholder,
        "JWT_SECRET_KEY": "j" * 40,
        "ROUTER_PASSWORD_KEYS": [Fernet.generate_key().decode()],
    }
    with pytest.raises(MissingSecretsError, match="SECRET_KEY"):
        create_app(config)


def test_starts_with_real_secrets_outside_testing(tmp_path: Path) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
            "SECRET_KEY": "s" * 40,
            "JWT_SECRET_KEY": "j" * 40,
            "ROUTER_PASSWORD_KEYS": [Fernet.generate_key().decode()],
        }
    )
    assert not app.testing


def test_environment_overrides_instance_file_and_test_config_overrides_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "SECRET_KEY = 'from-file-" + "f" * 32 + "'\nLOGIN_RATE_LIMIT = 'from-file'\nMAX_CONTENT_LENGTH = 1\n"
    )
    monkeypatch.setenv("FLASK_LOGIN_RATE_LIMIT", "from-env")
    monkeypatch.setenv("FLASK_ROUTER_PASSWORD_KEYS", "k1,k2")
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "2048")
    import webapp

    monkeypatch.setattr(
        webapp.Flask, "auto_find_instance_path", lambda self: str(instance), raising=True
    )
    app = create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 4096, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"].startswith("from-file-")  # file beats defaults
    assert app.config["LOGIN_RATE_LIMIT"] == "from-env"  # env beats file
    assert app.config["ROUTER_PASSWORD_KEYS"] == ["k1", "k2"]  # comma list from the environment
    assert app.config["MAX_CONTENT_LENGTH"] == 4096  # test config beats env


def test_default_database_is_sqlite_in_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import webapp

    monkeypatch.delenv("FLASK_SQLALCHEMY_DATABASE_URI", raising=False)
    monkeypatch.setattr(webapp.Flask, "auto_find_instance_path", lambda self: str(tmp_path), raising=True)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'routerdeck.db'}"


def test_init_instance_writes_private_config_once(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    instance = tmp_path / "inst"
    script = (
        "import sys, webapp; from flask.cli import main;"
        f"webapp.Flask.auto_find_instance_path = lambda self: {str(instance)!r};"
        "sys.argv = ['flask', '--app', 'wsgi', 'init-instance']; main()"
    )
    first = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    config = instance / "config.py"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    content = config.read_text()
    assert "SECRET_KEY" in content and "ROUTER_PASSWORD_KEYS" in content
    Fernet(content.split("ROUTER_PASSWORD_KEYS = ['")[1].split("'")[0].encode())  # a valid Fernet key
    second = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert second.returncode == 0
    assert "left untouched" in second.stdout
    assert config.read_text() == content


def test_cli_refuses_without_secrets_and_says_how_to_fix(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    instance = tmp_path / "empty-instance"
    script = (
        "import sys, webapp; from flask.cli import main;"
        f"webapp.Flask.auto_find_instance_path = lambda self: {str(instance)!r};"
        "sys.argv = ['flask', '--app', 'wsgi', 'routes']; main()"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "init-instance" in result.stderr


def test_create_user_command(runner, app) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["create-user", "bob", "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    assert 'Created user "bob"' in result.output
    prompted = runner.invoke(args=["create-user", "carol"], input="another long pw\nanother long pw\n")
    assert prompted.exit_code == 0, prompted.output
    duplicate = runner.invoke(args=["create-user", "bob", "--password", "long enough pw"])
    assert duplicate.exit_code != 0
    assert "already taken" in duplicate.output
    short = runner.invoke(args=["create-user", "dave", "--password", "short"])
    assert short.exit_code != 0
    assert "at least 8" in short.output
