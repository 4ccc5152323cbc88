"""SQL of precise push: whole-run reads into DataFrames, the conflict-free bulk insert, the
funnel aggregates and the export selection, the review batches. Every read over enterprises
is scoped by :func:`kechuang.auth.scope.enterprise_visible`; everything an enterprise or the
funnel sees is a *sent* message (drafts wait for review in no inbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.db import is_sqlite
from kechuang.models import Enterprise, PolicyRun, ScoreResult, ScoringRun
from kechuang.models.push import PushBatch, PushMessage, PushMute
from kechuang.policy import service as policy_service

#: what an inbox, the funnel and the exports see
SENT = PushMessage.status == "sent"


def frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """A DataFrame from result rows, built from plain tuples (pandas inspects Row objects
    attribute by attribute, which costs more than the query on large runs)."""
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)


#: rows per multi-row INSERT and ids per IN list: 16 columns × 1,500 rows stays below the
#: parameter limits of SQLite (32,766) and PostgreSQL (65,535)
CHUNK = 1_500


def previous_run(session: Session, run: PolicyRun) -> PolicyRun | None:
    """The latest earlier run of the same policy over the same region scope."""
    scope = (PolicyRun.region_code.is_(None) if run.region_code is None
             else PolicyRun.region_code == run.region_code)
    return session.scalar(
        select(PolicyRun).where(PolicyRun.policy_id == run.policy_id, scope,
                                PolicyRun.id < run.id)
        .order_by(PolicyRun.id.desc()).limit(1))


def enterprise_names(session: Session, ids: np.ndarray) -> pd.DataFrame:
    """uscc and name of the enterprises ``ids`` (ascending): read by id range and filtered,
    one query whatever the number of ids."""
    if not len(ids):
        return pd.DataFrame({"enterprise_id": pd.Series([], dtype="int64"),
                             "uscc": pd.Series([], dtype=object),
                             "name": pd.Series([], dtype=object)})
    rows = session.connection().execute(
        select(Enterprise.id, Enterprise.uscc, Enterprise.name)
        .where(Enterprise.id.between(int(ids[0]), int(ids[-1])))).all()
    names = frame(rows, ["enterprise_id", "uscc", "name"])
    return names[np.isin(names["enterprise_id"].to_numpy(), ids)]


def run_results(session: Session, run_id: int,
                enterprise_ids: Sequence[int] | np.ndarray | None = None, *,
                with_names: bool = True) -> pd.DataFrame:
    """One run's results, with each enterprise's uscc and name unless ``with_names`` is
    false (a caller that needs them for a few rows only reads them for those)."""
    results = policy_service.read_results(
        session, run_id, ["verdict", "n_failed", "score_min", "score_max"], enterprise_ids)
    if not with_names:
        return results
    ids = results["enterprise_id"].to_numpy(dtype=np.int64)
    merged = enterprise_names(session, ids).merge(results, on="enterprise_id", how="inner")
    return merged[["enterprise_id", "uscc", "name", "verdict", "n_failed", "score_min",
                   "score_max"]]


def run_verdicts(session: Session, run_id: int) -> pd.DataFrame:
    results = policy_service.read_results(session, run_id, ["verdict"])
    return results.rename(columns={"verdict": "prev_verdict"})


def expiring(session: Session, run_id: int, start: date, end: date) -> pd.DataFrame:
    """Enterprises of a run whose HTE certificate expires in [start, end]."""
    rows = session.execute(
        select(Enterprise.id, Enterprise.hte_expires_on)
        .where(Enterprise.hte_expires_on >= start, Enterprise.hte_expires_on <= end)
        .order_by(Enterprise.id)).all()
    window = frame(rows, ["enterprise_id", "expires_on"])
    held = policy_service.run_enterprise_ids(session, run_id, window["enterprise_id"].to_numpy())
    return window[np.isin(window["enterprise_id"].to_numpy(), held)].reset_index(drop=True)


def mutes(session: Session, policy_id: str) -> pd.DataFrame:
    rows = session.execute(select(PushMute.enterprise_id)
                           .where(PushMute.policy_id == policy_id)).all()
    return frame(rows, ["enterprise_id"])


def insert_messages(session: Session, rows: list[dict[str, Any]]) -> int:
    """``INSERT … ON CONFLICT DO NOTHING`` on the (enterprise, policy, period) key: one
    statement compiled once and executed for all rows (the driver's executemany); returns
    the number of rows really inserted (the table's count before and after)."""
    if not rows:
        return 0
    dialect_insert = sqlite.insert if is_sqlite(session) else postgresql.insert
    table = cast(Table, PushMessage.__table__)
    stmt = dialect_insert(table).on_conflict_do_nothing(
        index_elements=["enterprise_id", "policy_id", "period"])
    count = select(func.count()).select_from(table)
    conn = session.connection()
    before = int(conn.execute(count).scalar_one())
    for start in range(0, len(rows), CHUNK * 20):
        conn.execute(stmt, rows[start:start + CHUNK * 20])
    return int(conn.execute(count).scalar_one()) - before


def visible_messages(actor: Actor) -> Any:
    """Messages with their enterprise, limited to the enterprises the actor may see."""
    return (select(PushMessage, Enterprise)
            .join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
            .where(enterprise_visible(actor), SENT))


def funnel(session: Session, actor: Actor) -> list[Any]:
    """pushed → opened → applied → granted per (policy, kind): one GROUP BY."""
    return list(session.execute(
        select(PushMessage.policy_id, PushMessage.kind, func.count(),
               func.count(PushMessage.opened_at), func.count(PushMessage.applied_at),
               func.count(PushMessage.granted_at))
        .join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
        .where(enterprise_visible(actor), SENT)
        .group_by(PushMessage.policy_id, PushMessage.kind)
        .order_by(PushMessage.policy_id, PushMessage.kind)))


def pending_export(session: Session, actor: Actor, since: datetime | None) -> list[Any]:
    stmt = (select(PushMessage.id, Enterprise.name, Enterprise.uscc, PushMessage.policy_id,
                   PushMessage.kind, PushMessage.period, PushMessage.sms_text,
                   PushMessage.title, PushMessage.link, PushMessage.created_at)
            .join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
            .where(enterprise_visible(actor), SENT, PushMessage.exported_at.is_(None))
            .order_by(PushMessage.id))
    if since is not None:
        stmt = stmt.where(PushMessage.created_at >= since)
    return list(session.execute(stmt))


def mark(session: Session, ids: Sequence[int], column: str, when: datetime,
         only_unset: bool = True) -> int:
    """Set a funnel timestamp on many messages at once (only where still empty)."""
    total = 0
    col = getattr(PushMessage, column)
    for start in range(0, len(ids), CHUNK):
        stmt = update(PushMessage).where(PushMessage.id.in_(list(ids[start:start + CHUNK])))
        if only_unset:
            stmt = stmt.where(col.is_(None))
        total += session.execute(stmt.values({column: when})).rowcount  # type: ignore[attr-defined]
    return total


def previous_scoring_run(session: Session, run: ScoringRun) -> ScoringRun | None:
    """The latest earlier published run of the same system over the same region scope."""
    scope = (ScoringRun.region_code.is_(None) if run.region_code is None
             else ScoringRun.region_code == run.region_code)
    return session.scalar(
        select(ScoringRun).where(ScoringRun.system_id == run.system_id, scope,
                                 ScoringRun.published.is_(True), ScoringRun.id < run.id)
        .order_by(ScoringRun.id.desc()).limit(1))


def score_rows(session: Session, run_id: int) -> pd.DataFrame:
    rows = session.connection().execute(
        select(ScoreResult.enterprise_id, Enterprise.uscc, ScoreResult.points,
               ScoreResult.list_rank)
        .join(Enterprise, Enterprise.id == ScoreResult.enterprise_id)
        .where(ScoreResult.run_id == run_id)).all()
    return frame(rows, ["enterprise_id", "uscc", "points", "list_rank"])


def inbox(session: Session, actor: Actor, enterprise_id: int) -> list[PushMessage]:
    """An enterprise's messages, newest first."""
    return list(session.scalars(
        select(PushMessage).join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
        .where(PushMessage.enterprise_id == enterprise_id, enterprise_visible(actor), SENT)
        .order_by(PushMessage.sent_at.desc(), PushMessage.id.desc())))


def get_message(session: Session, message_id: int) -> PushMessage | None:
    """A message by id, unscoped."""
    return session.get(PushMessage, message_id)


def muted_policies(session: Session, enterprise_id: int) -> list[str]:
    """The policies (and calls) an enterprise muted."""
    return list(session.scalars(select(PushMute.policy_id)
                                .where(PushMute.enterprise_id == enterprise_id)
                                .order_by(PushMute.policy_id)))


def told_about_call(session: Session, enterprise_id: int, call_id: str) -> bool:
    """Whether the enterprise has a ``program_open`` message about a call."""
    return session.scalar(select(PushMessage.id).where(
        PushMessage.enterprise_id == enterprise_id, PushMessage.policy_id == call_id,
        PushMessage.kind == "program_open", SENT).limit(1)) is not None


def get_mute(session: Session, enterprise_id: int, policy_id: str) -> PushMute | None:
    return session.scalar(select(PushMute).where(PushMute.enterprise_id == enterprise_id,
                                                 PushMute.policy_id == policy_id))


def add_mute(session: Session, enterprise_id: int, policy_id: str, user_id: int | None) -> None:
    session.add(PushMute(enterprise_id=enterprise_id, policy_id=policy_id,
                         created_by=user_id))


def delete_mute(session: Session, mute: PushMute) -> None:
    session.delete(mute)


def mark_granted(session: Session, message: PushMessage, at: datetime) -> bool:
    """Set ``granted_at`` unless it is set: True when this call set it. One conditional
    UPDATE, so of two concurrent grants exactly one wins (and writes the audit row); the
    message object is refreshed with what the database holds."""
    done = session.execute(update(PushMessage).where(
        PushMessage.id == message.id, PushMessage.granted_at.is_(None))
        .values(granted_at=at).execution_options(synchronize_session=False))
    session.refresh(message, ["granted_at"])
    return bool(getattr(done, "rowcount", 0) == 1)


def visible_message(session: Session, actor: Actor, message_id: int) -> Any:
    """(message, enterprise) of a message in ``actor``'s scope, or None."""
    return session.execute(visible_messages(actor).where(PushMessage.id == message_id)).first()


def messages_page(session: Session, actor: Actor, policy_id: str | None, kind: str | None,
                  limit: int) -> list[Any]:
    """(message, enterprise) rows in scope, newest first, optionally of a policy / kind."""
    stmt = visible_messages(actor).order_by(PushMessage.id.desc()).limit(limit)
    if policy_id:
        stmt = stmt.where(PushMessage.policy_id == policy_id)
    if kind:
        stmt = stmt.where(PushMessage.kind == kind)
    return list(session.execute(stmt))


def message_count(session: Session, actor: Actor) -> int:
    return int(session.scalar(
        select(func.count()).select_from(PushMessage)
        .join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
        .where(enterprise_visible(actor), SENT)) or 0)


def qualifications(session: Session, ids: np.ndarray) -> pd.DataFrame:
    """The qualifications some enterprises hold (HTE certificate expiry, tech-SME register
    year, SRDI level), in the order of ``ids``."""
    if not len(ids):
        return pd.DataFrame(columns=["enterprise_id", "hte_expires_on", "tech_sme_year",
                                     "srdi_level"])
    rows = session.connection().execute(
        select(Enterprise.id, Enterprise.hte_expires_on, Enterprise.tech_sme_year,
               Enterprise.srdi_level)
        .where(Enterprise.id.between(int(ids.min()), int(ids.max())))).all()
    quals = frame(rows, ["enterprise_id", "hte_expires_on", "tech_sme_year", "srdi_level"])
    return (pd.DataFrame({"enterprise_id": ids})
            .merge(quals, on="enterprise_id", how="left"))


# -- review batches ---------------------------------------------------------------------------

def add_batch(session: Session, batch: PushBatch) -> PushBatch:
    session.add(batch)
    session.flush()
    return batch


def delete_batch(session: Session, batch: PushBatch) -> None:
    session.delete(batch)
    session.flush()


def batch_counts(session: Session, batch_id: int) -> dict[str, int]:
    """{kind: messages} of a batch."""
    return {str(k): int(n) for k, n in session.execute(
        select(PushMessage.kind, func.count()).where(PushMessage.batch_id == batch_id)
        .group_by(PushMessage.kind))}


def batches(session: Session, actor: Actor, status: str | None, limit: int) -> list[Any]:
    """(batch, message count) in the actor's region scope, newest first."""
    n = (select(func.count()).where(PushMessage.batch_id == PushBatch.id)
         .correlate(PushBatch).scalar_subquery())
    stmt = (select(PushBatch, n)
            .where(region_code_in_scope(actor, PushBatch.region_code))
            .order_by(PushBatch.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(PushBatch.status == status)
    return list(session.execute(stmt))


def draft_count(session: Session, actor: Actor) -> int:
    """Draft batches in the actor's region scope."""
    return int(session.scalar(select(func.count()).select_from(PushBatch).where(
        PushBatch.status == "draft", region_code_in_scope(actor, PushBatch.region_code))) or 0)


def get_batch(session: Session, actor: Actor, batch_id: int, *,
              lock: bool = False) -> PushBatch | None:
    """A batch in the actor's region scope (None when absent or outside it)."""
    stmt = select(PushBatch).where(PushBatch.id == batch_id,
                                   region_code_in_scope(actor, PushBatch.region_code))
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def batch_items(session: Session, actor: Actor, batch_id: int) -> list[Any]:
    """(message, uscc, name) of a batch within the actor's scope, by enterprise."""
    return list(session.execute(
        select(PushMessage, Enterprise.uscc, Enterprise.name)
        .join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
        .where(PushMessage.batch_id == batch_id, enterprise_visible(actor))
        .order_by(PushMessage.kind, Enterprise.id)))


def draft_bodies(session: Session, actor: Actor, batch_id: int) -> dict[int, str]:
    """{message id: body} of the draft messages of a batch to enterprises the actor may
    see (a reviewer never sends what they could not preview)."""
    return {int(i): str(b) for i, b in session.execute(
        select(PushMessage.id, PushMessage.body)
        .join(Enterprise, Enterprise.id == PushMessage.enterprise_id)
        .where(PushMessage.batch_id == batch_id, PushMessage.status == "draft",
               enterprise_visible(actor)))}


def batch_message_ids(session: Session, batch_id: int, status: str) -> list[int]:
    return list(session.scalars(select(PushMessage.id).where(
        PushMessage.batch_id == batch_id, PushMessage.status == status)))


def set_batch_status(session: Session, batch_id: int, ids: Sequence[int], status: str,
                     sent_at: datetime | None) -> int:
    """Move some draft messages of a batch to ``status`` (sent / dropped)."""
    total = 0
    for start in range(0, len(ids), CHUNK):
        total += session.execute(
            update(PushMessage).where(PushMessage.batch_id == batch_id,
                                      PushMessage.status == "draft",
                                      PushMessage.id.in_(list(ids[start:start + CHUNK])))
            .values(status=status, sent_at=sent_at)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    return total


def edit_bodies(session: Session, batch_id: int, edits: dict[int, str]) -> int:
    """Replace the body of some draft messages of a batch (the reviewer's edits)."""
    done = 0
    for message_id, body in edits.items():
        done += session.execute(
            update(PushMessage).where(PushMessage.id == message_id,
                                      PushMessage.batch_id == batch_id,
                                      PushMessage.status == "draft")
            .values(body=body)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    return done



