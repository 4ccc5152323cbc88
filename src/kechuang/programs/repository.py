"""Every SQL statement of the programs capability: programs, calls, applications,
attachments, milestones, payments, stored program types and the set-based statistics of the
pre-research fund. Scope predicates (region for the bureau, own organisation for
enterprises and institutes, public visibility for everyone else) are applied here."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_code_in_scope
from kechuang.models import Enterprise, Institute, Region, User
from kechuang.models.matching import TechDemand
from kechuang.models.programs import (
    Program,
    ProgramApplication,
    ProgramAttachment,
    ProgramCall,
    ProgramMilestone,
    ProgramPayment,
    ProgramType,
)

#: call states nobody outside the bureau (and a proposing enterprise) sees
HIDDEN_CALL_STATES = ("proposed", "rejected", "draft")


def add(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def flush(session: Session) -> None:
    session.flush()


# --------------------------------------------------------------------------- predicates
def call_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, ProgramCall.region_code)
    public = and_(ProgramCall.visibility == "public",
                  ProgramCall.state.not_in(HIDDEN_CALL_STATES))
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return or_(public, ProgramCall.proposer_enterprise_id == actor.enterprise_id)
    return public


def application_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return region_code_in_scope(actor, ProgramApplication.region_code)
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return or_(and_(ProgramApplication.applicant_type == "enterprise",
                        ProgramApplication.applicant_id == actor.enterprise_id),
                   ProgramApplication.enterprise_id == actor.enterprise_id)
    if actor.role == "institute" and actor.institute_id is not None:
        return or_(and_(ProgramApplication.applicant_type == "institute",
                        ProgramApplication.applicant_id == actor.institute_id),
                   ProgramApplication.institute_id == actor.institute_id)
    return false()


def payment_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.is_bureau:
        return ProgramPayment.call_id.in_(
            select(ProgramCall.id).where(region_code_in_scope(actor, ProgramCall.region_code)))
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        return and_(ProgramPayment.payee_type == "enterprise",
                    ProgramPayment.payee_id == actor.enterprise_id)
    if actor.role == "institute" and actor.institute_id is not None:
        return and_(ProgramPayment.payee_type == "institute",
                    ProgramPayment.payee_id == actor.institute_id)
    return false()


# --------------------------------------------------------------------------- programs
def programs(session: Session, actor: Actor) -> Sequence[Program]:
    return session.scalars(select(Program).where(
        region_code_in_scope(actor, Program.region_code) if actor.is_bureau else false())
        .order_by(Program.year.desc(), Program.code)).all()


def get_program(session: Session, actor: Actor, program_id: int) -> Program | None:
    return session.scalar(select(Program).where(
        Program.id == program_id,
        region_code_in_scope(actor, Program.region_code) if actor.is_bureau else false()))


def program_by_code(session: Session, code: str) -> Program | None:
    return session.scalar(select(Program).where(Program.code == code))


def program_of(session: Session, program_id: int) -> Program:
    return session.get_one(Program, program_id)


def region_path(session: Session, code: str) -> str | None:
    return session.scalar(select(Region.path).where(Region.code == code))


# --------------------------------------------------------------------------- types
def stored_types(session: Session, actor: Actor) -> Sequence[ProgramType]:
    pred = region_code_in_scope(actor, ProgramType.region_code) if actor.is_bureau else false()
    return session.scalars(select(ProgramType).where(pred).order_by(ProgramType.code)).all()


def stored_type(session: Session, code: str) -> ProgramType | None:
    return session.scalar(select(ProgramType).where(ProgramType.code == code))


# --------------------------------------------------------------------------- calls
def calls(session: Session, actor: Actor, *, states: Sequence[str] | None = None,
          kinds: Sequence[str] | None = None, program_id: int | None = None,
          public_only: bool = False) -> Sequence[ProgramCall]:
    q = select(ProgramCall).where(call_visible(actor))
    if public_only:
        q = q.where(ProgramCall.visibility == "public",
                    ProgramCall.state.not_in(HIDDEN_CALL_STATES))
    if states:
        q = q.where(ProgramCall.state.in_(states))
    if kinds:
        q = q.where(ProgramCall.kind.in_(kinds))
    if program_id is not None:
        q = q.where(ProgramCall.program_id == program_id)
    return session.scalars(q.order_by(ProgramCall.closes_at.desc(), ProgramCall.id.desc())
                           ).all()


def get_call(session: Session, actor: Actor, call_id: int) -> ProgramCall | None:
    return session.scalar(select(ProgramCall).where(ProgramCall.id == call_id,
                                                    call_visible(actor)))


def call_by_code(session: Session, code: str) -> ProgramCall | None:
    return session.scalar(select(ProgramCall).where(ProgramCall.code == code))


def lock_call(session: Session, call_id: int) -> ProgramCall | None:
    """The call row, locked for the rest of the transaction (PostgreSQL ``FOR UPDATE``;
    SQLite serialises writers itself)."""
    return session.scalar(select(ProgramCall).where(ProgramCall.id == call_id)
                          .with_for_update().execution_options(populate_existing=True))


def call_of(session: Session, call_id: int) -> ProgramCall:
    return session.get_one(ProgramCall, call_id)


# --------------------------------------------------------------------------- applications
def applications_of(session: Session, call_id: int,
                    states: Sequence[str] | None = None) -> Sequence[ProgramApplication]:
    q = select(ProgramApplication).where(ProgramApplication.call_id == call_id)
    if states:
        q = q.where(ProgramApplication.state.in_(states))
    return session.scalars(q.order_by(ProgramApplication.rank.is_(None),
                                      ProgramApplication.rank, ProgramApplication.id)).all()


def count_applications(session: Session, call_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(ProgramApplication)
                              .where(ProgramApplication.call_id == call_id,
                                     ProgramApplication.state != "new")) or 0)


def my_applications(session: Session, actor: Actor) -> Sequence[ProgramApplication]:
    return session.scalars(select(ProgramApplication).where(application_visible(actor))
                           .order_by(ProgramApplication.id.desc()).limit(500)).all()


def get_application(session: Session, actor: Actor, app_id: int) -> ProgramApplication | None:
    return session.scalar(select(ProgramApplication).where(
        ProgramApplication.id == app_id, application_visible(actor)))


def application_of(session: Session, app_id: int) -> ProgramApplication:
    return session.get_one(ProgramApplication, app_id)


def existing_application(session: Session, call_id: int, applicant_type: str,
                         applicant_id: int) -> ProgramApplication | None:
    return session.scalar(select(ProgramApplication).where(
        ProgramApplication.call_id == call_id,
        ProgramApplication.applicant_type == applicant_type,
        ProgramApplication.applicant_id == applicant_id))


def lock_application(session: Session, app_id: int) -> ProgramApplication | None:
    return session.scalar(select(ProgramApplication).where(ProgramApplication.id == app_id)
                          .with_for_update().execution_options(populate_existing=True))


# --------------------------------------------------------------------------- parties
def enterprise_name(session: Session, enterprise_id: int) -> tuple[str, str] | None:
    row = session.execute(select(Enterprise.name, Enterprise.region_code)
                          .where(Enterprise.id == enterprise_id)).first()
    return (row[0], row[1]) if row else None


def institute_name(session: Session, institute_id: int) -> tuple[str, str] | None:
    row = session.execute(select(Institute.name, Institute.region_code)
                          .where(Institute.id == institute_id)).first()
    return (row[0], row[1]) if row else None


def institute_by_name(session: Session, name: str) -> Institute | None:
    return session.scalar(select(Institute).where(Institute.name == name).limit(1))


def own_demand(session: Session, actor: Actor, demand_id: int) -> TechDemand | None:
    """A technology demand of the acting enterprise (企业出题 starts from one). Read-only;
    the matching package keeps the demand's life cycle."""
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        pred: ColumnElement[bool] = TechDemand.enterprise_id == actor.enterprise_id
    elif actor.is_bureau:
        pred = region_code_in_scope(actor, TechDemand.region_code)
    else:
        pred = false()
    return session.scalar(select(TechDemand).where(TechDemand.id == demand_id, pred))


def own_demands(session: Session, actor: Actor) -> Sequence[TechDemand]:
    if actor.role != "enterprise" or actor.enterprise_id is None:
        return []
    return session.scalars(select(TechDemand).where(
        TechDemand.enterprise_id == actor.enterprise_id,
        TechDemand.status.in_(("open", "matched"))).order_by(TechDemand.id.desc())).all()


# --------------------------------------------------------------------------- attachments
def attachments_of(session: Session, app_id: int) -> Sequence[ProgramAttachment]:
    return session.scalars(select(ProgramAttachment).where(
        ProgramAttachment.application_id == app_id).order_by(ProgramAttachment.id)).all()


def attachment(session: Session, attachment_id: int) -> ProgramAttachment | None:
    return session.get(ProgramAttachment, attachment_id)


# --------------------------------------------------------------------------- milestones
def milestones_of_call(session: Session, call_id: int,
                       gate: int | None = None) -> Sequence[ProgramMilestone]:
    q = select(ProgramMilestone).where(ProgramMilestone.application_id.in_(
        select(ProgramApplication.id).where(ProgramApplication.call_id == call_id)))
    if gate is not None:
        q = q.where(ProgramMilestone.gate == gate)
    return session.scalars(q.order_by(ProgramMilestone.gate, ProgramMilestone.id)).all()


def milestone(session: Session, app_id: int, gate: int) -> ProgramMilestone | None:
    return session.scalar(select(ProgramMilestone).where(
        ProgramMilestone.application_id == app_id, ProgramMilestone.gate == gate))


# --------------------------------------------------------------------------- payments
def payments(session: Session, actor: Actor, *, call_id: int | None = None,
             application_id: int | None = None, limit: int = 500) -> Sequence[ProgramPayment]:
    q = select(ProgramPayment).where(payment_visible(actor))
    if call_id is not None:
        q = q.where(ProgramPayment.call_id == call_id)
    if application_id is not None:
        q = q.where(ProgramPayment.application_id == application_id)
    return session.scalars(q.order_by(ProgramPayment.id.desc()).limit(limit)).all()


def paid_total(session: Session, application_id: int, kinds: Sequence[str]) -> Decimal:
    total = session.scalar(select(func.sum(ProgramPayment.amount)).where(
        ProgramPayment.application_id == application_id, ProgramPayment.kind.in_(kinds)))
    return Decimal(total) if total is not None else Decimal(0)


def paid_tranches(session: Session, application_id: int) -> set[int]:
    return {int(t) for t in session.scalars(select(ProgramPayment.tranche).where(
        ProgramPayment.application_id == application_id, ProgramPayment.tranche.is_not(None)))
        if t is not None}


def payment_by_key(session: Session, key: str) -> ProgramPayment | None:
    return session.scalar(select(ProgramPayment).where(ProgramPayment.idempotency_key == key))


# --------------------------------------------------------------------------- public
def winners(session: Session, *, limit: int = 200) -> Sequence[Any]:
    """Funded bids of public, decided challenge calls (揭榜挂帅 and 赛马)."""
    return session.execute(
        select(ProgramCall.id, ProgramCall.code, ProgramCall.title, ProgramCall.kind,
               ProgramApplication.applicant_name, ProgramApplication.awarded_amount,
               ProgramApplication.rank, ProgramApplication.state)
        .join(ProgramApplication, ProgramApplication.call_id == ProgramCall.id)
        .where(ProgramCall.visibility == "public",
               ProgramCall.kind.in_(("challenge", "horse_race")),
               ProgramCall.state.in_(("decided", "gate_review", "finished")),
               # a 赛马 team stopped at a gate is no longer a winner
               ProgramApplication.state.in_(("funded", "contracted", "accepted")),
               ProgramApplication.awarded_amount.is_not(None))
        .order_by(ProgramCall.decided_at.desc(), ProgramCall.id, ProgramApplication.rank)
        .limit(limit)).all()


# --------------------------------------------------------------------------- statistics
def _pre_research_scope(actor: Actor) -> ColumnElement[bool]:
    return region_code_in_scope(actor, ProgramCall.region_code) if actor.is_bureau else true()


def pre_research_counts(session: Session, actor: Actor) -> dict[str, dict[int, Any]]:
    """Set-based aggregates of the pre-research fund per year (module ``service`` builds
    the table): applications and distinct partners by application year, approvals by the
    year of each phase, R&D leveraged by the back-phase year, money by payment year."""
    calls_q = select(ProgramCall.id).where(ProgramCall.kind == "pre_research",
                                           _pre_research_scope(actor))
    a = ProgramApplication
    submitted = a.state.not_in(("new",))
    apps = session.execute(
        select(a.year, func.count(), func.count(a.institute_id.distinct()),
               func.count(a.enterprise_id.distinct()))
        .where(a.call_id.in_(calls_q), submitted).group_by(a.year)).all()
    front = session.execute(select(a.front_year, func.count()).where(
        a.call_id.in_(calls_q), a.front_year.is_not(None)).group_by(a.front_year)).all()
    back = session.execute(select(a.back_year, func.count(), func.sum(a.followup_rd)).where(
        a.call_id.in_(calls_q), a.back_year.is_not(None)).group_by(a.back_year)).all()
    paid = session.execute(select(ProgramPayment.year, func.sum(ProgramPayment.amount)).where(
        ProgramPayment.call_id.in_(calls_q)).group_by(ProgramPayment.year)).all()
    totals = session.execute(
        select(func.count(), func.count(a.institute_id.distinct()),
               func.count(a.enterprise_id.distinct()))
        .where(a.call_id.in_(calls_q), submitted)).one()
    return {
        "apps": {int(y): (int(n), int(i), int(e)) for y, n, i, e in apps},
        "front": {int(y): int(n) for y, n in front if y is not None},
        "back": {int(y): (int(n), Decimal(s or 0)) for y, n, s in back if y is not None},
        "paid": {int(y): Decimal(s or 0) for y, s in paid},
        "totals": {0: (int(totals[0]), int(totals[1]), int(totals[2]))},
    }


# --------------------------------------------------------------------------- demo
def county_enterprises(session: Session, county_code: str,
                       limit: int) -> list[tuple[int, str, str]]:
    path = session.scalar(select(Region.path).where(Region.code == county_code))
    if path is None:
        return []
    rows = session.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.region_code)
        .where(Enterprise.region_code.in_(select(Region.code).where(
            Region.path.startswith(path, autoescape=True))))
        .order_by(Enterprise.id).limit(limit)).all()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def all_institutes(session: Session, limit: int = 100) -> list[tuple[int, str, str]]:
    rows = session.execute(select(Institute.id, Institute.name, Institute.region_code)
                           .order_by(Institute.id).limit(limit)).all()
    return [(int(r[0]), r[1], r[2]) for r in rows]


def county_demands(session: Session, county_code: str, limit: int) -> Sequence[TechDemand]:
    path = session.scalar(select(Region.path).where(Region.code == county_code))
    if path is None:
        return []
    return session.scalars(select(TechDemand).where(TechDemand.region_code.in_(
        select(Region.code).where(Region.path.startswith(path, autoescape=True))))
        .order_by(TechDemand.id).limit(limit)).all()


def bulk_add(session: Session, objs: Sequence[Any]) -> None:
    session.add_all(list(objs))
    session.flush()


def committed(session: Session, program_id: int) -> Decimal:
    """What the program's funded applications were awarded (the commitments its budget
    must cover), over all its calls."""
    total = session.scalar(select(func.sum(ProgramApplication.awarded_amount)).where(
        ProgramApplication.call_id.in_(select(ProgramCall.id).where(
            ProgramCall.program_id == program_id)),
        ProgramApplication.awarded_amount.is_not(None)))
    return Decimal(total) if total is not None else Decimal(0)


def demo_parties(session: Session, county_code: str) -> tuple[int | None, int | None]:
    """The enterprise and institute behind the demo county's accounts (so the demo
    enterprise and institute see their own bids and payments)."""
    path = session.scalar(select(Region.path).where(Region.code == county_code)) or "?"
    in_county = User.region_code.in_(select(Region.code).where(
        Region.path.startswith(path, autoescape=True)))
    ent = session.scalar(select(User.enterprise_id).where(
        User.role == "enterprise", User.enterprise_id.is_not(None), in_county)
        .order_by(User.id).limit(1))
    inst = session.scalar(select(User.institute_id).where(
        User.role == "institute", User.institute_id.is_not(None), in_county)
        .order_by(User.id).limit(1))
    return ent, inst


def challenge_programs_for(session: Session, actor: Actor) -> Sequence[Program]:
    """Challenge and 赛马 programs of the regions above the enterprise's own."""
    if actor.enterprise_id is None:
        return []
    own = session.scalar(select(Region.path).join(Enterprise, Enterprise.region_code
                                                  == Region.code)
                         .where(Enterprise.id == actor.enterprise_id))
    if own is None:
        return []
    ancestors = [c for c in own.strip("/").split("/") if c]
    return session.scalars(select(Program).where(
        Program.kind.in_(("challenge", "horse_race")), Program.region_code.in_(ancestors))
        .order_by(Program.year.desc(), Program.code)).all()
