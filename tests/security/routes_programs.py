"""Matrix rows of kechuang.programs: the bureau runs programs, calls, decisions and
payments; enterprises and institutes apply, bid and see their own applications and
payments; everyone reads published calls, open challenges, winners and the pre-research
statistics."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.models import User
from kechuang.programs import service
from kechuang.programs.schemas import CallIn, ProgramIn

ALL = {"bureau_admin", "bureau_staff", "department", "enterprise", "institute", "expert", "bank",
       "public"}
BUREAU = {"bureau_admin", "bureau_staff"}
APPLICANTS = {"enterprise", "institute"}
PARTIES = BUREAU | APPLICANTS

ROUTES: dict[str, set[str]] = {
    "GET /programs": BUREAU,
    "POST /programs": {"bureau_admin"},
    "POST /programs/{program_id}/calls": BUREAU,
    "POST /programs/calls/{call_id}/actions": BUREAU,
    "POST /programs/calls/{call_id}/decision": BUREAU,
    "GET /programs/payments": BUREAU,
    "GET /programs/types": BUREAU,
    "POST /programs/types": BUREAU,
    "GET /programs/pre-research": ALL,
    "GET /programs/calls/{call_id}": ALL,
    "POST /programs/calls/{call_id}/apply": APPLICANTS,
    "GET /programs/applications/{app_id}": PARTIES,
    "POST /programs/applications/{app_id}/actions": BUREAU,
    "POST /programs/applications/{app_id}/pay": BUREAU,
    "POST /programs/applications/{app_id}/milestones": APPLICANTS,
    "POST /programs/applications/{app_id}/followup": BUREAU | {"enterprise"},
    "POST /programs/applications/{app_id}/back": BUREAU,
    "GET /programs/attachments/{attachment_id}": PARTIES,
    "GET /programs/mine": APPLICANTS,
    "POST /programs/proposals": {"enterprise"},
    "GET /challenges": ALL,
    "GET /api/v1/programs": BUREAU,
    "GET /api/v1/programs/calls": ALL,
    "GET /api/v1/programs/calls/{call_id}": ALL,
    "POST /api/v1/programs/calls/{call_id}/actions": BUREAU,
    "GET /api/v1/programs/applications": PARTIES,
    "GET /api/v1/programs/payments": PARTIES,
    "GET /api/v1/programs/challenges": ALL,
    "GET /api/v1/programs/pre-research/stats": ALL,
}


def samples(session: Session) -> dict[str, str]:
    """An open, public challenge of 张家港 with one bid by ent1 (with its PDF)."""
    cli = Actor.command_line()
    program = service.do_create_program(session, cli, ProgramIn(
        code="MATRIX-JB", title="矩阵测试揭榜挂帅", type_code="challenge", year=2026,
        budget=Decimal("1000000")), region_code="320582")
    call = service.do_create_call(session, cli, program.id, CallIn(
        code="MATRIX-JB-01", title="矩阵测试榜单", closes_on=date.today() + timedelta(days=30),
        budget_cap=Decimal("500000")))
    service.do_call_action(session, cli, call.id, "open")

    ent = session.scalar(select(User).where(User.username == "ent1"))
    bidder = Actor(username="ent1", role="enterprise", region_code=ent.region_code,
                   region_path="/", user_id=ent.id, enterprise_id=ent.enterprise_id)
    app = service.do_submit(session, bidder, call.id, {
        "title": "矩阵测试方案", "plan": "方案", "requested_amount": "400000"},
        [service.Upload("proposal", "p.pdf", b"%PDF-1.4\n%%EOF\n")])
    att = service.attachments(session, app)[0]
    return {"program_id": str(program.id), "call_id": str(call.id), "app_id": str(app.id),
            "attachment_id": str(att.id)}
