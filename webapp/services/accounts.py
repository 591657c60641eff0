"""Accounts, passwords, API keys, login sessions (dashboard and JSON) and the login backoff."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import ApiKey, LoginFailure, TokenSession, User
from webapp.services import audit
from webapp.services.errors import Conflict, Invalid, NotFound, TooManyAttempts, Unauthorized
from webapp.timeutil import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,80}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
#: Failed logins on one username before each further try has to wait (a doubling delay, capped).
BACKOFF_AFTER = 5
BACKOFF_CAP_SECONDS = 60
PUBLIC_PREFIX = "rdk_pub_"
PRIVATE_PREFIX = "rdk_sec_"
# A hash that no password matches, checked when the user is unknown so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("routerdeck-timing-equaliser")


def _digest(private_key: str) -> str:
    # Private keys carry 256 random bits, so a fast digest is as safe as a KDF and keeps login cheap.
    return hashlib.sha256(private_key.encode("utf-8")).hexdigest()


def _password_problem(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"at most {MAX_PASSWORD} characters"
    return None


def check_password_strength(password: str, field: str = "password") -> None:
    """:raises Invalid: when ``password`` is too short or too long."""
    problem = _password_problem(password)
    if problem:
        raise Invalid("Invalid password", fields={field: problem})


def create_user(username: str, password: str, email: str | None = None, *, commit: bool = True) -> User:
    """Create an account with a scrypt-hashed password.

    :raises Invalid: on a malformed username or a short password.
    :raises Conflict: if the username is taken.
    """
    username = (username or "").strip()
    fields: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        fields["username"] = "3-80 characters: letters, digits, _ . @ -"
    problem = _password_problem(password)
    if problem:
        fields["password"] = problem
    if fields:
        raise Invalid("Invalid account details", fields=fields)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f'Username "{username}" is already taken', fields={"username": "already taken"})
    user = User(username=username, email=email or None, password_hash=generate_password_hash(password))
    db.session.add(user)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return user


def _throttle_key(username: str) -> str:
    return (username or "").strip().lower()[:128]


def login_wait(username: str) -> int:
    """Seconds this username must wait before the next try (0 = may try now); grows with failures, capped."""
    row = db.session.get(LoginFailure, _throttle_key(username))
    if row is None or row.failures < BACKOFF_AFTER:
        return 0
    delay = min(2 ** (row.failures - BACKOFF_AFTER), BACKOFF_CAP_SECONDS)
    remaining = (row.last_failure_at + timedelta(seconds=delay) - utcnow()).total_seconds()
    return max(0, int(remaining + 0.999))


def _note_failure(username: str) -> None:
    key = _throttle_key(username)
    row = db.session.get(LoginFailure, key)
    if row is None:
        db.session.add(LoginFailure(username=key, failures=1, last_failure_at=utcnow()))
    else:
        row.failures += 1
        row.last_failure_at = utcnow()


def authenticate(username: str, password: str, *, ip_address: str | None = None, face: str = "api",
                 trusted_device: bool = False) -> User:
    """Return the active user whose credentials these are; audit the attempt either way.

    After ``BACKOFF_AFTER`` failures on a username, each try must wait a doubling delay (capped at
    ``BACKOFF_CAP_SECONDS``) from the last failure, whatever the address: guessing slows to a crawl, while the
    right password still gets in once the short wait is over. A browser that logged in as this user before
    (``trusted_device``) skips the wait.

    :raises TooManyAttempts: while the username's backoff runs (429 with ``retry_after``).
    :raises Unauthorized: for an unknown user, a wrong password or a disabled account (one message for all).
    """
    name = (username or "").strip()
    wait = 0 if trusted_device else login_wait(name)
    if wait:
        audit.record(None, "auth.login_throttled", f'Login for "{name[:80]}" refused during backoff',
                     ip_address=ip_address, outcome="throttled", target=f"username:{name[:80]}",
                     details={"face": face, "retry_after": wait})
        raise TooManyAttempts(f"Too many failed logins for this account; try again in {wait} s", retry_after=wait)
    user: User | None = db.session.scalar(select(User).where(User.username == name))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
    if user is None or not check_password_hash(user.password_hash, password or "") or not user.is_active:
        _note_failure(name)
        audit.record(None, "auth.login_failed", f'Failed login for "{name[:80]}"', ip_address=ip_address,
                     outcome="denied", target=f"username:{name[:80]}", owner_id=user.team_owner_id if user else None,
                     details={"face": face})
        raise Unauthorized("Invalid username or password")
    db.session.execute(update(LoginFailure).where(LoginFailure.username == _throttle_key(name))
                       .values(failures=0))
    audit.record(user, "auth.login", f'"{user.username}" logged in', ip_address=ip_address,
                 target=f"user:{user.id}", details={"face": face})
    return user


def get_user(user_id: int) -> User | None:
    """Load an active user by id (``None`` if missing or disabled)."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.is_active else None


@dataclass(frozen=True)
class NewApiKey:
    """A freshly created key pair; ``private_key`` exists only in this object, never in the database."""

    key: ApiKey
    private_key: str


def create_api_key(actor: User, name: str, ip_address: str | None = None) -> NewApiKey:
    """Create a named key pair for ``actor``; the private key is returned once and stored as a hash.

    :raises Invalid: if the name is empty or too long.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid("Invalid API key", fields={"name": "a name of 1-100 characters is required"})
    private_key = PRIVATE_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user_id=actor.id,
        name=name,
        public_key=PUBLIC_PREFIX + secrets.token_hex(16),
        private_key_hash=_digest(private_key),
    )
    db.session.add(key)
    db.session.flush()
    audit.record(actor, "api_key.create", f'Created API key "{name}"', target=f"api_key:{key.id}",
                 ip_address=ip_address, details={"public_key": key.public_key}, commit=False)
    db.session.commit()
    return NewApiKey(key=key, private_key=private_key)


def list_api_keys(actor: User) -> list[ApiKey]:
    """The actor's keys that are not revoked, newest first."""
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == actor.id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def revoke_api_key(actor: User, key_id: int, ip_address: str | None = None) -> ApiKey:
    """Revoke one of the actor's keys and every login session opened with it.

    :raises NotFound: if the key does not exist, is revoked already, or is someone else's.
    """
    key = db.session.get(ApiKey, key_id)
    if key is None or key.user_id != actor.id or key.revoked_at is not None:
        raise NotFound("API key not found")
    now = utcnow()
    key.revoked_at = now
    for session in db.session.scalars(
        select(TokenSession).where(TokenSession.api_key_id == key.id, TokenSession.revoked_at.is_(None))
    ):
        session.revoked_at = now
    audit.record(actor, "api_key.revoke", f'Revoked API key "{key.name}"', target=f"api_key:{key.id}",
                 ip_address=ip_address, details={"public_key": key.public_key}, commit=False)
    db.session.commit()
    return key


def authenticate_api_key(public_key: str, private_key: str, ip_address: str | None = None) -> tuple[User, ApiKey]:
    """Return the user and key matching this pair and stamp the key's last use; audit the attempt.

    :raises Unauthorized: for an unknown, revoked or mismatching pair.
    """
    key = db.session.scalar(select(ApiKey).where(ApiKey.public_key == (public_key or "")))
    digest = _digest(private_key or "")
    if (key is None or key.revoked_at is not None or not hmac.compare_digest(digest, key.private_key_hash)
            or not key.user.is_active):
        audit.record(None, "auth.login_failed", "Failed API key login", ip_address=ip_address, outcome="denied",
                     target=f"public_key:{(public_key or '')[:60]}", details={"face": "api-key"},
                     owner_id=key.user.team_owner_id if key is not None else None)
        raise Unauthorized("Invalid API key pair")
    key.last_used_at = utcnow()
    audit.record(key.user, "auth.login", f'"{key.user.username}" logged in with API key "{key.name}"',
                 ip_address=ip_address, target=f"api_key:{key.id}", details={"face": "api-key"}, commit=False)
    db.session.commit()
    return key.user, key


def open_session(user: User, lifetime: timedelta, *, kind: str = "api", api_key: ApiKey | None = None,
                 ip_address: str | None = None) -> TokenSession:
    """Record a login (``kind`` "web" for the dashboard, "api" for tokens); a fresh random id every time."""
    session = TokenSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        api_key_id=api_key.id if api_key else None,
        expires_at=utcnow() + lifetime,
        kind=kind,
        refresh_jti=str(uuid.uuid4()) if kind == "api" else None,
        ip_address=ip_address,
    )
    db.session.add(session)
    db.session.commit()
    user.login_session_id = session.id
    return session


def open_token_session(user: User, refresh_lifetime: timedelta, api_key: ApiKey | None = None,
                       ip_address: str | None = None) -> TokenSession:
    """Record a JSON login; its id goes into both tokens as the ``sid`` claim."""
    return open_session(user, refresh_lifetime, kind="api", api_key=api_key, ip_address=ip_address)


def session_user(session_id: str, kind: str = "web") -> User | None:
    """The active user of an active login session of ``kind`` (``None`` once it is revoked or expired)."""
    session = db.session.get(TokenSession, session_id) if session_id else None
    if session is None or session.kind != kind or session.revoked_at is not None or session.expires_at <= utcnow():
        return None
    user = get_user(session.user_id)
    if user is not None:
        user.login_session_id = session.id
    return user


def rotate_refresh(session_id: str, user_id: int, jti: str) -> str:
    """Accept a refresh token once: return the ``jti`` of its replacement.

    A refresh token that was already used (its ``jti`` is no longer the session's current one) means it was
    copied: the whole session, every token of its family, is revoked.

    :raises Unauthorized: for a revoked, expired or reused refresh token.
    """
    session = db.session.get(TokenSession, session_id)
    if session is None or session.user_id != user_id or session.revoked_at is not None:
        raise Unauthorized("Token has been revoked; log in again")
    if session.refresh_jti != jti:
        session.revoked_at = utcnow()
        user = db.session.get(User, user_id)
        audit.record(user, "auth.refresh_reuse", "A used refresh token was presented again; the login was revoked",
                     outcome="revoked", target=f"session:{session.id}", commit=False)
        db.session.commit()
        raise Unauthorized("This refresh token was already used; the login has been revoked for safety")
    session.refresh_jti = str(uuid.uuid4())
    db.session.commit()
    return session.refresh_jti


def end_sessions(user: User, *, keep: str | None = None, commit: bool = True) -> int:
    """Revoke every login session (dashboard and JSON, hence every token) of ``user`` but ``keep``."""
    statement = update(TokenSession).where(TokenSession.user_id == user.id, TokenSession.revoked_at.is_(None))
    if keep:
        statement = statement.where(TokenSession.id != keep)
    result = db.session.execute(statement.values(revoked_at=utcnow()))
    if commit:
        db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def change_password(actor: User, current_password: str, new_password: str, *, ip_address: str | None = None) -> User:
    """Change the actor's own password after checking the current one; every other session and token ends.

    :raises Invalid: when the current password is wrong or the new one too weak (per-field messages).
    """
    if not check_password_hash(actor.password_hash, current_password or ""):
        audit.record(actor, "account.password_change", "Password change refused: wrong current password",
                     ip_address=ip_address, outcome="denied", target=f"user:{actor.id}")
        raise Invalid("The current password is wrong", fields={"current_password": "wrong password"})
    check_password_strength(new_password, "new_password")
    actor.password_hash = generate_password_hash(new_password)
    ended = end_sessions(actor, keep=actor.login_session_id, commit=False)
    audit.record(actor, "account.password_change", "Changed own password", ip_address=ip_address,
                 target=f"user:{actor.id}", details={"sessions_ended": ended}, commit=False)
    db.session.commit()
    return actor


def token_session_active(session_id: str | None, user_id: int) -> bool:
    """True while the login session exists, belongs to the user, is not revoked and has not expired."""
    if not session_id:
        return False
    session = db.session.get(TokenSession, session_id)
    return (
        session is not None
        and session.user_id == user_id
        and session.revoked_at is None
        and session.expires_at > utcnow()
    )


def close_token_session(session_id: str, ip_address: str | None = None) -> None:
    """Revoke a login session (logout): its cookies or tokens stop working at once."""
    session = db.session.get(TokenSession, session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        user = db.session.get(User, session.user_id)
        audit.record(user, "auth.logout", f'"{user.username if user else "?"}" logged out', ip_address=ip_address,
                     target=f"session:{session.id}", details={"face": session.kind}, commit=False)
        db.session.commit()



def set_password(username: str, password: str) -> User:
    """Set a user's password, creating the account if it does not exist yet.

    :raises Invalid: on a malformed username or a short password.
    """
    user: User | None = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        return create_user(username, password)
    check_password_strength(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user, commit=False)
    audit.record(None, "account.password_set", f'Password of "{user.username}" set from the command line',
                 target=f"user:{user.id}", owner_id=user.team_owner_id, commit=False)
    db.session.commit()
    return user
