"""A voucher county: enterprises found eligible by a written innovation_voucher run, vouchers
issued, one institute provider with a service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.ledger import service as ledger
from kechuang.models import Enterprise, Institute, PolicyRun
from kechuang.vouchers import service as vouchers
from tests.ledger.helpers import actor
from tests.push.helpers import enterprise_ids, make_run
from tests.support.seed import HOME_COUNTY, HOME_TOWN, uscc

ISSUE_DAY = date(2024, 3, 1)


def add_enterprises(session: Session, n: int) -> list[int]:
    """``n`` more enterprises in 杨舍镇 (seed numbers 101…)."""
    rows = [Enterprise(uscc=uscc(100 + i), name=f"张家港创新券测试企业{i:03d}有限公司",
                       region_code=HOME_TOWN, industry_code="3973",
                       founded_on=date(2015, 1, 1), size_class="small") for i in range(1, n + 1)]
    session.add_all(rows)
    session.flush()
    return [e.id for e in rows]


def voucher_county(session: Session, *, extra: int = 0, budget: str | None = None,
                   face_wan: int = 5) -> dict[str, object]:
    """Issue 2024 vouchers: seed enterprises 1, 2 and 4 eligible (3 not), plus ``extra``
    eligible ones; ``budget`` opens the year's budget first (else the annual parameter)."""
    ids = enterprise_ids(session)
    more = add_enterprises(session, extra) if extra else []
    verdicts = {ids[1]: "eligible", ids[2]: "eligible", ids[3]: "ineligible",
                ids[4]: "eligible", ids[5]: "eligible", **{e: "eligible" for e in more}}
    run_id = make_run(session, "innovation_voucher", verdicts, eval_year=2023)
    run = session.get(PolicyRun, run_id)
    assert run is not None
    run.parameters = {"amount": {"value": face_wan, "ref": "测试", "from": "2023-01-01"}}
    admin = actor(session, "admin")
    if budget is not None:
        ledger.do_open_budget(session, admin, key=f"vouchers:{HOME_COUNTY}:2024",
                              title="2024 创新券", region_code=HOME_COUNTY, year=2024,
                              amount=Decimal(budget), source="测试决定")
    issued = vouchers.do_issue(session, admin, region_code=HOME_COUNTY, year=2024,
                               on=ISSUE_DAY)
    inst = session.scalar(select(Institute.id).where(Institute.code == "INST-1"))
    assert inst is not None
    provider = vouchers.do_register_provider(session, admin, kind="institute", org_id=inst)
    service = vouchers.do_add_service(session, admin, provider_id=provider.id,
                                      category="testing", name="材料成分检测")
    return {"ids": ids, "more": more, "issued": issued, "provider": provider,
            "service": service}


def code_of(session: Session, enterprise_id: int) -> tuple[str, str]:
    from kechuang.models.ledger import Voucher

    v = session.scalar(select(Voucher).where(Voucher.enterprise_id == enterprise_id))
    e = session.get(Enterprise, enterprise_id)
    assert v is not None and e is not None
    return v.code, e.uscc
