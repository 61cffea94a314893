"""A token administrator issues an API token in the browser: the key is shown once, on its
confirmation page, and never again (reload, change page)."""

import pytest

from apps.access.hashing import secret_digest
from apps.access.models import ApiToken
from apps.access.selectors import api_token_for_key

pytestmark = pytest.mark.browser


def test_an_issued_token_is_shown_once_and_never_again(page, live_server, demo, admin_login, screenshot):
    admin_login(demo["admin"]["username"], demo["admin"]["password"], "/admin/access/apitoken/add/")
    page.select_option("#id_user", label="admin")
    page.fill("#id_name", "browser-issued")
    page.click("input[name=_save]")

    page.wait_for_url("**/shown-once/**")
    key = page.input_value("input[data-secret]")
    screenshot("credentials-token-shown-once")
    token = ApiToken.objects.get(name="browser-issued")
    assert token.digest == secret_digest(key)
    assert api_token_for_key(key=key) == token
    assert key not in page.url

    response = page.reload()
    assert response.status == 410
    assert key not in page.content()
    screenshot("credentials-token-already-shown")

    page.goto(f"{live_server.url}/admin/access/apitoken/{token.pk}/change/")
    assert key not in page.content()
    assert token.prefix in page.content()
