import time

import pytest
import time_machine
from django.core.cache import cache, caches

from apps.core.shared_cache import circuit_reset
from apps.inventory.demo import demo_seed
from apps.tenancy.services import membership_grant
from tests.factories import OrganizationFactory, SeriesFactory, UserFactory
from tests.worlds import ALL as WORLD_ALL
from tests.worlds import world as world_build


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.5 s a password; tests hash many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _short_demo_meters(settings):
    """Two days of the demo meters' quarter-hours rather than 400: every demo seed would take
    seconds (tests/inventory/test_demo_meters.py seeds the full length once)."""
    settings.EMS_DEMO_METER_DAYS = 2


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle and rate-limit counters live in the caches; no test may see another's, nor a
    cache outage another test caused."""
    circuit_reset()
    cache.clear()
    caches["local"].clear()
    yield
    circuit_reset()
    cache.clear()
    caches["local"].clear()


@pytest.fixture
def rate_window():
    """The clock moved to the start of the next minute (and running): the per-organization request
    limit counts in clock-aligned one-minute windows, and a test that fills one must not see it
    end halfway (it did, now and then). Tokens issued before stay valid: the clock only advances."""
    with time_machine.travel((time.time() // 60 + 1) * 60 + 1, tick=True):
        yield


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Other", slug="other")


@pytest.fixture
def manager_client(client, org):
    """A client logged in as a staff facility manager of `org` (modules may override it)."""
    user = UserFactory(is_staff=True)
    membership_grant(user=user, organization=org, role_slugs=["facility-manager"])
    client.force_login(user)
    return client


@pytest.fixture
def series(org):
    return SeriesFactory(organization=org, name="Main meter energy", meter_code="main")


@pytest.fixture
def demo(db):
    """The demo organization of `seed_demo` (the vendors' example objects); returns its
    credentials as `seed_demo --json` prints them."""
    return demo_seed(slug="demo")


@pytest.fixture
def other_demo(db):
    """A second demo organization (slug "other") with the same uids and its own series."""
    return demo_seed(slug="other")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "world(*parts): the parts of the small world (tests/worlds.py) the test builds"
    )


@pytest.fixture
def world_parts():
    """The parts of the small worlds a test builds when its `world` marker names none: every
    dialect here; a directory's conftest narrows it to its own."""
    return WORLD_ALL


def _parts(request, default) -> set:
    marker = request.node.get_closest_marker("world")
    return set(marker.args) if marker else set(default)


@pytest.fixture
def world(db, request, world_parts):
    """A small world (tests/worlds.py): organization "demo" with the vendors' example objects and
    credentials of the parts asked for, but none of the demo's samples or meters."""
    return world_build("demo", _parts(request, world_parts))


@pytest.fixture
def other_world(db, request, world_parts):
    """A second small world (slug "other") with the same uids, meter codes and names."""
    return world_build("other", _parts(request, world_parts))
