"""Every SQL statement of the Parquet export (issue 15): the committed batches, and the
current facts and the enterprises streamed in id order, a chunk at a time.

The facts package owns reading facts for the platform's own computations
(:mod:`kechuang.facts.service`, wide frames with scope and absent-value rules); this module
is the one other reader of ``fact``, for the bulk export to Parquet, and reads it *raw*: one
row per current fact, no pivot, no inferred zeros. It streams — a server-side cursor on
PostgreSQL, SQLite's own stepping cursor — so memory stays bounded by the chunk size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.db import DECIMAL_SCALE, is_sqlite
from kechuang.models import Enterprise, Fact, ImportBatch, Industry, Metric, Region


def begin_snapshot(session: Session) -> None:
    """Open the read transaction every later statement of the export shares, so the batch
    list, the facts and the enterprises are one consistent snapshot even while imports
    commit: REPEATABLE READ on PostgreSQL, an explicit ``BEGIN`` on SQLite (Python's sqlite3
    opens a transaction only before a write; in WAL mode a read transaction keeps its
    snapshot). Must be the session's first statement."""
    if is_sqlite(session):
        dbapi: Any = session.connection().connection.driver_connection
        if not dbapi.in_transaction:
            dbapi.execute("BEGIN")
    else:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def committed_batches(session: Session) -> list[int]:
    """Ids of the committed import batches, ascending."""
    return [int(i) for i in session.scalars(
        select(ImportBatch.id).where(ImportBatch.status == "committed").order_by(ImportBatch.id))]


def superseded_by(session: Session, batch_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """For each of ``batch_ids``: which earlier batches' facts it superseded, and how many
    (the partial index ``ix_fact_superseded``)."""
    if not batch_ids:
        return {}
    out: dict[int, dict[int, int]] = {}
    for new, old, n in session.execute(
            select(Fact.superseded_by, Fact.batch_id, func.count())
            .where(Fact.superseded_by.in_([int(b) for b in batch_ids]))
            .group_by(Fact.superseded_by, Fact.batch_id)):
        out.setdefault(int(new or 0), {})[int(old)] = int(n)
    return out


def metric_codes(session: Session) -> dict[int, str]:
    """Metric id → catalogue code."""
    return {int(i): str(c) for i, c in session.execute(select(Metric.id, Metric.code))}


def _scaled_value(sqlite: bool) -> ColumnElement[Any]:
    """``fact.value_num`` as the exact integer ``value × 10^DECIMAL_SCALE`` (NULL stays
    NULL): SQLite stores exactly that; PostgreSQL's NUMERIC(24,6) times 10^6 is an integer."""
    if sqlite:
        return type_coerce(Fact.value_num, BigInteger)
    return cast(Fact.value_num * (10 ** DECIMAL_SCALE), BigInteger)


def _fact_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """No extra condition for the operator over every region (a full scan stays a scan);
    otherwise the facts of the enterprises in ``actor``'s scope."""
    if actor.is_bureau and actor.region_path == "/":
        return []
    return [Fact.enterprise_id.in_(select(Enterprise.id).where(enterprise_visible(actor)))]


def facts_statement(session: Session, actor: Actor, batch_ids: Sequence[int] | None, *,
                    attributes: bool) -> Any:
    """The statement :func:`stream_facts` streams (module docstring of ``stream_facts``)."""
    sqlite = is_sqlite(session)
    committed = select(ImportBatch.id).where(ImportBatch.status == "committed")
    stmt = (select(Fact.id, Fact.enterprise_id, Enterprise.uscc, Fact.metric_id, Fact.period,
                   _scaled_value(sqlite), Fact.value_text, Fact.batch_id)
            .join(Enterprise, Enterprise.id == Fact.enterprise_id)
            .where(Fact.is_current.is_(True),
                   Fact.period == 0 if attributes else Fact.period != 0, *_fact_scope(actor)))
    if batch_ids is not None:
        stmt = stmt.where(Fact.batch_id.in_([int(b) for b in batch_ids]))
    # (batch, fact id) is the order of the index ix_fact_batch (its keys end with the row
    # id), through which both databases read the committed batches' rows: rows come out in
    # the index's order, so nothing is sorted. Ordered by fact id alone, SQLite sorted the
    # whole result in memory before the first row (4.8 GB and killed at 62 million facts).
    return stmt.where(Fact.batch_id.in_(committed)).order_by(Fact.batch_id, Fact.id)


def stream_facts(session: Session, actor: Actor, batch_ids: Sequence[int] | None, *,
                 attributes: bool, chunk: int) -> Iterator[Sequence[Any]]:
    """Current facts, ``chunk`` rows at a time, as tuples (fact id, enterprise id, uscc,
    metric id, period, scaled value or None, value_text, batch id). ``attributes``: the
    attribute facts (period 0), else every other period (years, months).

    ``batch_ids`` None: every committed batch; otherwise only the facts of those batches
    (an incremental export reads only the new batches' rows). Always in (batch, fact id)
    order, the order of the index ``ix_fact_batch``: streamed, never sorted as a whole.
    """
    yield from _partitions(session, facts_statement(session, actor, batch_ids,
                                                    attributes=attributes), chunk)


def stream_enterprises(session: Session, actor: Actor, *, chunk: int
                       ) -> Iterator[Sequence[Any]]:
    """The enterprises in ``actor``'s scope in id order, ``chunk`` at a time: (id, uscc,
    name, region code, region path, industry code, industry section, founded on, size
    class, HTE certificate expiry, tech-SME year, SRDI level, R&D institution level, in a
    key technology field, seriously dishonest, abnormal operation, major incident last
    year)."""
    stmt = (select(Enterprise.id, Enterprise.uscc, Enterprise.name, Enterprise.region_code,
                   Region.path, Enterprise.industry_code, Industry.section,
                   Enterprise.founded_on, Enterprise.size_class, Enterprise.hte_expires_on,
                   cast(Enterprise.tech_sme_year, Integer), Enterprise.srdi_level,
                   Enterprise.rd_institution_level, Enterprise.in_key_tech_field,
                   Enterprise.seriously_dishonest, Enterprise.abnormal_operation,
                   Enterprise.major_incident_last_year)
            .outerjoin(Region, Region.code == Enterprise.region_code)
            .outerjoin(Industry, Industry.code == Enterprise.industry_code)
            .where(enterprise_visible(actor))
            .order_by(Enterprise.id))
    yield from _partitions(session, stmt, chunk)


def _partitions(session: Session, stmt: Any, chunk: int) -> Iterator[Sequence[Any]]:
    """Run ``stmt`` with a streamed cursor (server-side on PostgreSQL) and yield its rows
    ``chunk`` at a time; never the whole result in memory."""
    result = session.connection().execution_options(
        stream_results=True, max_row_buffer=chunk).execute(stmt)
    try:
        yield from result.partitions(chunk)
    finally:
        result.close()
