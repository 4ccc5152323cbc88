"""The consent journey in a real browser: the enterprise submits its need and consents to
the bank → the bank sees it by name; the enterprise revokes → the name is gone from the
bank's page at once, and the enterprise sees the bank's view in "who looked at my data"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from kechuang.db import unit_of_work
from kechuang.finance import service
from kechuang.finance.schemas import MonthIn
from tests.browser.conftest import Live, _free_port, log_in
from tests.finance.conftest import actor, product

pytestmark = pytest.mark.browser
NAME = "张家港华芯微电子有限公司"  # enterprise 1 of the seed (account ent1)


@pytest.fixture(scope="module")
def fin(db_factory) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    import uvicorn

    from kechuang.app import create_app

    engine = db_factory.engine(seeded=True)
    with unit_of_work(engine) as s:
        admin = actor(s, "admin")
        p = service.do_create_product(s, actor(s, "bank"), product("科技信用贷"))
        service.do_review_product(s, admin, p.id, approve=True)
        today = service.today()
        service.do_open_month(
            s,
            admin,
            MonthIn(month=today.year * 100 + today.month, closes_on=today + timedelta(days=10)),
        )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(engine), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
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


def _context(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    return context


def test_consent_then_revoke(browser, fin):  # type: ignore[no-untyped-def]
    ent_ctx, bank_ctx = _context(browser), _context(browser)
    ent, bank = ent_ctx.new_page(), bank_ctx.new_page()
    log_in(ent, fin, "ent1")
    ent.goto(f"{fin.url}/finance/me")
    form = ent.locator("[data-testid=need-form] form")
    form.locator("input[name=amount_wan]").fill("300")
    form.locator("input[name=purpose]").fill("扩大产能的流动资金")
    form.locator("button[type=submit]").click()
    expect(ent.locator("section[data-need] table")).to_contain_text("科技信用贷")

    log_in(bank, fin, "bank")
    bank.goto(f"{fin.url}/finance/bank")
    expect(bank.locator("[data-testid=consented]")).not_to_contain_text(NAME)
    expect(bank.locator("[data-testid=suppressed]")).to_be_visible()

    ent.goto(f"{fin.url}/finance/me")
    ent.locator("[data-testid=consent-form] button[type=submit]").click()
    expect(ent.locator("[data-testid=consents] tr[data-consent]")).to_have_count(1)

    bank.goto(f"{fin.url}/finance/bank")
    expect(bank.locator("[data-testid=consented]")).to_contain_text(NAME)
    bank.locator("[data-testid=consented] a", has_text=NAME).click()
    expect(bank.locator("h1")).to_contain_text(NAME)

    ent.goto(f"{fin.url}/finance/me")
    expect(ent.locator("[data-testid=access-log]")).to_contain_text("张家港农村商业银行")
    ent.locator("[data-testid=consents] form[action$='/revoke'] button").click()
    expect(ent.locator("[data-testid=consents]")).to_contain_text("已失效")

    bank.goto(f"{fin.url}/finance/bank")
    expect(bank.locator("body")).not_to_contain_text(NAME)
    ent_ctx.close()
    bank_ctx.close()
