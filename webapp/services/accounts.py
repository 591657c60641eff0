"""Accounts, API keys and JSON login sessions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import ApiKey, TokenSession, User
from webapp.services.errors import Conflict, Invalid, NotFound, Unauthorized
from webapp.timeutil import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,80}$")
MIN_PASSWORD = 8
PUBLIC_PREFIX = "rdk_pub_"
PRIVATE_PREFIX = "rdk_sec_"
# A hash that no password matches, checked when the user is unknown so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("routerdeck-timing-equaliser")


def _digest(private_key: str) -> str:
    # Private keys carry 256 random bits, so a fast digest is as safe as a KDF and keeps login cheap.
    return hashlib.sha256(private_key.encode("utf-8")).hexdigest()


def create_user(username: str, password: str, email: str | None = None) -> User:
    """Create an account with a scrypt-hashed password.

    :raises Invalid: on a malformed username or a short password.
    :raises Conflict: if the username is taken.
    """
    username = (username or "").strip()
    fields: dict[str, str] = {}
    if not USERNAME_RE.match(username):
        fields["username"] = "3-80 characters: letters, digits, _ . @ -"
    if len(password or "") < MIN_PASSWORD:
        fields["password"] = f"at least {MIN_PASSWORD} characters"
    if fields:
        raise Invalid("Invalid account details", fields=fields)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f'Username "{username}" is already taken', fields={"username": "already taken"})
    user = User(username=username, email=email or None, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str) -> User:
    """Return the active user whose credentials these are.

    :raises Unauthorized: for an unknown user, a wrong password or a disabled account (one message for all).
    """
    user: User | None = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise Unauthorized("Invalid username or password")
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        raise Unauthorized("Invalid username or password")
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


def create_api_key(actor: User, name: str) -> NewApiKey:
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


def revoke_api_key(actor: User, key_id: int) -> ApiKey:
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
    db.session.commit()
    return key


def authenticate_api_key(public_key: str, private_key: str) -> tuple[User, ApiKey]:
    """Return the user and key matching this pair and stamp the key's last use.

    :raises Unauthorized: for an unknown, revoked or mismatching pair.
    """
    key = db.session.scalar(select(ApiKey).where(ApiKey.public_key == (public_key or "")))
    digest = _digest(private_key or "")
    if key is None or key.revoked_at is not None or not hmac.compare_digest(digest, key.private_key_hash):
        raise Unauthorized("Invalid API key pair")
    if not key.user.is_active:
        raise Unauthorized("Invalid API key pair")
    key.last_used_at = utcnow()
    db.session.commit()
    return key.user, key


def open_token_session(user: User, refresh_lifetime: timedelta, api_key: ApiKey | None = None) -> TokenSession:
    """Record a JSON login; its id goes into both tokens as the ``sid`` claim."""
    session = TokenSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        api_key_id=api_key.id if api_key else None,
        expires_at=utcnow() + refresh_lifetime,
    )
    db.session.add(session)
    db.session.commit()
    return session


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


def close_token_session(session_id: str) -> None:
    """Revoke a login session: its access and refresh tokens stop working at once."""
    session = db.session.get(TokenSession, session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        db.session.commit()



def set_password(username: str, password: str) -> User:
    """Set a user's password, creating the account if it does not exist yet.

    :raises Invalid: on a malformed username or a short password.
    """
    user: User | None = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        return create_user(username, password)
    if len(password) < MIN_PASSWORD:
        raise Invalid("Invalid password", fields={"password": f"at least {MIN_PASSWORD} characters"})
    user.password_hash = generate_password_hash(password)
    db.session.commit()
    return user
