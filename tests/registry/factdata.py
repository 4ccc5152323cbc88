"""Writing facts the way an import does (a batch, facts pointing at it, older values
superseded), for tests of the pages that read them. Uses the real models and the database
under test; the import service has its own tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kechuang.models import Enterprise, Fact, ImportBatch, Metric


def add_batch(session: Session, department: str = "tax", filename: str = "税务数据2023.csv",
              template: str = "tax", at: datetime | None = None) -> ImportBatch:
    batch = ImportBatch(template=template, department_code=department, filename=filename,
                        content_hash=f"h{filename}{at}", layout="wide", region_code="320582",
                        created_at=at or datetime.now(UTC))
    session.add(batch)
    session.flush()
    return batch


def add_facts(session: Session, batch: ImportBatch, uscc: str,
              values: dict[str, dict[int, object]]) -> None:
    """``values`` is metric code → period → value (Decimal/int for numbers, str otherwise)."""
    eid = session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    assert eid is not None
    metric_ids = {code: mid for code, mid in session.execute(select(Metric.code, Metric.id))}
    for code, by_period in values.items():
        for period, value in by_period.items():
            session.execute(
                update(Fact)
                .where(Fact.enterprise_id == eid, Fact.metric_id == metric_ids[code],
                       Fact.period == period, Fact.is_current.is_(True))
                .values(is_current=False, superseded_by=batch.id)
            )
            numeric = isinstance(value, int | Decimal) and not isinstance(value, bool)
            session.add(Fact(enterprise_id=eid, metric_id=metric_ids[code], period=period,
                             value_num=Decimal(value) if numeric else None,
                             value_text=None if numeric else str(value),
                             batch_id=batch.id, is_current=True))
    session.flush()


def set_qualifications(session: Session, uscc: str, **columns: object) -> None:
    session.execute(update(Enterprise).where(Enterprise.uscc == uscc).values(**columns))
    session.flush()
