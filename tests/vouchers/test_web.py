"""Voucher pages and API: the provider's redemption form (errors in Chinese, nothing
written), the bureau's overview, an enterprise's own vouchers, both languages."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.ledger import service as ledger
from kechuang.models import AuditEvent, Enterprise, Institute, PolicyRun
from kechuang.models.ledger import (
    VoucherProvider,
    VoucherRedemption,
    VoucherService,
    VoucherSettlement,
)
from kechuang.vouchers import engine as voucher_engine
from kechuang.vouchers import service as vouchers
from tests.conftest import login
from tests.ledger.helpers import actor
from tests.push.helpers import enterprise_ids, make_run
from tests.support.seed import uscc
from tests.vouchers.helpers import code_of, voucher_county
from tests.vouchers.test_service import DAY

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


def test_bureau_registers_provider_adds_service_and_settles_through_the_page(
        app, client, engine) -> None:  # type: ignore[no-untyped-def]
    """The provider page's buttons: register (admin only), add a service, settle, download
    the statement — each audited; a refused form says why and writes nothing."""
    c, (code1, uscc1), _ = _county(engine)
    with unit_of_work(engine) as s:  # one redemption of the registered institute to settle
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code1, uscc=uscc1,
                           provider_id=c["provider"].id, invoice_no="S-1",
                           invoice_amount="10000", today=DAY)
    csrf = login(client, "staff")
    page = client.get("/vouchers/providers")
    assert page.status_code == 200 and 'data-testid="register-provider-form"' not in page.text
    assert 'data-testid="settle-form"' in page.text
    r = client.post("/vouchers/providers", data={"csrf_token": csrf, "kind": "enterprise",
                                                 "code": uscc(3)})
    assert r.status_code == 403
    csrf = login(client, "admin")
    page = client.get("/vouchers/providers")
    assert 'data-testid="register-provider-form"' in page.text
    bad = client.post("/vouchers/providers", data={"csrf_token": csrf, "kind": "enterprise",
                                                   "code": "91320582XXXXXXXXXX"})
    assert bad.status_code == 404 and "统一社会信用代码”不存在" in bad.text
    dup = client.post("/vouchers/providers", data={"csrf_token": csrf, "kind": "institute",
                                                   "code": "INST-1"})
    assert dup.status_code == 409 and "已是服务机构" in dup.text
    ok = client.post("/vouchers/providers", data={
        "csrf_token": csrf, "kind": "enterprise", "code": uscc(3).lower(),
        "contact": "李工 0512-0000"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].endswith("done=registered")
    with unit_of_work(engine) as s:
        new = s.scalar(select(VoucherProvider).where(VoucherProvider.kind == "enterprise"))
        assert new is not None and new.contact == "李工 0512-0000"
        new_id = new.id
    page = client.get("/vouchers/providers?done=registered")
    assert 'data-testid="providers-done"' in page.text and f'data-provider="{new_id}"' in page.text
    bad = client.post(f"/vouchers/providers/{new_id}/services",
                      data={"csrf_token": csrf, "category": "nonsense", "name": "x"})
    assert bad.status_code == 422 and "服务类别" in bad.text
    ok = client.post(f"/vouchers/providers/{new_id}/services", data={
        "csrf_token": csrf, "category": "testing", "name": "电磁兼容检测"},
        follow_redirects=False)
    assert ok.status_code == 303
    assert "电磁兼容检测" in client.get("/vouchers/providers").text
    # settle: one statement of the institute's redemption, then nothing is left to settle
    ok = client.post(f"/vouchers/providers/{c['provider'].id}/settle",
                     data={"csrf_token": csrf, "reference": "财拨 2024-7"},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"].endswith("done=settled")
    again = client.post(f"/vouchers/providers/{c['provider'].id}/settle",
                        data={"csrf_token": csrf})
    assert again.status_code == 409 and "没有待结算" in again.text
    with unit_of_work(engine) as s:
        st = s.scalar(select(VoucherSettlement))
        assert st is not None and st.redemptions == 1 and st.total == Decimal("6000")
        assert s.scalar(select(func.count()).select_from(VoucherService)
                        .where(VoucherService.provider_id == new_id)) == 1
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"vouchers.register_provider", "vouchers.add_service",
                "vouchers.settle"} <= actions
        st_id = st.id
    page = client.get("/vouchers/providers")
    assert "财拨 2024-7" in page.text and f"/vouchers/settlements/{st_id}.xlsx" in page.text
    x = client.get(f"/vouchers/settlements/{st_id}.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    # English: no Chinese interface text (data values aside)
    client.get("/lang/en")
    body = _main(client.get("/vouchers/providers").text)
    with unit_of_work(engine) as s:
        names = [*s.scalars(select(VoucherProvider.name)), *s.scalars(select(Enterprise.name))]
    for value in (*names, "材料成分检测", "电磁兼容检测", "财拨 2024-7"):
        body = body.replace(value, "")
    assert not CJK.search(body), CJK.findall(body)[:20]
