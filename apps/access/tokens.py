"""JWT access tokens of the Blynk, Building X and EMS gateway dialects (djangorestframework-simplejwt).

The token type claim is the dialect, so a token issued by one dialect fails verification in every
other (API.md §0). Claims: `org` (organization id), `user` and `client` (ids, when the token acts
for one), and with `user` its password digest `cred` (hashing.user_credentials_digest), so that a
password change ends the token. HS256 with the server's key; simplejwt decodes with that one
algorithm only, so a token signed otherwise (or `alg: none`) is refused.
"""

from datetime import timedelta

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import Token

from .hashing import user_credentials_digest
from .models import Dialect


def _token_class(dialect: str, lifetime_seconds: int = 0) -> type[Token]:
    return type(
        f"{dialect.title()}AccessToken",
        (Token,),
        {"token_type": str(dialect), "lifetime": timedelta(seconds=lifetime_seconds)},
    )


def jwt_issue(*, dialect: Dialect, organization, lifetime_seconds: int, user=None, client=None) -> str:
    """A signed token for `dialect`, valid `lifetime_seconds` from now."""
    token = _token_class(dialect, lifetime_seconds)()
    token["org"] = organization.pk
    if user is not None:
        token["user"] = user.pk
        token["cred"] = user_credentials_digest(user=user)
    if client is not None:
        token["client"] = client.pk
    return str(token)


def jwt_claims(*, dialect: Dialect, token: str) -> dict | None:
    """The claims of a valid, unexpired token of `dialect`; None for anything else."""
    try:
        return dict(_token_class(dialect)(token).payload)
    except TokenError:
        return None
