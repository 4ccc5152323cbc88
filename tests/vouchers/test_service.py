"""Vouchers: issue to the policy's eligible enterprises, redeem, refuse, settle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from kechuang.db import unit_of_work
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.ledger import service as ledger
from kechuang.models.ledger import LedgerEntry, Voucher, VoucherRedemption
from kechuang.vouchers import service as vouchers
from tests.ledger.helpers import actor
from tests.vouchers.helpers import ISSUE_DAY, code_of, voucher_county

DAY = date(2024, 6, 1)


def test_issue_to_eligible_enterprises_in_scope(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        issued = c["issued"]
        # 1, 2, 4 eligible in 张家港; 3 ineligible; 5 eligible but in 常熟 (out of region)
        assert (issued.eligible, issued.issued) == (3, 3)
        assert issued.amount == Decimal("50000") and issued.cover_share == Decimal("0.6")
        assert issued.valid_until == date(2025, 2, 28)
        assert ledger.remaining(s, "vouchers:320582:2024") == Decimal("5000000")
    with unit_of_work(engine) as s:
        again = vouchers.do_issue(s, actor(s, "admin"), region_code="320582", year=2024,
                                  on=ISSUE_DAY)
        assert (again.issued, again.already) == (0, 3)
        assert s.scalar(select(func.count()).select_from(Voucher)) == 3


def test_redeem_pays_provider_through_ledger(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        code, uscc = code_of(s, c["ids"][1])
        red = vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code.lower(), uscc=uscc,
                                 provider_id=c["provider"].id, invoice_no="No.001",
                                 invoice_amount="40000.00", service_id=c["service"].id,
                                 today=DAY)
        assert red.amount == Decimal("24000")
        entry = ledger.entries_for(s, decision_ref=f"voucher:{code}")
        assert [(e.kind, e.payee_type, e.amount) for e in entry] == [
            ("voucher_settlement", "provider", Decimal("24000"))]
        assert ledger.remaining(s, "vouchers:320582:2024") == Decimal("4976000")
        # the same request again (a retry) returns the first; a different one is refused
        again = vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc,
                                   provider_id=c["provider"].id, invoice_no="No.001",
                                   invoice_amount="40000", today=DAY)
        assert again.id == red.id and again.replayed
        with pytest.raises(Conflict, match="不能重复兑付"):
            vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc,
                               provider_id=c["provider"].id, invoice_no="No.002",
                               invoice_amount="1000", today=DAY)


def test_cap_at_face_value(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        code, uscc = code_of(s, c["ids"][2])
        red = vouchers.do_redeem(s, actor(s, "staff"), voucher_code=code, uscc=uscc,
                                 provider_id=c["provider"].id, invoice_no="A-9",
                                 invoice_amount="1000000", today=DAY)
        assert red.amount == Decimal("50000")


@pytest.mark.parametrize(("change", "error", "fragment"), [
    ({"today": date(2025, 3, 1)}, Conflict, "过期"),
    ({"uscc": "91320582MA1X0000XX"}, NotFound, "不匹配"),
    ({"voucher_code": "CX2024-XXXX-XXXX"}, NotFound, "创新券编号"),
    ({"invoice_amount": "-100"}, InvalidInput, "发票金额"),
    ({"invoice_amount": "abc"}, InvalidInput, "发票金额"),
    ({"invoice_amount": "12.345"}, InvalidInput, "精确到分"),
    ({"invoice_no": " "}, InvalidInput, "发票号码"),
    ({"who": "ent1"}, InvalidInput, "尚未登记"),  # an enterprise not registered as provider
    ({"who": "bank"}, Forbidden, ""),
    ({"who": "other_admin"}, Forbidden, "辖区"),
    ({"voucher_code": " "}, InvalidInput, "创新券编号"),
])
def test_refusals_write_nothing(engine: Engine, change: dict, error: type, fragment: str
                                ) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        code, uscc = code_of(s, c["ids"][1])
        provider_id = c["provider"].id
    args = {"voucher_code": code, "uscc": uscc, "invoice_no": "F-1",
            "invoice_amount": "10000", "today": DAY, "who": "inst"} | change
    who = args.pop("who")
    with pytest.raises(error) as err, unit_of_work(engine) as s:
        vouchers.do_redeem(s, actor(s, who), provider_id=provider_id, **args)
    assert fragment in err.value.message_zh
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(VoucherRedemption)) == 0
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_budget_runs_out(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s, budget="70000")
        p = c["provider"].id
        code1, u1 = code_of(s, c["ids"][1])
        code2, u2 = code_of(s, c["ids"][2])
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code1, uscc=u1, provider_id=p,
                           invoice_no="1", invoice_amount="100000", today=DAY)
    with pytest.raises(Conflict, match="超出预算") as err, unit_of_work(engine) as s:
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code2, uscc=u2, provider_id=p,
                           invoice_no="2", invoice_amount="100000", today=DAY)
    assert "20,000.00" in err.value.message_zh
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(VoucherRedemption)) == 1


def test_provider_may_not_redeem_own_voucher_and_suspended(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        admin = actor(s, "admin")
        own = vouchers.do_register_provider(s, admin, kind="enterprise", org_id=c["ids"][1])
        code, uscc = code_of(s, c["ids"][1])
        with pytest.raises(Forbidden, match="本企业"):
            vouchers.do_redeem(s, actor(s, "ent1"), voucher_code=code, uscc=uscc,
                               provider_id=own.id, invoice_no="x", invoice_amount="10",
                               today=DAY)
        vouchers.do_set_provider_active(s, admin, c["provider"].id, False)
        with pytest.raises(Conflict, match="暂停"):
            vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc,
                               provider_id=c["provider"].id, invoice_no="x",
                               invoice_amount="10", today=DAY)


def test_settle_groups_unsettled_redemptions(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        p = c["provider"].id
        for n, inv in ((1, "30000"), (2, "10000.02")):
            code, uscc = code_of(s, c["ids"][n])
            vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code, uscc=uscc,
                               provider_id=p, invoice_no=f"I{n}", invoice_amount=inv,
                               today=DAY)
        st = vouchers.do_settle(s, actor(s, "staff"), provider_id=p, reference="转账 1 号")
        assert (st.redemptions, st.total) == (2, Decimal("24000.01"))
        with pytest.raises(Conflict, match="没有待结算"):
            vouchers.do_settle(s, actor(s, "staff"), provider_id=p)
        with pytest.raises(Forbidden):
            vouchers.do_settle(s, actor(s, "inst"), provider_id=p)
        assert [x.id for x in vouchers.settlements(s, actor(s, "inst"))] == [st.id]
        body = vouchers.settlement_xlsx(s, actor(s, "staff"), st.id)
        assert body[:2] == b"PK"


def test_enterprise_sees_only_its_vouchers(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        page = vouchers.voucher_page(s, actor(s, "ent1"))
        assert [v.enterprise_id for v in page.vouchers] == [c["ids"][1]]
        assert vouchers.voucher_page(s, actor(s, "admin")).total == 3
        with pytest.raises(Forbidden):
            vouchers.voucher_page(s, actor(s, "inst"))


def test_one_invoice_redeems_one_voucher(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        c = voucher_county(s)
        p = c["provider"].id
        code1, u1 = code_of(s, c["ids"][1])
        code2, u2 = code_of(s, c["ids"][2])
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code1, uscc=u1, provider_id=p,
                           invoice_no="SAME", invoice_amount="100", today=DAY)
    with pytest.raises(Conflict, match="发票号码") as err, unit_of_work(engine) as s:
        vouchers.do_redeem(s, actor(s, "inst"), voucher_code=code2, uscc=u2, provider_id=p,
                           invoice_no="SAME", invoice_amount="100", today=DAY)
    assert err.value.details["field"] == "invoice_no"
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
