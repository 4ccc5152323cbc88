"""A clerk downloads a blank template, fills it in and uploads it; the import runs as a job
the page follows until it shows the result in sentences (issue 11, item 6)."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from kechuang.ingest.template_files import DATA_SHEET, NOTES_SHEET
from tests.browser.conftest import log_in
from tests.support.seed import uscc

pytestmark = pytest.mark.browser


def test_a_clerk_downloads_a_template_and_uploads_it_as_a_job(page, live, tmp_path):
    log_in(page, live, "tax")
    page.goto(f"{live.url}/import-templates")
    with page.expect_download() as got:
        page.click("[data-testid=download-xlsx-tax]")
    blank = tmp_path / "blank.xlsx"
    got.value.save_as(blank)
    wb = load_workbook(blank)
    assert NOTES_SHEET in wb.sheetnames
    ws = wb[DATA_SHEET]
    assert ws["A1"].value == "统一社会信用代码" and ws["B1"].value == "年度"
    ws["A2"] = uscc(2)  # the clerk replaces the example with a real enterprise
    ws["B2"] = 2021
    filled = tmp_path / "税务局-2021.xlsx"
    wb.save(filled)

    page.goto(f"{live.url}/imports/new")
    page.set_input_files("input[type=file][name=file]", str(filled))
    page.select_option("select[name=template]", "tax")
    page.click("[data-testid=import-submit]")
    job = page.locator("[data-testid=import-job]")
    expect(job).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator("[data-testid=import-job-sentences]")).to_contain_text("已导入为批次")
    expect(page.locator("[data-testid=import-summary]")).to_be_visible()
    assert "/imports/jobs/" in page.url
