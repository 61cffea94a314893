from django.db import connection


def stored(series) -> list[tuple[int, float, int | None]]:
    """The series' samples as (ts, value, quality), read straight from the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts, value, quality FROM timeseries_sample WHERE series_id = %s ORDER BY ts", [series.pk]
        )
        return [tuple(row) for row in cursor.fetchall()]


def sample_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM timeseries_sample")
        return cursor.fetchone()[0]
