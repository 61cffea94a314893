"""Third-party clients against the running app (pytest-django's live server): a client generated
from the schema the app serves, a JSON:API client library and authlib's OAuth2 client."""

import importlib
import subprocess
import sys

import pytest

from apps.tenancy.services import roles_sync
from tests.worlds import world

# The generated package's name: one no installed package has.
GENERATED = "ems_generated_client"
# No post hooks: the generator would otherwise run ruff over its output (slower, and ruff is not
# on every PATH); the generated code is only imported.
GENERATOR_CONFIG = f"package_name_override: {GENERATED}\npost_hooks: []\n"


@pytest.fixture
def live_world(transactional_db):
    """The small world (tests/worlds.py), committed so the live server's thread sees it; returns
    its credentials. The shipped roles are synced first: an earlier transactional test's flush
    removed them."""
    roles_sync()
    return world("demo")


@pytest.fixture(scope="session")
def generated_client(django_db_setup, django_db_blocker, live_server, tmp_path_factory):
    """The package openapi-python-client generates from the schema the live app serves at
    /api/schema/, imported (once per session: generating takes about a second). A warning of
    the generator fails the run, like a broken import would."""
    root = tmp_path_factory.mktemp("generated")
    config = root / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    # The live server's request handling opens a database connection, even for the schema.
    with django_db_blocker.unblock():
        generator = subprocess.run(  # noqa: S603 (a fixed command line)
            [
                sys.executable,
                "-m",
                "openapi_python_client",
                "generate",
                "--url",
                f"{live_server.url}/api/schema/?format=json",
                "--meta",
                "none",
                "--config",
                str(config),
                "--output-path",
                str(root / GENERATED),
                "--fail-on-warning",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert generator.returncode == 0, generator.stdout + generator.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(GENERATED)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == GENERATED]:
            del sys.modules[name]
