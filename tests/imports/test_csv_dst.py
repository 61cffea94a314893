"""CSV import of wall clock times through daylight-saving changes: the repeated autumn hour read
by file order (as pandas' `ambiguous="infer"`), the choice asked for where order cannot tell,
the skipped spring hour refused, and job counts that are what was stored."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.uploads.reader import csv_decode
from apps.imports.models import ImportJob
from apps.imports.samples_csv.samples import csv_samples_parse
from apps.timeseries.export import samples_csv
from tests.factories import SeriesFactory
from tests.timeseries.helpers import stored

IMPORT = "/admin/imports/importjob/import-csv/"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _staging_dir(settings, tmp_path):
    settings.EMS_CSV_STAGING_DIR = str(tmp_path)


def utc(text: str) -> int:
    """Epoch ms of an ISO 8601 UTC time written without its Z."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def parse(text: str, org, *, repeated_hour: str = ""):
    return csv_samples_parse(
        csv_decode(text.encode()), organization=org, time_zone="Europe/Berlin", repeated_hour=repeated_hour
    )


def times_of(parsed, code: str = "main") -> list[int]:
    p = parsed.import_points
    start = 0
    for ref, length in zip(p.variables, p.lengths.tolist(), strict=True):
        if ref.meter_code == code:
            return p.ts[start : start + length].tolist()
        start += length
    return []


def messages_of(parsed) -> list[tuple[int | None, str]]:
    return [(error.index, error.message) for error in parsed.errors]


# The night of 2025-10-26 in Berlin, 15-minute rows as a logger on local time writes them:
# 02:00-02:45 twice, first in summer time (UTC+2), then in winter time (UTC+1).
NIGHT = ["01:45", "02:00", "02:15", "02:30", "02:45", "02:00", "02:15", "02:30", "02:45", "03:00"]
NIGHT_UTC = [
    utc("2025-10-25T23:45"),
    utc("2025-10-26T00:00"),  # 02:00 CEST
    utc("2025-10-26T00:15"),
    utc("2025-10-26T00:30"),
    utc("2025-10-26T00:45"),  # 02:45 CEST
    utc("2025-10-26T01:00"),  # 02:00 CET
    utc("2025-10-26T01:15"),
    utc("2025-10-26T01:30"),
    utc("2025-10-26T01:45"),  # 02:45 CET
    utc("2025-10-26T02:00"),  # 03:00 CET
]


def test_the_repeated_hour_is_read_by_file_order_first_summer_then_winter_time(org, series):
    text = "timestamp,main\n" + "".join(f"2025-10-26 {t},{i}\n" for i, t in enumerate(NIGHT))

    parsed = parse(text, org)

    assert parsed.ok, parsed.errors
    assert times_of(parsed) == NIGHT_UTC
    assert parsed.points == 10
    assert parsed.preview[5].at == "2025-10-26T01:00:00.000Z"  # the second 02:00, line 7
    assert (parsed.first_at, parsed.last_at) == ("2025-10-25T23:45:00.000Z", "2025-10-26T02:00:00.000Z")
    assert parsed.warnings == [
        "8 timestamps (first on line 3) fall in the hour repeated when daylight-saving time ends in "
        "Europe/Berlin: by the order of the lines, 4 are read as summer time and 4 as winter time."
    ]


def test_a_long_file_decides_each_series_by_the_order_of_its_own_lines(org, series):
    sub = SeriesFactory(organization=org, name="Sub", meter_code="sub")
    lines = [f"{code},2025-10-26 {t},{i}\n" for i, t in enumerate(NIGHT) for code in ("main", "sub")]

    parsed = parse("meter_code,timestamp,value\n" + "".join(lines), org)

    assert parsed.ok, parsed.errors
    assert times_of(parsed, "main") == NIGHT_UTC
    assert times_of(parsed, "sub") == NIGHT_UTC
    assert sub.pk in [c.series_id for c in parsed.columns]


CHOOSE = (
    "choose under “Repeated hour” whether {0} the earlier offset (summer time, UTC+02:00) or the later "
    "one (winter time, UTC+01:00), and preview again."
)
ONE = (
    "'2025-10-26 02:00' (line 3) falls in the hour repeated when daylight-saving time ends in "
    "Europe/Berlin, and the order of the lines does not tell which pass it means: "
) + CHOOSE.format("it takes")
FOUR = (
    "'2025-10-26 02:30' (line 2) and the 3 times after it up to line 5 fall in the hour repeated when "
    "daylight-saving time ends in Europe/Berlin, and their order does not tell which pass they mean: "
) + CHOOSE.format("they take")


@pytest.mark.parametrize(
    ("night", "message", "choice", "expected"),
    [
        # An hourly file that logged the repeated hour once: is its 02:00 summer or winter time?
        (
            ["01:00", "02:00", "03:00"],
            (3, ONE),
            "earlier",
            ["2025-10-25T23:00", "2025-10-26T00:00", "2025-10-26T02:00"],
        ),
        (
            ["01:00", "02:00", "03:00"],
            (3, ONE),
            "later",
            ["2025-10-25T23:00", "2025-10-26T01:00", "2025-10-26T02:00"],
        ),
        # Lines out of order: two steps back, not one.
        (
            ["02:30", "02:00", "02:45", "02:15"],
            (2, FOUR),
            "later",
            ["2025-10-26T01:00", "2025-10-26T01:15", "2025-10-26T01:30", "2025-10-26T01:45"],
        ),
    ],
)
def test_where_order_cannot_tell_the_user_chooses_and_the_choice_is_applied(
    org, series, night, message, choice, expected
):
    text = "timestamp,main\n" + "".join(f"2025-10-26 {t},{i}\n" for i, t in enumerate(night))

    asked = parse(text, org)

    assert not asked.ok
    assert asked.import_points is None
    assert messages_of(asked) == [message]

    chosen = parse(text, org, repeated_hour=choice)

    assert chosen.ok, chosen.errors
    assert times_of(chosen) == [utc(t) for t in expected]


def test_the_choice_applies_only_where_order_cannot_tell(org, series):
    # The night is decided by order; the single 02:30 of 2026-10-25 is not.
    text = "timestamp,main\n" + "".join(f"2025-10-26 {t},{i}\n" for i, t in enumerate(NIGHT))
    text += "2026-10-25 01:30,1\n2026-10-25 02:30,2\n2026-10-25 03:30,3\n"

    parsed = parse(text, org, repeated_hour="earlier")

    assert parsed.ok, parsed.errors
    assert times_of(parsed)[:10] == NIGHT_UTC
    assert times_of(parsed)[10:] == [
        utc("2026-10-24T23:30"),
        utc("2026-10-25T00:30"),
        utc("2026-10-25T02:30"),
    ]
    assert parsed.warnings == [
        "9 timestamps (first on line 3) fall in the hour repeated when daylight-saving time ends in "
        "Europe/Berlin: by the order of the lines, 4 are read as summer time and 4 as winter time; 1 whose "
        "order does not tell as summer time, as you chose."
    ]


def test_a_time_skipped_when_clocks_go_forward_is_an_error_of_its_line(org, series):
    parsed = parse("timestamp,main\n2025-03-30 01:45,1\n2025-03-30 02:00,2\n2025-03-30 03:00,3\n", org)

    assert messages_of(parsed) == [
        (
            3,
            "'2025-03-30 02:00' does not exist in Europe/Berlin (the clocks skip it when daylight-saving "
            "time starts).",
        )
    ]
    assert parsed.import_points is None


# --- the page and the job: a year of quarter hours -----------------------------------------------


def year_of_quarter_hours(codes: list[str]) -> tuple[str, list[int]]:
    """2025 in Berlin as a logger on local time writes it: one row per quarter hour of the year's
    35,040 instants, as wall clock time without offset (02:00-02:45 of 2025-03-30 absent, those
    of 2025-10-26 twice). Returns the file and the instants."""
    start = datetime(2025, 1, 1, tzinfo=BERLIN).astimezone(UTC)
    instants = [start + timedelta(minutes=15 * i) for i in range(365 * 96)]
    rows = [f"{t.astimezone(BERLIN):%Y-%m-%d %H:%M}" for t in instants]
    body = "".join(f"{row},{i}.5" + f",{i}" * (len(codes) - 1) + "\n" for i, row in enumerate(rows))
    return f"timestamp,{','.join(codes)}\n{body}", [int(t.timestamp() * 1000) for t in instants]


def rows_at(text: str, index: int) -> str:
    return text.splitlines()[1 + index]


def test_a_year_through_both_changes_is_stored_whole_and_the_job_counts_what_was_stored(
    manager_client, org, series, django_capture_on_commit_callbacks
):
    org.time_zone = "Europe/Berlin"
    org.save()
    sub = SeriesFactory(organization=org, name="Sub", meter_code="sub")
    text, instants = year_of_quarter_hours(["main", "sub"])
    assert len(instants) == 35_040

    response = manager_client.post(
        IMPORT, {"file": SimpleUploadedFile("year.csv", text.encode()), "preview": "Preview"}
    )
    parsed = response.context["parsed"]

    assert parsed.ok, parsed.errors
    assert parsed.points == 2 * 35_040
    assert "4 are read as summer time and 4 as winter time" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            IMPORT,
            {"upload": response.context["staged"].token, "organization": org.pk, "import": "Import"},
        )

    job = ImportJob.objects.get()
    assert (job.status, job.points, job.written) == ("done", 2 * 35_040, 2 * 35_040)
    assert [ts for ts, _, _ in stored(series)] == instants
    assert len(stored(sub)) == 35_040
    export = "".join(samples_csv(series_id=series.pk, start_ms=None, end_ms=None)).splitlines()
    assert len(export) == 1 + 35_040
    second_two_oclock = instants.index(utc("2025-10-26T01:00"))  # the second 02:00 row of the file
    assert rows_at(text, second_two_oclock) == f"2025-10-26 02:00,{second_two_oclock}.5,{second_two_oclock}"
    assert export[1 + second_two_oclock] == f"2025-10-26T01:00:00.000Z,{second_two_oclock}.5,"


def test_a_repeated_timestamp_counts_once_in_the_preview_and_the_job(
    manager_client, org, series, django_capture_on_commit_callbacks
):
    text = (
        "meter_code,timestamp,value\n"
        "main,2025-01-01T00:00Z,1\nmain,2025-01-01T00:15Z,2\nmain,2025-01-01T00:00Z,3\n"
    )

    response = manager_client.post(IMPORT, {"file": SimpleUploadedFile("d.csv", text.encode())})
    parsed = response.context["parsed"]

    assert (parsed.rows, parsed.points) == (3, 2)
    assert parsed.warnings == [
        "1 line repeats the time of an earlier line of its series: the later line wins, so 2 samples "
        "are imported."
    ]
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            IMPORT, {"upload": response.context["staged"].token, "organization": org.pk, "import": "Import"}
        )
    job = ImportJob.objects.get()
    assert (job.points, job.written) == (2, 2)
    assert stored(series) == [(utc("2025-01-01T00:00"), 3.0, None), (utc("2025-01-01T00:15"), 2.0, None)]


def test_the_page_asks_for_the_repeated_hour_and_imports_with_the_choice(
    manager_client, org, series, django_capture_on_commit_callbacks
):
    org.time_zone = "Europe/Berlin"
    org.save()
    text = "timestamp,main\n2025-10-26 01:00,1\n2025-10-26 02:00,2\n2025-10-26 03:00,3\n"

    asked = manager_client.post(IMPORT, {"file": SimpleUploadedFile("h.csv", text.encode())})

    page = asked.content.decode()
    assert 'id="import-button"' not in page
    assert 'name="repeated_hour"' in page
    token = asked.context["staged"].token
    # Import without a choice imports nothing.
    manager_client.post(IMPORT, {"upload": token, "organization": org.pk, "import": "Import"})
    assert not ImportJob.objects.exists()

    chosen = manager_client.post(IMPORT, {"upload": token, "organization": org.pk, "repeated_hour": "later"})
    assert chosen.context["parsed"].ok
    assert 'id="import-button"' in chosen.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            IMPORT, {"upload": token, "organization": org.pk, "repeated_hour": "later", "import": "Import"}
        )
    assert [ts for ts, _, _ in stored(series)] == [
        utc("2025-10-25T23:00"),
        utc("2025-10-26T01:00"),  # 02:00 CET, as chosen
        utc("2025-10-26T02:00"),
    ]
