import pytest
from django.urls import reverse

from apps.tenancy.models import Organization


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo_org(world):
    return Organization.objects.get(slug="demo")


@pytest.fixture
def token_admin(client, world):
    """The demo's admin-site user: token administrator (and facility manager, API) of demo."""
    assert client.login(username="admin", password="s3cret!")
    return client
