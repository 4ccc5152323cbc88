"""The profile page in a real browser: the radar and the trend are drawn (ECharts canvas,
from the static script — the CSP allows no inline script) and the what-if form submits
over HTMX and replaces only its result block."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live, _free_port, log_in
from tests.support.seed import uscc

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def scored(db_factory) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    """A separate live server over the profile tests' county, scored for 2023 and 2024."""
    import uvicorn

    from kechuang.app import create_app
    from tests.profile import data
    from tests.profile.conftest import score

    engine = db_factory.engine(seeded=True)
    data.import_all(engine)
    for year in (2023, 2024):
        score(engine, year)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield Live(url=f"http://127.0.0.1:{port}", engine=engine, batch_id=0)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def ppage(browser, scored):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def test_radar_and_trend_are_drawn_and_whatif_updates_in_place(ppage, scored):  # type: ignore[no-untyped-def]
    page = ppage
    log_in(page, scored, "staff")
    page.goto(f"{scored.url}/enterprises/{uscc(2)}/profile")
    expect(page.locator("[data-testid=radar] canvas")).to_have_count(1)
    expect(page.locator("[data-testid=trend] canvas")).to_have_count(1)
    assert page.locator("[data-testid=radar]").get_attribute("data-rendered") == "1"
    expect(page.locator("[data-testid=trend-table] tr[data-year='2021']")).to_contain_text(
        "无评分")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__kcMarker = 'still here'")
    page.fill("input[name='delta.rd_staff']", "3")
    page.fill("input[name='delta.rd_expense']", "200")
    # two engine computations over the county: allow for a loaded machine
    with page.expect_response(lambda r: "/profile/whatif" in r.url, timeout=90_000) as answer:
        page.click("[data-testid=whatif-submit]")
    assert answer.value.status == 200, answer.value.text()[:500]
    expect(page.locator("[data-testid=whatif-points]")).to_be_visible()
    expect(page.locator("[data-testid=whatif-changes]")).to_contain_text("研发费用")
    expect(page.locator("[data-testid=whatif-policies] tr[data-policy=hte]")).to_have_count(1)
    assert page.evaluate("window.__kcMarker") == "still here"  # no full reload
    page.fill("input[name='delta.rd_staff']", "很多")
    page.click("[data-testid=whatif-submit]")
    expect(page.locator("[data-testid=whatif-error]")).to_contain_text("应为数字")
    assert not [e for e in page.errors if "Content Security Policy" in e]


def test_enterprise_sees_its_own_profile(ppage, scored):  # type: ignore[no-untyped-def]
    page = ppage
    log_in(page, scored, "ent1")
    page.goto(f"{scored.url}/enterprises/me/profile")
    expect(page).to_have_url(f"{scored.url}/enterprises/{uscc(1)}/profile")
    expect(page.locator("[data-testid=radar] canvas")).to_have_count(1)
    expect(page.locator("[data-testid=points]")).not_to_be_empty()
