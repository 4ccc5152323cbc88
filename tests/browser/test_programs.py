"""The 揭榜挂帅 journey in a real browser: the bureau publishes a challenge, an enterprise
bids with its PDF, the bureau closes it after the deadline, checks the bid, sends it to
review, decides and pays the first tranche — which then shows on the enterprise's page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from kechuang.db import unit_of_work
from kechuang.models.programs import ProgramCall
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def log_out(page, live) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto(f"{live.url}/login")


def test_publish_bid_decide_and_pay_the_first_tranche(page, live, tmp_path):
    log_in(page, live, "admin")
    page.goto(f"{live.url}/programs")
    form = page.locator("[data-testid=new-program]")
    form.locator("input[name=code]").fill("BR-JB-2026")
    form.locator("input[name=title]").fill("浏览器测试揭榜挂帅项目")
    form.locator("select[name=type_code]").select_option("challenge")
    form.locator("input[name=budget]").fill("2000000")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live.url}/programs")
    program = page.locator("[data-program=BR-JB-2026]")
    program.locator("summary").click()
    new_call = page.locator("[data-testid=new-call-BR-JB-2026]")
    new_call.locator("input[name=code]").fill("BR-JB-2026-01")
    new_call.locator("input[name=title]").fill("浏览器测试榜单：高效换热器")
    closes = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    new_call.locator("input[name=closes_on]").fill(closes)
    new_call.locator("textarea[name=problem]").fill("换热效率提升至 95% 以上")
    new_call.locator("textarea[name=kpis]").fill("换热效率|≥ 95|%")
    new_call.locator("input[name=budget_cap]").fill("600000")
    new_call.locator("input[name=cofunding]").fill("300000")
    new_call.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/programs/calls/\d+$"))
    call_url = page.url
    page.click("button[data-action=open]")
    expect(page.locator("h1 [data-testid=call-state]")).to_have_text("揭榜中")

    # the public sees it
    log_out(page, live)
    page.goto(f"{live.url}/challenges")
    expect(page.locator("[data-call=BR-JB-2026-01]")).to_be_visible()

    # an enterprise bids with its PDF
    log_in(page, live, "ent1")
    page.goto(call_url)
    bid = page.locator("[data-testid=apply-form]")
    bid.locator("input[name=title]").fill("换热器揭榜方案")
    bid.locator("textarea[name=plan]").fill("微通道结构 + 新型涂层")
    bid.locator("input[name=requested_amount]").fill("500000")
    pdf = tmp_path / "方案.pdf"
    pdf.write_bytes(PDF)
    bid.locator("input[name=proposal]").set_input_files(str(pdf))
    bid.locator("[data-testid=submit-bid]").click()
    page.wait_for_url(re.compile(r".*/programs/applications/\d+$"))
    app_url = page.url
    expect(page.locator("[data-testid=app-state]")).to_have_text("已揭榜")
    expect(page.locator("[data-testid=attachments]")).to_contain_text("方案.pdf")

    # the deadline passes (moved into the past: the server's clock decides)
    with unit_of_work(live.engine) as s:
        s.execute(update(ProgramCall).where(ProgramCall.code == "BR-JB-2026-01").values(
            closes_at=datetime.now(UTC) - timedelta(minutes=1)))

    log_out(page, live)
    log_in(page, live, "staff")
    page.goto(call_url)
    page.click("button[data-action=close]")
    expect(page.locator("h1 [data-testid=call-state]")).to_have_text("已截止")
    page.goto(app_url)
    page.click("button[data-action=check_pass]")
    expect(page.locator("[data-testid=app-state]")).to_have_text("形式审查通过")
    page.goto(call_url)
    page.click("button[data-action=request_review]")
    expect(page.locator("h1 [data-testid=call-state]")).to_have_text("专家评审中")
    app_id = app_url.rsplit("/", 1)[1]
    page.check(f"[data-testid=winner-{app_id}]")
    page.click("[data-testid=decide]")
    expect(page.locator("h1 [data-testid=call-state]")).to_have_text("已确定揭榜方")
    page.goto(app_url)
    expect(page.locator("[data-testid=app-state]")).to_have_text("揭榜成功")
    page.click("[data-testid=pay-tranche-1]")
    expect(page.locator("[data-testid=payments]")).to_contain_text("150,000")
    expect(page.locator("[data-testid=tranches]")).to_contain_text("已拨付")

    # the enterprise sees its payment; the public sees the winner
    log_out(page, live)
    log_in(page, live, "ent1")
    page.goto(f"{live.url}/programs/mine")
    expect(page.locator("[data-testid=payments]")).to_contain_text("150,000")
    log_out(page, live)
    page.goto(f"{live.url}/challenges")
    expect(page.locator("[data-testid=winners]")).to_contain_text("浏览器测试榜单")
