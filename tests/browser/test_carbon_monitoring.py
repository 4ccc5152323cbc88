"""Carbon efficiency and regional monitoring in a real browser: the bureau reads the grade
shares and the month's alerts, opens an alerted enterprise's trend; the enterprise sees its
own grade; the director sets a target and sees the progress; the statistics bureau files
its status report on a key task and the bureau sees it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from kechuang.auth.actor import Actor
from kechuang.carbon import service as carbon_service
from kechuang.db import unit_of_work
from tests.browser.conftest import Live, _free_port, log_in
from tests.carbon.conftest import add_facts as add_carbon_facts
from tests.monitoring.conftest import add_facts as add_monitoring_facts
from tests.monitoring.test_web import _task
from tests.support.seed import uscc

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mon(db_factory) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    import uvicorn

    from kechuang.app import create_app

    engine = db_factory.engine(seeded=True)
    add_carbon_facts(engine)
    add_monitoring_facts(engine)
    with unit_of_work(engine) as s:
        carbon_service.do_evaluate(s, Actor.command_line())
    task_id = _task(engine)
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
    yield Live(url=f"http://127.0.0.1:{port}", engine=engine, batch_id=task_id)
    server.should_exit = True
    thread.join(timeout=10)


def _page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    # a failed load is reported with its address (the console message has none)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    return errors


def test_bureau_reads_grades_and_opens_an_alerted_enterprise(browser, mon) -> None:  # type: ignore[no-untyped-def]
    context, page = _page(browser)
    errors = _errors(page)
    log_in(page, mon, "admin")
    page.goto(f"{mon.url}/carbon")
    # the evaluation over every region (run from the command line) is the county's too
    expect(page.locator("[data-testid=evaluation]")).to_be_visible()
    # the chart is drawn by the vendored ECharts (a canvas inside the chart element)
    expect(page.locator("[data-testid=shares-chart] canvas").first).to_be_visible()
    expect(page.locator("[data-testid=shares] tbody tr")).to_have_count(3)
    # March: enterprise 1's intensity fell and enterprise 2 has no value added; the alert
    # list of the latest month names those whose grade or intensity worsened
    page.select_option("select[name=period]", "2025-02")
    page.locator("form[action='/carbon'] button[type=submit]").click()
    alerted = page.locator("[data-testid=alerts] tbody tr")
    expect(alerted.first).to_be_visible()
    first = alerted.first.get_attribute("data-uscc")
    assert first == uscc(1)  # 10 → 14 t on the same value added: +40 %
    alerted.first.locator("a").click()
    expect(page.locator("[data-testid=trend-chart] canvas").first).to_be_visible()
    expect(page.locator("[data-testid=months] tbody tr")).to_have_count(3)
    assert not errors, errors
    context.close()


def test_enterprise_sees_its_own_grade_only(browser, mon) -> None:  # type: ignore[no-untyped-def]
    context, page = _page(browser)
    log_in(page, mon, "ent1")
    page.goto(f"{mon.url}/carbon/me")
    expect(page.locator("[data-testid=grade]")).to_be_visible()
    expect(page.locator("[data-testid=months] tbody tr")).to_have_count(3)
    other = page.goto(f"{mon.url}/carbon/enterprise/{uscc(2)}")
    assert other is not None and other.status == 404
    context.close()


def test_director_sets_a_target_and_a_department_reports(browser, mon) -> None:  # type: ignore[no-untyped-def]
    context, page = _page(browser)
    errors = _errors(page)
    log_in(page, mon, "admin")
    page.goto(f"{mon.url}/monitoring?year=2024")
    expect(page.locator("[data-testid=compare-chart] canvas").first).to_be_visible()
    form = page.locator("[data-testid=target-form]")
    form.locator("select[name=indicator_id]").select_option("hte_count")
    form.locator("input[name=target]").fill("4")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=saved]")).to_be_visible()
    expect(page.locator("[data-indicator=hte_count] [data-testid=progress]")).to_have_text("25%")
    assert not errors, errors
    context.close()

    context, page = _page(browser)
    log_in(page, mon, "stats")
    page.goto(f"{mon.url}/monitoring/tasks/{mon.batch_id}")
    form = page.locator("[data-testid=report-form]")
    form.locator("input[name=progress]").fill("60")
    form.locator("select[name=status]").select_option("at_risk")
    form.locator("textarea[name=note]").fill("三个镇的培训已完成，两个园区延期")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=saved]")).to_be_visible()
    expect(page.locator("[data-testid=reports]")).to_contain_text("两个园区延期")
    context.close()

    context, page = _page(browser)
    log_in(page, mon, "admin")
    page.goto(f"{mon.url}/monitoring/tasks/{mon.batch_id}")
    expect(page.locator("[data-testid=reports]")).to_contain_text("60%")
    # the task (deadline 2025-12-31) is past due: flagged overdue, whatever the report says
    expect(page.locator("[data-testid=overdue]")).to_be_visible()
    context.close()
