"""The reconciliation report balances to the cent, per budget and year, and exports XLSX."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from kechuang.db import unit_of_work
from kechuang.kit.errors import Forbidden
from kechuang.ledger import engine as ledger_engine
from kechuang.ledger import service as ledger
from kechuang.ledger.engine import ZONE
from tests.ledger.helpers import actor, open_budget, pay


def test_year_bounds_are_shanghai_days() -> None:
    start, end = ledger_engine.year_bounds(2024)
    assert start == datetime(2023, 12, 31, 16, tzinfo=UTC)
    assert end == datetime(2024, 12, 31, 16, tzinfo=UTC)


def test_report_balances_to_the_cent(engine: Engine) -> None:
    year = datetime.now(UTC).astimezone(ZONE).year
    with unit_of_work(engine) as s:
        admin = actor(s, "admin")
        open_budget(s, key=f"program:A:{year}", amount="1000000.00", year=year)
        open_budget(s, key=f"program:B:{year}", amount="500", year=year)
        e1 = pay(s, "333333.33", "a1", budget=f"program:A:{year}")
        pay(s, "0.01", "a2", budget=f"program:A:{year}", kind="tranche")
        ledger.do_receive(s, admin, budget_key=f"program:A:{year}", amount=Decimal("100.10"),
                          decision_ref="recovery", idempotency_key="a3")
        ledger.do_reverse(s, admin, entry_id=e1.id, reason="重复拨付", idempotency_key="a4")
        pay(s, "499.99", "b1", budget=f"program:B:{year}")
    with unit_of_work(engine) as s:
        report = ledger.reconcile(s, actor(s, "admin"), year)
        rows = {r.key: r for r in report.rows}
        a = rows[f"program:A:{year}"]
        assert (a.opening, a.paid, a.received, a.reversed_payments, a.reversed_receipts) == (
            Decimal("1000000"), Decimal("333333.34"), Decimal("100.1"), Decimal("333333.33"),
            Decimal(0))
        assert a.closing == a.ledger_balance == Decimal("1000100.09")
        assert rows[f"program:B:{year}"].closing == Decimal("0.01")
        assert report.balanced and report.totals is not None
        assert report.totals.closing == Decimal("1000100.10")
        assert report.totals.entries == 5
        # the other county's administrator sees none of it
        assert ledger.reconcile(s, actor(s, "other_admin"), year).rows == []
        with pytest.raises(Forbidden):
            ledger.reconcile(s, actor(s, "ent1"), year)
        body = ledger.do_export_reconciliation(s, actor(s, "admin"), year)
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "预算编号" and values[-1][1] == "合计"
    assert Decimal(str(values[-1][10])) == Decimal("1000100.10")


def test_budget_of_an_earlier_year_opens_with_what_was_left(engine: Engine) -> None:
    year = datetime.now(UTC).astimezone(ZONE).year
    with unit_of_work(engine) as s:
        open_budget(s, key=f"program:C:{year - 1}", amount="100", year=year - 1)
        pay(s, "10", "c1", budget=f"program:C:{year - 1}")
    with unit_of_work(engine) as s:
        last_year = ledger.reconcile(s, actor(s, "admin"), year - 1)
        # the entry is dated this year, so last year's report shows the budget untouched
        assert [(r.opening, r.paid, r.closing) for r in last_year.rows] == [
            (Decimal(100), Decimal(0), Decimal(100))]
        assert last_year.balanced
        this_year = ledger.reconcile(s, actor(s, "admin"), year)
        assert [(r.opening, r.paid, r.closing) for r in this_year.rows] == [
            (Decimal(100), Decimal(10), Decimal(90))]
