"""SQL of the intake: lookups, the staging table and the set-based writes of facts.

Facts are never written row by row through the ORM: the validated values are staged in a
temporary table (same connection, same transaction) and merged into ``fact`` with a few
statements — unchanged values are left alone, changed ones superseded, new ones inserted.
The same SQL runs on SQLite and PostgreSQL; where the dialects differ (boolean literals,
date casts, exact decimals stored as scaled integers on SQLite) a helper says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, delete, false, func, insert, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import DECIMAL_SCALE, is_sqlite, savepoint
from kechuang.models import (
    Base,
    Enterprise,
    Fact,
    ImportBatch,
    ImportReport,
    ImportTemplateVersion,
    ImportUpload,
    Job,
    Metric,
    Region,
)

STAGE = "ingest_stage"
_CHUNK = 5000
_SCALE = Decimal(10) ** DECIMAL_SCALE


class Dialect:
    """The few spots where SQLite and PostgreSQL spell things differently."""

    def __init__(self, session: Session) -> None:
        self.sqlite = is_sqlite(session)
        self.true = "1" if self.sqlite else "true"
        self.false = "0" if self.sqlite else "false"
        self.distinct = "IS NOT" if self.sqlite else "IS DISTINCT FROM"
        self.num_type = "BIGINT" if self.sqlite else f"NUMERIC(24, {DECIMAL_SCALE})"

    def as_date(self, expr: str) -> str:
        return expr if self.sqlite else f"CAST({expr} AS DATE)"

    def as_int(self, expr: str) -> str:
        return f"({expr} / {10 ** DECIMAL_SCALE})" if self.sqlite else f"CAST({expr} AS INTEGER)"

    def as_bool(self, expr: str) -> str:
        return f"CASE WHEN {expr} = 'true' THEN {self.true} WHEN {expr} = 'false' " \
               f"THEN {self.false} END"

    def number(self, raw: Any) -> Decimal | None:
        """A value_num read with raw SQL, as a Decimal."""
        if raw is None:
            return None
        if self.sqlite:
            return (Decimal(int(raw)) / _SCALE).normalize()
        return Decimal(raw).normalize()


# --- lookups -----------------------------------------------------------------------------


def metric_ids(session: Session) -> dict[str, int]:
    return {code: mid for code, mid in session.execute(select(Metric.code, Metric.id))}


def region_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Region.code)))


def scope_region_codes(session: Session, actor: Actor) -> set[str] | None:
    if actor.region_path == "/":
        return None
    return set(session.scalars(select(Region.code).where(
        Region.path.startswith(actor.region_path, autoescape=True))))


def lookup_enterprises(session: Session, usccs: Iterable[str]) -> dict[str, tuple[int, str]]:
    codes = list(usccs)
    out: dict[str, tuple[int, str]] = {}
    for i in range(0, len(codes), _CHUNK):
        chunk = codes[i : i + _CHUNK]
        for uscc, eid, region in session.execute(
                select(Enterprise.uscc, Enterprise.id, Enterprise.region_code)
                .where(Enterprise.uscc.in_(chunk))):
            out[uscc] = (eid, region)
    return out


# --- the staging table -------------------------------------------------------------------


def create_stage(session: Session) -> None:
    d = Dialect(session)
    conn = session.connection()
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {STAGE} (enterprise_id INTEGER NOT NULL, "
        f"metric_id INTEGER NOT NULL, period INTEGER NOT NULL, value_num {d.num_type}, "
        "value_text TEXT)")


def fill_stage(session: Session, rows: Sequence[tuple[int, int, int, Any, str | None]]) -> None:
    """Bulk-load staged facts: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""
    if not rows:
        return
    conn = session.connection()
    if is_sqlite(session):
        conn.exec_driver_sql(f"INSERT INTO {STAGE} VALUES (?, ?, ?, ?, ?)", list(rows))
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(  # type: ignore[union-attr]
            f"COPY {STAGE} (enterprise_id, metric_id, period, value_num, value_text) "
            "FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.exec_driver_sql(f"ANALYZE {STAGE}")


def stage_touched(session: Session, batch_id: int) -> None:
    """Stage the keys a batch wrote or superseded (for rollback's refresh)."""
    session.execute(text(
        f"INSERT INTO {STAGE} (enterprise_id, metric_id, period) "
        "SELECT enterprise_id, metric_id, period FROM fact WHERE batch_id = :b "
        "UNION SELECT enterprise_id, metric_id, period FROM fact WHERE superseded_by = :b"),
        {"b": batch_id})


def drop_stage(session: Session) -> None:
    session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")


def _join_current(d: Dialect) -> str:
    return ("f.enterprise_id = s.enterprise_id AND f.metric_id = s.metric_id "
            f"AND f.period = s.period AND f.is_current = {d.true}")


def _differs(d: Dialect) -> str:
    return f"(s.value_num {d.distinct} f.value_num OR s.value_text {d.distinct} f.value_text)"


def stage_counts(session: Session) -> tuple[int, int, int]:
    """(new, changed, unchanged) of the staged values against the current facts."""
    d = Dialect(session)
    total, existing, changed = session.execute(text(
        "SELECT count(*), count(f.id), coalesce(sum(CASE WHEN f.id IS NOT NULL AND "
        f"{_differs(d)} THEN 1 ELSE 0 END), 0) "
        f"FROM {STAGE} s LEFT JOIN fact f ON {_join_current(d)}")).one()
    total, existing, changed = int(total), int(existing), int(changed or 0)
    return total - existing, changed, existing - changed


#: what a dry run shows instead of a value the caller may not read (issue 17)
HIDDEN_VALUE = "（无权查看）"


def changed_values(session: Session, limit: int = 1000,
                   actor: Actor | None = None) -> list[dict[str, Any]]:
    """A sample of the values a merge would change, old → new.

    With ``actor``, an old value is shown only when the actor may read it — a department
    its own department's values, the bureau those of enterprises in its region — and an
    enterprise's registered name only when the enterprise is visible to the actor."""
    d = Dialect(session)
    own_value = "1"
    params: dict[str, Any] = {"n": limit}
    if actor is not None and actor.role == "department":
        own_value = ("CASE WHEN b.department_code = :dept THEN 1 ELSE 0 END")
        params["dept"] = actor.department_code
    elif actor is not None and not actor.is_bureau:
        own_value = "0"
    visible_ids = (select(Enterprise.id).where(enterprise_visible(actor))
                   if actor is not None and actor.role != "department" else None)
    rows = session.execute(text(
        "SELECT e.uscc, e.name, m.code, m.name_zh, s.period, f.value_num, f.value_text, "
        f"s.value_num, s.value_text, {own_value}, e.id, e.region_code "
        f"FROM {STAGE} s JOIN fact f ON {_join_current(d)} "
        "LEFT JOIN import_batch b ON b.id = f.batch_id "
        "JOIN enterprise e ON e.id = s.enterprise_id JOIN metric m ON m.id = s.metric_id "
        f"WHERE {_differs(d)} ORDER BY e.uscc, m.code, s.period LIMIT :n"), params).all()
    visible: set[int] | None = None
    if actor is not None:
        ids = [r[10] for r in rows]
        if actor.role == "department":
            in_region = set(session.scalars(select(Enterprise.id).where(
                Enterprise.id.in_(ids), region_code_in_scope(actor, Enterprise.region_code))))
            visible = in_region
        else:
            assert visible_ids is not None
            visible = set(session.scalars(visible_ids.where(Enterprise.id.in_(ids))))
    out = []
    for (uscc, name, code, name_zh, period, old_n, old_t, new_n, new_t, own,
         eid, _region) in rows:
        old = d.number(old_n)
        new = d.number(new_n)
        readable = visible is None or (eid in visible and bool(own))
        shown_old = (old_t if old_t is not None else (f"{old:f}" if old is not None else ""))
        out.append({"uscc": uscc,
                    "name": name if visible is None or eid in visible else "",
                    "metric": code, "metric_name": name_zh,
                    "period": period,
                    "old": shown_old if readable else HIDDEN_VALUE,
                    "new": new_t if new_t is not None else (f"{new:f}" if new is not None else "")})
    return out


def merge_stage(session: Session, batch_id: int) -> None:
    """Supersede changed current facts, then insert every staged value without a current
    fact (the new and the changed ones). Unchanged values are not rewritten."""
    d = Dialect(session)
    session.execute(text(
        f"UPDATE fact SET is_current = {d.false}, superseded_by = :b WHERE id IN ("
        f"SELECT f.id FROM {STAGE} s JOIN fact f ON {_join_current(d)} WHERE {_differs(d)})"),
        {"b": batch_id})
    session.execute(text(
        "INSERT INTO fact (enterprise_id, metric_id, period, value_num, value_text, batch_id, "
        "is_current) SELECT s.enterprise_id, s.metric_id, s.period, s.value_num, s.value_text, "
        f":b, {d.true} FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM fact f WHERE "
        f"{_join_current(d)})"), {"b": batch_id})


# --- long imports in short transactions (SQLite) ------------------------------------------
# A pending fact is a row of a loading or publishing batch that is neither current nor
# superseded: no current-fact read sees it (they all filter ``is_current``).

def _pending(d: Dialect, alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return f"{a}batch_id = :b AND {a}is_current = {d.false} AND {a}superseded_by IS NULL"


def insert_pending(session: Session, batch_id: int) -> tuple[int, int]:
    """Write the staged values that are new or differ from the current fact as pending rows
    of ``batch_id``; (first id, last id) of the rows written ((0, -1) when none)."""
    d = Dialect(session)
    last = session.execute(text("SELECT coalesce(max(id), 0) FROM fact")).scalar_one()
    session.execute(text(
        "INSERT INTO fact (enterprise_id, metric_id, period, value_num, value_text, batch_id, "
        "is_current) SELECT s.enterprise_id, s.metric_id, s.period, s.value_num, s.value_text, "
        f":b, {d.false} FROM {STAGE} s WHERE NOT EXISTS (SELECT 1 FROM fact f WHERE "
        f"{_join_current(d)} AND NOT {_differs(d)}) ORDER BY s.enterprise_id, s.metric_id, "
        "s.period"), {"b": batch_id})
    lo, hi = session.execute(text(
        "SELECT min(id), max(id) FROM fact WHERE id > :last AND batch_id = :b"),
        {"last": last, "b": batch_id}).one()
    return (int(lo), int(hi)) if lo is not None else (0, -1)


def pending_id_range(session: Session, batch_id: int) -> tuple[int, int] | None:
    """(first, last) id of the batch's pending rows, None when it has none."""
    d = Dialect(session)
    lo, hi = session.execute(text(
        f"SELECT min(id), max(id) FROM fact WHERE {_pending(d)}"),
        {"b": batch_id}).one()
    return None if lo is None else (int(lo), int(hi))


def publish_pending(session: Session, batch_id: int, lo: int, hi: int) -> int:
    """Make the batch's pending rows with ids in [lo, hi] current: first supersede the
    current facts they replace, then turn them current. Returns the rows made current."""
    d = Dialect(session)
    session.execute(text(
        f"UPDATE fact SET is_current = {d.false}, superseded_by = :b WHERE id IN ("
        "SELECT f.id FROM fact n JOIN fact f ON f.enterprise_id = n.enterprise_id "
        "AND f.metric_id = n.metric_id AND f.period = n.period "
        f"AND f.is_current = {d.true} WHERE n.id BETWEEN :lo AND :hi AND {_pending(d, 'n')})"),
        {"b": batch_id, "lo": lo, "hi": hi})
    done = session.execute(text(
        f"UPDATE fact SET is_current = {d.true} WHERE id BETWEEN :lo AND :hi AND "
        f"{_pending(d)}"), {"b": batch_id, "lo": lo, "hi": hi})
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def stage_ids(session: Session, batch_id: int, lo: int, hi: int) -> None:
    """Stage the keys of the batch's rows with ids in [lo, hi] (for the derived refresh)."""
    session.execute(text(
        f"INSERT INTO {STAGE} (enterprise_id, metric_id, period) SELECT enterprise_id, "
        "metric_id, period FROM fact WHERE id BETWEEN :lo AND :hi AND batch_id = :b"),
        {"b": batch_id, "lo": lo, "hi": hi})


def delete_pending(session: Session, batch_id: int, lo: int, hi: int) -> int:
    """Delete the batch's pending rows with ids in [lo, hi] (undoing a dead import)."""
    d = Dialect(session)
    done = session.execute(text(
        f"DELETE FROM fact WHERE id BETWEEN :lo AND :hi AND {_pending(d)}"),
        {"b": batch_id, "lo": lo, "hi": hi})
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def unfinished_batches(session: Session) -> list[ImportBatch]:
    """Batches a long import left loading or publishing, oldest first."""
    return list(session.scalars(select(ImportBatch).where(
        ImportBatch.status.in_(("loading", "publishing"))).order_by(ImportBatch.id)))


def batch_by_id(session: Session, batch_id: int) -> ImportBatch | None:
    return session.get(ImportBatch, batch_id)


def in_progress_batch(session: Session, digest: str, template: str) -> ImportBatch | None:
    """A loading or publishing batch of the same file content and template."""
    return session.scalar(select(ImportBatch).where(
        ImportBatch.content_hash == digest, ImportBatch.template == template,
        ImportBatch.status.in_(("loading", "publishing"))).order_by(ImportBatch.id).limit(1))


# --- rollback ----------------------------------------------------------------------------


def superseding_batches(session: Session, batch_id: int) -> list[ImportBatch]:
    """Later batches, still committed, that replaced some of this batch's values."""
    ids = select(Fact.superseded_by).where(
        Fact.batch_id == batch_id, Fact.superseded_by.is_not(None)).distinct()
    return list(session.scalars(
        select(ImportBatch).where(ImportBatch.id.in_(ids), ImportBatch.status.in_(
            ("committed", "loading", "publishing")))
        .order_by(ImportBatch.id)))


def delete_and_restore(session: Session, batch_id: int) -> tuple[int, int]:
    d = Dialect(session)
    deleted = session.execute(text("DELETE FROM fact WHERE batch_id = :b"), {"b": batch_id})
    restored = session.execute(text(
        f"UPDATE fact SET is_current = {d.true}, superseded_by = NULL WHERE superseded_by = :b"),
        {"b": batch_id})
    return int(deleted.rowcount or 0), int(restored.rowcount or 0)  # type: ignore[attr-defined]


def delete_unreferenced_enterprises(session: Session, batch_id: int) -> int:
    """Remove enterprises the batch created that no row of any table references any more.

    The referencing tables are read from the mapped metadata, so tables other packages add
    later (scores, applications …) protect their enterprises without a change here.
    """
    guards = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "enterprise" and fk.column.name == "id":
                guards.append(f"NOT EXISTS (SELECT 1 FROM {table.name} r "
                              f"WHERE r.{fk.parent.name} = enterprise.id)")
    where = " AND ".join(["created_batch_id = :b", *guards])
    result = session.execute(text(f"DELETE FROM enterprise WHERE {where}"), {"b": batch_id})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- visibility ----------------------------------------------------------------------------


def batch_visible(actor: Actor) -> ColumnElement[bool]:
    """Departments: their own uploads. Bureau roles: batches of their region subtree."""
    if actor.role == "department":
        if actor.user_id is None:
            return false()
        return ImportBatch.created_by == actor.user_id
    if actor.is_bureau:
        return true() if actor.region_path == "/" else region_code_in_scope(
            actor, ImportBatch.region_code)
    return false()


def report_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.role == "department":
        if actor.user_id is None:
            return false()
        return ImportReport.created_by == actor.user_id
    if actor.is_bureau:
        return true() if actor.region_path == "/" else region_code_in_scope(
            actor, ImportReport.region_code)
    return false()


def common_region_of_batch(session: Session, batch_id: int) -> str | None:
    """The deepest region whose subtree holds every enterprise the batch wrote facts for."""
    paths = list(session.scalars(
        select(Region.path).distinct()
        .join(Enterprise, Enterprise.region_code == Region.code)
        .where(Enterprise.id.in_(select(Fact.enterprise_id).where(Fact.batch_id == batch_id)))
    ))
    if not paths:
        return None
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return common[-1] if common else None


def refresh_derived(session: Session, metric_ids: dict[str, int],
                    derived: dict[str, tuple[str, str]]) -> int:
    """Recompute the derived columns for the enterprise/metric pairs in the staging table.

    ``derived`` is :data:`kechuang.ingest.attributes.DERIVED` (column → (metric, kind)).
    Returns the number of UPDATE statements run (one per derived column the stage touches).
    """
    d = Dialect(session)
    touched = {int(m) for (m,) in session.execute(text(f"SELECT DISTINCT metric_id FROM {STAGE}"))}
    statements = 0
    for column, (code, kind) in derived.items():
        mid = metric_ids.get(code)
        if mid is None or mid not in touched:
            continue
        if kind in ("date", "master_date"):
            value = d.as_date("f.value_text")
        elif kind == "int":
            value = d.as_int("f.value_num")
        elif kind in ("bool", "flag"):
            value = d.as_bool("f.value_text")
        else:
            value = "f.value_text"
        sub = (f"(SELECT {value} FROM fact f WHERE f.enterprise_id = enterprise.id "
               f"AND f.metric_id = :m AND f.period = 0 AND f.is_current = {d.true})")
        if kind == "flag":
            expr = f"COALESCE({sub}, {d.false})"
        elif kind.startswith("master"):
            expr = f"COALESCE({sub}, {column})"
        else:
            expr = sub
        session.execute(text(
            f"UPDATE enterprise SET {column} = {expr} WHERE id IN "
            f"(SELECT enterprise_id FROM {STAGE} WHERE metric_id = :m)"), {"m": mid})
        statements += 1
    return statements


def committed_batch(session: Session, digest: str, template: str) -> ImportBatch | None:
    """The first committed batch of the same file content and template."""
    return session.scalar(select(ImportBatch).where(
        ImportBatch.content_hash == digest, ImportBatch.template == template,
        ImportBatch.status == "committed").order_by(ImportBatch.id).limit(1))


def add_batch_once(session: Session, batch: ImportBatch) -> bool:
    """Insert a committed batch unless one of the same content and template exists: False
    when a concurrent import of the same file committed first (the unique index of
    migration 0021 makes this insert wait for it, then fail inside a savepoint)."""
    try:
        with savepoint(session):
            session.add(batch)
            session.flush()
    except IntegrityError:
        return False
    return True


def add_and_flush(session: Session, row: Any) -> Any:
    """Stage a new row (batch, report) and flush it (for its id)."""
    session.add(row)
    session.flush()
    return row


def insert_enterprises(session: Session, rows: list[dict[str, Any]], batch_id: int
                       ) -> dict[str, int]:
    """Insert new enterprises created by a batch; credit code → id of each."""
    session.execute(insert(Enterprise), rows)
    return {code: eid for code, eid in session.execute(
        select(Enterprise.uscc, Enterprise.id).where(Enterprise.created_batch_id == batch_id))}


def visible_by_id(session: Session, model: Any, object_id: int, in_scope: Any) -> Any:
    """One row of ``model`` by id if ``in_scope`` holds for it, else None."""
    return session.scalar(select(model).where(model.id == object_id, in_scope))


def batches(session: Session, actor: Actor, limit: int, offset: int) -> list[ImportBatch]:
    """The batches ``actor`` may see, newest first."""
    return list(session.scalars(select(ImportBatch).where(batch_visible(actor))
                                .order_by(ImportBatch.id.desc()).limit(limit).offset(offset)))


def batch_sample(session: Session, actor: Actor, batch_id: int, limit: int = 50) -> list[Any]:
    """The first facts a batch wrote, of enterprises ``actor`` may see."""
    return list(session.execute(
        select(Enterprise.uscc, Enterprise.name, Metric.name_zh, Metric.unit, Fact.period,
               Fact.value_num, Fact.value_text, Fact.is_current)
        .join(Enterprise, Enterprise.id == Fact.enterprise_id)
        .join(Metric, Metric.id == Fact.metric_id)
        .where(Fact.batch_id == batch_id, enterprise_visible(actor))
        .order_by(Fact.id).limit(limit)))


def report_id_of_batch(session: Session, batch_id: int) -> int | None:
    return session.scalar(select(ImportReport.id).where(ImportReport.batch_id == batch_id))


def newest_templates(session: Session) -> list[ImportTemplateVersion]:
    """The newest stored version of each database template."""
    newest = (select(ImportTemplateVersion.name, func.max(ImportTemplateVersion.version)
                     .label("v")).group_by(ImportTemplateVersion.name).subquery())
    return list(session.scalars(
        select(ImportTemplateVersion).join(
            newest, (newest.c.name == ImportTemplateVersion.name)
            & (newest.c.v == ImportTemplateVersion.version))))


def next_template_version(session: Session, name: str) -> int:
    return (session.scalar(select(func.max(ImportTemplateVersion.version))
                           .where(ImportTemplateVersion.name == name)) or 0) + 1


# --- uploads waiting for their job -----------------------------------------------------------


def add_upload(session: Session, upload: ImportUpload) -> ImportUpload:
    session.add(upload)
    session.flush()
    return upload


def get_upload(session: Session, upload_id: int) -> ImportUpload | None:
    return session.get(ImportUpload, upload_id)


def delete_upload(session: Session, upload_id: int) -> None:
    session.execute(delete(ImportUpload).where(ImportUpload.id == upload_id))


def visible_job(session: Session, actor: Actor, job_id: int, kind: str) -> Job | None:
    """A job of ``kind``, if the actor may see it: submitted within its region scope
    (bureau roles) or its own (the rule of the job pages)."""
    own: ColumnElement[bool] = (Job.created_by == actor.user_id if actor.user_id is not None
                                else Job.id < 0)
    seen: ColumnElement[bool]
    if actor.is_bureau:
        seen = (Job.id.is_not(None) if actor.region_path == "/"
                else region_code_in_scope(actor, Job.region_code) | own)
    else:
        seen = own
    return session.scalars(select(Job).where(Job.id == job_id, Job.kind == kind, seen)).first()
