"""Monthly carbon facts for the seeded enterprises (张家港 1–4, 常熟 5–6)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from kechuang.db import unit_of_work
from kechuang.models import Enterprise, Fact, ImportBatch, Metric
from tests.support.seed import uscc

# n → [(period, co2_t, value_added)] ; None = no fact
MONTHS = {
    1: [(202501, "10", "20"), (202502, "14", "20"), (202503, "12", "20")],
    2: [(202501, "30", "20"), (202502, "30", "20"), (202503, "30", "0")],
    3: [(202501, "5", "20"), (202502, "5", "20"), (202503, "6", "20")],
    5: [(202501, "8", "10"), (202502, "8", "10"), (202503, "8", "10")],
    6: [(202501, "2", "10"), (202502, "2", "10"), (202503, "1", "10")],
}


def add_facts(engine, months=MONTHS) -> None:
    with unit_of_work(engine) as s:
        ids = dict(s.execute(select(Metric.code, Metric.id)).all())
        batch = ImportBatch(template="test", department_code="stats", filename="t.csv",
                            content_hash="x", layout="long")
        s.add(batch)
        s.flush()
        for n, rows in months.items():
            code_region = "320581" if n >= 5 else "320582"
            eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc(n, code_region)))
            for period, co2, va in rows:
                for metric, value in (("co2_t", co2), ("value_added_month", va),
                                      ("energy_tce", str(Decimal(co2) / 2))):
                    if value is not None:
                        s.add(Fact(enterprise_id=eid, metric_id=ids[metric], period=period,
                                   value_num=Decimal(value), batch_id=batch.id))


@pytest.fixture
def carbon_db(engine):
    add_facts(engine)
    return engine
