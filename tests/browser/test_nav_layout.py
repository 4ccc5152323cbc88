"""The navigation bar at 1366×768 (issue 11, item 7): one row in both languages for every
role, and its menus work from the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ACCOUNTS = ["admin", "staff", "tax", "ent1", "inst", "expert", "bank"]


def _one_row(page) -> None:  # type: ignore[no-untyped-def]
    bar = page.locator("header.top .bar").bounding_box()
    nav = page.locator("#mainnav").bounding_box()
    row = page.locator("header.top .brand").bounding_box()
    assert bar and nav and row
    # the nav is one row: no taller than the tallest single item, and nothing overflows
    item = max(b["height"] for b in (page.locator(s).first.bounding_box() for s in (
        "#mainnav > a, #mainnav > details > summary",)) if b)
    assert nav["height"] <= item + 1, (nav, item)
    assert bar["height"] < 2 * row["height"] + 20, bar
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 1366, f"the page is {scroll}px wide"
    who = page.locator("header.top .who").bounding_box()
    assert who and who["x"] + who["width"] <= 1366 and abs(who["y"] - nav["y"]) < item


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("account", ACCOUNTS)
def test_the_bar_fits_one_row_at_1366(browser, live, account, lang):
    context = browser.new_context(viewport={"width": 1366, "height": 768},
                                  locale="zh-CN" if lang == "zh" else "en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, live, account)
        page.goto(f"{live.url}/lang/{lang}")
        page.goto(f"{live.url}/")
        expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")
        _one_row(page)
    finally:
        context.close()


def test_visitor_bar_fits_too(browser, live):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        for lang in ("zh", "en"):
            page.goto(f"{live.url}/lang/{lang}")
            page.goto(f"{live.url}/")
            _one_row(page)
    finally:
        context.close()


def test_menus_open_and_close_from_the_keyboard(page, live):
    log_in(page, live)
    summary = page.locator("details.navgroup[data-nav-group=assess] > summary")
    summary.focus()
    page.keyboard.press("Enter")
    menu = page.locator("details.navgroup[data-nav-group=assess] .menu")
    expect(menu).to_be_visible()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused and focused.startswith("/")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    # opening one menu closes another
    page.locator("details.navgroup[data-nav-group=data] > summary").click()
    page.locator("details.navgroup[data-nav-group=system] > summary").click()
    assert page.locator("details.navgroup[open]").count() == 1
    page.locator("details.navgroup[open] .menu a").first.click()
    page.wait_for_load_state()
    assert page.url != f"{live.url}/"
