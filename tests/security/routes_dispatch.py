"""Security-matrix rows of kechuang.dispatch: everything is the bureau's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.models import Enterprise
from kechuang.models.dispatch import DispatchAlternate, DispatchAssignment, DispatchRun
from kechuang.models.matching import Commissioner, ServiceRequest

BUREAU = {"bureau_admin", "bureau_staff"}

ROUTES: dict[str, set[str]] = {
    "GET /dispatch": BUREAU,
    "POST /dispatch/run": BUREAU,
    "GET /dispatch/runs/{run_id}": BUREAU,
    "POST /dispatch/assignments/{assignment_id}/confirm": BUREAU,
    "POST /dispatch/assignments/{assignment_id}/redispatch": BUREAU,
    "POST /api/v1/dispatch/runs": BUREAU,
    "GET /api/v1/dispatch/runs/{run_id}": BUREAU,
}


def samples(session: Session) -> dict[str, str]:
    """A run in 张家港 with one assignment and one alternate."""
    ent = session.scalars(select(Enterprise).where(Enterprise.region_code == "320582")
                          .order_by(Enterprise.id)).first()
    assert ent is not None
    c1 = Commissioner(name="甲", expertise="锂电池", capacity=2, region_code="320582")
    c2 = Commissioner(name="乙", expertise="电池材料", capacity=2, region_code="320582")
    req = ServiceRequest(enterprise_id=ent.id, title="锂电池", region_code="320582",
                         status="assigned")
    session.add_all([c1, c2, req])
    session.flush()
    run = DispatchRun(region_code="320582", requests=1, commissioners=2, seats_needed=1,
                      seats_filled=1, total_fit=1.0, weights={}, explanations=[],
                      proof={"method": "test", "dual_bound": 1.0, "gap": 0.0,
                             "integral": True}, actor="seed")
    session.add(run)
    session.flush()
    a = DispatchAssignment(run_id=run.id, request_id=req.id, commissioner_id=c1.id, fit=1.0)
    session.add_all([a, DispatchAlternate(run_id=run.id, request_id=req.id,
                                          commissioner_id=c2.id, rank=1, fit=0.5)])
    session.flush()
    return {"run_id": str(run.id), "assignment_id": str(a.id)}
