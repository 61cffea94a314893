import pytest
from django.db import connection

from tests.factories import SeriesFactory


@pytest.fixture
def add_samples(db):
    """Insert (ts, value[, quality]) rows for a series with plain SQL.

    The query tests stand on their own: they do not depend on the store's write path.
    """

    def add(series, rows):
        params = [(series.pk, row[0], row[1], row[2] if len(row) > 2 else None) for row in rows]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO timeseries_sample (series_id, ts, value, quality) VALUES (%s, %s, %s, %s)",
                params,
            )

    return add


@pytest.fixture
def other_series(org):
    return SeriesFactory(organization=org, name="Sub meter energy", meter_code="sub")
