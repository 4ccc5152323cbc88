"""A voucher redemption in a real browser: the provider (an institute account) fills the
redemption form with the code and credit code the holder shows → sees the amount paid; the
holder's voucher page shows it redeemed; the bureau's ledger shows the payment. And the
bureau's provider page: register an enterprise as provider, add its service, settle a
provider's redemptions and see the statement."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.models import Institute, PolicyRun
from kechuang.vouchers import engine as voucher_engine
from kechuang.vouchers import service as vouchers
from tests.browser.conftest import Live, _free_port, log_in
from tests.ledger.helpers import actor
from tests.push.helpers import enterprise_ids, make_run
from tests.support.seed import uscc
from tests.vouchers.helpers import code_of

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(db_factory) -> Iterator[tuple[Live, str, str]]:  # type: ignore[no-untyped-def]
    import uvicorn

    from kechuang.app import create_app

    engine = db_factory.engine(seeded=True)
    with unit_of_work(engine) as s:
        ids = enterprise_ids(s)
        run = s.get(PolicyRun, make_run(s, "innovation_voucher",
                                            {ids[1]: "eligible", ids[2]: "eligible"}))
        assert run is not None
        run.parameters = {"amount": {"value": 5, "ref": "测试", "from": "2023-01-01"}}
        admin = actor(s, "admin")
        vouchers.do_issue(s, admin, region_code="320582",
                          year=voucher_engine.today_local().year)
        inst = s.scalar(select(Institute.id).where(Institute.code == "INST-1"))
        assert inst is not None
        p = vouchers.do_register_provider(s, admin, kind="institute", org_id=inst)
        vouchers.do_add_service(s, admin, provider_id=p.id, category="testing",
                                name="材料成分检测")
        code, uscc = code_of(s, ids[1])
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
    yield Live(url=f"http://127.0.0.1:{port}", engine=engine, batch_id=0), code, uscc
    server.should_exit = True
    thread.join(timeout=10)


def _page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_provider_redeems_a_voucher(browser, live) -> None:  # type: ignore[no-untyped-def]
    site, code, uscc = live
    inst_ctx, inst = _page(browser)
    log_in(inst, site, "inst")
    inst.goto(f"{site.url}/vouchers/redeem")
    form = inst.locator("[data-testid=redeem-form]")
    form.locator("input[name=voucher_code]").fill(code)
    form.locator("input[name=uscc]").fill(uscc)
    form.locator("input[name=invoice_no]").fill("FP-0001")
    form.locator("input[name=invoice_amount]").fill("一万")
    form.locator("button[type=submit]").click()
    expect(inst.locator("[data-testid=redeem-error]")).to_contain_text("发票金额")
    form = inst.locator("[data-testid=redeem-form]")
    form.locator("input[name=invoice_amount]").fill("40000")
    form.locator("button[type=submit]").click()
    expect(inst.locator("[data-testid=redeem-done]")).to_contain_text("24,000")
    expect(inst.locator("[data-testid=redemptions]")).to_contain_text("FP-0001")
    # the same voucher again is refused
    form = inst.locator("[data-testid=redeem-form]")
    form.locator("input[name=voucher_code]").fill(code)
    form.locator("input[name=uscc]").fill(uscc)
    form.locator("input[name=invoice_no]").fill("FP-0002")
    form.locator("input[name=invoice_amount]").fill("100")
    form.locator("button[type=submit]").click()
    expect(inst.locator("[data-testid=redeem-error]")).to_contain_text("不能重复兑付")
    inst_ctx.close()

    ent_ctx, ent = _page(browser)
    log_in(ent, site, "ent1")
    ent.goto(f"{site.url}/vouchers")
    expect(ent.locator(f"tr[data-voucher='{code}']")).to_contain_text("已兑付")
    ent_ctx.close()

    bureau_ctx, bureau = _page(browser)
    log_in(bureau, site, "admin")
    bureau.goto(f"{site.url}/ledger")
    expect(bureau.locator("[data-testid=ledger-entries]")).to_contain_text(f"voucher:{code}")
    bureau_ctx.close()


def test_bureau_registers_a_provider_and_settles(browser, live) -> None:  # type: ignore[no-untyped-def]
    site, _, _ = live
    with unit_of_work(site.engine) as s:  # a redemption of the institute to settle
        ids = enterprise_ids(s)
        code, holder = code_of(s, ids[2])
        provider = vouchers.providers(s, actor(s, "admin"))[0].id
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=holder,
                           provider_id=provider, invoice_no="FP-S-1", invoice_amount="20000")
    ctx, page = _page(browser)
    log_in(page, site, "admin")
    page.goto(f"{site.url}/vouchers")
    page.locator("[data-testid=providers-link]").click()
    form = page.locator("[data-testid=register-provider-form]")
    form.locator("select[name=kind]").select_option("enterprise")
    form.locator("input[name=code]").fill("91320582XXXXXXXXXX")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=providers-error]")).to_contain_text("不存在")
    form = page.locator("[data-testid=register-provider-form]")
    form.locator("select[name=kind]").select_option("enterprise")
    form.locator("input[name=code]").fill(uscc(3))
    form.locator("input[name=contact]").fill("李工")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=providers-done]")).to_contain_text("已认定服务机构")
    row = page.locator("[data-testid=provider-list] tr", has_text="张家港港城机械制造有限公司")
    row.locator("input[name=name]").fill("电磁兼容检测")
    row.locator("button", has_text="添加服务").click()
    expect(page.locator("[data-testid=providers-done]")).to_contain_text("已添加服务项目")
    expect(page.locator("[data-testid=provider-list]")).to_contain_text("电磁兼容检测")
    settle = page.locator("[data-testid=settle-form]").first
    settle.locator("input[name=reference]").fill("财拨 2026-1")
    settle.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=providers-done]")).to_contain_text("已生成结算单")
    expect(page.locator("[data-testid=settlements]")).to_contain_text("财拨 2026-1")
    expect(page.locator("[data-testid=settle-form]")).to_have_count(0)
    ctx.close()
