"""Exact decimals and UTC timestamps behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from kechuang.db import unit_of_work
from kechuang.models import Enterprise, Fact, ImportBatch, Metric

money = st.decimals(min_value=Decimal("-99999999"), max_value=Decimal("99999999"), places=6,
                    allow_nan=False, allow_infinity=False)


def _batch(session) -> int:
    # a fresh content hash per batch: one committed batch per file content (migration 0021)
    b = ImportBatch(template="t", department_code="tax", filename="f.csv",
                    content_hash=uuid.uuid4().hex, layout="wide")
    session.add(b)
    session.flush()
    return b.id


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(values=st.lists(money, min_size=3, max_size=3, unique=True))
def test_decimals_round_trip_exactly_and_sum_exactly(engine, values):
    with unit_of_work(engine) as s:
        ent = s.scalar(select(Enterprise.id).limit(1))
        metric = s.scalar(select(Metric.id).where(Metric.code == "revenue"))
        batch = _batch(s)
        s.query(Fact).delete()
        for year, v in enumerate(values, start=2020):
            s.add(Fact(enterprise_id=ent, metric_id=metric, period=year, value_num=v,
                       batch_id=batch))
    with unit_of_work(engine) as s:
        got = [f.value_num for f in s.scalars(select(Fact).order_by(Fact.period))]
        assert got == [v.normalize() for v in values]
        assert s.scalar(select(func.sum(Fact.value_num))) == sum(values)
        assert s.scalar(select(func.max(Fact.value_num))) == max(values)
        # comparisons against a bound Decimal happen in SQL, exactly
        assert s.scalar(select(func.count()).where(Fact.value_num > values[0])) == sum(
            v > values[0] for v in values)


def test_a_tenth_stays_a_tenth(engine):
    with unit_of_work(engine) as s:
        ent = s.scalar(select(Enterprise.id).limit(1))
        metric = s.scalar(select(Metric.id).where(Metric.code == "revenue"))
        batch = _batch(s)
        for year in range(2000, 2010):
            s.add(Fact(enterprise_id=ent, metric_id=metric, period=year,
                       value_num=Decimal("0.1"), batch_id=batch))
    with unit_of_work(engine) as s:
        assert s.scalar(select(func.sum(Fact.value_num))) == Decimal("1.0")


def test_timestamps_come_back_aware_in_utc(engine):
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2024, 6, 1, 9, 30, tzinfo=shanghai)
    with unit_of_work(engine) as s:
        bid = _batch(s)
        s.execute(update(ImportBatch).where(ImportBatch.id == bid).values(created_at=at))
    with unit_of_work(engine) as s:
        got = s.get(ImportBatch, bid).created_at
        assert got.tzinfo is not None
        assert got == at
        assert got.astimezone(UTC).hour == 1


def test_naive_timestamps_are_refused(engine):
    with pytest.raises(Exception, match="naive"), unit_of_work(engine) as s:
        bid = _batch(s)
        s.execute(update(ImportBatch).where(ImportBatch.id == bid)
                  .values(created_at=datetime(2024, 1, 1)))
