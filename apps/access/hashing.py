"""Secrets at rest: only a SHA-256 digest of every token and client secret is stored.

The secrets are 256-bit random strings generated here, not passwords people choose, so a slow
password hash adds nothing against guessing; a plain digest lets the server find a token by an
indexed equality lookup on every request.

Tokens acting for a user also carry a digest of that user's password hash
(`user_credentials_digest`): a password change ends them, whatever path changed it. New secrets
waiting to be shown once in the admin are kept sealed (`seal`), never in plaintext.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils.crypto import salted_hmac

CREDENTIALS_SALT = "apps.access.hashing.user_credentials_digest"


def secret_generate(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)


def user_credentials_digest(*, user, secret: str | None = None) -> str:
    """A keyed digest of `user`'s stored password hash (128 bits, hex), for the tokens acting for
    the user to carry: any change of the password (the admin, `changepassword`, a reset, the
    shell, `set_unusable_password`) changes it, so checking it against the user row loaded
    anyway ends every token issued before, with no table, no signal and no extra query. This is
    how Django ends sessions on a password change (`get_session_auth_hash`), with a salt of our
    own. Keyed by SECRET_KEY (`secret`, for the fallbacks): it reveals nothing of the hash."""
    return salted_hmac(CREDENTIALS_SALT, user.password, secret=secret, algorithm="sha256").hexdigest()[:32]


def user_credentials_match(*, user, digest) -> bool:
    """Whether `digest` is `user`'s password digest now, under SECRET_KEY or one of
    SECRET_KEY_FALLBACKS (so rotating the key does not end refresh tokens stored before)."""
    if not isinstance(digest, str) or not digest:
        return False
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(hmac.compare_digest(digest, user_credentials_digest(user=user, secret=key)) for key in keys)


def _ticket_fernet(ticket: str) -> Fernet:
    # A key of its own per ticket, independent of the ticket's digest that names the row.
    key = hmac.new(ticket.encode(), b"apps.access.hashing.seal", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: bytes, *, ticket: str) -> str:
    """`data` encrypted and authenticated (Fernet: AES-CBC + HMAC, with its time of sealing) with
    a key derived from `ticket`: readable only by whoever holds the ticket."""
    return _ticket_fernet(ticket).encrypt(data).decode()


def unseal(sealed: str, *, ticket: str, max_age_seconds: int) -> bytes | None:
    """What `seal` sealed with `ticket`, if it was sealed at most `max_age_seconds` ago."""
    try:
        return _ticket_fernet(ticket).decrypt(sealed.encode(), ttl=max_age_seconds)
    except InvalidToken:
        return None
