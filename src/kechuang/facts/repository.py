"""Every SQL statement over the ``fact`` table that other packages need (read side).

The facts package owns reading facts for everyone: :mod:`kechuang.facts.service` turns
these rows into frames and answers; no other package queries ``fact`` (ingest writes it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.db import DECIMAL_SCALE, is_sqlite
from kechuang.models import Department, Enterprise, Fact, ImportBatch, Metric, Region


def agg_text(sqlite: bool, column: str) -> ColumnElement[str]:
    """The values of a group as one comma-separated string, in the group's row order (both
    aggregates of one query see the rows in the same order, so ids and values align)."""
    if sqlite:
        return func.group_concat(literal_column(column), ",", type_=String)
    return func.string_agg(cast(literal_column(column), Text), ",", type_=String)


def dense(ent_ids: np.ndarray) -> bool:
    """Whether the enterprises in scope fill at least half of their id range."""
    n = len(ent_ids)
    return bool(n) and 2 * n >= int(ent_ids[-1]) - int(ent_ids[0]) + 1


def in_scope(ent_ids: np.ndarray, scope: Select[Any]) -> ColumnElement[bool]:
    """The fact rows' scope condition. A dense scope (a county's own database, a chunk of a
    run) is an id *range*, a range scan of the covering index ``ix_fact_read`` (6× less
    work than probing the index once per enterprise) — rows of other enterprises in the
    range are dropped by the service's membership mask. A sparse scope is the exact
    ``IN (scope)``."""
    if dense(ent_ids):
        return Fact.enterprise_id.between(int(ent_ids[0]), int(ent_ids[-1]))
    return Fact.enterprise_id.in_(scope)


def metric_ids(session: Session) -> dict[str, int]:
    """Catalogue code → metric id."""
    return dict(session.execute(select(Metric.code, Metric.id)).all())


def visible_predicate(actor: Actor, enterprise_ids: Iterable[int] | None = None,
                      id_range: tuple[int, int] | None = None) -> ColumnElement[bool]:
    """The enterprises of ``actor``'s scope, optionally narrowed by ids or an id range."""
    visible = enterprise_visible(actor)
    if enterprise_ids is not None:
        visible = and_(visible, Enterprise.id.in_([int(i) for i in enterprise_ids]))
    if id_range is not None:
        visible = and_(visible, Enterprise.id.between(int(id_range[0]), int(id_range[1])))
    return visible


def scope_ids(visible: ColumnElement[bool]) -> Select[Any]:
    """``SELECT enterprise.id WHERE visible`` (a sub-select)."""
    return select(Enterprise.id).where(visible)


def master_rows(session: Session, visible: ColumnElement[bool]) -> Sequence[Any]:
    """(id, uscc, founded_on, industry_code, region_code) of the visible enterprises."""
    return session.execute(
        select(Enterprise.id, Enterprise.uscc, Enterprise.founded_on,
               Enterprise.industry_code, Enterprise.region_code)
        .where(visible).order_by(Enterprise.id)
    ).all()


def yearly_groups(session: Session, sqlite: bool, years: list[int], metric_ids_: list[int],
                  ent_ids: np.ndarray, scope: Select[Any]) -> Any:
    """One row per (metric, year): metric id, period, ids text, values text."""
    stmt = (select(Fact.metric_id, Fact.period, agg_text(sqlite, "fact.enterprise_id"),
                   agg_text(sqlite, "fact.value_num"))
            .where(Fact.is_current.is_(True), Fact.period.in_(years),
                   Fact.metric_id.in_(metric_ids_), Fact.value_num.is_not(None),
                   in_scope(ent_ids, scope))
            .group_by(Fact.metric_id, Fact.period))
    return session.execute(stmt)


def attribute_rows(session: Session, sqlite: bool, metric_ids_: list[int],
                   ent_ids: np.ndarray, scope: Select[Any]) -> Sequence[Any]:
    """(enterprise id, metric id, raw value_num, value_text) of current attribute facts."""
    return session.execute(
        select(Fact.enterprise_id, Fact.metric_id,
               literal_column("fact.value_num", BigInteger if sqlite else Numeric),
               Fact.value_text)
        .where(Fact.is_current.is_(True), Fact.period == 0,
               Fact.metric_id.in_(metric_ids_), in_scope(ent_ids, scope))
    ).all()


def with_provenance(session: Session, enterprise_id: int, *, current: bool) -> list[Any]:
    """Facts of one enterprise joined with their metric, batch and department."""
    return list(session.execute(
        select(
            Fact.metric_id, Fact.period, Fact.value_num, Fact.value_text, Fact.batch_id,
            Fact.superseded_by,
            Metric.code.label("metric"), Metric.name_zh, Metric.name_en, Metric.unit,
            Metric.period_type, Metric.value_type,
            ImportBatch.filename, ImportBatch.created_at.label("batch_at"),
            ImportBatch.status.label("batch_status"), ImportBatch.department_code,
            Department.name_zh.label("dept_zh"), Department.name_en.label("dept_en"),
        )
        .join(Metric, Metric.id == Fact.metric_id)
        .join(ImportBatch, ImportBatch.id == Fact.batch_id)
        .join(Department, Department.code == ImportBatch.department_code)
        .where(Fact.enterprise_id == enterprise_id, *(
            # current: the partial unique index (enterprise, metric, period) WHERE is_current;
            # history: the partial index on superseded_by (a rollback deletes its facts, so
            # every non-current fact names its successor). There is no plain index on
            # fact.enterprise_id, and a full scan of fact is millions of rows.
            (Fact.is_current == True,) if current  # noqa: E712
            else (Fact.superseded_by.is_not(None), Fact.is_current == False)))  # noqa: E712
        .order_by(Metric.id, Fact.period, Fact.batch_id)
    ))


def latest_year(session: Session, actor: Actor) -> int | None:
    """The latest year with any current yearly fact of an enterprise in scope."""
    return session.scalar(
        select(func.max(Fact.period))
        .join(Enterprise, Enterprise.id == Fact.enterprise_id)
        .where(Fact.is_current.is_(True), Fact.period >= 1900, Fact.period <= 2999,
               enterprise_visible(actor)))


def year_has_facts(session: Session, actor: Actor, year: int) -> bool:
    """Whether any enterprise in scope has a current fact of ``year``."""
    return session.scalar(
        select(Fact.id).join(Enterprise, Enterprise.id == Fact.enterprise_id)
        .where(Fact.is_current.is_(True), Fact.period == year, enterprise_visible(actor))
        .limit(1)) is not None


def as_of(session: Session, enterprise_id: int, metrics: list[str], years: list[int],
          at: datetime) -> list[Any]:
    """Facts of one enterprise current at ``at`` (imported before it, not rolled back
    before it, not superseded before it), oldest batch first: (metric code, period,
    value_num, value_text, batch id, filename, department code, department name,
    imported at)."""
    sup = aliased(ImportBatch)
    return list(session.execute(
        select(Metric.code, Fact.period, Fact.value_num, Fact.value_text, ImportBatch.id,
               ImportBatch.filename, ImportBatch.department_code, Department.name_zh,
               ImportBatch.created_at)
        .join(Metric, Metric.id == Fact.metric_id)
        .join(ImportBatch, ImportBatch.id == Fact.batch_id)
        .outerjoin(Department, Department.code == ImportBatch.department_code)
        .outerjoin(sup, sup.id == Fact.superseded_by)
        .where(Fact.enterprise_id == enterprise_id, Metric.code.in_(metrics),
               Fact.period.in_(years), ImportBatch.created_at <= at,
               or_(ImportBatch.rolled_back_at.is_(None), ImportBatch.rolled_back_at > at),
               or_(Fact.superseded_by.is_(None), and_(sup.id.is_not(None),
                                                      sup.created_at > at)))
        .order_by(ImportBatch.created_at, ImportBatch.id)
    ))


def positive_value_ids(metric_id: int | None, year: int) -> Select[Any]:
    """Sub-select of the enterprise ids with a current value > 0 of a metric in a year
    (none when the metric is not in the catalogue)."""
    if metric_id is None:
        return select(Fact.enterprise_id).where(Fact.id.is_(None))
    return (select(Fact.enterprise_id)
            .where(Fact.metric_id == metric_id, Fact.period == year,
                   Fact.is_current.is_(True), Fact.value_num > 0))


def current_count(session: Session) -> int:
    """How many current facts the database holds."""
    return int(session.scalar(select(func.count()).select_from(Fact)
                              .where(Fact.is_current.is_(True))) or 0)


# --------------------------------------------------------------------------- monthly facts
def metric_ids_of(session: Session, codes: Sequence[str]) -> dict[str, int]:
    return {c: i for c, i in session.execute(
        select(Metric.code, Metric.id).where(Metric.code.in_(list(codes))))}


def _in_region_path(column: Any, region_path: str | None) -> Any:
    if region_path is None:
        return True
    return column.in_(select(Region.code).where(
        Region.path.startswith(region_path, autoescape=True)))


def _agg_joined(sqlite: bool, column: Any, order: Any) -> Any:
    """Comma-joined values of a group, in one order for every aggregate of the group."""
    if sqlite:
        return func.group_concat(column, ",")
    return func.string_agg(cast(column, Text), aggregate_order_by(literal_column("','"), order))


def monthly_frame(session: Session, actor: Actor, monthly_metrics: dict[str, str],
                  region_path: str | None = None, *, names: bool = True) -> pd.DataFrame:
    """One row per (enterprise, month) that has any of the monthly carbon facts, visible to
    ``actor`` (and within ``region_path``): enterprise_id, uscc, name, class_code,
    region_code, period (YYYYMM), co2_t, value_added_wan, energy_tce (float64, NaN when the
    fact is missing). Set-based: the facts travel as one row per (metric, month) holding
    the enterprise ids and the values as two comma-joined strings built by the database and
    parsed by NumPy, so a million facts never become a million Python objects.
    ``names=False`` leaves out uscc and name (a whole-county evaluation does not need a
    million copies of them; the pages read names for the rows they show)."""
    ids = metric_ids_of(session, list(monthly_metrics.values()))
    sqlite = is_sqlite(session)
    visible = and_(enterprise_visible(actor), _in_region_path(Enterprise.region_code, region_path))
    master_columns = [Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.industry_code,
                      Enterprise.region_code]
    master_names = ["enterprise_id", "uscc", "name", "class_code", "region_code"]
    if not names:
        master_columns = [master_columns[0], *master_columns[3:]]
        master_names = [master_names[0], *master_names[3:]]
    ents = session.connection().execute(
        select(*master_columns).where(visible).order_by(Enterprise.id)).fetchall()
    # codes as categoricals: a county has a few hundred classes and towns, and a million
    # enterprise-months of them are then a million small integers
    master = pd.DataFrame({name: np.array([r[i] for r in ents], dtype=np.int64) if i == 0
                           else pd.Categorical([r[i] for r in ents])
                           if name in ("class_code", "region_code")
                           else np.array([r[i] for r in ents], dtype=object)
                           for i, name in enumerate(master_names)})
    ent_ids = master["enterprise_id"].to_numpy(dtype=np.int64)
    value = (type_coerce(Fact.value_num, BigInteger) if sqlite else Fact.value_num)
    stmt = (select(Fact.metric_id, Fact.period,
                   _agg_joined(sqlite, Fact.enterprise_id, Fact.enterprise_id),
                   _agg_joined(sqlite, value, Fact.enterprise_id))
            .where(Fact.metric_id.in_(list(ids.values())), Fact.is_current.is_(True),
                   Fact.period >= 100000, Fact.value_num.is_not(None))
            .group_by(Fact.metric_id, Fact.period))
    if region_path is not None or actor.region_path != "/" or not actor.is_bureau:
        stmt = stmt.where(Fact.enterprise_id.in_(select(Enterprise.id).where(visible)))
    by_id = {i: name for name, code in monthly_metrics.items() for c, i in ids.items()
             if c == code}
    blocks: list[tuple[str, int, np.ndarray, np.ndarray]] = []
    for metric_id, period, id_text, value_text in session.connection().execute(stmt):
        eids = (np.fromstring(id_text, dtype=np.int64, sep=",") if id_text
                else np.zeros(0, np.int64))
        vals = np.fromstring(value_text, dtype=np.float64, sep=",") if value_text else np.zeros(0)
        blocks.append((by_id[int(metric_id)], int(period), eids, vals))
    periods = sorted({b[1] for b in blocks})
    n, m = len(ent_ids), len(periods)
    arrays = {name: np.full(n * m, np.nan) for name in monthly_metrics}
    seen = np.zeros(n * m, dtype=bool)
    scale = float(10 ** DECIMAL_SCALE) if sqlite else 1.0
    for name, period, eids, vals in blocks:
        pos = np.searchsorted(ent_ids, eids)
        ok = (pos < n) & (ent_ids[np.clip(pos, 0, max(n - 1, 0))] == eids) if n else \
            np.zeros(len(eids), bool)
        cell = pos[ok] * m + periods.index(period)
        arrays[name][cell] = vals[ok] / scale
        seen[cell] = True
    keep = np.flatnonzero(seen)
    out = master.iloc[keep // m].reset_index(drop=True) if m else master.iloc[:0].copy()
    out["period"] = np.array(periods, dtype=np.int64)[keep % m] if m else np.zeros(0, np.int64)
    for name in monthly_metrics:
        out[name] = arrays[name][keep]
    out["enterprise_id"] = out["enterprise_id"].astype(np.int64)
    return out


def add_demo_value_added(session: Session, *, county_code: str, seed: int, department: str
                         ) -> int:
    """Demo only: monthly value added (``value_added_month``) for every enterprise-month of
    the county that has a monthly industrial output, as a deterministic share of that output
    (20.0–36.9 % by enterprise, ±1 point by month; about one month in a hundred reports no value
    added — zero — so the pages show ungraded months). The values join ``department``'s demo
    batch of the same year (the statistics bureau reports value added beside output), so
    every fact keeps the provenance of the department that owns its metric. One INSERT …
    SELECT per year."""
    ids = metric_ids_of(session, ["output_month", "value_added_month"])
    if len(ids) < 2:
        return 0
    # plain rows, not ORM objects: the generator sets the batches' counts with bulk
    # UPDATEs, so objects in the identity map may hold stale counts
    batches = session.execute(select(ImportBatch.id, ImportBatch.filename).where(
        ImportBatch.department_code == department, ImportBatch.template == "demo",
        ImportBatch.region_code == county_code)).all()
    county = select(Region.code).where(Region.path.like(f"%/{county_code}/%"))
    # per mille: 200–369 by enterprise, −10…+10 by month
    rate = ((Fact.enterprise_id * 37 + seed) % 170 + 200
            + (Fact.period * 7 + Fact.enterprise_id * 13) % 21 - 10)
    loss = (Fact.enterprise_id * 31 + Fact.period) % 97 == 0
    if is_sqlite(session):
        raw = type_coerce(Fact.value_num, BigInteger)
        value = cast(func.round(raw * rate / 10000000.0), BigInteger) * 10000
    else:
        value = func.round(Fact.value_num * rate / 1000, 2)
    value = case((loss, 0), else_=value)
    total = 0
    for batch in batches:
        found = re.search(r"-(\d{4})\.csv$", batch.filename or "")
        if found is None:
            continue
        year = int(found.group(1))
        stmt = select(
            Fact.enterprise_id, literal(ids["value_added_month"]), Fact.period,
            type_coerce(value, Fact.value_num.type) if not is_sqlite(session) else value,
            literal(batch.id), literal(True)).where(
            Fact.metric_id == ids["output_month"], Fact.is_current.is_(True),
            Fact.period.between(year * 100 + 1, year * 100 + 12),
            Fact.enterprise_id.in_(select(Enterprise.id)
                                   .where(Enterprise.region_code.in_(county))))
        result = session.execute(insert(Fact).from_select(
            ["enterprise_id", "metric_id", "period", "value_num", "batch_id", "is_current"],
            stmt))
        n = int(result.rowcount or 0)  # type: ignore[attr-defined]
        # the batch's count is what it holds, counted (not added up from driver rowcounts)
        held = select(func.count()).select_from(Fact).where(Fact.batch_id == batch.id)
        session.execute(update(ImportBatch).where(ImportBatch.id == batch.id)
                        .values(facts_new=held.scalar_subquery()))
        total += n
    session.flush()
    return total


def covering_batches(session: Session, departments: list[str]
                     ) -> list[tuple[str, str | None, frozenset[int]]]:
    """(department, region code, periods) of every committed batch of ``departments``: what
    each covered, for reading absent values as zero (kechuang.facts.service)."""
    return [(str(d), r, frozenset(int(p) for p in (periods or ())))
            for d, r, periods in session.execute(
                select(ImportBatch.department_code, ImportBatch.region_code,
                       ImportBatch.periods)
                .where(ImportBatch.department_code.in_(departments),
                       ImportBatch.status == "committed"))]
