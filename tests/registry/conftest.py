"""Fixtures of the registry tests: the seeded county with a few facts and qualifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from kechuang.db import unit_of_work
from kechuang.registry.service import today_local
from tests.registry.factdata import add_batch, add_facts, set_qualifications
from tests.support.seed import uscc


@pytest.fixture
def facts(engine: Engine) -> dict[str, int]:
    """Two batches for enterprise 1: tax (2021-2022 plus monthly energy and an attribute),
    then statistics correcting 2022 revenue and adding 2023. Returns the batch ids."""
    with unit_of_work(engine) as s:
        tax = add_batch(s, "tax", "税务数据2022.csv",
                        at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC))
        add_facts(s, tax, uscc(1), {
            "revenue": {2021: Decimal("1200.5"), 2022: Decimal("1500")},
            "rd_expense": {2021: Decimal("80"), 2022: Decimal("95.25")},
            "employees": {2022: 120},
            "energy_tce": {202301: Decimal("12.5"), 202302: Decimal("13")},
            "srdi_level": {0: "province"},
        })
        stats = add_batch(s, "stats", "统计年报2023.xlsx",
                          at=datetime(2024, 6, 30, 17, 30, tzinfo=UTC))
        add_facts(s, stats, uscc(1), {"revenue": {2022: Decimal("1510.75"),
                                                  2023: Decimal("1800")}})
        return {"tax": tax.id, "stats": stats.id}


@pytest.fixture
def qualified(engine: Engine) -> None:
    """Derived qualification columns on the four 张家港 enterprises."""
    today = today_local()
    with unit_of_work(engine) as s:
        set_qualifications(s, uscc(1), hte_expires_on=today, hte_cert_no="GR202332000001",
                           abnormal_operation=True)
        set_qualifications(s, uscc(2), hte_expires_on=today - timedelta(days=1),
                           srdi_level="national_little_giant")
        set_qualifications(s, uscc(3), tech_sme_year=2025, rd_institution_level="city")
        set_qualifications(s, uscc(4), srdi_level="province", seriously_dishonest=True,
                           rd_institution_level="none")
