"""Admin for credentials: API tokens for a user, OAuth clients (Blynk, Building X) with their
partitions, and the refresh tokens the Blynk token endpoint issues. Digests are never shown.

New secrets are shown once and revocation is one-way: see admin_credentials.py.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db import transaction
from django.http import HttpResponseRedirect

from apps.core.exceptions import Invalid
from apps.tenancy.admin_scoping import OrganizationOwnedAdmin, OrganizationOwnedForm, OrganizationScopedAdmin
from apps.tenancy.selectors import user_organizations

from .admin_credentials import RevocableMixin, ShownOnceMixin, adopt, plural
from .models import ApiToken, Dialect, OAuthClient, RefreshToken
from .services import (
    api_token_issue,
    api_token_revoke,
    oauth_client_issue,
    oauth_client_revoke,
    oauth_client_secret_rotate,
)


class ApiTokenForm(OrganizationOwnedForm):
    def clean(self):
        cleaned_data = super().clean()
        organization_id, user = self._organization_id(), cleaned_data.get("user")
        if (
            organization_id is not None
            and user is not None
            and not user_organizations(user=user).filter(pk=organization_id).exists()
        ):
            self.add_error("user", "This user is not a member of the organization.")
        return cleaned_data


REVOKED_NOT_ROTATED = "This client is revoked and stays revoked: create a new client instead."


@admin.register(ApiToken)
class ApiTokenAdmin(RevocableMixin, ShownOnceMixin, OrganizationOwnedAdmin):
    form = ApiTokenForm
    list_display = ("prefix", "name", "user", "organization", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("user", "organization")
    search_fields = (
        "prefix",
        "name",
        "user__username",
        "user__email",
        "organization__name",
        "organization__slug",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "organization", "created_at", "last_used_at")
    readonly_fields = ("id", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)
    revoke_nouns = ("token", "tokens")

    def get_fields(self, request, obj=None):
        if obj is None:
            # The key is generated on save: nothing about it is asked for.
            return ("organization", "user", "name")
        return ("id", "organization", "user", "name", "prefix", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else ("user", *readonly)

    def revoke_credential(self, obj) -> bool:
        return api_token_revoke(token=obj)

    def revoke_warning(self, obj) -> str:
        return f"Requests sent with {obj.prefix}… will be refused from now on."

    def issue(self, obj) -> dict:
        issued = api_token_issue(organization=obj.organization, user=obj.user, name=obj.name)
        adopt(obj, issued.credential)
        return {
            "label": f"API token {obj.prefix}… of {obj.user} in {obj.organization}",
            "secret_name": "Key",
            "secret": issued.secret,
            "usage": "ioTORQ API: send it in the HTTP header “Authorization: Token <key>”.",
        }

    def issued_message(self, obj) -> str:
        return f"Issued the API token {obj.prefix}… for {obj.user}."


class OAuthClientForm(OrganizationOwnedForm):
    client_id = forms.CharField(
        max_length=64, required=False, help_text="Leave empty to have a random client id generated."
    )

    class Meta:
        model = OAuthClient
        fields = "__all__"
        help_texts = {
            "partitions": "Building X only: the partitions the client may use. None chosen: all of the "
            "organization's partitions.",
        }

    def clean(self):
        cleaned_data = super().clean()
        dialect = cleaned_data.get("dialect", self.instance.dialect)
        partitions = cleaned_data.get("partitions")
        if partitions is not None and dialect != Dialect.BUILDINGX and partitions.exists():
            self.add_error("partitions", "Only Building X clients are limited to partitions.")
        return cleaned_data


@admin.register(OAuthClient)
class OAuthClientAdmin(RevocableMixin, ShownOnceMixin, OrganizationOwnedAdmin):
    form = OAuthClientForm
    list_display = (
        "name",
        "dialect",
        "client_id",
        "organization",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_select_related = ("organization",)
    search_fields = ("name", "client_id", "organization__name", "organization__slug")
    list_filter = ("dialect", ("revoked_at", admin.EmptyFieldListFilter), "organization", "created_at")
    readonly_fields = ("id", "created_at", "last_used_at", "revoked_at")
    filter_horizontal = ("partitions",)
    actions = ("revoke", "rotate_secret")
    revoke_nouns = ("client", "clients")

    def get_fields(self, request, obj=None):
        fields = ("organization", "dialect", "name", "client_id", "partitions")
        if obj is None:
            return fields
        return ("id", *fields, "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return readonly if obj is None else ("dialect", "client_id", *readonly)

    def revoke_credential(self, obj) -> bool:
        return oauth_client_revoke(client=obj)

    def revoke_warning(self, obj) -> str:
        return (
            f"The secret of {obj.client_id} and every token issued to it stop working at once; to "
            "connect again, create a new client."
        )

    def extra_urls(self):
        return [
            self._object_path("rotate-secret", self.rotate_secret_view, "rotate_secret"),
            *super().extra_urls(),
        ]

    def credential_tools(self, request, obj):
        tools = super().credential_tools(request, obj)
        if obj.revoked_at is not None:
            return tools
        return [{"label": "Rotate secret", "url": self._admin_url("rotate_secret", quote(obj.pk))}, *tools]

    @staticmethod
    def _entry(client: OAuthClient, secret: str) -> dict:
        return {
            "label": f"{client.get_dialect_display()} client {client.name}",
            "client_id": client.client_id,
            "secret_name": "Client secret",
            "secret": secret,
        }

    def issue(self, obj) -> dict:
        # The partitions are set afterwards, by the admin's save_related, on the adopted row.
        issued = oauth_client_issue(
            organization=obj.organization, dialect=obj.dialect, name=obj.name, client_id=obj.client_id or None
        )
        adopt(obj, issued.credential)
        return self._entry(obj, issued.secret)

    def issued_message(self, obj) -> str:
        return f"Created the OAuth client {obj.client_id}."

    def rotate_secret_view(self, request, object_id):
        client, refused = self.object_for_change(request, object_id)
        if refused is not None:
            return refused
        change_url = self._admin_url("change", quote(client.pk))
        if client.revoked_at is not None:
            self.message_user(request, REVOKED_NOT_ROTATED, messages.ERROR)
            return HttpResponseRedirect(change_url)
        if request.method != "POST":
            return self.confirm(
                request,
                client,
                title="Rotate this client's secret?",
                text=f"A new secret is generated for {client.client_id} and shown once; the current "
                "secret stops working at once.",
                submit="Yes, rotate it",
            )
        try:
            with transaction.atomic():
                issued = oauth_client_secret_rotate(client=client)
                self.log_change(request, client, "Rotated the client secret.")
        except Invalid:  # revoked meanwhile
            self.message_user(request, REVOKED_NOT_ROTATED, messages.ERROR)
            return HttpResponseRedirect(change_url)
        return HttpResponseRedirect(
            self.stash_secrets(request, [self._entry(client, issued.secret)], done_url=change_url)
        )

    @admin.action(description="Rotate secret", permissions=["change"])
    def rotate_secret(self, request, queryset):
        with transaction.atomic():
            rotated = [
                oauth_client_secret_rotate(client=client) for client in queryset.filter(revoked_at=None)
            ]
            for issued in rotated:
                self.log_change(request, issued.credential, "Rotated the client secret.")
        skipped = queryset.exclude(revoked_at=None).count()
        if skipped:
            self.message_user(
                request,
                f"Skipped {plural(skipped, 'revoked client', 'revoked clients')}: a revoked client "
                "stays revoked; create a new client instead.",
                messages.WARNING,
            )
        if not rotated:
            return None
        self.message_user(
            request,
            f"Rotated the secret of {plural(len(rotated), 'client', 'clients')}; "
            "their old secrets no longer work.",
            messages.SUCCESS,
        )
        entries = [self._entry(issued.credential, issued.secret) for issued in rotated]
        done_url = (
            self._admin_url("change", quote(rotated[0].credential.pk))
            if len(rotated) == 1
            else self._admin_url("changelist")
        )
        return HttpResponseRedirect(self.stash_secrets(request, entries, done_url=done_url))


@admin.register(RefreshToken)
class RefreshTokenAdmin(OrganizationScopedAdmin):
    """Issued by the Blynk token endpoint only: viewable and deletable, never added or edited."""

    organization_lookup = "client__organization"
    list_display = ("id", "client", "user", "created_at", "expires_at", "used_at")
    list_select_related = ("client", "user")
    search_fields = ("client__client_id", "client__name", "user__username")
    list_filter = (
        ("used_at", admin.EmptyFieldListFilter),
        "client__dialect",
        "client__organization",
        "expires_at",
    )
    readonly_fields = ("id", "client", "user", "created_at", "expires_at", "used_at")
    fields = readonly_fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
