"""Every SQL statement of expert review. Whole-set reads and bulk writes; region scope on
every read through :func:`kechuang.auth.scope.region_code_in_scope`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_code_in_scope
from kechuang.kit.errors import NotFound
from kechuang.models.matching import ExpertProfile
from kechuang.models.orgs import Expert, Institute
from kechuang.models.review import (
    ReviewAssignment,
    ReviewConflict,
    ReviewDecisionRecord,
    ReviewExpertProfile,
    ReviewRound,
    ReviewScore,
    ReviewSubject,
)


@dataclass(frozen=True)
class PoolExpert:
    id: int
    name: str
    region_code: str
    fields: list[str]
    declared: list[str]
    institute: str
    keywords: list[str]
    discipline_codes: list[str]
    affiliation: str
    collaborations: list[dict[str, Any]]
    available: bool
    load_cap: int
    expertise: str


def pool(session: Session, actor: Actor, region_code: str | None = None) -> list[PoolExpert]:
    """Experts in scope (of the round's county when given) with their review profile; an
    expert without a profile row is available with the default cap (inferred, said so in
    docs/review.md)."""
    q = (select(Expert, Institute.name, ReviewExpertProfile, ExpertProfile.expertise)
         .outerjoin(Institute, Institute.id == Expert.institute_id)
         .outerjoin(ReviewExpertProfile, ReviewExpertProfile.expert_id == Expert.id)
         .outerjoin(ExpertProfile, ExpertProfile.expert_id == Expert.id)
         .where(region_code_in_scope(actor, Expert.region_code))
         .order_by(Expert.id))
    out = []
    for e, inst, prof, expertise in session.execute(q):
        out.append(PoolExpert(
            e.id, e.name, e.region_code, list(e.fields or []), list(e.conflicts or []),
            inst or "", list(prof.keywords) if prof else [],
            list(prof.discipline_codes) if prof else [],
            (prof.affiliation if prof and prof.affiliation else inst or ""),
            list(prof.collaborations) if prof else [], prof.available if prof else True,
            prof.load_cap if prof else -1, expertise or ""))
    return out


def profile(session: Session, expert_id: int) -> ReviewExpertProfile | None:
    return session.get(ReviewExpertProfile, expert_id)


def expert(session: Session, expert_id: int) -> Expert | None:
    return session.get(Expert, expert_id)


def save_profile(session: Session, expert_id: int, values: dict[str, Any]) -> None:
    row = session.get(ReviewExpertProfile, expert_id)
    if row is None:
        row = ReviewExpertProfile(expert_id=expert_id)
        session.add(row)
    for k, v in values.items():
        setattr(row, k, v)
    session.flush()


# --------------------------------------------------------------------------- rounds
def round_by_call(session: Session, call_id: int, stage: str) -> ReviewRound | None:
    return session.scalar(select(ReviewRound).where(ReviewRound.call_id == call_id,
                                                    ReviewRound.stage == stage))


def latest_open_round(session: Session, region_code: str) -> ReviewRound | None:
    """The newest round of the region still waiting for reviews or a decision."""
    return session.scalar(select(ReviewRound).where(
        ReviewRound.region_code == region_code, ReviewRound.status.in_(("open", "assigned")))
        .order_by(ReviewRound.id.desc()).limit(1))


def add_round(session: Session, values: dict[str, Any],
              subjects: Sequence[dict[str, Any]]) -> ReviewRound:
    r = ReviewRound(**values)
    session.add(r)
    session.flush()
    if subjects:
        session.execute(insert(ReviewSubject), [{**s, "round_id": r.id} for s in subjects])
    return r


def get_round(session: Session, actor: Actor, round_id: int) -> ReviewRound:
    r = session.scalar(select(ReviewRound).where(
        ReviewRound.id == round_id, region_code_in_scope(actor, ReviewRound.region_code)))
    if r is None:
        raise NotFound(f"评审轮次 {round_id} 不存在", f"Review round {round_id} not found")
    return r


def rounds(session: Session, actor: Actor) -> list[tuple[ReviewRound, int, int, int]]:
    """Rounds in scope with counts of subjects, active assignments and reviews."""
    subj = (select(ReviewSubject.round_id, func.count().label("n"))
            .group_by(ReviewSubject.round_id).subquery())
    asg = (select(ReviewAssignment.round_id, func.count().label("n"))
           .where(ReviewAssignment.status == "active")
           .group_by(ReviewAssignment.round_id).subquery())
    rev = (select(ReviewAssignment.round_id, func.count().label("n"))
           .join(ReviewScore, ReviewScore.assignment_id == ReviewAssignment.id)
           .where(ReviewAssignment.status == "active")
           .group_by(ReviewAssignment.round_id).subquery())
    q = (select(ReviewRound, func.coalesce(subj.c.n, 0), func.coalesce(asg.c.n, 0),
                func.coalesce(rev.c.n, 0))
         .outerjoin(subj, subj.c.round_id == ReviewRound.id)
         .outerjoin(asg, asg.c.round_id == ReviewRound.id)
         .outerjoin(rev, rev.c.round_id == ReviewRound.id)
         .where(region_code_in_scope(actor, ReviewRound.region_code))
         .order_by(ReviewRound.id.desc()))
    return [(r, int(a), int(b), int(c)) for r, a, b, c in session.execute(q)]


def subjects(session: Session, round_id: int) -> list[ReviewSubject]:
    return list(session.scalars(select(ReviewSubject).where(ReviewSubject.round_id == round_id)
                                .order_by(ReviewSubject.subject_id)))


def subject(session: Session, subject_row_id: int) -> ReviewSubject | None:
    return session.get(ReviewSubject, subject_row_id)


def conflicts(session: Session, round_id: int) -> list[ReviewConflict]:
    return list(session.scalars(select(ReviewConflict)
                                .where(ReviewConflict.round_id == round_id)
                                .order_by(ReviewConflict.id)))


def add_conflicts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ReviewConflict), list(rows))


def add_assignments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ReviewAssignment), list(rows))


def withdraw_active(session: Session, round_id: int) -> int:
    """Before a re-assignment: active rows without a review become withdrawn."""
    reviewed = select(ReviewScore.assignment_id)
    res = session.execute(update(ReviewAssignment)
                          .where(ReviewAssignment.round_id == round_id,
                                 ReviewAssignment.status == "active",
                                 ReviewAssignment.id.not_in(reviewed))
                          .values(status="withdrawn"))
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def assignments(session: Session, round_id: int, *, active_only: bool = True
                ) -> list[ReviewAssignment]:
    q = select(ReviewAssignment).where(ReviewAssignment.round_id == round_id)
    if active_only:
        q = q.where(ReviewAssignment.status == "active")
    return list(session.scalars(q.order_by(ReviewAssignment.id)))


def assignment(session: Session, assignment_id: int) -> ReviewAssignment | None:
    return session.get(ReviewAssignment, assignment_id)


def add_assignment(session: Session, values: dict[str, Any]) -> ReviewAssignment:
    row = ReviewAssignment(**values)
    session.add(row)
    session.flush()
    return row


def expert_assignments(session: Session, expert_id: int
                       ) -> list[tuple[ReviewAssignment, ReviewSubject, ReviewRound, bool]]:
    q = (select(ReviewAssignment, ReviewSubject, ReviewRound,
                ReviewScore.id.is_not(None))
         .join(ReviewSubject, ReviewSubject.id == ReviewAssignment.subject_row_id)
         .join(ReviewRound, ReviewRound.id == ReviewAssignment.round_id)
         .outerjoin(ReviewScore, ReviewScore.assignment_id == ReviewAssignment.id)
         .where(ReviewAssignment.expert_id == expert_id, ReviewAssignment.status == "active")
         .order_by(ReviewRound.id.desc(), ReviewSubject.subject_id))
    return [(a, s, r, bool(done)) for a, s, r, done in session.execute(q)]


def score_of(session: Session, assignment_id: int) -> ReviewScore | None:
    return session.scalar(select(ReviewScore).where(ReviewScore.assignment_id == assignment_id))


def add_score(session: Session, values: dict[str, Any]) -> ReviewScore:
    row = ReviewScore(**values)
    session.add(row)
    session.flush()
    return row


def round_scores(session: Session, round_id: int) -> list[tuple[int, int, float]]:
    """(subject row id, expert id, total) of every review of the round's active
    assignments."""
    q = (select(ReviewAssignment.subject_row_id, ReviewAssignment.expert_id, ReviewScore.total)
         .join(ReviewScore, ReviewScore.assignment_id == ReviewAssignment.id)
         .where(ReviewAssignment.round_id == round_id, ReviewAssignment.status == "active"))
    return [(int(s), int(e), float(t)) for s, e, t in session.execute(q)]


def decision(session: Session, round_id: int) -> ReviewDecisionRecord | None:
    return session.scalar(select(ReviewDecisionRecord)
                          .where(ReviewDecisionRecord.round_id == round_id))


def add_decision(session: Session, values: dict[str, Any]) -> ReviewDecisionRecord:
    row = ReviewDecisionRecord(**values)
    session.add(row)
    session.flush()
    return row


def overdue(session: Session, actor: Actor, now: datetime, round_id: int | None = None
            ) -> list[tuple[ReviewAssignment, ReviewSubject, ReviewRound, str]]:
    q = (select(ReviewAssignment, ReviewSubject, ReviewRound, Expert.name)
         .join(ReviewSubject, ReviewSubject.id == ReviewAssignment.subject_row_id)
         .join(ReviewRound, ReviewRound.id == ReviewAssignment.round_id)
         .join(Expert, Expert.id == ReviewAssignment.expert_id)
         .outerjoin(ReviewScore, ReviewScore.assignment_id == ReviewAssignment.id)
         .where(ReviewAssignment.status == "active", ReviewScore.id.is_(None),
                ReviewRound.status != "decided", ReviewRound.due.is_not(None),
                ReviewRound.due < now,
                region_code_in_scope(actor, ReviewRound.region_code))
         .order_by(ReviewRound.due, ReviewAssignment.id))
    if round_id is not None:
        q = q.where(ReviewRound.id == round_id)
    return [(a, s, r, str(n)) for a, s, r, n in session.execute(q)]


def experts_named(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {int(i): str(n) for i, n in session.execute(
        select(Expert.id, Expert.name).where(Expert.id.in_(list(ids))))}


def set_round(session: Session, r: ReviewRound, **values: Any) -> None:
    for k, v in values.items():
        setattr(r, k, v)
    session.flush()

