"""Who is calling: the organization a credential belongs to, and for whom it acts."""

from dataclasses import dataclass

from apps.tenancy.models import Organization

from .models import ApiToken, OAuthClient


@dataclass(frozen=True)
class Principal:
    """The result of authenticating any dialect's credential.

    Every request is scoped to `organization`. `user` is set for credentials that act for a user
    (ioTORQ tokens, Blynk user tokens, EMS logins), `client` for OAuth clients; `permissions`
    holds the user's role permission codenames when the credential is limited by them, and is
    None for organization-level credentials, which may do everything in their organization.
    """

    organization: Organization
    dialect: str
    user: object | None = None
    client: OAuthClient | None = None
    token: ApiToken | None = None
    permissions: frozenset[str] | None = None

    def has_permission(self, codename: str) -> bool:
        return self.permissions is None or codename in self.permissions
