"""A JSON:API client library (jsonapi-client, docs/decisions.md) reads Building X point values
from the live app: page by page through `links.next`, every resource indexed by its `id` (the
library failed with `KeyError: 'id'` while resources had none, issue #17)."""

import pytest
import requests
from jsonapi_client import Modifier, Session

from tests.api.dialect_clients import AUDIENCE

JSONAPI = "application/vnd.api+json"
WINDOW = "filter[timestamp][gte]=2020-01-01T00:00:00Z&filter[timestamp][lt]=2020-01-01T01:00:00Z"
WRITTEN = [
    ("2020-01-01T00:00:00.001Z", "1.5", 0),
    ("2020-01-01T00:00:00.002Z", "-2.25", None),
    ("2020-01-01T00:10:00.000Z", "1000000.125", 3),
    ("2020-01-01T00:20:00.000Z", "0.001", -32768),
    ("2020-01-01T00:59:59.999Z", "42", 32767),
]


def document(values) -> dict:
    def attributes(timestamp, value, quality):
        return {"timestamp": timestamp, "value": value} | (
            {} if quality is None else {"qualityOfValue": quality}
        )

    return {"data": [{"type": "PointValue", "attributes": attributes(*value)} for value in values]}


def as_read(resource) -> tuple:
    """A resource as (id, type, timestamp, value, quality), through the library's attribute access."""
    quality = resource.qualityOfValue if "qualityOfValue" in resource.json["attributes"] else None
    return (resource.id, resource.type, resource.timestamp, resource.value, quality)


@pytest.fixture
def point(live_server, live_world):
    """The demo point's URL and a Bearer header for it, the values above posted there."""
    creds = live_world["buildingx"]
    token = requests.post(
        f"{live_server.url}/oauth/token",
        json={
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "audience": AUDIENCE,
            "grant_type": "client_credentials",
        },
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{live_server.url}/ingest/partitions/{creds['partition_id']}/points/{creds['point_id']}"
    posted = requests.post(
        f"{url}/values", json=document(WRITTEN), headers=headers | {"Content-Type": JSONAPI}, timeout=10
    )
    assert posted.status_code == 204, posted.content
    return url, headers


def test_jsonapi_client_reads_every_page_through_links_next(point):
    url, headers = point
    session = Session(url, request_kwargs={"headers": headers})

    first = session.get("values", Modifier(f"{WINDOW}&page[limit]=2"))
    every = list(session.iterate("values", Modifier(f"{WINDOW}&page[limit]=2")))

    assert [as_read(resource) for resource in first.resources] == [
        (ts, "PointValue", ts, value, quality) for ts, value, quality in WRITTEN[:2]
    ]
    assert first.links.next.url.startswith(f"{url}/values?")
    assert [as_read(resource) for resource in every] == [
        (ts, "PointValue", ts, value, quality) for ts, value, quality in WRITTEN
    ]
    # Three pages fetched (the first one once, then from the session's cache), the last without a
    # next link; every resource is cached under its (type, id).
    pages = list(session.documents_by_link.values())
    assert [len(page.resources) for page in pages] == [2, 2, 1]
    assert not pages[-1].links.next
    assert set(session.resources_by_resource_identifier) == {("PointValue", ts) for ts, _, _ in WRITTEN}
    session.close()


def test_jsonapi_client_reads_the_accepted_values_of_a_202(point):
    url, headers = point
    session = Session(url, request_kwargs={"headers": headers})
    again = [("2020-01-01T00:30:00.000Z", "7.5", 1), *WRITTEN[:1]]

    response = requests.post(
        f"{url}/values", json=document(again), headers=headers | {"Content-Type": JSONAPI}, timeout=10
    )
    accepted = session.read(response.json(), url=f"{url}/values")

    assert response.status_code == 202
    assert [as_read(resource) for resource in accepted.resources] == [
        ("2020-01-01T00:30:00.000Z", "PointValue", "2020-01-01T00:30:00.000Z", "7.5", 1)
    ]
    assert accepted.meta.droppedIndices == [1]
    session.close()
