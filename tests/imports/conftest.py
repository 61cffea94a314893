import numpy as np
import pytest

from apps.imports.services import ImportPoints, VariableRef, import_accept
from tests.factories import UserFactory


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "celery_worker: starts a real Celery worker on Redis; runs on PostgreSQL only (skipped otherwise)",
    )


@pytest.fixture
def user(org):
    from apps.tenancy.services import membership_grant

    account = UserFactory(username="importer")
    membership_grant(user=account, organization=org, role_slugs=[])
    return account


@pytest.fixture
def accept(org, user, django_capture_on_commit_callbacks):
    """Accept an import of `items` = [(series, [(ts_ms, value), ...]), ...] through the service.
    The run is enqueued on commit; `run=False` loses that message, as a dead broker would."""

    def accept_(items, *, run: bool = False):
        points = ImportPoints(
            variables=[VariableRef(series_id=series.pk) for series, _ in items],
            lengths=np.asarray([len(rows) for _, rows in items], dtype=np.int64),
            ts=np.asarray([ts for _, rows in items for ts, _ in rows], dtype=np.int64),
            values=np.asarray([value for _, rows in items for _, value in rows], dtype=np.float64),
        )
        with django_capture_on_commit_callbacks(execute=run) as callbacks:
            job = import_accept(organization=org, user=user, dialect="iotorq", points=points)
        assert len(callbacks) == 1
        return job

    return accept_
