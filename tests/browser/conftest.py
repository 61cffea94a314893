"""Browser tests: Playwright driving Debian's Chromium (`apt-get install chromium`), headless.

They are marked `browser` and skipped where /usr/bin/chromium or the playwright package is
missing. Screenshots of each step go to tests/artifacts/ (not committed).
"""

import os
from pathlib import Path

import pytest

from apps.inventory.demo import demo_seed
from apps.tenancy.services import roles_sync

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real browser (Playwright + Debian's Chromium)")


@pytest.fixture
def demo(transactional_db):
    """The demo organization, in a database the live server's thread sees (committed data).

    A transactional test's database is flushed afterwards, shipped roles included, and
    serialized_rollback cannot be relied on to bring them back once Playwright runs its event
    loop in this thread (Django's connections are then looked up per async context): the roles
    are synced here instead, as the data migration does.
    """
    roles_sync()
    return demo_seed(slug="demo")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls (fixtures,
    # checks) stay synchronous and safe, which Django cannot tell by itself.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message):
        # The admin has no favicon; the browser's request for one is not the page's error.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    page.errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Saves the page as tests/artifacts/<name>.png and returns the path."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def admin_login(page, live_server):
    def login(username: str, password: str, next_path: str) -> None:
        page.goto(f"{live_server.url}/admin/login/?next={next_path}")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}{next_path}")

    return login
