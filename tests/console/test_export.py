"""The export of several series (docs/energy.md, "Export"): /admin/analytics/export.csv and
export.xlsx, and the form at /admin/analytics/export/."""

import csv
import io
from datetime import UTC, date, datetime
from itertools import pairwise
from urllib.parse import urlencode

import openpyxl
import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from apps.console.export import LONG, ExportRequest, export_records
from apps.core.uploads.reader import csv_decode
from apps.imports.samples_csv.samples import csv_import_accept, csv_samples_parse
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Sample, VirtualSource
from apps.timeseries.services import samples_delete
from apps.timeseries.store import Policy, SampleBatch, write
from tests.factories import SeriesFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db

CSV_URL = "/admin/analytics/export.csv"
XLSX_URL = "/admin/analytics/export.xlsx"


def ms(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def put(series, ts, values):
    write(SampleBatch([series.pk] * len(ts), list(ts), list(values)), Policy.OVERWRITE)


def query(*series, url=CSV_URL, start="2024-03-30", end="2024-04-01", **other) -> str:
    params = [("series", str(one.pk if hasattr(one, "pk") else one)) for one in series]
    params += [(k, v) for k, v in {"start": start, "end": end, **other}.items() if v is not None]
    return f"{url}?{urlencode(params)}"


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def hall(org):
    return SiteFactory(organization=org, name="Hall", time_zone="Europe/Berlin")


@pytest.fixture
def main(org, hall):
    """Berlin: the clocks go forward on 2024-03-31 at 02:00 (01:00 UTC)."""
    main = SeriesFactory(organization=org, site=hall, name="Main", meter_code="main", unit="kW")
    put(
        main,
        [
            ms(2024, 3, 29, 22, 59),  # 2024-03-29 23:59 local: before the range
            ms(2024, 3, 30, 23),  # 2024-03-31 00:00+01:00
            ms(2024, 3, 31, 1),  # 2024-03-31 03:00+02:00
            ms(2024, 3, 31, 12, 0, 0, 250_000),  # 14:00:00.250+02:00
            ms(2024, 3, 31, 22),  # 2024-04-01 00:00+02:00: after the range
        ],
        [9.0, 1.5, 2.25, 3.0, 9.0],
    )
    return main


@pytest.fixture
def sub(org, hall):
    sub = SeriesFactory(organization=org, site=hall, name="Sub; east", unit="kW")
    put(sub, [ms(2024, 3, 31, 1), ms(2024, 3, 31, 2)], [0.1, -4.0])
    return sub


# --- CSV bodies ----------------------------------------------------------------------------------


def test_long_samples_in_utc(manager_client, main, sub):
    response = manager_client.get(query(main, sub))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="export_samples_20240330_20240401.csv"'
    assert body(response) == (
        "series_id,timestamp,value\r\n"
        f"{main.pk},2024-03-30T23:00:00.000Z,1.5\r\n"
        f"{main.pk},2024-03-31T01:00:00.000Z,2.25\r\n"
        f"{main.pk},2024-03-31T12:00:00.250Z,3.0\r\n"
        f"{sub.pk},2024-03-31T01:00:00.000Z,0.1\r\n"
        f"{sub.pk},2024-03-31T02:00:00.000Z,-4.0\r\n"
    )


def test_long_samples_in_local_time_across_the_dst_change(manager_client, main):
    response = manager_client.get(query(main, time="local"))

    assert body(response) == (
        "series_id,timestamp,value\r\n"
        f"{main.pk},2024-03-31T00:00:00.000+01:00,1.5\r\n"
        f"{main.pk},2024-03-31T03:00:00.000+02:00,2.25\r\n"
        f"{main.pk},2024-03-31T14:00:00.250+02:00,3.0\r\n"
    )


def test_semicolons_and_decimal_commas_read_back_with_the_csv_module(manager_client, main, sub):
    text = body(manager_client.get(query(main, sub, delimiter=";", decimal=",")))

    assert text.splitlines()[:2] == ["series_id;timestamp;value", f"{main.pk};2024-03-30T23:00:00.000Z;1,5"]
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert [(int(i), t, float(v.replace(",", "."))) for i, t, v in rows[1:]] == [
        (main.pk, "2024-03-30T23:00:00.000Z", 1.5),
        (main.pk, "2024-03-31T01:00:00.000Z", 2.25),
        (main.pk, "2024-03-31T12:00:00.250Z", 3.0),
        (sub.pk, "2024-03-31T01:00:00.000Z", 0.1),
        (sub.pk, "2024-03-31T02:00:00.000Z", -4.0),
    ]


def test_wide_samples_one_column_per_series(manager_client, main, sub):
    text = body(manager_client.get(query(main, sub, shape="wide", time="local", delimiter=";", decimal=",")))

    assert text == (
        'timestamp;main;"Sub; east"\r\n'
        "2024-03-31T00:00:00.000+01:00;1,5;\r\n"
        "2024-03-31T03:00:00.000+02:00;2,25;0,1\r\n"
        "2024-03-31T04:00:00.000+02:00;;-4,0\r\n"
        "2024-03-31T14:00:00.250+02:00;3,0;\r\n"
    )
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == ["timestamp", "main", "Sub; east"]


def test_long_statistics_per_local_day(manager_client, main):
    utc = body(manager_client.get(query(main, bucket="day")))
    local = body(manager_client.get(query(main, bucket="day", time="local")))

    assert utc == (
        "series_id,start,count,total,mean,min,max\r\n"
        f"{main.pk},2024-03-29T23:00:00.000Z,0,,,,\r\n"
        f"{main.pk},2024-03-30T23:00:00.000Z,3,,2.25,1.5,3.0\r\n"
    )
    assert local == (
        "series_id,start,count,total,mean,min,max\r\n"
        f"{main.pk},2024-03-30T00:00:00.000+01:00,0,,,,\r\n"
        f"{main.pk},2024-03-31T00:00:00.000+01:00,3,,2.25,1.5,3.0\r\n"
    )


def test_wide_statistics_per_hour_across_the_dst_change(manager_client, main, sub):
    text = body(
        manager_client.get(query(main, sub, start="2024-03-31", bucket="hour", time="local", shape="wide"))
    )

    assert text.split("\r\n")[0] == (
        "start,main count,main total,main mean,main min,main max,"
        "Sub; east count,Sub; east total,Sub; east mean,Sub; east min,Sub; east max"
    )
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == [
        "start",
        *(f"main {f}" for f in ("count", "total", "mean", "min", "max")),
        *(f"Sub; east {f}" for f in ("count", "total", "mean", "min", "max")),
    ]
    assert len(rows) == 1 + 23  # a 23-hour day
    assert rows[1:5] == [
        ["2024-03-31T00:00:00.000+01:00", "1", "", "1.5", "1.5", "1.5", "0", "", "", "", ""],
        ["2024-03-31T01:00:00.000+01:00", "0", "", "", "", "", "0", "", "", "", ""],
        ["2024-03-31T03:00:00.000+02:00", "1", "", "2.25", "2.25", "2.25", "1", "", "0.1", "0.1", "0.1"],
        ["2024-03-31T04:00:00.000+02:00", "0", "", "", "", "", "1", "", "-4.0", "-4.0", "-4.0"],
    ]


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_of_statistics_reads_back_with_openpyxl(manager_client, main, sub):
    response = manager_client.get(query(main, sub, url=XLSX_URL, bucket="day", time="local"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="export_day_20240330_20240401.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert list(book["statistics"].values) == [
        ("series_id", "start", "count", "total", "mean", "min", "max"),
        (main.pk, "2024-03-30T00:00:00.000+01:00", 0, None, None, None, None),
        (main.pk, "2024-03-31T00:00:00.000+01:00", 3, None, 2.25, 1.5, 3.0),
        (sub.pk, "2024-03-30T00:00:00.000+01:00", 0, None, None, None, None),
        (sub.pk, "2024-03-31T00:00:00.000+01:00", 2, None, -1.95, -4.0, 0.1),
    ]


def test_xlsx_past_a_worksheets_rows_is_refused_for_csv(manager_client, org):
    many = SeriesFactory.create_batch(50, organization=org)
    # 219 days of quarter-hours: 21,024 rows a series, 1,051,200 with the header
    response = manager_client.get(
        query(*many, url=XLSX_URL, start="2024-01-01", end="2024-08-07", bucket="quarter_hour")
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "1,051,201 rows do not fit a worksheet (1,048,576 at most): use CSV, or a longer bucket",
        "field": "bucket",
    }


def test_xlsx_holds_statistics_only(manager_client, main):
    response = manager_client.get(query(main, url=XLSX_URL))

    assert response.status_code == 400
    assert response.json()["field"] == "bucket"
    assert "as CSV" in response.json()["error"]


# --- the round trip ------------------------------------------------------------------------------


def test_a_long_export_reimports_as_is_to_the_same_stored_values(
    manager_client, org, hall, django_capture_on_commit_callbacks
):
    meter = SeriesFactory(organization=org, site=hall, meter_code="m1")
    other = SeriesFactory(organization=org, site=hall)
    times = [ms(2024, 3, 30, 23), ms(2024, 3, 31, 0, 59, 59, 999_000), ms(2024, 3, 31, 1), ms(2024, 3, 31, 5)]
    put(meter, times, [0.1, 1e-300, 123456789.123456789, -0.0])
    put(other, times[:2], [0.30000000000000004, 1e300])
    stored = list(Sample.objects.order_by("series_id", "ts").values_list("series_id", "ts", "value"))
    manager = UserFactory(is_staff=True)
    membership_grant(user=manager, organization=org, role_slugs=["facility-manager"])

    for params in ({}, {"delimiter": ";", "decimal": ",", "time": "local"}):
        text = body(manager_client.get(query(meter, other, **params)))
        for one in (meter, other):
            samples_delete(series_id=one.pk, start_ms=0, end_ms=ms(2025, 1, 1))
        assert not Sample.objects.exists()

        parsed = csv_samples_parse(csv_decode(text.encode()), organization=org, time_zone="UTC")
        assert (parsed.form, parsed.error_count, parsed.points) == ("long", 0, 6)
        with django_capture_on_commit_callbacks(execute=True):
            csv_import_accept(organization=org, user=manager, parsed=parsed)

        again = list(Sample.objects.order_by("series_id", "ts").values_list("series_id", "ts", "value"))
        assert again == stored
        assert [str(v) for *_, v in again] == [str(v) for *_, v in stored]  # -0.0 stays -0.0


# --- streaming -----------------------------------------------------------------------------------


def test_samples_are_read_a_page_at_a_time(main, sub):
    wanted = ExportRequest(
        [main.pk, sub.pk], date(2024, 3, 30), date(2024, 4, 1), None, LONG, "utc", ",", "."
    )
    records = export_records(wanted, [main, sub], page=2)

    with CaptureQueriesContext(connection) as queries:
        assert next(records) == ["series_id", "timestamp", "value"]
        assert next(records)[2] == "1.5"
    reads = [q["sql"] for q in queries.captured_queries if "timeseries_sample" in q["sql"]]
    assert len(reads) == 1  # one page of 2 read, not the history

    with CaptureQueriesContext(connection) as queries:
        rest = list(records)
    reads += [q["sql"] for q in queries.captured_queries if "timeseries_sample" in q["sql"]]
    assert len(rest) == 4
    # main: pages of 2, 1 (3 samples); sub: pages of 2, 0
    assert len(reads) == 4
    assert all(sql.rstrip().endswith("LIMIT 2") for sql in reads)


def test_the_csv_is_streamed(manager_client, main):
    response = manager_client.get(query(main))

    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": None}, "start", "start is required (YYYY-MM-DD)"),
        ({"start": "2024-3-30"}, "start", "start must be a date, YYYY-MM-DD"),
        ({"end": "2024-02-30"}, "end", "end is not a date of the calendar"),
        ({"end": "2024-03-30"}, "end", "end must be after start"),
        (
            {"bucket": "minute"},
            "bucket",
            "bucket must be one of samples, quarter_hour, hour, day, week, month, year",
        ),
        (
            {"bucket": "quarter_hour", "start": "2000-01-01"},
            "end",
            "the range holds more than 200,000 buckets",
        ),
        ({"shape": "tall"}, "shape", "shape must be one of 'long', 'wide'"),
        ({"time": "cet"}, "time", "time must be one of 'utc', 'local'"),
        ({"delimiter": "|"}, "delimiter", "delimiter must be one of ',', ';'"),
        ({"decimal": "x"}, "decimal", "decimal must be one of '.', ','"),
        ({"decimal": ","}, "decimal", "decimal ',' cannot be the delimiter too: use ';' with ','"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_parameter(manager_client, main, params, field, message):
    response = manager_client.get(query(main, **params))

    assert response.status_code == 400
    assert response.json() == {"error": message, "field": field}


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ([], "series is required: one or more series ids"),
        (["x1"], "series must be series ids, not 'x1'"),
        ([str(n) for n in range(1, 52)], "at most 50 series an export"),
    ],
)
def test_bad_series_are_a_400(manager_client, series, message):
    response = manager_client.get(query(*series))

    assert response.status_code == 400
    assert response.json() == {"error": message, "field": "series"}


def test_what_the_series_cannot_answer_is_a_400(manager_client, org, main):
    utc = SeriesFactory(organization=org, name="In UTC")
    virtual = SeriesFactory(organization=org, site=main.site, kind="virtual")
    VirtualSource.objects.create(virtual=virtual, source=main)
    loop = SeriesFactory(organization=org, kind="virtual")
    VirtualSource.objects.create(virtual=loop, source=loop)

    cases = [
        (query(main, utc, bucket="day", shape="wide"), "shape"),
        (query(main, utc, shape="wide", time="local"), "time"),
        (query(virtual), "bucket"),
        (query(loop, bucket="day"), "series"),
    ]
    for url, field in cases:
        response = manager_client.get(url)
        assert (response.status_code, response.json()["field"]) == (400, field), url
    # what can be answered is
    assert manager_client.get(query(main, utc, shape="wide")).status_code == 200
    assert manager_client.get(query(virtual, bucket="day")).status_code == 200


def test_another_organizations_series_is_not_found(manager_client, main, other_org):
    theirs = SeriesFactory(organization=other_org)

    for missing in (theirs.pk, theirs.pk + 1000):
        for url in (CSV_URL, XLSX_URL):
            response = manager_client.get(query(main, missing, url=url, bucket="day"))
            assert response.status_code == 404
            assert response.json() == {"error": f"series {missing} not found", "field": "series"}


def test_anonymous_and_non_staff_users_are_sent_to_the_login(client, org, main):
    for url in (query(main), query(main, url=XLSX_URL, bucket="day"), "/admin/analytics/export/"):
        assert client.get(url).status_code == 302
    member = UserFactory(is_staff=False)
    membership_grant(user=member, organization=org, role_slugs=["facility-manager"])
    client.force_login(member)
    for url in (query(main), query(main, url=XLSX_URL, bucket="day"), "/admin/analytics/export/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_only_get(manager_client, main):
    assert manager_client.post(query(main)).status_code == 405


# --- the form ------------------------------------------------------------------------------------


def test_the_form_lists_the_users_series_only(manager_client, main, other_org):
    SeriesFactory(organization=other_org, name="Theirs")

    response = manager_client.get("/admin/analytics/export/")

    assert response.status_code == 200
    text = response.content.decode()
    assert f'<option value="{main.pk}">Main (main)</option>' in text
    assert "Theirs" not in text
    assert 'action="/admin/analytics/export.csv"' in text
    assert 'formaction="/admin/analytics/export.xlsx"' in text


def test_the_series_list_links_the_form(manager_client, main):
    response = manager_client.get("/admin/timeseries/series/")

    assert response.status_code == 200
    assert '<a href="/admin/analytics/export/">Export series</a>' in response.content.decode()


def test_wide_statistics_read_in_chunks_of_days_join_without_a_gap(manager_client, main, sub):
    text = body(
        manager_client.get(
            query(main, sub, start="2024-03-01", end="2024-04-05", bucket="hour", shape="wide")
        )
    )

    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    starts = [datetime.fromisoformat(row[0]) for row in rows]
    assert len(rows) == 35 * 24 - 1  # 35 local days, one of 23 hours; read as two chunks of days
    assert all((b - a).total_seconds() == 3600 for a, b in pairwise(starts))
    assert sum(int(row[1]) for row in rows) == 5  # every sample of main, once
