"""JSON API of expert review under ``/api/v1``: the bureau's rounds, assignment, ranking and
decision; the expert's own assignments, reviews and conflict declarations. Reviewer
identities never appear in ranking responses."""

from __future__ import annotations

from fastapi import APIRouter

from kechuang.kit.errors import NotFound
from kechuang.review import service
from kechuang.review.schemas import (
    AssignmentOut,
    ConflictIn,
    OverdueOut,
    ProfileIn,
    ProfileOut,
    RankedOut,
    RankingOut,
    RepairOut,
    ReviewIn,
    ReviewOut,
    RoundOut,
    SummaryOut,
)
from kechuang.web.deps import BUREAU, DB, CurrentActor, RowId, allow

router = APIRouter(tags=["review"])


def _round_out(c: service.RoundCount) -> RoundOut:
    r = c.round
    return RoundOut(id=r.id, call_id=r.call_id, call_code=r.call_code, call_title=r.call_title,
                    stage=r.stage, region_code=r.region_code, rubric_id=r.rubric_id,
                    status=r.status, k=r.k, budget=r.budget, due=r.due, subjects=c.subjects,
                    assignments=c.assignments, reviews=c.reviews)


@router.get("/review/rounds", dependencies=[allow(BUREAU)])
def list_rounds(db: DB, actor: CurrentActor) -> list[RoundOut]:
    """Review rounds in the actor's region with their counts."""
    return [_round_out(c) for c in service.list_rounds(db, actor)]


@router.post("/review/rounds/{round_id}/assign", dependencies=[allow(BUREAU)])
def assign_round(db: DB, actor: CurrentActor, round_id: RowId,
                 fair: bool = False) -> SummaryOut:
    """Assign reviewers (optimal, or fair with ``?fair=true``); an infeasible round keeps
    its assignments and returns the unserved applications and binding constraint."""
    summary = service.do_assign_round(db, actor, round_id, fair=fair)
    return SummaryOut(round_id=round_id, status=str(summary["status"]), summary=summary)


def _ranking(db: DB, actor: CurrentActor, round_id: RowId) -> RankingOut:
    r, rows, summary = service.ranking(db, actor, round_id)
    return RankingOut(round_id=r.id, decided=r.status == "decided", summary=summary,
                      ranked=[RankedOut(**x.__dict__) for x in rows])


@router.get("/review/rounds/{round_id}/ranking", dependencies=[allow(BUREAU)])
def ranking(db: DB, actor: CurrentActor, round_id: RowId) -> RankingOut:
    """Aggregated scores, rank, funding within the budget (the decision preview)."""
    return _ranking(db, actor, round_id)


@router.post("/review/rounds/{round_id}/decision", dependencies=[allow(BUREAU)])
def record_decision(db: DB, actor: CurrentActor, round_id: RowId) -> RankingOut:
    """Record the ranking as the decision (one audited action; programs is told)."""
    service.do_record_decision(db, actor, round_id)
    return _ranking(db, actor, round_id)


@router.get("/review/overdue", dependencies=[allow(BUREAU)])
def overdue(db: DB, actor: CurrentActor) -> list[OverdueOut]:
    """Reviews past their round's due date."""
    return [OverdueOut(assignment_id=a.id, round_id=r.id, call_title=r.call_title,
                       subject_id=s.subject_id, expert_id=a.expert_id, expert_name=name,
                       due=r.due) for a, s, r, name in service.overdue(db, actor)]


@router.get("/review/my/assignments", dependencies=[allow("expert")])
def my_assignments(db: DB, actor: CurrentActor) -> list[AssignmentOut]:
    """The expert's own active assignments (nobody else's)."""
    return [AssignmentOut(id=a.id, round_id=r.id, subject_id=s.subject_id, title=s.title,
                          status=a.status, reviewed=done)
            for a, s, r, done in service.my_assignments(db, actor)]


@router.post("/review/assignments/{assignment_id}/review", dependencies=[allow("expert")])
def submit_review(db: DB, actor: CurrentActor, assignment_id: RowId,
                  body: ReviewIn) -> ReviewOut:
    """Submit the review of one's own assignment against the call's rubric."""
    total = service.do_submit_review(db, actor, assignment_id, body.scores, body.comment)
    return ReviewOut(assignment_id=assignment_id, total=total)


@router.post("/review/assignments/{assignment_id}/conflict", dependencies=[allow("expert")])
def declare_conflict(db: DB, actor: CurrentActor, assignment_id: RowId,
                     body: ConflictIn) -> RepairOut:
    """Declare a conflict after assignment; the seat goes to the best free alternate."""
    rep = service.do_declare_conflict(db, actor, assignment_id, body.reason)
    return RepairOut(withdrawn_id=rep.withdrawn_id, replacement_id=rep.replacement_id,
                     replacement_expert_id=rep.replacement_expert_id, message=rep.message_zh)


@router.put("/review/my/profile", dependencies=[allow("expert")])
def update_profile(db: DB, actor: CurrentActor, body: ProfileIn) -> ProfileOut:
    """The expert maintains their own review profile (audited)."""
    if actor.expert_id is None:
        raise NotFound("账户未关联专家", "The account has no expert")
    service.do_update_profile(db, actor, actor.expert_id, keywords=body.keywords,
                              discipline_codes=body.discipline_codes,
                              affiliation=body.affiliation,
                              collaborations=[c.model_dump() for c in body.collaborations],
                              available=body.available, load_cap=body.load_cap)
    return ProfileOut(expert_id=actor.expert_id, **body.model_dump())
