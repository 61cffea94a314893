"""`manage.py statistics_rebuild [--organization SLUG] [--series ID ...]`: recompute the
statistics of stored series from their samples, in batches, printing progress."""

from django.core.management.base import BaseCommand, CommandError

from apps.tenancy.models import Organization
from apps.timeseries.models import Series
from apps.timeseries.stats.rebuild import REBUILD_CHUNK, statistics_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the quarter-hour and daily statistics of every series (or of one organization's, "
        f"or of the series named) from their samples, {REBUILD_CHUNK} series per transaction. Writes to "
        "a series wait for its batch; the others go on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", metavar="SLUG", help="only this organization's series")
        parser.add_argument(
            "--series", metavar="ID", type=int, action="append", help="only this series (repeatable)"
        )

    def handle(self, *args, organization: str | None, series: list[int] | None, **options):
        chosen = Series.objects.all()
        if organization is not None:
            chosen = chosen.filter(organization__slug=organization)
            if not Organization.objects.filter(slug=organization).exists():
                raise CommandError(f"No organization {organization!r}.")
        if series:
            chosen = chosen.filter(pk__in=series)
            missing = sorted(set(series) - set(chosen.values_list("pk", flat=True)))
            if missing:
                where = f" in organization {organization!r}" if organization else ""
                raise CommandError(f"No series {', '.join(map(str, missing))}{where}.")
        ids = list(chosen.order_by("pk").values_list("pk", flat=True))

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"{done:,} of {total:,} series recomputed")

        done = statistics_rebuild(ids, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Statistics recomputed for {done:,} series."))
