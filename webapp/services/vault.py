"""Router passwords at rest: MultiFernet over the configured keys (the first encrypts, all decrypt)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ChannelSecret, CredentialProfile, Router


class VaultError(RuntimeError):
    """The key list is unusable, or a stored password cannot be decrypted with any key."""


def _vault() -> MultiFernet:
    keys = current_app.config.get("ROUTER_PASSWORD_KEYS") or []
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise VaultError(
            "ROUTER_PASSWORD_KEYS must be a non-empty list of Fernet keys (generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
        ) from exc


def encrypt_password(plaintext: str) -> bytes:
    """Encrypt a router password with the first configured key."""
    return _vault().encrypt(plaintext.encode("utf-8"))


def decrypt_password(token: bytes) -> str:
    """Decrypt a stored router password with whichever configured key made it.

    :raises VaultError: if no configured key can decrypt it (a key was dropped before rotation).
    """
    try:
        return _vault().decrypt(bytes(token)).decode("utf-8")
    except InvalidToken as exc:
        raise VaultError("a router password cannot be decrypted with any configured key") from exc


def rotate_all(batch_size: int = 500) -> int:
    """Re-encrypt every stored router password and channel secret with the first key; safe to run again.

    Return the row count.

    :raises VaultError: if a row cannot be decrypted with any configured key (nothing is committed then).
    """
    vault = _vault()
    count = 0
    last_id = 0
    while True:
        rows = list(
            db.session.scalars(select(Router).where(Router.id > last_id).order_by(Router.id).limit(batch_size))
        )
        if not rows:
            break
        for router in rows:
            try:
                router.encrypted_password = vault.rotate(bytes(router.encrypted_password))
            except InvalidToken as exc:
                db.session.rollback()
                raise VaultError(f"router {router.id}: password cannot be decrypted with any configured key") from exc
            count += 1
        last_id = rows[-1].id
        db.session.commit()
    for profile in db.session.scalars(select(CredentialProfile)):
        try:
            profile.encrypted_password = vault.rotate(bytes(profile.encrypted_password))
        except InvalidToken as exc:
            db.session.rollback()
            raise VaultError(f"credential profile {profile.id}: cannot be decrypted with any key") from exc
        count += 1
    for secret in db.session.scalars(select(ChannelSecret)):
        try:
            secret.encrypted = vault.rotate(bytes(secret.encrypted))
        except InvalidToken as exc:
            db.session.rollback()
            raise VaultError(f"channel {secret.channel_id}: secret cannot be decrypted with any key") from exc
        count += 1
    db.session.commit()
    return count
