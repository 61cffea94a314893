"""Secrets at rest: only a SHA-256 digest of every token and client secret is stored.

The secrets are 256-bit random strings generated here, not passwords people choose, so a slow
password hash adds nothing against guessing; a plain digest lets the server find a token by an
indexed equality lookup on every request.
"""

import hashlib
import hmac
import secrets


def secret_generate(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)
