"""Pages of the program engine: the bureau's programs, calls, applications, decisions and
payments; enterprises' and institutes' open calls, their applications, bids and payments;
the public list of open challenges and winners; the pre-research fund's statistics."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kechuang.auth.actor import Actor
from kechuang.kit.errors import InvalidInput
from kechuang.programs import engine, service
from kechuang.programs import i18n as _i18n  # noqa: F401  (registers the UI strings)
from kechuang.programs.schemas import CallIn, ProgramIn, builtin_types
from kechuang.web import nav
from kechuang.web.deps import BUREAU, DB, EVERYONE, CurrentActor, RowId, allow
from kechuang.web.render import locale_of, render

router = APIRouter(include_in_schema=False)

APPLICANTS = frozenset({"enterprise", "institute"})
PARTIES = BUREAU | APPLICANTS
MAX_UPLOAD = 50 * 1024 * 1024

nav.register("/programs", "programs.title", BUREAU, 44, "funding")
nav.register("/programs/mine", "programs.mine", APPLICANTS, 16, "funding")
nav.register("/challenges", "programs.challenges", {"public"}, 50, "match")


def _field_error(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first["loc"])
    return InvalidInput(f"{name}：{first['msg']}（输入：{first.get('input')!r}）",
                        f"{name}: {first['msg']}", field=name)


def _ctx(request: Request) -> dict[str, object]:
    loc = locale_of(request)
    return {"lang": loc, "label": lambda wf, s: service.state_label(wf, s, loc),
            "defn": service.call_def}


# --------------------------------------------------------------------------- bureau
@router.get("/programs", dependencies=[allow(BUREAU)])
def programs_page(request: Request, db: DB, actor: CurrentActor):
    progs = service.programs(db, actor)
    calls = service.calls(db, actor)
    return render(request, "programs/index.html", {
        **_ctx(request), "programs": progs, "calls": calls,
        "by_program": {p.id: [c for c in calls if c.program_id == p.id] for p in progs},
        "types": builtin_types(), "today": date.today()})


@router.post("/programs", dependencies=[allow("bureau_admin")])
def create_program(db: DB, actor: CurrentActor, code: Annotated[str, Form()],
                   title: Annotated[str, Form()], type_code: Annotated[str, Form()],
                   year: Annotated[str, Form()], budget: Annotated[str, Form()]):
    from_form = {"code": code.strip(), "title": title.strip(), "type_code": type_code,
                 "year": year, "budget": engine.parse_money(budget, "年度预算（budget）")}
    try:
        data = ProgramIn.model_validate(from_form)
    except ValidationError as exc:
        raise _field_error(exc) from None
    service.do_create_program(db, actor, data)
    return RedirectResponse("/programs", status_code=303)


@router.post("/programs/{program_id}/calls", dependencies=[allow(BUREAU)])
def create_call(db: DB, actor: CurrentActor, program_id: RowId, code: Annotated[str, Form()],
                title: Annotated[str, Form()], closes_on: Annotated[str, Form()],
                visibility: Annotated[str, Form()] = "public",
                policy_id: Annotated[str, Form()] = "", problem: Annotated[str, Form()] = "",
                kpis: Annotated[str, Form()] = "", budget_cap: Annotated[str, Form()] = "",
                cofunding: Annotated[str, Form()] = "",
                fund_count: Annotated[str, Form()] = ""):
    data = _call_in(code, title, closes_on, visibility, policy_id, problem, kpis, budget_cap,
                    cofunding, fund_count)
    call = service.do_create_call(db, actor, program_id, data)
    return RedirectResponse(f"/programs/calls/{call.id}", status_code=303)


def _call_in(code: str, title: str, closes_on: str, visibility: str, policy_id: str,
             problem: str, kpis: str, budget_cap: str, cofunding: str, fund_count: str
             ) -> CallIn:
    kpi_rows = []
    for i, line in enumerate((kpis or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("｜", "|").split("|")]
        if len(parts) < 2 or not parts[0]:
            raise InvalidInput(f"考核指标（kpis）第 {i} 行：应为“指标|目标值|单位”，实为 “{line}”",
                               f"kpis line {i}: expected name|target|unit", field="kpis")
        kpi_rows.append({"name": parts[0], "target": parts[1],
                         "unit": parts[2] if len(parts) > 2 else ""})
    money = {}
    for key, label, raw in (("budget_cap", "经费上限（budget_cap）", budget_cap),
                            ("cofunding", "企业配套资金（cofunding）", cofunding)):
        money[key] = engine.parse_money(raw, label) if raw.strip() else None
    try:
        return CallIn.model_validate({
            "code": code.strip(), "title": title.strip(), "closes_on": closes_on,
            "visibility": visibility, "policy_id": policy_id.strip() or None,
            "problem": problem.strip(), "kpis": kpi_rows, **money,
            "fund_count": fund_count.strip() or None})
    except ValidationError as exc:
        raise _field_error(exc) from None


@router.post("/programs/calls/{call_id}/actions", dependencies=[allow(BUREAU)])
def call_action(db: DB, actor: CurrentActor, call_id: RowId, action: Annotated[str, Form()]):
    service.do_call_action(db, actor, call_id, action)
    return RedirectResponse(f"/programs/calls/{call_id}", status_code=303)


@router.post("/programs/calls/{call_id}/decision", dependencies=[allow(BUREAU)])
async def call_decision(request: Request, db: DB, actor: CurrentActor, call_id: RowId):
    form = await request.form()
    winners: dict[int, Decimal | None] = {}
    for raw in form.getlist("winner"):
        try:
            app_id = int(str(raw))
        except ValueError:
            raise InvalidInput(f"中选申报（winner）：无效的编号 {raw!r}", "bad winner id",
                               field="winner") from None
        amount = str(form.get(f"amount_{app_id}") or "").strip()
        winners[app_id] = (engine.parse_money(amount, "资助金额（amount）")
                           if amount else None)
    await run_in_threadpool(service.do_decide_manually, db, actor, call_id, winners)
    return RedirectResponse(f"/programs/calls/{call_id}", status_code=303)


@router.get("/programs/payments", dependencies=[allow(BUREAU)])
def payments_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "programs/payments.html", {
        **_ctx(request), "payments": service.payments(db, actor)})


@router.get("/programs/types", dependencies=[allow(BUREAU)])
def types_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "programs/types.html", {
        **_ctx(request), "builtin": builtin_types(), "stored": service.stored_types(db, actor),
        "yaml_of": service.type_yaml})


@router.post("/programs/types", dependencies=[allow(BUREAU)])
def copy_type(db: DB, actor: CurrentActor, source: Annotated[str, Form()],
              code: Annotated[str, Form()], yaml_text: Annotated[str, Form()] = ""):
    existing = service.stored_type(db, code.strip())
    if existing is not None and yaml_text.strip():
        service.do_update_type(db, actor, code.strip(), yaml_text)
    else:
        service.do_copy_type(db, actor, source=source, code=code.strip(), yaml_text=yaml_text)
    return RedirectResponse("/programs/types", status_code=303)


@router.get("/programs/pre-research", dependencies=[allow(EVERYONE)])
def pre_research_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "programs/pre_research.html", {
        **_ctx(request), "rows": service.pre_research_stats(db, actor)})


# --------------------------------------------------------------------------- calls
@router.get("/programs/calls/{call_id}", dependencies=[allow(EVERYONE)])
def call_page(request: Request, db: DB, actor: CurrentActor, call_id: RowId):
    call = service.get_call(db, actor, call_id)
    apps = service.applications(db, actor, call) if actor.role in PARTIES else []
    d = service.call_def(call)
    return render(request, "programs/call.html", {
        **_ctx(request), "c": call, "d": d, "apps": apps,
        "actions": service.call_actions(call, actor) if actor.is_bureau else [],
        "milestones": service.milestones(db, call) if actor.is_bureau else [],
        "winners": [w for w in service.winners(db) if w.id == call.id],
        "can_apply": actor.role in APPLICANTS and call.state == "open"
        and not any(a.applicant_type == actor.role for a in apps)})


@router.post("/programs/calls/{call_id}/apply", dependencies=[allow(APPLICANTS)])
async def apply(request: Request, db: DB, actor: CurrentActor, call_id: RowId):
    # the multipart body is read on the loop; everything that touches the database runs in
    # a worker thread, so a slow upload or a long check never stalls other requests
    form = await request.form()
    texts: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for key, item in form.multi_items():
        if isinstance(item, str):
            texts.setdefault(key, item)
        elif key not in files:
            up = item
            files[key] = (up.filename or "", await up.read(MAX_UPLOAD + 1))
    app_id = await run_in_threadpool(_submit, db, actor, call_id, texts, files)
    return RedirectResponse(f"/programs/applications/{app_id}", status_code=303)


def _submit(db: Session, actor: Actor, call_id: int, texts: dict[str, str],
            files: dict[str, tuple[str, bytes]]) -> int:
    call = service.get_call(db, actor, call_id)
    d = service.call_def(call)
    values = {f.key: texts.get(f.key, "") for f in d.form.fields}
    uploads = [service.Upload(spec.key, *files[spec.key])
               for spec in d.form.attachments if spec.key in files]
    members = []
    for line in texts.get("members", "").splitlines():
        if line.strip():
            kind, _, name = line.partition("|")
            members.append({"org_type": kind.strip() if name else "other",
                            "name": (name or kind).strip()})
    return service.do_submit(db, actor, call_id, values, uploads, members).id


# --------------------------------------------------------------------------- applications
@router.get("/programs/applications/{app_id}", dependencies=[allow(PARTIES)])
def application_page(request: Request, db: DB, actor: CurrentActor, app_id: RowId):
    app = service.get_application(db, actor, app_id)
    call = service.call_of(db, app)
    return render(request, "programs/application.html", {
        **_ctx(request), "a": app, "c": call, "d": service.call_def(call),
        "attachments": service.attachments(db, app),
        "payments": service.payments(db, actor, application_id=app.id),
        "actions": service.application_actions(call, app, actor) if actor.is_bureau else [],
        "plan": service.tranche_plan(call, app),
        "paid_tranches": {p.tranche for p in service.payments(db, actor, application_id=app.id)},
        "milestones": [m for m in service.milestones(db, call) if m.application_id == app.id],
        "owner": (actor.role, getattr(actor, f"{actor.role}_id", None))
        == (app.applicant_type, app.applicant_id)})


@router.post("/programs/applications/{app_id}/actions", dependencies=[allow(BUREAU)])
def application_action(db: DB, actor: CurrentActor, app_id: RowId,
                       action: Annotated[str, Form()], note: Annotated[str, Form()] = ""):
    service.do_application_action(db, actor, app_id, action, note=note)
    return RedirectResponse(f"/programs/applications/{app_id}", status_code=303)


@router.post("/programs/applications/{app_id}/pay", dependencies=[allow(BUREAU)])
def pay(db: DB, actor: CurrentActor, app_id: RowId, what: Annotated[str, Form()],
        tranche: Annotated[str, Form()] = "1", amount: Annotated[str, Form()] = ""):
    if what == "tranche":
        try:
            n = int(tranche)
        except ValueError:
            raise InvalidInput(f"期次（tranche）：应为整数，实为 “{tranche}”",
                               "tranche must be an integer", field="tranche") from None
        service.do_pay_tranche(db, actor, app_id, n, amount or None)
    elif what == "front":
        service.do_pay_front(db, actor, app_id)
    elif what == "back":
        service.do_pay_back(db, actor, app_id)
    else:
        raise InvalidInput(f"付款类别（what）：未知 “{what}”", "unknown payment", field="what")
    return RedirectResponse(f"/programs/applications/{app_id}", status_code=303)


@router.post("/programs/applications/{app_id}/milestones", dependencies=[allow(APPLICANTS)])
def milestone(db: DB, actor: CurrentActor, app_id: RowId, report: Annotated[str, Form()]):
    service.do_submit_milestone(db, actor, app_id, report)
    return RedirectResponse(f"/programs/applications/{app_id}", status_code=303)


@router.post("/programs/applications/{app_id}/followup",
             dependencies=[allow(BUREAU | {"enterprise"})])
def followup(db: DB, actor: CurrentActor, app_id: RowId, amount: Annotated[str, Form()]):
    service.do_report_followup(db, actor, app_id, amount)
    return RedirectResponse(f"/programs/applications/{app_id}", status_code=303)


@router.post("/programs/applications/{app_id}/back", dependencies=[allow(BUREAU)])
def approve_back(db: DB, actor: CurrentActor, app_id: RowId):
    service.do_approve_back(db, actor, app_id)
    return RedirectResponse(f"/programs/applications/{app_id}", status_code=303)


@router.get("/programs/attachments/{attachment_id}", dependencies=[allow(PARTIES)])
def download(db: DB, actor: CurrentActor, attachment_id: RowId):
    att = service.attachment(db, actor, attachment_id)
    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(
        att.content_type, "bin" if "openxml" not in att.content_type else
        ("docx" if "word" in att.content_type else "xlsx"))
    return Response(att.content, media_type=att.content_type, headers={
        "Content-Disposition": f'attachment; filename="attachment-{att.id}.{ext}"',
        "X-Content-Type-Options": "nosniff", "X-Content-SHA256": att.sha256})


# --------------------------------------------------------------------------- applicants
@router.get("/programs/mine", dependencies=[allow(APPLICANTS)])
def mine_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "programs/mine.html", {
        **_ctx(request), "open_calls": service.calls(db, actor, states=["open"]),
        "apps": service.my_applications(db, actor),
        "calls_by_id": {c.id: c for c in service.calls(db, actor)},
        "payments": service.payments(db, actor),
        "demands": service.own_demands(db, actor),
        "challenge_programs": service.challenge_programs(db, actor)})


@router.post("/programs/proposals", dependencies=[allow("enterprise")])
def propose(db: DB, actor: CurrentActor, program_id: Annotated[str, Form()],
            demand_id: Annotated[str, Form()], code: Annotated[str, Form()],
            title: Annotated[str, Form()], closes_on: Annotated[str, Form()],
            kpis: Annotated[str, Form()] = "", budget_cap: Annotated[str, Form()] = "",
            cofunding: Annotated[str, Form()] = ""):
    try:
        pid, did = int(program_id), int(demand_id)
    except ValueError:
        raise InvalidInput("项目（program_id）与技术需求（demand_id）应为编号",
                           "program_id and demand_id must be ids", field="demand_id") from None
    data = _call_in(code, title, closes_on, "public", "", "", kpis, budget_cap, cofunding, "")
    service.do_propose_challenge(db, actor, pid, did, data)
    return RedirectResponse("/programs/mine", status_code=303)


# --------------------------------------------------------------------------- public
@router.get("/challenges", dependencies=[allow(EVERYONE)])
def challenges_page(request: Request, db: DB, actor: CurrentActor):
    return render(request, "programs/challenges.html", {
        **_ctx(request),
        "open_calls": service.calls(db, actor, states=["open"],
                                    kinds=["challenge", "horse_race"], public_only=True),
        "winners": service.winners(db), "json": json})
