"""A bureau reviewer previews a draft push batch, drops one message, edits another and sends
the rest; the enterprise then finds the edited text in its inbox — and nothing before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.models.push import PushMessage
from kechuang.push import service
from tests.browser.conftest import log_in
from tests.push.helpers import enterprise_ids, make_run

pytestmark = pytest.mark.browser

EDITED = "请于 5 月 31 日前在平台提交创新型中小企业自评材料（已审核）。"


def test_review_drop_edit_and_send_a_draft_batch(page, browser, live) -> None:
    with unit_of_work(live.engine) as s:
        e = enterprise_ids(s)
        run = make_run(s, "innovative_sme", {e[n]: "eligible" for n in range(1, 5)},
                       region_code="320582", eval_year=2031)
        batch_id = service.do_push_after_runs(s, Actor.command_line(), [run])[0].batch_id
        ids = {n: s.scalar(select(PushMessage.id).where(PushMessage.enterprise_id == e[n],
                                                        PushMessage.batch_id == batch_id))
               for n in (1, 2)}
    # the enterprise sees nothing of a draft
    ent = browser.new_context(locale="zh-CN").new_page()
    log_in(ent, live, "ent1")
    ent.goto(f"{live.url}/push/inbox")
    assert EDITED not in ent.content()
    assert ent.locator("[data-kind=newly_eligible][data-policy=innovative_sme]").count() == 0

    log_in(page, live, "staff")
    page.goto(f"{live.url}/push/batches")
    page.click(f"[data-batch='{batch_id}'] a")
    assert page.locator("[data-testid=batch-status]").inner_text() == "待审核"
    assert page.locator("[data-testid=batch-items] tbody tr").count() == 4
    page.check(f"tr[data-message='{ids[2]}'] [data-testid=drop]")
    row = page.locator(f"tr[data-message='{ids[1]}']")
    row.locator("summary").click()
    row.locator("textarea").fill(EDITED)
    page.click("[data-testid=send-batch]")
    page.wait_for_url(f"{live.url}/push/batches/{batch_id}")
    assert page.locator("[data-testid=batch-status]").inner_text() == "已发送"
    assert "发送 3 条，剔除 1 条，修改 1 条" in page.locator(
        "[data-testid=batch-decision]").inner_text()

    ent.goto(f"{live.url}/push/inbox")
    assert EDITED in ent.content()
    ent.context.close()
