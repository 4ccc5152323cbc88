"""JSON API of the program engine under ``/api/v1``: programs, calls (with one transition
per request), applications and payments within the caller's scope, the public challenges
and winners, and the pre-research fund's yearly statistics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from kechuang.models.programs import ProgramCall
from kechuang.programs import service
from kechuang.programs.schemas import (
    ActionResult,
    ApplicationOut,
    CallOut,
    PaymentOut,
    ProgramOut,
    PublicChallengesOut,
    WinnerOut,
    YearStats,
)
from kechuang.web.deps import BUREAU, DB, EVERYONE, CurrentActor, RowId, allow
from kechuang.web.render import locale_of

router = APIRouter(tags=["programs"])

PARTIES = BUREAU | {"enterprise", "institute"}


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")


def _call_out(call: ProgramCall, locale: str) -> CallOut:
    out = CallOut.model_validate(call)
    out.state_label = service.state_label(service.call_def(call).call_workflow, call.state,
                                          locale)
    return out


@router.get("/programs", dependencies=[allow(BUREAU)])
def list_programs(db: DB, actor: CurrentActor) -> list[ProgramOut]:
    """Programs of the bureau's region, newest year first."""
    return [ProgramOut.model_validate(p) for p in service.programs(db, actor)]


@router.get("/programs/calls", dependencies=[allow(EVERYONE)])
def list_calls(request: Request, db: DB, actor: CurrentActor) -> list[CallOut]:
    """Calls the caller may see: the bureau every call of its region; everyone else public
    calls that have been published."""
    loc = locale_of(request)
    return [_call_out(c, loc) for c in service.calls(db, actor)]


@router.get("/programs/calls/{call_id}", dependencies=[allow(EVERYONE)])
def get_call(request: Request, db: DB, actor: CurrentActor, call_id: RowId) -> CallOut:
    return _call_out(service.get_call(db, actor, call_id), locale_of(request))


@router.post("/programs/calls/{call_id}/actions", dependencies=[allow(BUREAU)])
def call_action(request: Request, db: DB, actor: CurrentActor, call_id: RowId,
                body: ActionIn) -> ActionResult:
    """One transition of a call (open, close, request_review, open_gate, finish, terminate,
    approve, reject); a refused one is a 409/403/422 naming the state and what is allowed."""
    outcome = service.do_call_action(db, actor, call_id, body.action)
    call = service.get_call(db, actor, call_id)
    return ActionResult(id=call.id, state=outcome.state, state_label=service.state_label(
        service.call_def(call).call_workflow, outcome.state, locale_of(request)))


@router.get("/programs/applications", dependencies=[allow(PARTIES)])
def list_applications(request: Request, db: DB, actor: CurrentActor) -> list[ApplicationOut]:
    """The caller's own applications and bids (the bureau: those of its region)."""
    loc = locale_of(request)
    calls: dict[int, ProgramCall] = {}
    out = []
    for a in service.my_applications(db, actor):
        call = calls.get(a.call_id) or service.call_of(db, a)
        calls[a.call_id] = call
        item = ApplicationOut.model_validate(a)
        item.state_label = service.state_label(service.call_def(call).application_workflow,
                                               a.state, loc)
        out.append(item)
    return out


@router.get("/programs/payments", dependencies=[allow(PARTIES)])
def list_payments(db: DB, actor: CurrentActor) -> list[PaymentOut]:
    """Payments to the caller (the bureau: every payment of its region's calls)."""
    return [PaymentOut.model_validate(p) for p in service.payments(db, actor)]


@router.get("/programs/challenges", dependencies=[allow(EVERYONE)])
def public_challenges(request: Request, db: DB, actor: CurrentActor) -> PublicChallengesOut:
    """Open challenges (揭榜挂帅 and 赛马) and the winners of decided ones."""
    loc = locale_of(request)
    open_calls = service.calls(db, actor, states=["open"], kinds=["challenge", "horse_race"],
                               public_only=True)
    return PublicChallengesOut(
        open=[_call_out(c, loc) for c in open_calls],
        winners=[WinnerOut(call_id=w.id, call_code=w.code, call_title=w.title, kind=w.kind,
                           applicant_name=w.applicant_name, awarded_amount=w.awarded_amount,
                           rank=w.rank, state=w.state) for w in service.winners(db)])


@router.get("/programs/pre-research/stats", dependencies=[allow(EVERYONE)])
def pre_research_stats(db: DB, actor: CurrentActor) -> list[YearStats]:
    """The pre-research fund per year and in total (``year`` null), as the Zhangjiagang
    report counts it."""
    return service.pre_research_stats(db, actor)
