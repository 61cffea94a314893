"""`manage.py issue_token --user USERNAME`: a new ioTORQ API key, printed once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.access.services import api_token_issue
from apps.tenancy.selectors import user_organizations


class Command(BaseCommand):
    help = (
        "Issue an ioTORQ API key (`Authorization: Token <key>`) for a user in one of their "
        "organizations and print it. Only a digest is stored: the key cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, metavar="USERNAME", help="the user the key acts for")
        parser.add_argument(
            "--org",
            metavar="SLUG",
            help="the organization (needed when the user belongs to more than one)",
        )
        parser.add_argument("--name", default="", help="a label to tell keys apart in the admin")

    def handle(self, *args, user: str, org: str | None, name: str, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None or not account.is_active:
            raise CommandError(f"No active user {user!r}.")
        organizations = user_organizations(user=account).order_by("slug")
        if org is not None:
            organizations = organizations.filter(slug=org)
        found = list(organizations[:2])
        if not found:
            where = f"organization {org!r}" if org else "any organization"
            raise CommandError(f"{user} is not a member of {where}.")
        if len(found) > 1:
            every = user_organizations(user=account).order_by("slug").values_list("slug", flat=True)
            slugs = ", ".join(every)
            raise CommandError(f"{user} belongs to several organizations ({slugs}): choose one with --org.")
        issued = api_token_issue(organization=found[0], user=account, name=name)
        self.stderr.write(
            f"API key {issued.credential.prefix}… for {user} in {found[0].slug}; "
            "it is stored hashed and will not be shown again:"
        )
        self.stdout.write(issued.secret)
