"""Yearly facts for the seeded enterprises (张家港 1–4 in 杨舍镇 / 开发区, 常熟 5–6) and a
department account for 统计局 (stats)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from kechuang.auth.actor import Actor
from kechuang.auth.service import do_create_user
from kechuang.db import unit_of_work
from kechuang.models import Enterprise, Fact, ImportBatch, Metric
from tests.support.seed import PASSWORD, uscc

# n → {metric: {year: value}}
FACTS = {
    1: {"main_business_revenue": {2023: "5000", 2024: "6000"},
        "rd_expense": {2023: "200", 2024: "300"}, "tech_contract_value": {2024: "1000"}},
    2: {"main_business_revenue": {2023: "3000", 2024: "1500"}, "rd_expense": {2024: "0"}},
    3: {"main_business_revenue": {2023: "2500", 2024: "2600"}},
    5: {"main_business_revenue": {2024: "9000"}, "rd_expense": {2024: "900"}},
}


def add_facts(engine) -> None:
    with unit_of_work(engine) as s:
        ids = dict(s.execute(select(Metric.code, Metric.id)).all())
        batch = ImportBatch(template="test", department_code="stats", filename="t.csv",
                            content_hash="y", layout="long")
        s.add(batch)
        s.flush()
        for n, metrics in FACTS.items():
            eid = s.scalar(select(Enterprise.id).where(
                Enterprise.uscc == uscc(n, "320581" if n >= 5 else "320582")))
            for metric, years in metrics.items():
                for year, value in years.items():
                    s.add(Fact(enterprise_id=eid, metric_id=ids[metric], period=year,
                               value_num=Decimal(value), batch_id=batch.id))
        # 1: HTE valid through 2025; 2: tech SME of 2024, a provincial R&D institution
        s.execute(update(Enterprise).where(Enterprise.uscc == uscc(1)).values(
            hte_expires_on=date(2025, 10, 1)))
        s.execute(update(Enterprise).where(Enterprise.uscc == uscc(2)).values(
            tech_sme_year=2024, rd_institution_level="province"))
        do_create_user(s, Actor.command_line(), username="stats", password=PASSWORD,
                       role="department", region_code="320582", display_name="统计局",
                       department_code="stats")


@pytest.fixture
def mon_db(engine):
    add_facts(engine)
    return engine
