"""A small, hand-built county for tests: two counties, a handful of enterprises, one account
per role, and a bureau administrator of the *other* county to prove scope.

Everything is written through the real services and models (no mocks); the demo generator
has its own tests.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.service import do_create_user
from kechuang.kit.uscc import make_uscc
from kechuang.models import Bank, Enterprise, Expert, Institute
from kechuang.registry.reference import load_reference_data

PASSWORD = "test-pass-123"
HOME_COUNTY = "320582"  # 张家港市
OTHER_COUNTY = "320581"  # 常熟市
HOME_TOWN = "320582100"  # 杨舍镇
HOME_PARK = "320582401"  # 张家港经济技术开发区
OTHER_TOWN = "320581101"


def uscc(n: int, region: str = HOME_COUNTY) -> str:
    """A valid credit code: 91 (enterprise, 工商) + region + organisation code with n."""
    return make_uscc(f"91{region}{n:08d}X"[:17])


ENTERPRISES = [
    # (n, name, region, industry)
    (1, "张家港华芯微电子有限公司", HOME_TOWN, "3973"),
    (2, "张家港沙洲新材料股份有限公司", HOME_PARK, "2651"),
    (3, "张家港港城机械制造有限公司", HOME_TOWN, "3421"),
    (4, "张家港智能软件科技有限公司", HOME_COUNTY, "6513"),
    (5, "常熟虞山纺织有限公司", OTHER_TOWN, "1711"),
    (6, "常熟琴川医疗器械有限公司", OTHER_COUNTY, "3581"),
]


def seed(session: Session) -> dict[str, object]:
    load_reference_data(session)
    ents = {}
    for n, name, region, industry in ENTERPRISES:
        code_region = HOME_COUNTY if region.startswith(HOME_COUNTY) else OTHER_COUNTY
        e = Enterprise(uscc=uscc(n, code_region), name=name, region_code=region,
                       industry_code=industry, founded_on=date(2010 + n, 3, n), size_class="small")
        session.add(e)
        ents[n] = e
    inst = Institute(code="INST-1", name="苏州科技大学张家港研究院", kind="institute",
                     region_code=HOME_COUNTY, fields=["新材料"])
    session.add(inst)
    bank = Bank(code="BANK-1", name="张家港农村商业银行", region_code=HOME_COUNTY)
    session.add(bank)
    session.flush()
    expert = Expert(code="EXP-1", name="王工", title="教授级高工", institute_id=inst.id,
                    region_code=HOME_COUNTY, fields=["新材料"], conflicts=[])
    session.add(expert)
    session.flush()
    cli = Actor.command_line()
    accounts = [
        ("admin", "bureau_admin", HOME_COUNTY, {}),
        ("staff", "bureau_staff", HOME_COUNTY, {}),
        ("tax", "department", HOME_COUNTY, {"department_code": "tax"}),
        ("ent1", "enterprise", HOME_TOWN, {"enterprise_id": ents[1].id}),
        ("inst", "institute", HOME_COUNTY, {"institute_id": inst.id}),
        ("expert", "expert", HOME_COUNTY, {"expert_id": expert.id}),
        ("bank", "bank", HOME_COUNTY, {"bank_id": bank.id}),
        ("other_admin", "bureau_admin", OTHER_COUNTY, {}),
    ]
    for username, role, region, party in accounts:
        do_create_user(session, cli, username=username, password=PASSWORD, role=role,
                       region_code=region, display_name=username, **party)
    session.flush()
    return {"enterprises": {n: e.uscc for n, e in ents.items()}}
