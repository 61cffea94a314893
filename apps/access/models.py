"""Credentials of the API dialects. Secrets are stored as digests only (see hashing.py)."""

from django.conf import settings
from django.db import models


class Dialect(models.TextChoices):
    IOTORQ = "iotorq", "ioTORQ EMIS"
    BLYNK = "blynk", "Blynk"
    BUILDINGX = "buildingx", "Building X"
    GAVAZZI = "gavazzi", "Carlo Gavazzi EMS"


class ApiToken(models.Model):
    """An ioTORQ `Authorization: Token <key>` key: one user of one organization.

    Imported data is attributed to the user. The key itself is shown once, when issued.
    """

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell keys apart.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class OAuthClient(models.Model):
    """An OAuth2 client of one organization: a Blynk client or a Building X machine user.

    A Building X client may be limited to some partitions (empty: all of its organization's).
    """

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="oauth_clients"
    )
    dialect = models.CharField(
        max_length=16,
        choices=[(Dialect.BLYNK, Dialect.BLYNK.label), (Dialect.BUILDINGX, Dialect.BUILDINGX.label)],
    )
    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=64, unique=True)
    secret_digest = models.CharField(max_length=64, editable=False)
    partitions = models.ManyToManyField("inventory.Partition", blank=True, related_name="oauth_clients")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "OAuth client"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_dialect_display()})"


class RefreshToken(models.Model):
    """A single-use Blynk refresh token, issued beside an access token.

    One acting for a user keeps the user's password digest of its issue (`credentials`): after a
    password change it is refused, like the access tokens issued with it.
    """

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="refresh_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    credentials = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="The user's password digest when issued (hashing.user_credentials_digest).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"refresh token of {self.client} ({self.created_at:%Y-%m-%d %H:%M})"


class ShownOnceSecret(models.Model):
    """New secrets waiting for the one admin page that shows them (admin_credentials.ShownOnceMixin).

    Sealed with a key derived from the page's ticket, which only the page's URL holds (the row is
    found by the ticket's digest), so the table never holds a secret readable on its own. Bound
    to the admin session that made it; deleted when shown, refused after `expires_at` and deleted
    by the next stash or the `access.prune_shown_once` beat task.
    """

    ticket_digest = models.CharField(max_length=64, primary_key=True)
    session_digest = models.CharField(max_length=64)
    sealed = models.TextField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "secret to show once"

    def __str__(self) -> str:
        return f"secret to show once (until {self.expires_at:%Y-%m-%d %H:%M:%S})"
