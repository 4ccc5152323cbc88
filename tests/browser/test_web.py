"""The web shell in a real browser: login, the enterprise list (search, filter, pagination,
HTMX partial swaps), the detail page with sources, the English switch, the layout at desktop
and phone widths, and an import with errors through the upload page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BULK, log_in
from tests.support.seed import uscc

pytestmark = pytest.mark.browser

ROWS = "#enterprise-rows tr[data-uscc]"


def test_login_with_a_wrong_then_the_right_password(page, live):
    page.goto(f"{live.url}/enterprises")
    expect(page).to_have_url(re.compile(r"/login\?next=/enterprises"))
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "not-the-password-1")
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator(".alert.error")).to_contain_text("用户名或密码错误")
    page.fill("input[name=password]", "test-pass-123")
    page.click("form[action='/login'] button[type=submit]")
    expect(page).to_have_url(f"{live.url}/enterprises")  # back where the user wanted to go
    expect(page.locator("[data-testid=whoami]")).to_contain_text("科技局工作人员")


def test_list_search_filter_and_pagination_swap_only_the_table(page, live):
    log_in(page, live)
    page.goto(f"{live.url}/enterprises")
    expect(page.locator("[data-testid=total]")).to_contain_text(f"共 {4 + BULK} 家企业")
    expect(page.locator(ROWS)).to_have_count(50)
    # a marker in the page survives every HTMX swap: no full reload happens
    page.evaluate("window.__kcMarker = 'still here'")

    page.fill("input[name=q]", "华芯")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first).to_contain_text("张家港华芯微电子有限公司")
    expect(page).to_have_url(re.compile(r"/enterprises\?q=%E5%8D%8E%E8%8A%AF"))

    page.fill("input[name=q]", "")
    page.select_option("select[name=industry]", "I")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first).to_contain_text("张家港智能软件科技有限公司")
    expect(page).to_have_url(re.compile(r"industry=I"))

    page.select_option("select[name=industry]", "34")
    expect(page.locator("[data-testid=total]")).to_contain_text(f"共 {1 + BULK} 家企业")
    page.click("[data-testid=pager] a[rel=next]")
    expect(page.locator("[data-testid=page-info]")).to_contain_text("第 2 / 2 页")
    expect(page.locator(ROWS)).to_have_count(BULK + 1 - 50)
    expect(page).to_have_url(re.compile(r"industry=34.*page=2|page=2.*industry=34"))
    assert page.evaluate("window.__kcMarker") == "still here"
    # the pushed URL is a real page: opening it directly renders the same rows
    page.goto(page.url)
    expect(page.locator(ROWS)).to_have_count(BULK + 1 - 50)
    expect(page.locator("select[name=industry]")).to_have_value("34")
    assert page.evaluate("window.__kcMarker") is None


def test_detail_page_shows_facts_with_department_and_batch(page, live):
    log_in(page, live)
    page.goto(f"{live.url}/enterprises")
    page.click(f"tr[data-uscc='{uscc(1)}'] a")
    expect(page.locator("[data-testid=enterprise-name]")).to_have_text("张家港华芯微电子有限公司")
    cell = page.locator("table[data-testid=yearly] tr[data-metric=revenue] td[data-year='2023']")
    expect(cell).to_contain_text("1,800.50")
    expect(cell).to_contain_text("税务局")
    link = cell.locator("a.fact")
    expect(link).to_have_attribute("href", f"/imports/{live.batch_id}")
    expect(link).to_have_attribute("title", re.compile(r"税务局.*税务局2023年度申报\.csv"))
    sources = page.locator("table[data-testid=sources]")
    expect(sources).to_contain_text("税务局2023年度申报.csv")
    # ECharts drew the revenue / R&D chart from the data-chart JSON (no inline script)
    expect(page.locator("[data-testid=chart] canvas")).to_have_count(1)


def test_english_switch(page, live):
    log_in(page, live)
    page.goto(f"{live.url}/enterprises")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Enterprises")
    expect(page.locator("[data-testid=total]")).to_contain_text(f"{4 + BULK} enterprises")
    page.goto(f"{live.url}/enterprises/{uscc(1)}")
    expect(page.locator("table[data-testid=yearly]")).to_contain_text("Revenue (sales)")
    expect(page.locator("table[data-testid=yearly]")).to_contain_text("Tax bureau")
    page.click("#lang-switch")
    expect(page.locator("table[data-testid=yearly]")).to_contain_text("营业收入")


@pytest.mark.parametrize("width", [1280, 390])
def test_layout_fits_the_screen_and_screenshots(page, live, width):
    """No horizontal page scroll at desktop or phone width (wide tables scroll inside
    their own box); screenshots go to /tmp for a human look."""
    log_in(page, live)
    page.set_viewport_size({"width": width, "height": 900})
    for name, path in (("list", "/enterprises"), ("detail", f"/enterprises/{uscc(1)}")):
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} overflows by {overflow}px at {width}px"
        page.screenshot(path=f"/tmp/kechuang-{name}-{width}.png", full_page=True)


def test_import_with_errors_reports_each_problem_with_row_and_column(page, live, tmp_path):
    """Against the upload page's contract: /imports/new with file, template, dry_run,
    valid_rows_only and [data-testid=import-submit]; the result lists every problem."""
    bad = tmp_path / "税务局-有错误.csv"
    bad.write_text(
        "统一社会信用代码,年度,营业收入（万元）\n"
        "91320582000000019X,2023,100\n"  # wrong check character
        f"{uscc(2)},2023,一百万\n",  # not a number
        encoding="utf-8",
    )
    log_in(page, live)
    page.goto(f"{live.url}/imports/new")
    page.set_input_files("input[type=file][name=file]", str(bad))
    page.select_option("select[name=template]", "tax")
    expect(page.locator("input[type=checkbox][name=dry_run]")).to_have_count(1)
    expect(page.locator("input[type=checkbox][name=valid_rows_only]")).to_have_count(1)
    page.click("[data-testid=import-submit]")
    expect(page.locator("[data-testid=import-result]")).to_be_visible()
    rows = page.locator("table[data-testid=problems] tbody tr")
    expect(rows).to_have_count(2)
    texts = [rows.nth(i).inner_text() for i in range(2)]
    code_row = next(t for t in texts if "91320582000000019X" in t)
    value_row = next(t for t in texts if "一百万" in t)
    assert re.search(r"(^|\s)2(\s|$)", code_row) and "统一社会信用代码" in code_row
    assert "校验位" in code_row
    assert re.search(r"(^|\s)3(\s|$)", value_row) and "营业收入" in value_row
    expect(page.locator("a[data-testid=problems-xlsx]")).to_have_count(1)
