"""CSV import of samples: the two forms, detection, time zones, line-numbered errors, the preview
and import pages, and the job they create, run in-process."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.uploads import reader
from apps.core.uploads.reader import csv_decode
from apps.core.uploads.staging import SESSION_KEY
from apps.imports.models import ImportJob
from apps.imports.payload import unpack
from apps.imports.samples_csv.samples import MAX_ERRORS, csv_import_accept, csv_samples_parse
from apps.imports.services import ImportRejected
from apps.tenancy.services import membership_grant
from apps.timeseries.models import Series
from tests.factories import SeriesFactory, UserFactory
from tests.timeseries.helpers import stored

IMPORT = "/admin/imports/importjob/import-csv/"


@pytest.fixture(autouse=True)
def _staging_dir(settings, tmp_path):
    """Uploaded files are kept between preview and import; here in the test's own directory."""
    settings.EMS_CSV_STAGING_DIR = str(tmp_path)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


@pytest.fixture
def meter(org):
    return SeriesFactory(organization=org, name="Sub meter", meter_code="sub")


def parse(text: str, org, time_zone: str = "UTC"):
    return csv_samples_parse(csv_decode(text.encode()), organization=org, time_zone=time_zone)


def points(parsed) -> list[tuple[str, int, float]]:
    """The parsed points as (identifier, ts, value), in the order they would be written."""
    result, start = [], 0
    p = parsed.import_points
    for ref, length in zip(p.variables, p.lengths.tolist(), strict=True):
        name = ref.meter_code if ref.meter_code is not None else ref.series_id
        result += [
            (name, t, v)
            for t, v in zip(
                p.ts[start : start + length].tolist(), p.values[start : start + length].tolist(), strict=True
            )
        ]
        start += length
    return result


def messages_of(parsed) -> list[tuple[int | None, str]]:
    return [(error.index, error.message) for error in parsed.errors]


# --- forms and detection --------------------------------------------------------------------------


def test_long_form_with_meter_codes_is_read_with_its_format(org, series, meter):
    parsed = parse(
        "meter_code,timestamp,value\n"
        "main,2024-03-01T00:00:00Z,12.5\n"
        "sub,2024-03-01T00:00:00Z,3\n"
        "main,2024-03-01T00:15:00.250Z,-1e3\n",
        org,
    )

    assert parsed.ok, parsed.errors
    assert (parsed.form, parsed.identifiers, parsed.delimiter, parsed.rows, parsed.points) == (
        "long",
        "meter_code",
        ",",
        3,
        3,
    )
    assert parsed.time_kind == "ISO 8601 with UTC offsets"
    assert points(parsed) == [
        ("main", ms("2024-03-01T00:00:00+00:00"), 12.5),
        ("main", ms("2024-03-01T00:15:00.250+00:00"), -1000.0),
        ("sub", ms("2024-03-01T00:00:00+00:00"), 3.0),
    ]
    assert [(c.label, c.series_id, c.points, c.series_name) for c in parsed.columns] == [
        ("main", series.pk, 2, "Main meter energy"),
        ("sub", meter.pk, 1, "Sub meter"),
    ]
    assert (parsed.first_at, parsed.last_at) == ("2024-03-01T00:00:00.000Z", "2024-03-01T00:15:00.250Z")
    assert [row.line for row in parsed.preview] == [2, 3, 4]
    assert parsed.preview[0].at == "2024-03-01T00:00:00.000Z"


def test_long_form_without_header_names_series_by_meter_code(org, series):
    parsed = parse("main,1709251200,1.5\nmain,1709251260,2.5\n", org)

    assert parsed.ok, parsed.errors
    assert (parsed.form, parsed.identifiers, parsed.header) == ("long", "meter_code", None)
    assert parsed.time_kind == "epoch seconds"
    assert points(parsed) == [("main", 1_709_251_200_000, 1.5), ("main", 1_709_251_260_000, 2.5)]


def test_long_form_with_series_ids(org, series, meter):
    parsed = parse(
        f"series_id,timestamp,value\n{meter.pk},1709251200000,7\n{series.pk},1709251200000,8\n", org
    )

    assert parsed.ok, parsed.errors
    assert parsed.identifiers == "series_id"
    assert parsed.time_kind == "epoch milliseconds"
    assert {(c.label, c.series_id) for c in parsed.columns} == {
        (str(meter.pk), meter.pk),
        (str(series.pk), series.pk),
    }


def test_wide_form_reads_one_column_per_meter_code_and_skips_empty_cells(org, series, meter):
    parsed = parse(
        "timestamp,main,sub\n2024-03-01T00:00:00Z,1.5,10\n2024-03-01T00:15:00Z,,11\n2024-03-01T00:30:00Z,2.5,\n",
        org,
    )

    assert parsed.ok, parsed.errors
    assert (parsed.form, parsed.rows, parsed.points) == ("wide", 3, 4)
    assert [(c.label, c.column, c.series_id, c.points) for c in parsed.columns] == [
        ("main", 2, series.pk, 2),
        ("sub", 3, meter.pk, 2),
    ]
    assert points(parsed) == [
        ("main", ms("2024-03-01T00:00:00+00:00"), 1.5),
        ("main", ms("2024-03-01T00:30:00+00:00"), 2.5),
        ("sub", ms("2024-03-01T00:00:00+00:00"), 10.0),
        ("sub", ms("2024-03-01T00:15:00+00:00"), 11.0),
    ]


def test_semicolons_and_decimal_commas_are_detected(org, series, meter):
    parsed = parse("Zeit;main;sub\n2024-03-01 00:00;12,5;-0,25\n", org)

    assert parsed.ok, parsed.errors
    assert (parsed.form, parsed.delimiter, parsed.decimal_comma) == ("wide", ";", True)
    assert [v for _, _, v in points(parsed)] == [12.5, -0.25]


def test_a_utf8_byte_order_mark_and_quoted_cells_are_read(org, series):
    parsed = parse('\ufeff"meter_code","timestamp","value"\r\n"main","2024-03-01T00:00:00Z","1.25"\r\n', org)

    assert parsed.ok, parsed.errors
    assert points(parsed) == [("main", ms("2024-03-01T00:00:00+00:00"), 1.25)]


@pytest.mark.parametrize(
    ("cell", "expected", "kind"),
    [
        ("1709251200", 1_709_251_200_000, "epoch seconds"),
        ("1709251200.123", 1_709_251_200_123, "epoch seconds"),
        ("1709251200.1239", 1_709_251_200_123, "epoch seconds"),
        ("1709251200123", 1_709_251_200_123, "epoch milliseconds"),
        ("99999999999", 99_999_999_999_000, "epoch seconds"),
        ("100000000000", 100_000_000_000, "epoch milliseconds"),
        ("2024-03-01", 1_709_251_200_000, "ISO 8601 without offset, read as wall clock time in UTC"),
        ("2024-03-01T01:00:00+01:00", 1_709_251_200_000, "ISO 8601 with UTC offsets"),
    ],
)
def test_timestamp_kinds_are_detected(org, series, cell, expected, kind):
    parsed = parse(f"main,{cell},1\n", org)

    assert parsed.ok, parsed.errors
    assert parsed.time_kind == kind
    assert points(parsed)[0][1] == expected


def test_a_timestamp_of_another_kind_than_the_first_is_an_error(org, series):
    parsed = parse("main,1709251200,1\nmain,1709251200000,2\nmain,2024-03-01,3\n", org)

    assert not parsed.ok
    assert messages_of(parsed) == [
        (
            2,
            "'1709251200000' is read as epoch milliseconds, but the file's timestamps are epoch seconds "
            "(line 1).",
        ),
        (3, "'2024-03-01' is read as ISO 8601, but the file's timestamps are epoch seconds (line 1)."),
    ]


# --- time zones -----------------------------------------------------------------------------------


def test_naive_timestamps_are_wall_clock_times_in_the_chosen_zone(org, series):
    text = "main,2024-01-15 12:00,1\nmain,2024-07-15 12:00,2\nmain,2024-07-15T12:00:00Z,3\n"

    parsed = parse(text, org, time_zone="Europe/Zurich")

    assert parsed.ok, parsed.errors
    assert [t for _, t, _ in points(parsed)] == [
        ms("2024-01-15T11:00:00+00:00"),  # CET, UTC+1
        ms("2024-07-15T10:00:00+00:00"),  # CEST, UTC+2
        ms("2024-07-15T12:00:00+00:00"),  # an offset wins over the zone
    ]
    assert parsed.time_kind == (
        "ISO 8601: 1 with a UTC offset, 2 without one (read as wall clock time in Europe/Zurich)"
    )


def test_a_lone_ambiguous_wall_time_takes_the_chosen_offset(org, series):
    # 2024-10-27 in Zurich: 03:00 CEST becomes 02:00 CET; 02:30 happens twice, and one line of it
    # does not say which (tests/imports/test_csv_dst.py has the cases order decides).
    text = "main,2024-10-27 01:30,1\nmain,2024-10-27 02:30,2\nmain,2024-10-27 03:30,3\n"

    asked = csv_samples_parse(csv_decode(text.encode()), organization=org, time_zone="Europe/Zurich")
    chosen = csv_samples_parse(
        csv_decode(text.encode()), organization=org, time_zone="Europe/Zurich", repeated_hour="earlier"
    )

    assert (asked.error_count, asked.undecided, asked.errors[0].index) == (1, 1, 2)
    assert chosen.ok, chosen.errors
    assert [t for _, t, _ in points(chosen)] == [
        ms("2024-10-26T23:30:00+00:00"),
        ms("2024-10-27T00:30:00+00:00"),  # the first 02:30, still summer time (UTC+2)
        ms("2024-10-27T02:30:00+00:00"),
    ]
    assert chosen.warnings == [
        "1 timestamp (first on line 2) falls in the hour repeated when daylight-saving time ends in "
        "Europe/Zurich: 1 whose order does not tell as summer time, as you chose."
    ]


def test_a_wall_time_skipped_by_daylight_saving_time_is_a_line_error(org, series):
    parsed = parse("main,2024-03-31 01:30,1\nmain,2024-03-31 02:30,2\n", org, "Europe/Zurich")

    assert not parsed.ok
    assert messages_of(parsed) == [
        (
            2,
            "'2024-03-31 02:30' does not exist in Europe/Zurich (the clocks skip it when daylight-saving "
            "time starts).",
        )
    ]


# --- errors ---------------------------------------------------------------------------------------


def test_every_bad_line_is_reported_with_its_number(org, series):
    parsed = parse(
        "meter_code,timestamp,value\n"
        "main,2024-03-01T00:00:00Z,1\n"
        "main,yesterday,1\n"
        "main,2024-03-01T00:01:00Z,abc\n"
        "main,2024-03-01T00:02:00Z,nan\n"
        "main,2024-03-01T00:03:00Z,\n"
        "main,2024-03-01T00:04:00Z\n"
        "\n"
        "main,1969-12-31T23:59:59Z,1\n",
        org,
    )

    assert not parsed.ok
    assert parsed.import_points is None
    assert messages_of(parsed) == [
        (
            3,
            "'yesterday' is not a timestamp (ISO 8601 like 2024-03-01T12:00:00Z, or epoch seconds or "
            "milliseconds).",
        ),
        (4, "'abc' is not a number."),
        (5, "'nan' is not a finite number."),
        (6, "The value is missing."),
        (7, "Expected 3 cells (identifier, timestamp, value), found 2."),
        (9, "'1969-12-31T23:59:59Z' is out of range: timestamps lie between 1970-01-01 and 9999-12-31 UTC."),
    ]


def test_wide_form_errors_name_their_column(org, series, meter):
    parsed = parse("timestamp,main,sub,main\n2024-03-01,1,x,2\n", org)

    assert messages_of(parsed) == [(1, "Column 4 repeats meter code 'main' of column 2.")]

    parsed = parse("timestamp,main,sub\n2024-03-01,1,x\n2024-03-02,1,2,3\n", org)

    assert [(e.index, e.field, e.message) for e in parsed.errors] == [
        (2, "column 3", "'x' is not a number (sub)."),
        (3, None, "Expected at most 3 cells, as in the header, found 4."),
    ]


def test_errors_are_listed_up_to_a_cap_and_all_counted(org, series):
    text = "main,2024-03-01T00:00:00Z,1\n" + "main,2024-03-01T00:00:00Z,bad\n" * (MAX_ERRORS + 20)

    parsed = parse(text, org)

    assert parsed.error_count == MAX_ERRORS + 20
    assert len(parsed.errors) == MAX_ERRORS
    assert parsed.more_errors == 20
    assert parsed.errors[0].index == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"main,2024-03-01,1\nmain,\xff,1\n", "The file is not UTF-8 text"),
        (b'main,"2024-03-01,1\n', "Unreadable CSV (broken quoting?)"),
        (b"a,b\nc,d\n", "Cannot tell the form of the file"),
        (b"a,b,c\nd\n", "Cannot tell the form of the file"),
        (b"meter_code,timestamp,value\n", "The file holds no samples."),
    ],
)
def test_unreadable_files_are_errors_not_crashes(org, series, data, message):
    try:
        parsed = csv_samples_parse(csv_decode(data), organization=org, time_zone="UTC")
        errors = [error.message for error in parsed.errors]
    except Exception as exc:  # csv_decode raises Invalid for the file as a whole
        errors = [exc.message]
    assert len(errors) == 1
    assert errors[0].startswith(message)


def test_meter_codes_of_another_organization_are_unknown_like_missing_ones(org, other_org, series):
    SeriesFactory(organization=other_org, meter_code="theirs")
    foreign = SeriesFactory(organization=other_org, meter_code="also-theirs")

    parsed = parse("main,2024-03-01,1\ntheirs,2024-03-01,1\ntheirs,2024-03-02,1\nnowhere,2024-03-01,1\n", org)
    by_id = parse(f"series_id,timestamp,value\n{foreign.pk},2024-03-01,1\n", org)

    assert messages_of(parsed) == [
        (2, "No series with meter code 'theirs' in Acme (2 samples)."),
        (4, "No series with meter code 'nowhere' in Acme."),
    ]
    assert [c.series_id for c in parsed.columns] == [series.pk, None, None]
    assert messages_of(by_id) == [(2, f"No series with id {foreign.pk} in Acme.")]


# --- accepting and running ------------------------------------------------------------------------


@pytest.fixture
def manager(org):
    user = UserFactory(username="manager", is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])
    return user


def test_an_accepted_file_becomes_a_csv_job_that_stores_the_values_exactly(
    org, series, meter, manager, django_capture_on_commit_callbacks
):
    parsed = parse(
        "timestamp,main,sub\n"
        "2024-03-01T00:00:00Z,0.1,1e-300\n"
        "2024-03-01T00:00:00.001Z,123456789.123456789,-0\n"
        "2024-03-01T00:00:00Z,0.30000000000000004,\n",
        org,
    )

    with django_capture_on_commit_callbacks() as enqueued:
        job = csv_import_accept(organization=org, user=manager, parsed=parsed)
    # The job holds every value exactly until it is done, each (series, time) once: the later
    # line of a repeated timestamp wins, as in every import.
    assert unpack(bytes(ImportJob.objects.get(pk=job.pk).payload)).values.tolist() == [
        0.30000000000000004,
        123456789.123456789,
        1e-300,
        -0.0,
    ]
    for callback in enqueued:
        callback()

    job.refresh_from_db()
    assert (job.dialect, job.user, job.status, job.points, job.written) == ("csv", manager, "done", 4, 4)
    assert job.series_ids == sorted([series.pk, meter.pk])
    t0 = ms("2024-03-01T00:00:00+00:00")
    assert stored(series) == [(t0, 0.30000000000000004, None), (t0 + 1, 123456789.123456789, None)]
    assert stored(meter) == [(t0, 1e-300, None), (t0 + 1, -0.0, None)]


def test_a_series_deleted_after_the_preview_is_reported_on_its_line(org, series, meter, manager):
    parsed = parse("timestamp,main,sub\n2024-03-01,1,2\n", org)
    Series.objects.filter(pk=meter.pk).delete()

    with pytest.raises(ImportRejected) as caught:
        csv_import_accept(organization=org, user=manager, parsed=parsed)

    assert [(e.index, e.field, e.message) for e in caught.value.errors] == [
        (1, "column 3", "Series 'sub' no longer exists in Acme.")
    ]
    assert not ImportJob.objects.exists()


# --- the pages ------------------------------------------------------------------------------------


def upload(text: str, name: str = "meters.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def preview(client, text: str, **data):
    return client.post(IMPORT, {"file": upload(text), "preview": "Preview", **data})


def test_the_import_page_previews_and_then_imports_as_a_job(
    manager_client, org, series, manager, django_capture_on_commit_callbacks
):
    page = manager_client.get(IMPORT)
    assert page.status_code == 200
    assert b'type="file"' in page.content

    response = preview(manager_client, "meter_code,timestamp,value\nmain,2024-03-01T00:00:00Z,1.5\n")

    assert response.status_code == 200
    parsed, staged = response.context["parsed"], response.context["staged"]
    assert parsed.ok
    text = response.content.decode()
    assert 'id="import-button"' in text
    assert "Long: one sample a line" in text
    assert "Main meter energy" in text
    assert not ImportJob.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            IMPORT, {"upload": staged.token, "organization": org.pk, "time_zone": "", "import": "Import"}
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/imports/importjob/{job.pk}/progress/"
    assert (job.dialect, job.user, job.organization, job.status) == ("csv", manager, org, "done")
    assert stored(series) == [(ms("2024-03-01T00:00:00+00:00"), 1.5, None)]
    # The staged file is gone with its import: the same token imports nothing twice.
    assert staged.token not in manager_client.session.get(SESSION_KEY, {})
    again = manager_client.post(IMPORT, {"upload": staged.token, "organization": org.pk, "import": "Import"})
    assert again.status_code == 200
    assert ImportJob.objects.count() == 1


def test_naive_times_default_to_the_organizations_time_zone(manager_client, org, series):
    org.time_zone = "Europe/Zurich"
    org.save()

    response = preview(manager_client, "main,2024-07-15 12:00,1\n", organization=org.pk)
    chosen = preview(manager_client, "main,2024-07-15 12:00,1\n", organization=org.pk, time_zone="UTC")

    assert response.context["parsed"].preview[0].at == "2024-07-15T10:00:00.000Z"
    assert chosen.context["parsed"].preview[0].at == "2024-07-15T12:00:00.000Z"


def test_a_file_with_errors_shows_them_by_line_and_offers_no_import(manager_client, series):
    response = preview(manager_client, "main,2024-03-01,1\nmain,2024-03-01,x\nnope,2024-03-01,1\n")

    assert response.status_code == 200
    text = response.content.decode()
    assert "<strong>Line 2</strong>: &#x27;x&#x27; is not a number." in text
    assert "<strong>Line 3</strong>: No series with meter code &#x27;nope&#x27; in Acme." in text
    assert 'id="import-button"' not in text


def test_a_new_file_is_previewed_even_when_import_is_pressed(manager_client, series):
    response = manager_client.post(IMPORT, {"file": upload("main,2024-03-01,1\n"), "import": "Import"})

    assert response.status_code == 200
    assert response.context["parsed"].ok
    assert not ImportJob.objects.exists()


def test_a_forged_or_foreign_upload_token_finds_nothing(manager_client, client, org, series, other_org):
    response = preview(manager_client, "main,2024-03-01,1\n")
    token = response.context["staged"].token
    intruder = UserFactory(is_staff=True)
    membership_grant(user=intruder, organization=org, role_slugs=["facility-manager"])
    client.force_login(intruder)  # another session

    for forged in (token, "0" * 32, "../../etc/passwd"):
        response = client.post(IMPORT, {"upload": forged, "organization": org.pk, "import": "Import"})
        assert response.status_code == 200
        assert response.context["parsed"] is None
        assert "no longer kept here" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_refused_clearly(manager_client, series, monkeypatch):
    monkeypatch.setattr(reader, "MAX_BYTES", 100)

    response = preview(manager_client, "main,2024-03-01,1\n" * 10)

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["The file is larger than 100 bytes (180 bytes)."]
    assert response.context["parsed"] is None


def test_another_organizations_meter_codes_are_unknown_on_the_page(manager_client, org, other_org):
    SeriesFactory(organization=other_org, meter_code="theirs")

    response = preview(manager_client, "theirs,2024-03-01,1\n")

    assert response.context["parsed"].errors[0].message == "No series with meter code 'theirs' in Acme."


def test_a_member_cannot_import_into_another_organization(manager_client, other_org):
    SeriesFactory(organization=other_org, meter_code="theirs")

    response = preview(manager_client, "theirs,2024-03-01,1\n", organization=other_org.pk)

    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert response.context["parsed"] is None


def test_only_organizations_where_the_user_may_change_series_are_offered(
    manager_client, manager, org, other_org
):
    # A member of the other organization too, with a role that grants nothing about series there.
    membership_grant(user=manager, organization=other_org, role_slugs=["api"])
    SeriesFactory(organization=other_org, meter_code="theirs")

    page = manager_client.get(IMPORT)
    response = preview(manager_client, "theirs,2024-03-01,1\n", organization=other_org.pk)

    assert list(page.context["form"].fields["organization"].queryset) == [org]
    assert "organization" in response.context["form"].errors
    assert response.context["parsed"] is None


def test_importing_needs_the_change_series_permission(client, org):
    viewer = UserFactory(is_staff=True)
    membership_grant(user=viewer, organization=org, role_slugs=[])
    viewer.user_permissions.add(Permission.objects.get(codename="view_series"))
    client.force_login(viewer)

    assert client.get(IMPORT).status_code == 403
    assert client.post(IMPORT, {"file": upload("main,2024-03-01,1\n")}).status_code == 403


def test_the_pages_need_a_staff_login(client):
    response = client.get(IMPORT)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- the job page ---------------------------------------------------------------------------------


@pytest.fixture
def job(org, series, manager, django_capture_on_commit_callbacks):
    parsed = parse("main,2024-03-01,1\nmain,2024-03-02,2\n", org)
    with django_capture_on_commit_callbacks(execute=False):
        return csv_import_accept(organization=org, user=manager, parsed=parsed)


def test_the_job_page_shows_the_progress_and_links_the_series(manager_client, job, series):
    response = manager_client.get(f"/admin/imports/importjob/{job.pk}/progress/")

    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-state="queued"' in text
    assert 'max="2" value="0"' in text
    assert f'href="/admin/timeseries/series/{series.pk}/change/"' in text
    assert "ems/import_progress.js" in text


def test_the_job_status_is_json_until_done(manager_client, job):
    from apps.imports.services import import_run

    queued = manager_client.get(f"/admin/imports/importjob/{job.pk}/status/").json()
    import_run(job_id=job.pk)
    done = manager_client.get(f"/admin/imports/importjob/{job.pk}/status/").json()

    assert queued == {
        "id": str(job.pk),
        "status": "queued",
        "points": 2,
        "written": 0,
        "percent": 0,
        "error": "",
        "finished": False,
    }
    assert (done["status"], done["written"], done["percent"], done["finished"]) == ("done", 2, 100, True)


def test_another_organizations_job_is_not_found(client, job, other_org):
    outsider = UserFactory(is_staff=True)
    membership_grant(user=outsider, organization=other_org, role_slugs=["facility-manager"])
    client.force_login(outsider)

    assert client.get(f"/admin/imports/importjob/{job.pk}/progress/").status_code == 404
    assert client.get(f"/admin/imports/importjob/{job.pk}/status/").status_code == 404
    assert client.get(f"/admin/imports/importjob/{job.pk}/status/").json() == {"error": "not found"}


@pytest.mark.parametrize(
    ("first", "cell", "message"),
    [
        ("9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00Z", "'0001-01-01T00:00:00Z' is out of range"),
        (
            "9999-12-31T23:59:59.999Z",
            "9999-12-31T23:59:59.999-00:01",
            "'9999-12-31T23:59:59.999-00:01' is out of range",
        ),
        ("9999-12-31T23:59:59.999Z", "10000-01-01T00:00:00Z", "'10000-01-01T00:00:00Z' is not a timestamp"),
        ("253402300799999", "253402300800000", "'253402300800000' is out of range"),
        ("253402300799999", "99999999999999999999", "'99999999999999999999' is out of range"),
    ],
)
def test_a_time_outside_the_accepted_range_is_an_error_of_its_line_and_nothing_is_written(
    manager_client, org, series, first, cell, message, django_capture_on_commit_callbacks
):
    response = preview(manager_client, f"main,{first},1\nmain,{cell},2\n")
    token = response.context["staged"].token
    with django_capture_on_commit_callbacks(execute=True):
        imported = manager_client.post(IMPORT, {"upload": token, "organization": org.pk, "import": "Import"})

    parsed = response.context["parsed"]
    assert [(error.index, error.message[: len(message)]) for error in parsed.errors] == [(2, message)]
    assert 'id="import-button"' not in response.content.decode()
    assert imported.status_code == 200
    assert not ImportJob.objects.exists()
    assert stored(series) == []
