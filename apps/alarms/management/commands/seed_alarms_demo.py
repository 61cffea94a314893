"""`manage.py seed_alarms_demo`: the demo organization's alarm rules and one open alarm."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.alarms.demo import alarms_demo_seed
from apps.alarms.models import Alarm
from apps.core.exceptions import EmsError


class Command(BaseCommand):
    help = (
        "Create (or bring back) alarm rules for the demo organization of seed_demo (run it first) "
        "and evaluate them once, which opens one alarm. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", default="demo", metavar="SLUG", help="organization slug (default: demo)")
        parser.add_argument("--force", action="store_true", help="run even when DJANGO_ENV=production")

    def handle(self, *args, org: str, force: bool, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("Refusing to seed demo alarm rules in production (DJANGO_ENV=production).")
        try:
            rules, _ = alarms_demo_seed(slug=org)
        except EmsError as exc:
            raise CommandError(f"seed_alarms_demo: {exc.message}") from exc
        active = Alarm.objects.filter(organization__slug=org, cleared_at__isnull=True).count()
        self.stdout.write(
            f"{len(rules)} alarm rules for {org!r}; {active} alarm(s) open: /admin/alarms/alarm/"
        )
