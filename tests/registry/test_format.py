"""Display rules of fact values: exact decimals, units, booleans, enumerations, periods."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kechuang.registry.service import format_decimal, format_period, format_value
from tests.registry.factdata import add_batch, add_facts


@pytest.mark.parametrize(("value", "places", "expected"), [
    (Decimal("1234.5"), 2, "1,234.50"),
    (Decimal("1234.5678"), 2, "1,234.5678"),  # never rounds digits away
    (Decimal("1E+3"), 0, "1,000"),
    (Decimal("-98765.4"), 2, "-98,765.40"),
    (Decimal("0.000001"), 2, "0.000001"),
    (Decimal("1200"), 0, "1,200"),
])
def test_format_decimal(value, places, expected):
    assert format_decimal(value, places) == expected


def test_format_value_by_type():
    assert format_value("number", "万元", Decimal("12"), None) == "12.00"
    assert format_value("number", "tce", Decimal("12.50"), None) == "12.5"
    assert format_value("integer", "人", Decimal("1200"), None) == "1,200"
    # a year is a year, not a count
    assert format_value("integer", None, Decimal("2026"), None,
                        metric="tech_sme_registered_year") == "2026"
    assert format_value("integer", None, Decimal("2026"), None, metric="staff") == "2,026"
    assert format_value("bool", None, None, "true") == "是"
    assert format_value("bool", None, None, "0", "en") == "no"
    assert format_value("enum", None, None, "national_little_giant") == "国家级专精特新“小巨人”"
    assert format_value("enum", None, None, "unheard_of") == "unheard_of"
    assert format_value("date", None, None, "2026-12-31") == "2026-12-31"
    assert format_value("text", None, None, None) == "—"
    assert format_period("month", 202305) == "2023-05"
    assert format_period("year", 2023) == "2023"
    assert format_period("attr", 0) == "—"


def test_smallest_exact_value_survives_storage_and_display(engine, client, login_as):
    from kechuang.db import unit_of_work
    from tests.support.seed import uscc

    with unit_of_work(engine) as s:
        batch = add_batch(s)
        add_facts(s, batch, uscc(3), {"revenue": {2023: Decimal("123456789.000001")},
                                      "rd_expense": {2023: Decimal("0.01")}})
    login_as("admin")
    page = client.get(f"/enterprises/{uscc(3)}").text
    assert "123,456,789.000001" in page and "0.01" in page
    api = client.get(f"/api/v1/enterprises/{uscc(3)}").json()
    values = {f["metric"]: f["value"] for f in api["facts"]}
    assert values == {"revenue": "123456789.000001", "rd_expense": "0.01"}
