import base64
import json
from datetime import timedelta

import time_machine

from apps.access.models import Dialect
from apps.access.tokens import jwt_claims, jwt_issue
from tests.factories import UserFactory


def test_a_token_carries_its_organization_and_user(org):
    user = UserFactory()

    token = jwt_issue(dialect=Dialect.GAVAZZI, organization=org, user=user, lifetime_seconds=1800)

    claims = jwt_claims(dialect=Dialect.GAVAZZI, token=token)
    assert (claims["org"], claims["user"], claims["token_type"]) == (org.pk, user.pk, "gavazzi")
    assert claims["exp"] - claims["iat"] == 1800


def test_a_token_of_one_dialect_is_refused_by_every_other(org):
    token = jwt_issue(dialect=Dialect.BLYNK, organization=org, lifetime_seconds=60)

    assert jwt_claims(dialect=Dialect.BUILDINGX, token=token) is None
    assert jwt_claims(dialect=Dialect.GAVAZZI, token=token) is None


def test_a_token_stops_working_when_its_lifetime_ends(org):
    token = jwt_issue(dialect=Dialect.GAVAZZI, organization=org, lifetime_seconds=1800)

    with time_machine.travel(timedelta(seconds=1799)):
        assert jwt_claims(dialect=Dialect.GAVAZZI, token=token) is not None
    with time_machine.travel(timedelta(seconds=1801)):
        assert jwt_claims(dialect=Dialect.GAVAZZI, token=token) is None


def test_tampered_and_unsigned_tokens_are_refused(org):
    token = jwt_issue(dialect=Dialect.GAVAZZI, organization=org, lifetime_seconds=60)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["org"] += 1
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()

    assert jwt_claims(dialect=Dialect.GAVAZZI, token=f"{header}.{forged}.{signature}") is None
    assert jwt_claims(dialect=Dialect.GAVAZZI, token=f"{unsigned_header}.{payload}.") is None
    assert jwt_claims(dialect=Dialect.GAVAZZI, token="not a token") is None
