"""The import body's numbers: exact conversion to milliseconds over the whole accepted range."""

import random

import numpy as np
import orjson
import pytest

from apps.api.iotorq.parsing import parse_import
from apps.imports.services import ImportRejected
from apps.timeseries.store import MAX_TS_MS as MAX_MS


def parse_timestamps(texts: list[str], unit: str = "s") -> np.ndarray:
    body = (
        b'[{"id_type": "pk", "id_value": 1, "series": {"datetime": [%s], "val": [%s], "time_unit": "%s"}}]'
        % (
            ",".join(texts).encode(),
            ",".join(["0"] * len(texts)).encode(),
            unit.encode(),
        )
    )
    return parse_import(orjson.loads(body)).ts


def test_every_whole_millisecond_written_in_seconds_converts_exactly():
    rng = random.Random(20170515)
    wanted = [rng.randrange(0, MAX_MS + 1) for _ in range(200_000)]
    wanted += [0, 1, 999, 1000, 1494880000123, MAX_MS - 1, MAX_MS]
    texts = [f"{ms // 1000}.{ms % 1000:03d}" for ms in wanted]
    # Shortest forms too: "1.5" and "1.12" are what serializers write.
    texts += [f"{ms // 1000}.{ms % 1000:03d}".rstrip("0").rstrip(".") for ms in wanted]

    assert parse_timestamps(texts).tolist() == wanted + wanted


def test_a_finer_fraction_is_truncated_to_its_millisecond():
    rng = random.Random(1)
    wanted = [rng.randrange(0, MAX_MS) for _ in range(100_000)]
    texts = [f"{ms // 1000}.{ms % 1000:03d}{rng.randrange(1, 10)}" for ms in wanted]

    assert parse_timestamps(texts).tolist() == wanted


def test_milliseconds_as_integers_and_as_floats_are_exact():
    rng = random.Random(2)
    wanted = [rng.randrange(0, MAX_MS + 1) for _ in range(100_000)]

    assert parse_timestamps([str(ms) for ms in wanted], "ms").tolist() == wanted
    assert parse_timestamps([f"{ms}.0" for ms in wanted], "ms").tolist() == wanted
    assert parse_timestamps([f"{ms}e0" for ms in wanted[:10]], "ms").tolist() == wanted[:10]


@pytest.mark.parametrize("text", [str(2**63), str(2**64 - 1), "1e19", str(MAX_MS // 1000 + 1), "-0.001"])
def test_timestamps_out_of_range_are_refused_whatever_their_form(text):
    with pytest.raises(ImportRejected) as caught:
        parse_timestamps([text])

    assert caught.value.errors[0].field == "series.datetime"
    assert "out of range" in caught.value.errors[0].message


def test_values_keep_their_double_precision():
    body = [
        {"id_type": "pk", "id_value": 1, "series": {"datetime": [1, 2, 3], "val": [0.1, 2**53 + 1, -1e300]}}
    ]

    assert parse_import(body).values.tolist() == [0.1, float(2**53 + 1), -1e300]


def test_the_body_is_read_no_further_than_the_limit():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from apps.api.common.errors import PayloadTooLarge
    from apps.api.iotorq.parsing import read_body

    request = Request(APIRequestFactory().post("/", b"[1, 2, 3]", content_type="application/json"))

    with pytest.raises(PayloadTooLarge):
        read_body(request, limit=8)
    assert read_body(Request(APIRequestFactory().post("/", b"[1]", content_type="application/json"))) == [1]
