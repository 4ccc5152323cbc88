"""Role homes in the browser (issue 11, item 7): the bureau workbench draws its chart, other
roles see their next steps; no console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_the_workbench_is_the_bureau_home(page, live):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live)
    expect(page.locator("[data-testid=workbench]")).to_be_visible()
    for section in ("wb-tiers", "wb-points", "wb-runs", "wb-push", "wb-alerts", "wb-jobs"):
        expect(page.locator(f"[data-testid={section}]")).to_be_visible()
    assert not errors, errors


@pytest.mark.parametrize("account", ["ent1", "inst", "expert", "bank", "tax"])
def test_other_roles_see_their_next_steps(page, live, account):
    log_in(page, live, account)
    steps = page.locator("[data-testid=next-steps] li")
    expect(steps.first).to_be_visible()
    steps.first.locator("a").click()
    page.wait_for_load_state()
    assert page.url != f"{live.url}/"
    assert page.locator(".alert.error").count() == 0
