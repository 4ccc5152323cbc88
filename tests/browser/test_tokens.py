"""An administrator makes a department system's API token in a real browser, copies the
secret shown once, the system calls the API with it, and the administrator revokes it —
after which the same call is refused."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live, log_in

pytestmark = pytest.mark.browser


def test_make_use_and_revoke_a_token(page, live: Live) -> None:
    log_in(page, live, "admin")
    page.goto(f"{live.url}/api-tokens")
    form = page.locator("[data-testid=create-token]")
    form.locator("select[name=username]").select_option("tax")
    form.locator("input[name=name]").fill("税务局数据接口")
    form.locator("input[name=days]").fill("30")
    form.locator("button[type=submit]").click()
    secret = page.locator("[data-testid=token-secret]").inner_text().strip()
    assert secret.startswith("kct_")
    row = page.locator(f"tr[data-prefix='{secret[:12]}']")
    expect(row).to_contain_text("tax")
    expect(row).to_contain_text("有效")

    headers = {"Authorization": f"Bearer {secret}"}
    me = httpx.get(f"{live.url}/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json()["username"] == "tax"

    page.goto(f"{live.url}/api-tokens")  # the secret is not shown again
    expect(page.locator("[data-testid=token-secret]")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-prefix='{secret[:12]}'] [data-testid=revoke-token]").click()
    expect(page.locator("[data-testid=notice]")).to_contain_text("已撤销")
    expect(page.locator(f"tr[data-prefix='{secret[:12]}']")).to_contain_text("已撤销")
    refused = httpx.get(f"{live.url}/api/v1/me", headers=headers)
    assert refused.status_code == 401 and refused.json()["details"] == {"why": "revoked"}
