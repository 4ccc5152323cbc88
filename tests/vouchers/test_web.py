"""Voucher pages and API: the provider's redemption form (errors in Chinese, nothing
written), the bureau's overview, an enterprise's own vouchers, both languages."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.ledger import service as ledger
from kechuang.models import Institute, PolicyRun
from kechuang.models.ledger import VoucherRedemption
from kechuang.vouchers import engine as voucher_engine
from kechuang.vouchers import service as vouchers
from tests.conftest import login
from tests.ledger.helpers import actor
from tests.push.helpers import enterprise_ids, make_run
from tests.vouchers.helpers import code_of, voucher_county

CJK = re.compile(r"[\u4e00-\u9fff]")


def _county(engine):  # type: ignore[no-untyped-def]
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        return c, code_of(s, c["ids"][1]), code_of(s, c["ids"][2])


def _main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def test_expired_voucher_refused_by_the_form(app, client, engine) -> None:
    c, (code1, uscc1), _ = _county(engine)  # issued 2024-03-01, valid until 2025-02-28
    csrf = login(client, "inst")
    r = client.post("/vouchers/redeem", data={
        "csrf_token": csrf, "provider_id": c["provider"].id, "service_id": 0,
        "voucher_code": code1, "uscc": uscc1, "invoice_no": "W-1",
        "invoice_amount": "10000"})
    assert r.status_code == 409 and "已于 2025-02-28 过期" in r.text


def test_provider_redeems_through_the_form(app, client, engine) -> None:
    """Vouchers issued today: a redemption through the page, bad amounts, a repeat."""
    with unit_of_work(engine) as s:
        ids = enterprise_ids(s)
        run = s.get(PolicyRun, make_run(s, "innovation_voucher", {ids[1]: "eligible"}))
        run.parameters = {"amount": {"value": 5, "ref": "t", "from": "2023-01-01"}}
        admin = actor(s, "admin")
        year = voucher_engine.today_local().year
        vouchers.do_issue(s, admin, region_code="320582", year=year)
        inst = s.scalar(select(Institute.id))
        p = vouchers.do_register_provider(s, admin, kind="institute", org_id=inst)
        svc = vouchers.do_add_service(s, admin, provider_id=p.id, category="rd",
                                      name="联合研发")
        code, uscc = code_of(s, ids[1])
    csrf = login(client, "inst")
    page = client.get("/vouchers/redeem")
    assert page.status_code == 200 and "联合研发" in page.text
    form = {"csrf_token": csrf, "provider_id": p.id, "service_id": svc.id,
            "voucher_code": code, "uscc": uscc, "invoice_no": "W-1"}
    bad = client.post("/vouchers/redeem", data=form | {"invoice_amount": "-3"})
    assert bad.status_code == 422 and "“发票金额”必须大于零" in bad.text
    bad = client.post("/vouchers/redeem", data=form | {"invoice_amount": "一万"})
    assert bad.status_code == 422 and "不是有效的金额" in bad.text
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(VoucherRedemption)) == 0
    ok = client.post("/vouchers/redeem", data=form | {"invoice_amount": "10000"})
    assert ok.status_code == 200 and 'data-testid="redeem-done"' in ok.text
    again = client.post("/vouchers/redeem", data=form | {"invoice_no": "W-2",
                                                       "invoice_amount": "10000"})
    assert again.status_code == 409 and "不能重复兑付" in again.text
    with unit_of_work(engine) as s:
        assert ledger.remaining(s, f"vouchers:320582:{year}") == Decimal("4994000")
    # the API: the provider lists its redemptions; a repeat is refused with the field named
    api = client.get("/api/v1/vouchers/redemptions")
    assert [r["invoice_no"] for r in api.json()] == ["W-1"]
    r = client.post("/api/v1/vouchers/redemptions", headers={"X-CSRF-Token": csrf}, json={
        "voucher_code": code, "uscc": uscc, "provider_id": p.id, "invoice_no": "W-3",
        "invoice_amount": "5"})
    assert r.status_code == 409


def test_bureau_and_enterprise_pages_in_both_languages(app, client, engine) -> None:
    _county(engine)
    login(client, "admin")
    zh = client.get("/vouchers")
    assert zh.status_code == 200 and "苏州科技大学张家港研究院" in zh.text
    assert 'data-testid="voucher-summary"' in zh.text
    client.get("/lang/en")
    en = client.get("/vouchers")
    body = _main(en.text)
    for name in ("张家港华芯微电子有限公司", "张家港沙洲新材料股份有限公司",
                 "张家港智能软件科技有限公司",
                 "苏州科技大学张家港研究院"):
        body = body.replace(name, "")
    assert not CJK.search(body), CJK.findall(body)[:20]
    summary = client.get("/api/v1/vouchers/summary?year=2024").json()
    assert summary["issued"] == 3 and Decimal(summary["budget"]) == Decimal("5000000")


def test_enterprise_sees_its_own_voucher_only(app, client, engine) -> None:
    _, (code1, _), (code2, _) = _county(engine)
    login(client, "ent1")
    page = client.get("/vouchers")
    assert code1 in page.text and code2 not in page.text
    api = client.get("/api/v1/vouchers").json()
    assert [v["code"] for v in api["vouchers"]] == [code1]
