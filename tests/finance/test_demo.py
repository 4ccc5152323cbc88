"""The demo records: deterministic from the seed, every page's data present (products,
months, needs, outcomes, loans, consultations, consents, the pool and a matching run)."""

from __future__ import annotations

from sqlalchemy import func, select

from kechuang.db import unit_of_work
from kechuang.finance.demo import load_demo
from kechuang.models import Enterprise
from kechuang.models.finance import FinanceMatch, FinanceNeed
from tests.finance.conftest import today


def test_demo_county_has_believable_finance_data(engine):
    with unit_of_work(engine) as s:
        for e in s.scalars(select(Enterprise).where(Enterprise.region_code.like("320582%"))):
            e.tech_sme_year = 2024
        s.flush()
        summary = load_demo(s, seed=7, county_code="320582", today=today())
        assert summary["products"] == 8 and summary["months"] == 25
        assert summary["needs"] > 0 and summary["consultations"] > 0
        assert 0 < summary["loans"] <= summary["outcomes"]
        assert summary["risk_pool"] == f"finance:risk_pool:320582:{today().year}"
        assert s.scalar(select(func.count()).select_from(FinanceMatch)) > 0
        needs = s.scalar(select(func.count()).select_from(FinanceNeed))
        assert needs == summary["needs"]
