"""authlib's OAuth2 client against both token endpoints of the live app, with the client's
credentials in an `Authorization: Basic` header (`client_secret_basic`, authlib's default) and in
the form body (`client_secret_post`); the token it gets then writes a value and reads it back."""

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from tests.api.dialect_clients import AUDIENCE

METHODS = ["client_secret_basic", "client_secret_post"]
BLYNK_VALUE = "/api/v1/organization/device/datastream"
BLYNK_VALUES = "/api/v2/organization/device/datastreams"


def oauth_session(creds: dict, method: str) -> tuple[OAuth2Session, list]:
    """An authlib session for the client `creds`, and the list its requests are recorded in
    (to check where the client's credentials travelled)."""
    session = OAuth2Session(creds["client_id"], creds["client_secret"], token_endpoint_auth_method=method)
    sent = []
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))
    return session, sent


def credentials_travelled(request, creds: dict, method: str) -> None:
    """The client's secret went where `method` puts it, and only there."""
    in_body = f"client_secret={creds['client_secret']}" in (request.body or "")
    in_header = request.headers.get("Authorization", "").startswith("Basic ")
    assert (in_header, in_body) == ((True, False) if method == "client_secret_basic" else (False, True))


@pytest.mark.parametrize("method", METHODS)
def test_building_x_client_credentials_by_authlib(live_server, live_world, method):
    creds = live_world["buildingx"]
    session, sent = oauth_session(creds, method)
    values = f"{live_server.url}/ingest/partitions/{creds['partition_id']}/points/{creds['point_id']}/values"

    token = session.fetch_token(
        f"{live_server.url}/oauth/token", grant_type="client_credentials", audience=AUDIENCE
    )
    posted = session.post(
        values,
        json={
            "data": [
                {"type": "PointValue", "attributes": {"timestamp": "2020-01-01T00:00:00Z", "value": "4.5"}}
            ]
        },
        headers={"Content-Type": "application/vnd.api+json"},
    )
    read = session.get(
        values,
        params={
            "filter[timestamp][gte]": "2020-01-01T00:00:00Z",
            "filter[timestamp][lt]": "2020-01-02T00:00:00Z",
        },
    )

    credentials_travelled(sent[0], creds, method)
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 86_400)
    assert "refresh_token" not in token
    assert posted.status_code == 204
    assert (read.status_code, read.headers["Content-Type"]) == (200, "application/vnd.api+json")
    assert read.json()["data"] == [
        {
            "type": "PointValue",
            "id": "2020-01-01T00:00:00.000Z",
            "attributes": {"timestamp": "2020-01-01T00:00:00.000Z", "value": "4.5"},
        }
    ]


@pytest.mark.parametrize("method", METHODS)
def test_blynk_client_credentials_by_authlib(live_server, live_world, method):
    creds = live_world["blynk"]
    session, sent = oauth_session(creds, method)

    token = session.fetch_token(f"{live_server.url}/oauth2/token", grant_type="client_credentials")
    written = session.post(
        f"{live_server.url}{BLYNK_VALUE}", json={"deviceId": 101, "dataStreamId": 2, "value": 47.25}
    )
    read = session.get(f"{live_server.url}{BLYNK_VALUES}", params={"deviceId": 101, "dataStreamIds": "2"})

    credentials_travelled(sent[0], creds, method)
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 86_400)
    assert token["refresh_token"]
    assert written.status_code == 204
    assert read.status_code == 200
    assert [(stream["dataStreamId"], stream["value"]) for stream in read.json()] == [(2, 47.25)]


@pytest.mark.parametrize("method", METHODS)
def test_blynk_password_grant_and_single_use_refresh_by_authlib(live_server, live_world, method):
    creds = live_world["blynk"]
    user = creds["user"]
    url = f"{live_server.url}/oauth2/token"
    session, sent = oauth_session(creds, method)

    # authlib sends grant_type=password for a username and password
    first = session.fetch_token(url, username=user["username"], password=user["password"])
    owned = session.get(f"{live_server.url}{BLYNK_VALUES}", params={"deviceId": 1})
    renewed = session.refresh_token(url, refresh_token=first["refresh_token"])
    with pytest.raises(OAuthError) as reused:
        session.refresh_token(url, refresh_token=first["refresh_token"])
    after_refresh = session.get(f"{live_server.url}{BLYNK_VALUES}", params={"deviceId": 1})

    token_requests = [request for request in sent if request.url == url]
    assert len(token_requests) == 3
    for request in token_requests:
        credentials_travelled(request, creds, method)
    assert owned.status_code == 200
    assert [stream["dataStreamId"] for stream in owned.json()] == [1, 2]
    assert renewed["access_token"] != first["access_token"]
    assert renewed["refresh_token"] != first["refresh_token"]
    assert reused.value.error == "invalid_grant"
    assert after_refresh.json() == owned.json()
