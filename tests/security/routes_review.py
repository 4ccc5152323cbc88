"""Security-matrix rows of kechuang.review: rounds, ranking and decisions are the bureau's;
an expert sees and acts on only their own assignments."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Expert
from kechuang.models.review import ReviewAssignment, ReviewRound, ReviewSubject

BUREAU = {"bureau_admin", "bureau_staff"}
EXPERT = {"expert"}

ROUTES: dict[str, set[str]] = {
    "GET /review": BUREAU,
    "GET /review/rounds/{round_id}": BUREAU,
    "POST /review/rounds/{round_id}/assign": BUREAU,
    "POST /review/rounds/{round_id}/decision": BUREAU,
    "GET /review/my": EXPERT,
    "GET /review/profile": EXPERT,
    "POST /review/profile": EXPERT,
    "GET /review/assignments/{assignment_id}": EXPERT,
    "POST /review/assignments/{assignment_id}/review": EXPERT,
    "POST /review/assignments/{assignment_id}/conflict": EXPERT,
    "GET /api/v1/review/rounds": BUREAU,
    "POST /api/v1/review/rounds/{round_id}/assign": BUREAU,
    "GET /api/v1/review/rounds/{round_id}/ranking": BUREAU,
    "POST /api/v1/review/rounds/{round_id}/decision": BUREAU,
    "GET /api/v1/review/overdue": BUREAU,
    "GET /api/v1/review/my/assignments": EXPERT,
    "PUT /api/v1/review/my/profile": EXPERT,
    "POST /api/v1/review/assignments/{assignment_id}/review": EXPERT,
    "POST /api/v1/review/assignments/{assignment_id}/conflict": EXPERT,
}


def samples(session: Session) -> dict[str, str]:
    """A round in 张家港 with one application assigned to the seed's expert."""
    expert = session.scalar(select(Expert).where(Expert.code == "EXP-1"))
    assert expert is not None
    r = ReviewRound(call_id=9001, call_code="T-9001", call_title="矩阵测试", stage="application",
                    region_code="320582", rubric_id="default", budget=Decimal("10"), k=1,
                    status="assigned", assignment_summary={})
    session.add(r)
    session.flush()
    s = ReviewSubject(round_id=r.id, subject_id=1, title="测试申请", text="集成电路",
                      requested_amount=Decimal("5"), parties=[], named_people=[])
    session.add(s)
    session.flush()
    a = ReviewAssignment(round_id=r.id, subject_row_id=s.id, expert_id=expert.id, affinity=1.0,
                         status="active")
    session.add(a)
    session.flush()
    return {"round_id": str(r.id), "assignment_id": str(a.id)}
