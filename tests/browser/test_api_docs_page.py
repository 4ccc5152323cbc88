"""/api/docs renders the operations with the vendored Swagger UI under the app's own CSP,
with no CSP violation in the console (issue 11, item 8)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_api_docs_render_operations_without_csp_errors(page, live):
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.goto(f"{live.url}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/enterprises").first
           ).to_be_visible()
    bad = [m for m in messages if "Content Security Policy" in m or "Refused to" in m
           or m.startswith("pageerror")]
    assert not bad, bad
