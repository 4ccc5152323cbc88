"""SQL of dispatch: whole-set reads (open requests, commissioners with their live load,
conflicts) and bulk writes. Enterprises are read only through ``enterprise_visible``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, true, update
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible, region_code_in_scope
from kechuang.kit.errors import NotFound
from kechuang.models import Enterprise, Industry, Region
from kechuang.models.dispatch import DispatchAlternate, DispatchAssignment, DispatchRun
from kechuang.models.matching import Commissioner, ConflictDeclaration, ServiceRequest

#: assignment states that hold a commissioner's capacity
ACTIVE = ("assigned", "confirmed")
#: request states in which an active assignment holds capacity
BUSY_REQUEST = ("assigned", "in_service")


@dataclass(frozen=True)
class RequestRow:
    id: int
    title: str
    description: str
    region_code: str
    industry_code: str | None
    industry_name: str
    team_size: int
    status: str
    enterprise_id: int
    enterprise_name: str


@dataclass(frozen=True)
class CommissionerRow:
    id: int
    name: str
    expertise: str
    affiliation: str
    region_code: str
    capacity: int
    load: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)


def region_filter(session: Session, column: object, region_code: str | None) -> ColumnElement[bool]:
    """``column`` (a region code) lies in the subtree of ``region_code`` (None: no filter)."""
    if not region_code:
        return true()
    path = session.scalar(select(Region.path).where(Region.code == region_code))
    if path is None:
        raise NotFound(f"没有行政区划代码 {region_code}", f"No region {region_code}")
    return column.in_(  # type: ignore[attr-defined]
        select(Region.code).where(Region.path.startswith(path, autoescape=True)))


def requests(session: Session, actor: Actor, *, region_code: str | None = None,
             status: Sequence[str] = ("open",), ids: Sequence[int] | None = None
             ) -> list[RequestRow]:
    stmt = (
        select(ServiceRequest, Enterprise.name, Industry.name)
        .join(Enterprise, Enterprise.id == ServiceRequest.enterprise_id)
        .outerjoin(Industry, Industry.code == ServiceRequest.industry_code)
        .where(enterprise_visible(actor),
               region_code_in_scope(actor, ServiceRequest.region_code),
               region_filter(session, ServiceRequest.region_code, region_code))
        .order_by(ServiceRequest.created_at, ServiceRequest.id)
    )
    if status:
        stmt = stmt.where(ServiceRequest.status.in_(status))
    if ids is not None:
        stmt = stmt.where(ServiceRequest.id.in_(list(ids)))
    return [RequestRow(r.id, r.title, r.description or "", r.region_code, r.industry_code,
                       ind or "", max(r.team_size or 1, 1), r.status, r.enterprise_id, ename)
            for r, ename, ind in session.execute(stmt)]


def load_subquery() -> Any:
    """Active assignments per commissioner (assignments holding capacity)."""
    return (
        select(DispatchAssignment.commissioner_id.label("cid"), func.count().label("n"))
        .join(ServiceRequest, ServiceRequest.id == DispatchAssignment.request_id)
        .where(DispatchAssignment.status.in_(ACTIVE), ServiceRequest.status.in_(BUSY_REQUEST))
        .group_by(DispatchAssignment.commissioner_id)
        .subquery()
    )


def commissioners(session: Session, actor: Actor, *, region_code: str | None = None,
                  ids: Sequence[int] | None = None, lock: bool = False) -> list[CommissionerRow]:
    """Active commissioners in the actor's region (and ``region_code``), with live load.

    ``lock``: on PostgreSQL the rows are locked (``FOR UPDATE``) until the transaction ends,
    so two concurrent runs or re-dispatches sharing commissioners cannot both spend the
    same free capacity (the second waits and then sees the first one's assignments)."""
    where = [Commissioner.active.is_(True),
             region_code_in_scope(actor, Commissioner.region_code),
             region_filter(session, Commissioner.region_code, region_code)]
    if ids is not None:
        where.append(Commissioner.id.in_(list(ids)))
    if lock and session.get_bind().dialect.name == "postgresql":
        # lock first, then read the load in a new statement (a fresh snapshot under READ
        # COMMITTED), so a run that waited sees the assignments of the one it waited for
        session.execute(select(Commissioner.id).where(*where).order_by(Commissioner.id)
                        .with_for_update())
    load = load_subquery()
    stmt = (
        select(Commissioner, func.coalesce(load.c.n, 0))
        .outerjoin(load, load.c.cid == Commissioner.id)
        .where(*where)
        .order_by(Commissioner.id)
    )
    return [CommissionerRow(c.id, c.name, c.expertise or "", c.affiliation or "", c.region_code,
                            max(c.capacity or 0, 0), int(n))
            for c, n in session.execute(stmt)]


def conflicts(session: Session, request_ids: Sequence[int],
              commissioner_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(request, commissioner) pairs in conflict: declared conflicts with the request's
    enterprise, and the commissioner working for that enterprise (affiliation = its name)."""
    if not request_ids or not commissioner_ids:
        return set()
    declared = (
        select(ServiceRequest.id, ConflictDeclaration.person_id)
        .join(ConflictDeclaration,
              and_(ConflictDeclaration.enterprise_id == ServiceRequest.enterprise_id,
                   ConflictDeclaration.person_kind == "commissioner"))
        .where(ServiceRequest.id.in_(list(request_ids)))
    )
    same_org = (
        select(ServiceRequest.id, Commissioner.id)
        .join(Enterprise, Enterprise.id == ServiceRequest.enterprise_id)
        .join(Commissioner, Commissioner.affiliation == Enterprise.name)
        .where(ServiceRequest.id.in_(list(request_ids)),
               Commissioner.id.in_(list(commissioner_ids)))
    )
    wanted = set(commissioner_ids)
    out = {(int(r), int(c)) for r, c in session.execute(declared) if c in wanted}
    out |= {(int(r), int(c)) for r, c in session.execute(same_org)}
    return out


def set_request_status(session: Session, ids: Sequence[int], old: Sequence[str],
                       new: str) -> int:
    """Bulk status change guarded by the old status; returns rows changed (a concurrent
    change shows as fewer rows than asked)."""
    changed = 0
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        res = session.execute(update(ServiceRequest)
                              .where(ServiceRequest.id.in_(chunk),
                                     ServiceRequest.status.in_(list(old)))
                              .values(status=new))
        changed += res.rowcount  # type: ignore[attr-defined]
    return changed


# ------------------------------------------------------------------ runs and assignments
def add_run(session: Session, run: DispatchRun, assignments: Sequence[DispatchAssignment],
            alternates: Sequence[DispatchAlternate]) -> DispatchRun:
    """Stage a run (flushed for its id) with its assignments and alternates; the rows get
    the run's id."""
    session.add(run)
    session.flush()
    for a in assignments:
        a.run_id = run.id
    for x in alternates:
        x.run_id = run.id
    session.add_all(assignments)
    session.add_all(alternates)
    return run


def get_assignment(session: Session, assignment_id: int) -> DispatchAssignment | None:
    return session.get(DispatchAssignment, assignment_id)


def get_request(session: Session, request_id: int) -> ServiceRequest | None:
    return session.get(ServiceRequest, request_id)


def get_run(session: Session, run_id: int) -> DispatchRun | None:
    return session.get(DispatchRun, run_id)


def alternates_of(session: Session, run_id: int, request_id: int) -> list[DispatchAlternate]:
    """The alternates of one request in a run, best rank first."""
    return list(session.scalars(select(DispatchAlternate)
                                .where(DispatchAlternate.run_id == run_id,
                                       DispatchAlternate.request_id == request_id)
                                .order_by(DispatchAlternate.rank)).all())


def replace_assignment(session: Session, new: DispatchAssignment,
                       used: DispatchAlternate) -> None:
    """Stage the new assignment and drop the alternate it used; flush."""
    session.add(new)
    session.execute(delete(DispatchAlternate).where(DispatchAlternate.id == used.id))
    session.flush()


def recent_runs(session: Session, actor: Actor, limit: int = 20) -> list[DispatchRun]:
    return list(session.scalars(select(DispatchRun)
                                .where(region_code_in_scope(actor, DispatchRun.region_code))
                                .order_by(DispatchRun.id.desc()).limit(limit)).all())


def run_assignments(session: Session, run_id: int) -> list[DispatchAssignment]:
    return list(session.scalars(select(DispatchAssignment)
                                .where(DispatchAssignment.run_id == run_id)
                                .order_by(DispatchAssignment.id)).all())


def run_alternates(session: Session, run_id: int) -> list[DispatchAlternate]:
    return list(session.scalars(
        select(DispatchAlternate).where(DispatchAlternate.run_id == run_id)
        .order_by(DispatchAlternate.request_id, DispatchAlternate.rank)).all())


def commissioner_names(session: Session, ids: set[int]) -> dict[int, str]:
    return {cid: name for cid, name in session.execute(
        select(Commissioner.id, Commissioner.name).where(Commissioner.id.in_(ids)))}
