"""The program engine's actions: every state change is one ``do_*`` function that checks
the transition against the call's workflow (roles, guards, deadline in Asia/Shanghai),
changes the rows and writes its audit row, inside the caller's unit of work (services never
commit). Money goes out only through :mod:`kechuang.ledger.service`; expert review is
reached through the ``programs.review_requested`` / ``review.decision_recorded`` events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import region_in_scope
from kechuang.config import get_settings
from kechuang.kit import audit, events
from kechuang.kit import rules as rulefiles
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.seams import (
    RankedSubject,
    ReviewDecision,
    ReviewParty,
    ReviewRequest,
    ReviewSubject,
)
from kechuang.ledger import service as ledger
from kechuang.models.programs import (
    Program,
    ProgramApplication,
    ProgramAttachment,
    ProgramCall,
    ProgramMilestone,
    ProgramPayment,
    ProgramType,
)
from kechuang.programs import engine
from kechuang.programs import repository as repo
from kechuang.programs.schemas import (
    CallIn,
    MemberIn,
    ProgramIn,
    ProgramTypeDef,
    Workflow,
    YearStats,
    builtin_types,
    pre_research_params,
)
from kechuang.push.schemas import OpenProgram
from kechuang.push.service import do_push_program_open

SYSTEM = "system"
FUNDED_STATES = ("funded", "contracted", "accepted")
PAYEE_ROLES = ("enterprise", "institute")


def now() -> datetime:
    return datetime.now(UTC)


def today_local() -> date:
    return now().astimezone(ZoneInfo(get_settings().timezone)).date()


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


CALL_AUDIT = ("code", "title", "kind", "state", "visibility", "closes_at", "budget_cap",
              "cofunding", "fund_count", "current_gate")
APP_AUDIT = ("call_id", "applicant_type", "applicant_id", "state", "title",
             "requested_amount", "awarded_amount", "contract_amount", "followup_rd", "gate")


# --------------------------------------------------------------------------- types
def type_def(session: Session, code: str) -> ProgramTypeDef:
    """A bureau's stored copy first, else the built-in type of that id."""
    stored = repo.stored_type(session, code)
    if stored is not None:
        return ProgramTypeDef.model_validate(stored.definition)
    found = builtin_types().get(code)
    if found is None:
        known = "、".join(builtin_types())
        raise InvalidInput(f"项目类型：未知的类型 “{code}”（内置：{known}）",
                           f"unknown program type {code!r}", field="type_code")
    return found


def call_def(call: ProgramCall) -> ProgramTypeDef:
    return ProgramTypeDef.model_validate(call.definition)


def state_label(wf: Workflow, state: str, locale: str = "zh") -> str:
    label = wf.states.get(state)
    if label is None:
        return state
    return label.en if locale == "en" else label.zh


def do_copy_type(session: Session, actor: Actor, *, source: str, code: str,
                 yaml_text: str | None = None, region_code: str | None = None) -> ProgramType:
    """Copy a built-in (or stored) program type into the database under ``code``,
    optionally with the bureau's edited YAML (validated like the built-ins: file, line,
    key in every error)."""
    _bureau(actor)
    if repo.stored_type(session, code) is not None or code in builtin_types():
        raise Conflict(f"类型编号：“{code}” 已存在", f"type {code!r} exists", field="code")
    base = type_def(session, source)
    if yaml_text and yaml_text.strip():
        edited = rulefiles.loads(yaml_text, ProgramTypeDef, f"{code}.yaml")
        if edited.kind != base.kind:
            raise InvalidInput(f"kind：复制的类型须与原类型相同（{base.kind}）",
                               f"kind must stay {base.kind}", field="kind")
        definition = edited.model_copy(update={"id": code})
    else:
        definition = base.model_copy(update={"id": code})
    region = region_code or actor.region_code
    if region is None or not _in_scope(session, actor, region):
        raise InvalidInput("请以有辖区的科技局账户复制类型", "a bureau account with a region "
                           "is needed", field="region_code")
    item = repo.add(session, ProgramType(
        code=code, title=definition.title, region_code=region, based_on=source,
        definition=definition.model_dump(mode="json", by_alias=True),
        created_by=actor.user_id, created_at=now(), updated_at=now()))
    audit.record(session, actor, "programs.type.copy", "program_type", item.id,
                 after={"code": code, "based_on": source, "edited": bool(yaml_text)},
                 region_code=region)
    return item


def do_update_type(session: Session, actor: Actor, code: str, yaml_text: str) -> ProgramType:
    _bureau(actor)
    item = repo.stored_type(session, code)
    if item is None or not _in_scope(session, actor, item.region_code):
        raise NotFound(f"项目类型 {code} 不存在或不是本局的副本", f"type {code} not found")
    edited = rulefiles.loads(yaml_text, ProgramTypeDef, f"{code}.yaml")
    old = ProgramTypeDef.model_validate(item.definition)
    if edited.kind != old.kind:
        raise InvalidInput(f"kind：不能改变类型的种类（{old.kind}）", "kind is fixed",
                           field="kind")
    before = item.definition
    item.definition = edited.model_copy(update={"id": code}).model_dump(mode="json",
                                                                       by_alias=True)
    item.title = edited.title
    item.updated_at = now()
    audit.record(session, actor, "programs.type.update", "program_type", item.id,
                 before={"title": before.get("title")}, after={"title": item.title},
                 region_code=item.region_code)
    return item


# --------------------------------------------------------------------------- helpers
def _add_once(session: Session, obj: Any, conflict: Conflict) -> Any:
    """Insert a row whose unique key a concurrent request may have taken first (a double
    submission, a repeated payment): the database refuses it and the caller gets a clear
    Conflict — the unit of work rolls back, so nothing of this request stays."""
    try:
        return repo.add(session, obj)
    except IntegrityError:
        raise conflict from None


def _bureau(actor: Actor) -> None:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以进行此操作", "Only the bureau may do this")


def _in_scope(session: Session, actor: Actor, region_code: str) -> bool:
    path = repo.region_path(session, region_code)
    return path is not None and region_in_scope(actor, path)


def _role(actor: Actor) -> str:
    return actor.role


def _program(session: Session, actor: Actor, program_id: int) -> Program:
    p = repo.get_program(session, actor, program_id)
    if p is None:
        raise NotFound(f"项目 {program_id} 不存在或不在您的辖区", f"program {program_id} not found")
    return p


def get_call(session: Session, actor: Actor, call_id: int) -> ProgramCall:
    call = repo.get_call(session, actor, call_id)
    if call is None:
        raise NotFound(f"申报通知/榜单 {call_id} 不存在或无权查看",
                       f"call {call_id} not found")
    return call


def get_application(session: Session, actor: Actor, app_id: int) -> ProgramApplication:
    app = repo.get_application(session, actor, app_id)
    if app is None:
        raise NotFound(f"申报 {app_id} 不存在或无权查看", f"application {app_id} not found")
    return app


def _locked_call(session: Session, actor: Actor, call_id: int) -> ProgramCall:
    get_call(session, actor, call_id)  # visibility
    call = repo.lock_call(session, call_id)
    assert call is not None
    return call


def _locked_app(session: Session, actor: Actor, app_id: int) -> ProgramApplication:
    get_application(session, actor, app_id)
    app = repo.lock_application(session, app_id)
    assert app is not None
    return app


def _call_guards(session: Session, call: ProgramCall, at: datetime) -> dict[str, bool]:
    d = call_def(call)
    return {
        "before_deadline": engine.before_deadline(call.closes_at, at),
        "deadline_passed": not engine.before_deadline(call.closes_at, at),
        "has_applications": repo.count_applications(session, call.id) > 0,
        "gates_left": call.current_gate < d.gates,
        "no_gates_left": call.current_gate >= d.gates,
        "budget_left": True,
    }


def _budget_left(session: Session, call: ProgramCall, amount: Decimal) -> bool:
    program = repo.program_of(session, call.program_id)
    return repo.committed(session, program.id) + amount <= program.budget


# --------------------------------------------------------------------------- programs
def do_create_program(session: Session, actor: Actor, data: ProgramIn,
                      region_code: str | None = None) -> Program:
    """A program of the actor's region with its yearly budget, opened in the ledger as
    ``program:<code>:<year>``."""
    _bureau(actor)
    definition = type_def(session, data.type_code)
    region = region_code or actor.region_code
    if region is None or not _in_scope(session, actor, region):
        raise InvalidInput(f"地区：{region} 不在您的辖区内", "region outside your scope",
                           field="region_code")
    if repo.program_by_code(session, data.code) is not None:
        raise Conflict(f"项目编号：“{data.code}” 已存在", f"program {data.code} exists",
                       field="code")
    key = f"program:{data.code}:{data.year}"
    ledger.do_open_budget(session, actor, key=key, title=data.title, region_code=region,
                          year=data.year, amount=data.budget,
                          source=f"{definition.title}（{data.code}）年度预算")
    program = repo.add(session, Program(
        code=data.code, title=data.title, type_code=data.type_code, kind=definition.kind,
        region_code=region, year=data.year, budget=data.budget, budget_key=key,
        created_by=actor.user_id, created_at=now()))
    audit.record(session, actor, "programs.program.create", "program", program.id,
                 after=_row(program, "code", "title", "type_code", "year", "budget"),
                 region_code=region)
    return program


def do_create_call(session: Session, actor: Actor, program_id: int, data: CallIn,
                   *, proposer_enterprise_id: int | None = None, demand_id: int | None = None,
                   initial: str | None = None) -> ProgramCall:
    program = (repo.program_of(session, program_id) if proposer_enterprise_id is not None
               else _program(session, actor, program_id))
    definition = type_def(session, program.type_code)
    if repo.call_by_code(session, data.code) is not None:
        raise Conflict(f"编号：“{data.code}” 已存在", f"call {data.code} exists", field="code")
    if data.budget_cap is not None and data.budget_cap > program.budget:
        raise InvalidInput(f"经费上限（budget_cap）：{data.budget_cap} 超过项目年度预算 "
                           f"{program.budget}", "budget cap above the program budget",
                           field="budget_cap")
    state = initial or definition.call_workflow.initial
    call = repo.add(session, ProgramCall(
        program_id=program.id, code=data.code, title=data.title, kind=definition.kind,
        region_code=program.region_code, year=program.year, state=state,
        visibility=data.visibility,
        definition=definition.model_dump(mode="json", by_alias=True),
        closes_at=engine.deadline_utc(data.closes_on, get_settings().timezone),
        policy_id=data.policy_id or None, problem=data.problem, kpis=data.kpis,
        budget_cap=data.budget_cap, cofunding=data.cofunding,
        fund_count=data.fund_count or definition.fund_count, demand_id=demand_id,
        proposer_enterprise_id=proposer_enterprise_id, created_by=actor.user_id,
        created_at=now(), updated_at=now()))
    audit.record(session, actor, "programs.call.create", "program_call", call.id,
                 after=_row(call, *CALL_AUDIT), region_code=call.region_code)
    return call


def do_propose_challenge(session: Session, actor: Actor, program_id: int, demand_id: int,
                         data: CallIn) -> ProgramCall:
    """企业出题: an enterprise proposes a challenge item from one of its technology demands;
    it waits in ``proposed`` until the bureau approves it."""
    if actor.role != "enterprise" or actor.enterprise_id is None:
        raise Forbidden("只有企业可以出题", "Only an enterprise proposes a challenge")
    demand = repo.own_demand(session, actor, demand_id)
    if demand is None:
        raise InvalidInput(f"技术需求（demand_id）：{demand_id} 不是贵企业的需求",
                           f"demand {demand_id} is not yours", field="demand_id")
    program = repo.program_of(session, program_id) if program_id else None
    if program is None or program.kind not in ("challenge", "horse_race"):
        raise InvalidInput("项目（program_id）：应为揭榜挂帅或赛马项目",
                           "program must be a challenge program", field="program_id")
    if not _in_scope_path(session, program.region_code, demand.region_code):
        raise InvalidInput("项目（program_id）：不是贵企业所在地区的项目",
                           "the program is not of your region", field="program_id")
    if not data.problem:
        data = data.model_copy(update={"problem": (demand.description or demand.title)[:5000]})
    if not data.kpis and demand.targets:
        data = data.model_copy(update={"kpis": [{"name": demand.targets[:200], "target": "",
                                                 "unit": ""}]})
    return do_create_call(session, actor, program.id, data,
                          proposer_enterprise_id=actor.enterprise_id, demand_id=demand.id,
                          initial="proposed")


def _in_scope_path(session: Session, region_code: str, inner_code: str) -> bool:
    outer = repo.region_path(session, region_code) or "?"
    inner = repo.region_path(session, inner_code) or ""
    return inner.startswith(outer)


@dataclass
class ActionOutcome:
    state: str
    notes: list[str] = field(default_factory=list)


def do_call_action(session: Session, actor: Actor, call_id: int, action: str,
                   *, at: datetime | None = None) -> ActionOutcome:
    """One transition of a call: approve/reject a proposal, open (push to the eligible
    enterprises), close, request_review (the ``programs.review_requested`` event), open_gate
    (a 赛马 stage-gate review), finish, terminate."""
    at = at or now()
    call = _locked_call(session, actor, call_id)
    d = call_def(call)
    role = _role(actor)
    new = engine.check_transition(d.call_workflow, call.state, action, role,
                                  _call_guards(session, call, at), what="申报通知",
                                  what_en="call")
    before = call.state
    call.state = new
    call.updated_at = at
    notes: list[str] = []
    if action == "open":
        call.opens_at = at
        notes += _push_open(session, actor, call)
    elif action == "request_review":
        _request_review(session, actor, call, at)
    elif action == "open_gate":
        _request_gate_review(session, actor, call, call.current_gate + 1)
    audit.record(session, actor, f"programs.call.{action}", "program_call", call.id,
                 before={"state": before}, after={"state": new, "notes": notes},
                 region_code=call.region_code)
    return ActionOutcome(new, notes)


def _push_open(session: Session, actor: Actor, call: ProgramCall) -> list[str]:
    if not call.policy_id or call.visibility != "public":
        return []
    closes = (call.closes_at.astimezone(ZoneInfo(get_settings().timezone)).date()
              if call.closes_at else None)
    try:
        s = do_push_program_open(session, actor, OpenProgram(
            program_id=call.code, title=call.title[:100], policy_id=call.policy_id,
            period=call.year, link=f"/programs/calls/{call.id}", closes_on=closes))
    except InvalidInput as exc:
        # a missing policy run must not block opening the call; the bureau sees why
        return [f"未推送：{exc.message_zh}"]
    return [f"已推送 {s.inserted} 家企业"]


def _parties(session: Session, app: ProgramApplication) -> list[ReviewParty]:
    parties = [ReviewParty(org_type=app.applicant_type, org_id=app.applicant_id,
                           name=app.applicant_name, role="lead",
                           region_code=app.region_code)]
    for m in app.members or []:
        if m.get("role") != "lead":
            parties.append(ReviewParty(org_type=m.get("org_type", "other"),
                                       org_id=m.get("org_id"), name=m.get("name", ""),
                                       role="member"))
    if app.institute_id and app.applicant_type != "institute":
        found = repo.institute_name(session, app.institute_id)
        if found:
            parties.append(ReviewParty(org_type="institute", org_id=app.institute_id,
                                       name=found[0], role="partner", region_code=found[1]))
    return parties


def _request_review(session: Session, actor: Actor, call: ProgramCall, at: datetime) -> None:
    d = call_def(call)
    apps = repo.applications_of(session, call.id, ["checked"])
    if not apps:
        raise Conflict("没有通过形式审查的申报，不能提交专家评审",
                       "no application passed the formal check", field="state")
    subjects = []
    for app in apps:
        app.state = engine.check_transition(d.application_workflow, app.state, "to_review",
                                            SYSTEM, {})
        app.updated_at = at
        subjects.append(ReviewSubject(
            subject_id=app.id, title=app.title,
            text="\n".join([app.title, str(app.data.get("plan", "")), call.problem])[:5000],
            requested_amount=app.requested_amount or app.contract_amount,
            parties=_parties(session, app)))
    events.emit("programs.review_requested", session=session, actor=actor,
                request=ReviewRequest(
                    call_id=call.id, call_code=call.code, call_title=call.title,
                    stage="application", region_code=call.region_code,
                    rubric_id=d.rubric_id, budget=call.budget_cap,
                    fund_count=call.fund_count, subjects=subjects))


def _request_gate_review(session: Session, actor: Actor, call: ProgramCall, gate: int) -> None:
    d = call_def(call)
    reports = repo.milestones_of_call(session, call.id, gate)
    if not reports:
        raise Conflict(f"第 {gate} 关口尚无里程碑报告，不能启动关口评审",
                       f"no milestone report for gate {gate} yet", field="gate")
    subjects = []
    for m in reports:
        app = repo.application_of(session, m.application_id)
        subjects.append(ReviewSubject(subject_id=app.id, title=f"{app.title}（第{gate}关口）",
                                      text=m.report[:5000], parties=_parties(session, app)))
    events.emit("programs.review_requested", session=session, actor=actor,
                request=ReviewRequest(
                    call_id=call.id, call_code=call.code, call_title=call.title,
                    stage=f"gate:{gate}", region_code=call.region_code,
                    rubric_id=d.rubric_id, fund_count=d.continue_counts[gate - 1],
                    subjects=subjects))


# --------------------------------------------------------------------------- applications
@dataclass(frozen=True)
class Upload:
    key: str
    filename: str
    data: bytes


def _applicant(session: Session, actor: Actor) -> tuple[str, int, str, str]:
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        found = repo.enterprise_name(session, actor.enterprise_id)
        if found:
            return "enterprise", actor.enterprise_id, found[0], found[1]
    if actor.role == "institute" and actor.institute_id is not None:
        found = repo.institute_name(session, actor.institute_id)
        if found:
            return "institute", actor.institute_id, found[0], found[1]
    raise Forbidden("只有企业或高校院所账户可以申报/揭榜",
                    "Only enterprise or institute accounts apply")


def parse_members(raw: Sequence[Mapping[str, Any]], lead_name: str) -> list[dict[str, Any]]:
    """Consortium members (联合体): the applicant is the lead; every other member named."""
    out = [{"org_type": "lead", "name": lead_name, "role": "lead"}]
    for i, m in enumerate(raw, start=1):
        try:
            member = MemberIn.model_validate({**m, "role": "member"})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(f"联合体成员第 {i} 个（members.{i}）：{first['msg']}",
                               f"consortium member {i}: {first['msg']}",
                               field=f"members.{i}") from None
        out.append(member.model_dump())
    out[0]["org_type"] = "applicant"
    return out


def do_submit(session: Session, actor: Actor, call_id: int, values: Mapping[str, Any],
              uploads: Sequence[Upload] = (), members: Sequence[Mapping[str, Any]] = (),
              *, at: datetime | None = None) -> ProgramApplication:
    """Submit an application (or a bid, 揭榜): before the deadline (server clock, Asia/
    Shanghai end of the closing day), once per applicant and call, every form field and
    required attachment valid — else a Chinese error naming the field, nothing written."""
    at = at or now()
    call = _locked_call(session, actor, call_id)
    d = call_def(call)
    kind, applicant_id, name, region = _applicant(session, actor)
    if call.state != "open":
        raise Conflict(f"申报通知当前状态为“{state_label(d.call_workflow, call.state)}”，"
                       "不接受申报（只有“揭榜中/受理申报”时可以提交）",
                       f"the call is {call.state}: it takes no applications", field="state")
    if repo.existing_application(session, call.id, kind, applicant_id) is not None:
        raise Conflict(f"贵单位已向“{call.title}”提交过申报，不能重复提交",
                       "You already applied to this call", field="applicant")
    new = engine.check_transition(d.application_workflow, d.application_workflow.initial,
                                  "submit", kind,
                                  {"before_deadline": engine.before_deadline(call.closes_at,
                                                                             at)})
    form = engine.validate_form(d.form, values)
    files = _check_uploads(d, uploads)
    enterprise_id = applicant_id if kind == "enterprise" else None
    institute_id = applicant_id if kind == "institute" else None
    contract = None
    requested = form.amount
    if call.kind == "pre_research":
        if kind != "enterprise":
            raise InvalidInput("申报单位：预研资金由企业与高校院所联合申报，请以企业账户提交",
                               "the enterprise submits a pre-research application",
                               field="applicant")
        inst = repo.institute_by_name(session, form.values.get("institute_name", ""))
        if inst is None:
            raise InvalidInput(f"合作高校院所（institute_name）：平台上没有名为 "
                               f"“{form.values.get('institute_name')}” 的高校院所",
                               "unknown partner institute", field="institute_name")
        institute_id = inst.id
        contract = Decimal(form.values["contract_amount"])
        requested = engine.front_amount(pre_research_params(), at.date(), contract)
    elif call.budget_cap is not None and requested is not None and requested > call.budget_cap:
        raise InvalidInput(f"申请经费（requested_amount）：{requested} 超过榜单经费上限 "
                           f"{call.budget_cap}", "requested amount above the cap",
                           field="requested_amount")
    app = _add_once(session, ProgramApplication(
        call_id=call.id, applicant_type=kind, applicant_id=applicant_id, applicant_name=name,
        region_code=region, state=new, title=form.title or call.title, data=form.values,
        members=parse_members(members, name) if members else [],
        requested_amount=requested, contract_amount=contract, enterprise_id=enterprise_id,
        institute_id=institute_id, year=at.astimezone(ZoneInfo(get_settings().timezone)).year,
        submitted_at=at, created_by=actor.user_id, created_at=at, updated_at=at),
        Conflict(f"贵单位已向“{call.title}”提交过申报，不能重复提交",
                 "You already applied to this call", field="applicant"))
    for u, checked in files:
        repo.add(session, ProgramAttachment(
            application_id=app.id, field=u.key, filename=u.filename[:200],
            content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
            content=u.data, created_by=actor.user_id, created_at=at))
    audit.record(session, actor, "programs.application.submit", "program_application", app.id,
                 after={**_row(app, *APP_AUDIT),
                        "files": [{"field": u.key, "sha256": c.sha256, "size": c.size}
                                  for u, c in files]}, region_code=call.region_code)
    return app


def _check_uploads(d: ProgramTypeDef, uploads: Sequence[Upload]
                   ) -> list[tuple[Upload, engine.CheckedFile]]:
    specs = {a.key: a for a in d.form.attachments}
    out = []
    seen = set()
    for u in uploads:
        if not u.data and not u.filename:
            continue
        spec = specs.get(u.key)
        if spec is None:
            raise InvalidInput(f"附件（{u.key}）：本申报表没有这一附件项",
                               f"unexpected attachment {u.key}", field=u.key)
        out.append((u, engine.check_attachment(spec, u.filename or "(无文件名)", u.data)))
        seen.add(u.key)
    for spec in d.form.attachments:
        if spec.required and spec.key not in seen:
            raise InvalidInput(f"附件“{spec.zh}”（{spec.key}）：必须上传",
                               f"{spec.en}: required", field=spec.key)
    return out


def do_application_action(session: Session, actor: Actor, app_id: int, action: str,
                          *, note: str = "") -> ProgramApplication:
    """A bureau step on one application: formal check (pass/fail), contract, acceptance
    (验收), termination — checked against the call's application workflow."""
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    if action in ("fund", "not_fund", "to_review", "approve_back", "report_followup"):
        raise InvalidInput(f"操作 “{action}” 由评审决定或专门的功能完成",
                           f"{action} has its own action", field="action")
    new = engine.check_transition(d.application_workflow, app.state, action, actor.role, {})
    before = app.state
    app.state = new
    app.updated_at = now()
    audit.record(session, actor, f"programs.application.{action}", "program_application",
                 app.id, before={"state": before}, after={"state": new, "note": note[:500]},
                 region_code=call.region_code)
    return app


# --------------------------------------------------------------------------- decisions
def do_apply_review_decision(session: Session, actor: Actor, decision: ReviewDecision,
                             *, at: datetime | None = None) -> ActionOutcome:
    """The review package's decision comes back: rank and score every subject; at the
    application stage fund the funded ones (within the call's cap and the program's
    budget; 赛马 at most ``fund_count``) and the call becomes decided; at a 赛马 gate only the
    funded (best) reports continue, the others stop."""
    at = at or now()
    call = repo.lock_call(session, decision.call_id)
    if call is None:
        raise NotFound(f"评审结果所指的申报通知 {decision.call_id} 不存在",
                       f"call {decision.call_id} not found")
    if actor.is_bureau and not _in_scope(session, actor, call.region_code):
        raise Forbidden("该申报通知不在您的辖区", "call outside your region")
    if decision.stage == "application":
        return _apply_application_decision(session, actor, call, decision, at)
    if decision.stage.startswith("gate:"):
        return _apply_gate_decision(session, actor, call, decision, at)
    raise InvalidInput(f"评审阶段（stage）：未知的阶段 “{decision.stage}”",
                       f"unknown stage {decision.stage!r}", field="stage")


def _apply_application_decision(session: Session, actor: Actor, call: ProgramCall,
                                decision: ReviewDecision, at: datetime) -> ActionOutcome:
    d = call_def(call)
    new_call = engine.check_transition(d.call_workflow, call.state, "decide", SYSTEM, {},
                                       what="申报通知", what_en="call")
    apps = {a.id: a for a in repo.applications_of(session, call.id, ["in_review"])}
    unknown = [r.subject_id for r in decision.ranked if r.subject_id not in apps]
    if unknown:
        raise InvalidInput(f"评审结果含有不在评审中的申报：{unknown}",
                           f"decision names applications not in review: {unknown}",
                           field="ranked")
    limit = call.fund_count if call.kind in ("challenge", "horse_race") else None
    funded = 0
    local_year = at.astimezone(ZoneInfo(get_settings().timezone)).year
    notes = []
    for r in sorted(decision.ranked, key=lambda r: r.rank):
        app = apps.pop(r.subject_id)
        app.score, app.rank, app.decided_at, app.updated_at = r.score, r.rank, at, at
        if r.funded and (limit is None or funded < limit):
            amount = _award(call, app, r)
            ok = _budget_left(session, call, amount)
            app.state = engine.check_transition(d.application_workflow, app.state, "fund",
                                                SYSTEM, {"budget_left": ok})
            app.awarded_amount = amount
            if call.kind == "pre_research":
                app.front_year = local_year
            funded += 1
            session.flush()
        else:
            app.state = engine.check_transition(d.application_workflow, app.state,
                                                "not_fund", SYSTEM, {})
            if r.funded:
                notes.append(f"{app.applicant_name}：超出名额 {limit}，未入选")
    for app in apps.values():  # in review but not ranked: not funded
        app.state = engine.check_transition(d.application_workflow, app.state, "not_fund",
                                            SYSTEM, {})
        app.decided_at = at
    before = call.state
    call.state, call.decided_at, call.updated_at = new_call, at, at
    audit.record(session, actor, "programs.call.decide", "program_call", call.id,
                 before={"state": before},
                 after={"state": new_call, "round_id": decision.round_id, "funded": funded,
                        "summary": decision.summary[:1000], "notes": notes},
                 region_code=call.region_code)
    return ActionOutcome(new_call, notes)


def _award(call: ProgramCall, app: ProgramApplication, r: RankedSubject) -> Decimal:
    if call.kind == "pre_research":
        assert app.contract_amount is not None
        return engine.front_amount(pre_research_params(), today_local(), app.contract_amount)
    amount = r.amount if r.amount is not None else (app.requested_amount or Decimal(0))
    if amount < 0:
        raise InvalidInput("评审结果金额（amount）：不能为负数", "negative amount",
                           field="amount")
    if call.budget_cap is not None and amount > call.budget_cap:
        amount = call.budget_cap
    return amount.quantize(engine.CENT)


def _apply_gate_decision(session: Session, actor: Actor, call: ProgramCall,
                         decision: ReviewDecision, at: datetime) -> ActionOutcome:
    d = call_def(call)
    gate = int(decision.stage.split(":", 1)[1])
    if gate != call.current_gate + 1:
        raise Conflict(f"当前应评审第 {call.current_gate + 1} 关口，收到第 {gate} 关口的结果",
                       f"expected gate {call.current_gate + 1}, got {gate}", field="stage")
    new_call = engine.check_transition(d.call_workflow, call.state, "gate_decide", SYSTEM, {},
                                       what="申报通知", what_en="call")
    keep = d.continue_counts[gate - 1]
    scores = {r.subject_id: r.score for r in decision.ranked}
    chosen = [r.subject_id for r in sorted(decision.ranked, key=lambda r: r.rank) if r.funded]
    survivors = set(chosen[:keep] if chosen else engine.survivors(scores, keep))
    notes = []
    for m in repo.milestones_of_call(session, call.id, gate):
        app = repo.application_of(session, m.application_id)
        m.score = scores.get(app.id)
        if app.id in survivors:
            m.outcome = "continue"
            app.gate = gate
        else:
            m.outcome = "stop"
            app.state = engine.check_transition(d.application_workflow, app.state, "stop",
                                                SYSTEM, {})
            notes.append(f"{app.applicant_name}：第{gate}关口未晋级")
        app.updated_at = at
    # funded bids that sent no report at this gate stop too
    for app in repo.applications_of(session, call.id, list(FUNDED_STATES)):
        if app.gate < gate and app.id not in survivors:
            app.state = engine.check_transition(d.application_workflow, app.state, "stop",
                                                SYSTEM, {})
            notes.append(f"{app.applicant_name}：第{gate}关口未提交报告")
    before = call.state
    call.state, call.current_gate, call.updated_at = new_call, gate, at
    audit.record(session, actor, "programs.call.gate_decide", "program_call", call.id,
                 before={"state": before, "gate": gate - 1},
                 after={"state": new_call, "gate": gate, "continue": sorted(survivors),
                        "notes": notes}, region_code=call.region_code)
    return ActionOutcome(new_call, notes)


def do_decide_manually(session: Session, actor: Actor, call_id: int,
                       winners: Mapping[int, Decimal | None]) -> ActionOutcome:
    """The bureau records the decision itself (when no expert-review round is used): the
    chosen applications in the order given are funded, every other one is not. Goes
    through the same path as a review decision."""
    _bureau(actor)
    call = get_call(session, actor, call_id)
    in_review = repo.applications_of(session, call.id, ["in_review"])
    if not winners:
        raise InvalidInput("中选申报（winners）：至少选择一个", "choose at least one winner",
                           field="winners")
    ids = {a.id for a in in_review}
    bad = [i for i in winners if i not in ids]
    if bad:
        raise InvalidInput(f"中选申报（winners）：{bad} 不在评审中", "not in review",
                           field="winners")
    ranked = []
    order = list(winners)
    for a in in_review:
        rank = order.index(a.id) + 1 if a.id in winners else len(order) + 1 + a.id
        ranked.append(RankedSubject(subject_id=a.id, rank=rank,
                                    score=Decimal(100 - min(rank, 100)),
                                    funded=a.id in winners, amount=winners.get(a.id)))
    stage = "application" if call.state == "review" else f"gate:{call.current_gate + 1}"
    return do_apply_review_decision(session, actor, ReviewDecision(
        call_id=call.id, stage=stage, round_id=0, decided_at=now(), ranked=ranked,
        summary="科技局直接决定（未经评审轮次）"))


def do_submit_milestone(session: Session, actor: Actor, app_id: int, report: str
                        ) -> ProgramMilestone:
    """A funded 赛马 team reports its milestone for the next gate."""
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    if actor.is_bureau or (actor.role, _owner_id(actor)) != (app.applicant_type,
                                                             app.applicant_id):
        raise Forbidden("只有揭榜方本身可以提交里程碑报告", "only the team reports")
    if call.kind != "horse_race" or call.current_gate >= d.gates:
        raise Conflict("本榜单没有待评审的关口", "no gate is open for reports", field="gate")
    if app.state not in FUNDED_STATES or app.gate != call.current_gate:
        raise Conflict(f"申报当前状态为“{state_label(d.application_workflow, app.state)}”，"
                       "不能提交里程碑报告", "this bid is not in the race", field="state")
    text = (report or "").strip()
    if not text or len(text) > 5000:
        raise InvalidInput("里程碑报告（report）：不能为空，最多 5000 字",
                           "report: required, at most 5000 characters", field="report")
    gate = call.current_gate + 1
    if repo.milestone(session, app.id, gate) is not None:
        raise Conflict(f"第 {gate} 关口的报告已提交，不能重复提交",
                       "report already submitted", field="report")
    m = repo.add(session, ProgramMilestone(application_id=app.id, gate=gate, report=text,
                                           created_by=actor.user_id, created_at=now()))
    audit.record(session, actor, "programs.milestone.submit", "program_milestone", m.id,
                 after={"application_id": app.id, "gate": gate}, region_code=call.region_code)
    return m


def _owner_id(actor: Actor) -> int | None:
    return actor.enterprise_id if actor.role == "enterprise" else actor.institute_id


# --------------------------------------------------------------------------- money
def _pay(session: Session, actor: Actor, call: ProgramCall, app: ProgramApplication, *,
         kind: str, amount: Decimal, payee_type: str, payee_id: int, payee_name: str,
         tranche: int | None, key: str, at: datetime) -> ProgramPayment:
    program = repo.program_of(session, call.program_id)
    existing = repo.payment_by_key(session, key)
    if existing is not None:
        raise Conflict(f"该笔款项（{key}）已支付，不能重复支付", "already paid",
                       field="tranche")
    entry = ledger.do_pay(session, actor, budget_key=program.budget_key, kind=kind,
                          payee_type=payee_type, payee_id=payee_id, payee_name=payee_name,
                          amount=amount, decision_ref=f"program:{call.code}:app:{app.id}",
                          idempotency_key=key, memo=f"{call.title} · {app.title}"[:500])
    local = at.astimezone(ZoneInfo(get_settings().timezone)).date()
    p = _add_once(session, ProgramPayment(
        call_id=call.id, application_id=app.id, kind=kind, tranche=tranche, amount=amount,
        payee_type=payee_type, payee_id=payee_id, payee_name=payee_name,
        decision_ref=entry.decision_ref, idempotency_key=key, ledger_entry_id=entry.id,
        paid_on=local, year=local.year, created_by=actor.user_id, created_at=at),
        Conflict(f"该笔款项（{key}）刚由另一请求支付，不能重复支付", "already paid",
                 field="tranche"))
    audit.record(session, actor, f"programs.pay.{kind}", "program_payment", p.id,
                 after={"application_id": app.id, "amount": amount, "tranche": tranche,
                        "ledger_entry_id": entry.id, "payee": payee_name},
                 region_code=call.region_code)
    return p


def do_pay_tranche(session: Session, actor: Actor, app_id: int, tranche: int,
                   amount: object = None, *, at: datetime | None = None) -> ProgramPayment:
    """Pay tranche ``tranche`` (1-based) of a funded bid: tranche 1 after the decision,
    tranche k+1 only after the bid passed gate k (赛马). The default amount is the award ×
    the type's split; a different amount may be given, never more than what is left."""
    _bureau(actor)
    at = at or now()
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    if call.kind not in ("challenge", "horse_race", "grant"):
        raise InvalidInput("该申报不按期拨付（预研资金请用预拨/后补助）",
                           "not a tranche-paid call", field="tranche")
    if app.state not in FUNDED_STATES or app.awarded_amount is None:
        raise Conflict(f"申报当前状态为“{state_label(d.application_workflow, app.state)}”，"
                       "不能拨付经费（只有已立项/已签约/已验收的可以）",
                       f"the application is {app.state}: nothing to pay", field="state")
    if not 1 <= tranche <= len(d.tranches):
        raise InvalidInput(f"期次（tranche）：应为 1–{len(d.tranches)}，实为 {tranche}",
                           "tranche out of range", field="tranche")
    paid = repo.paid_tranches(session, app.id)
    if tranche in paid:
        raise Conflict(f"期次（tranche）：第 {tranche} 期已拨付，不能重复拨付",
                       f"tranche {tranche} already paid", field="tranche")
    if d.gates and tranche - 1 > app.gate:
        raise Conflict(f"期次（tranche）：第 {tranche} 期须在通过第 {tranche - 1} 关口后拨付"
                       f"（当前已通过 {app.gate} 个关口）", "gate not passed yet",
                       field="tranche")
    missing = [k for k in range(1, tranche) if k not in paid]
    if missing:
        raise Conflict(f"期次（tranche）：须先拨付第 {missing[0]} 期",
                       f"tranche {missing[0]} must be paid first", field="tranche")
    if (not d.gates and len(d.tranches) > 1 and tranche == len(d.tranches)
            and app.state != "accepted"):
        raise Conflict(f"期次（tranche）：最后一期（第 {tranche} 期）须在验收通过后拨付"
                       f"（申报当前状态为"
                       f"“{state_label(d.application_workflow, app.state)}”）",
                       "the last tranche follows acceptance", field="tranche")
    default = engine.tranche_amounts(app.awarded_amount, d.tranches)[tranche - 1]
    value = default if amount in (None, "") else engine.parse_money(amount, "金额（amount）",
                                                                    allow_zero=False)
    left = app.awarded_amount - repo.paid_total(session, app.id, ("tranche", "grant"))
    if value > left:
        raise InvalidInput(f"金额（amount）：{value} 超过该项目尚未拨付的 {left}",
                           f"amount {value} is more than what is left ({left})",
                           field="amount")
    return _pay(session, actor, call, app, kind="tranche" if len(d.tranches) > 1 else "grant",
                amount=value, payee_type=app.applicant_type, payee_id=app.applicant_id,
                payee_name=app.applicant_name, tranche=tranche,
                key=f"program:app:{app.id}:tranche:{tranche}", at=at)


def do_pay_front(session: Session, actor: Actor, app_id: int,
                 *, at: datetime | None = None) -> ProgramPayment:
    """Pre-research front phase: pre-pay the institute rate × contract, at most the cap."""
    _bureau(actor)
    at = at or now()
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    if call.kind != "pre_research" or app.front_year is None or app.institute_id is None:
        raise Conflict(f"申报当前状态为“{state_label(d.application_workflow, app.state)}”，"
                       "尚未研发前期立项，不能预拨", "front phase not approved", field="state")
    assert app.contract_amount is not None
    amount = engine.front_amount(pre_research_params(), at.date(), app.contract_amount)
    inst = repo.institute_name(session, app.institute_id)
    return _pay(session, actor, call, app, kind="pre_payment", amount=amount,
                payee_type="institute", payee_id=app.institute_id,
                payee_name=inst[0] if inst else "", tranche=None,
                key=f"program:app:{app.id}:pre_payment", at=at)


def do_report_followup(session: Session, actor: Actor, app_id: int, amount: object,
                       *, at: datetime | None = None) -> ProgramApplication:
    """The enterprise reports its follow-up R&D investment (back phase starts)."""
    at = at or now()
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    value = engine.parse_money(amount, "后续研发投入（followup_rd）", allow_zero=False)
    if actor.role == "enterprise" and actor.enterprise_id != app.enterprise_id:
        raise Forbidden("只有申报企业可以报送后续研发投入", "only the enterprise reports")
    new = engine.check_transition(d.application_workflow, app.state, "report_followup",
                                  actor.role, {})
    before = app.state
    app.state, app.followup_rd, app.updated_at = new, value, at
    audit.record(session, actor, "programs.application.report_followup",
                 "program_application", app.id, before={"state": before},
                 after={"state": new, "followup_rd": value}, region_code=call.region_code)
    return app


def do_approve_back(session: Session, actor: Actor, app_id: int,
                    *, at: datetime | None = None) -> ProgramApplication:
    """Back phase approved: the post-subsidy is rate × follow-up R&D, at most the cap."""
    _bureau(actor)
    at = at or now()
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    assert app.followup_rd is not None or app.state != "followup_reported"
    back = engine.back_amount(pre_research_params(), at.date(), app.followup_rd or Decimal(0))
    new = engine.check_transition(d.application_workflow, app.state, "approve_back",
                                  actor.role, {"budget_left": _budget_left(session, call, back)})
    before = app.state
    app.state = new
    app.back_year = at.astimezone(ZoneInfo(get_settings().timezone)).year
    app.awarded_amount = (app.awarded_amount or Decimal(0)) + back
    app.updated_at = at
    audit.record(session, actor, "programs.application.approve_back", "program_application",
                 app.id, before={"state": before}, after={"state": new, "post_subsidy": back},
                 region_code=call.region_code)
    return app


def do_pay_back(session: Session, actor: Actor, app_id: int,
                *, at: datetime | None = None) -> ProgramPayment:
    """Pre-research back phase: the post-subsidy to the enterprise."""
    _bureau(actor)
    at = at or now()
    app = _locked_app(session, actor, app_id)
    call = repo.call_of(session, app.call_id)
    d = call_def(call)
    if app.state != "back_funded" or app.enterprise_id is None:
        raise Conflict(f"申报当前状态为“{state_label(d.application_workflow, app.state)}”，"
                       "尚未研发后期立项，不能后补助", "back phase not approved", field="state")
    amount = engine.back_amount(pre_research_params(), at.date(), app.followup_rd or Decimal(0))
    if amount <= 0:
        raise InvalidInput("后续研发投入为零，没有后补助", "nothing to pay",
                           field="followup_rd")
    return _pay(session, actor, call, app, kind="post_subsidy", amount=amount,
                payee_type="enterprise", payee_id=app.enterprise_id,
                payee_name=app.applicant_name, tranche=None,
                key=f"program:app:{app.id}:post_subsidy", at=at)


# --------------------------------------------------------------------------- reads
def programs(session: Session, actor: Actor) -> Sequence[Program]:
    return repo.programs(session, actor)


def calls(session: Session, actor: Actor, **kw: Any) -> Sequence[ProgramCall]:
    return repo.calls(session, actor, **kw)


def applications(session: Session, actor: Actor, call: ProgramCall
                 ) -> Sequence[ProgramApplication]:
    if actor.is_bureau:
        return repo.applications_of(session, call.id)
    return [a for a in repo.my_applications(session, actor) if a.call_id == call.id]


def my_applications(session: Session, actor: Actor) -> Sequence[ProgramApplication]:
    return repo.my_applications(session, actor)


def attachments(session: Session, app: ProgramApplication) -> Sequence[ProgramAttachment]:
    return repo.attachments_of(session, app.id)


def attachment(session: Session, actor: Actor, attachment_id: int) -> ProgramAttachment:
    att = repo.attachment(session, attachment_id)
    if att is None or repo.get_application(session, actor, att.application_id) is None:
        raise NotFound(f"附件 {attachment_id} 不存在或无权查看",
                       f"attachment {attachment_id} not found")
    return att


def milestones(session: Session, call: ProgramCall) -> Sequence[ProgramMilestone]:
    return repo.milestones_of_call(session, call.id)


def payments(session: Session, actor: Actor, **kw: Any) -> Sequence[ProgramPayment]:
    return repo.payments(session, actor, **kw)


def winners(session: Session) -> Sequence[Any]:
    return repo.winners(session)


def own_demands(session: Session, actor: Actor) -> Sequence[Any]:
    return repo.own_demands(session, actor)


def call_actions(call: ProgramCall, actor: Actor) -> list[tuple[str, str, str]]:
    """(action, zh, en) the actor may take on the call now (guards are checked on submit)."""
    wf = call_def(call).call_workflow
    return [(n, t.zh, t.en) for n, t in engine.allowed(wf, call.state, actor.role)]


def application_actions(call: ProgramCall, app: ProgramApplication, actor: Actor
                        ) -> list[tuple[str, str, str]]:
    wf = call_def(call).application_workflow
    skip = {"fund", "not_fund", "to_review", "approve_back", "report_followup", "reject_back"}
    return [(n, t.zh, t.en) for n, t in engine.allowed(wf, app.state, actor.role)
            if n not in skip]


def tranche_plan(call: ProgramCall, app: ProgramApplication) -> list[Decimal]:
    if app.awarded_amount is None:
        return []
    return engine.tranche_amounts(app.awarded_amount, call_def(call).tranches)


def pre_research_stats(session: Session, actor: Actor) -> list[YearStats]:
    """The fund's statistics per year and in total, exactly as the Zhangjiagang report
    counts them: applications and distinct institutes and enterprises (by application
    year), front-phase and back-phase projects approved (by the year of each decision),
    money disbursed (by payment year) and enterprise R&D leveraged (the follow-up R&D of the
    back-phase projects)."""
    c = repo.pre_research_counts(session, actor)
    years = sorted(set(c["apps"]) | set(c["front"]) | set(c["back"]) | set(c["paid"]))
    zero = Decimal(0)
    rows = []
    for y in years:
        n, i, e = c["apps"].get(y, (0, 0, 0))
        b, rd = c["back"].get(y, (0, zero))
        rows.append(YearStats(year=y, applications=n, institutes=i, enterprises=e,
                              front_approved=c["front"].get(y, 0), back_approved=b,
                              disbursed=c["paid"].get(y, zero), rd_leveraged=rd))
    n, i, e = c["totals"][0]
    rows.append(YearStats(
        year=None, applications=n, institutes=i, enterprises=e,
        front_approved=sum(r.front_approved for r in rows),
        back_approved=sum(r.back_approved for r in rows),
        disbursed=sum((r.disbursed for r in rows), zero),
        rd_leveraged=sum((r.rd_leveraged for r in rows), zero)))
    return rows


def call_of(session: Session, app: ProgramApplication) -> ProgramCall:
    return repo.call_of(session, app.call_id)


def stored_types(session: Session, actor: Actor) -> Sequence[ProgramType]:
    return repo.stored_types(session, actor)


def stored_type(session: Session, code: str) -> ProgramType | None:
    return repo.stored_type(session, code)


def type_yaml(definition: ProgramTypeDef | Mapping[str, Any]) -> str:
    """A type as YAML text, for the bureau to copy and edit."""
    d = (definition if isinstance(definition, ProgramTypeDef)
         else ProgramTypeDef.model_validate(definition))
    return yaml.safe_dump(d.model_dump(mode="json", by_alias=True, exclude_none=True),
                          allow_unicode=True, sort_keys=False, width=100)


def challenge_programs(session: Session, actor: Actor) -> Sequence[Program]:
    """Challenge programs an enterprise may propose an item (企业出题) to: those of its
    region with a call open or in draft this year."""
    if actor.role != "enterprise":
        return []
    return repo.challenge_programs_for(session, actor)


def program_by_code(session: Session, code: str) -> Program:
    p = repo.program_by_code(session, code)
    if p is None:
        raise NotFound(f"项目编号（program）：“{code}” 不存在", f"program {code} not found",
                       field="program")
    return p


def call_by_code(session: Session, code: str) -> ProgramCall:
    c = repo.call_by_code(session, code)
    if c is None:
        raise NotFound(f"申报通知编号（call）：“{code}” 不存在", f"call {code} not found",
                       field="call")
    return c
