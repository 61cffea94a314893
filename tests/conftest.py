import pytest

from tests.factories import OrganizationFactory, SeriesFactory


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Other", slug="other")


@pytest.fixture
def series(org):
    return SeriesFactory(organization=org, name="Main meter energy", meter_code="main")
