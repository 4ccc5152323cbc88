"""State changes of the matching registries and the match workflow.

Every change is a ``do_*`` function: it checks role and scope, writes the rows and its audit
row in the caller's unit of work (services never commit) and stamps ``updated_at`` — which
is what the matcher's index follows to update itself incrementally (kechuang.matching.engine).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit import audit
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.matching import fields as fieldmap
from kechuang.matching import repository as repo
from kechuang.matching.schemas import (
    DECLINE_REASONS,
    DEMAND_STATUSES,
    DEMAND_TRANSITIONS,
    MARK_STATUSES,
    NEXT_STEPS,
    SUPPLY_KINDS,
    AchievementIn,
    CommissionerIn,
    DemandIn,
    FieldError,
    PositionIn,
    ServiceLogIn,
    ServiceRequestIn,
    TalentEntryIn,
    as_invalid,
    count,
    listing,
    text,
)
from kechuang.models import Enterprise, Expert, Industry, Institute
from kechuang.models.matching import (
    Achievement,
    Commissioner,
    Cooperation,
    ExpertProfile,
    MatchMark,
    ServiceLog,
    ServiceRequest,
    SynonymEntry,
    TalentApplication,
    TalentEntry,
    TalentPosition,
    TechDemand,
)


def now() -> datetime:
    return datetime.now(UTC)


def _row(obj: Any, *names: str) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


DEMAND_AUDIT = ("title", "industry_code", "budget_min", "budget_max", "deadline", "visibility",
                "status")
ACHIEVEMENT_AUDIT = ("code", "title", "tech_field", "maturity", "trl", "transfer_modes",
                     "price_min", "price_max", "visibility")


def _check_industry(session: Session, code: str | None) -> None:
    if code and repo.get(session, Industry, code) is None:
        raise InvalidInput(f"行业代码：{code} 不在国民经济行业分类（GB/T 4754-2017）中",
                           f"Industry code {code} is not in GB/T 4754-2017", field="行业代码")


def _owner_enterprise(session: Session, actor: Actor, uscc: str | None) -> Enterprise:
    """The enterprise a demand/position/request belongs to: the actor's own, or — for the
    bureau — the one named by credit code within its scope."""
    if actor.role == "enterprise":
        if actor.enterprise_id is None:
            raise Forbidden("账号未关联企业", "Account has no enterprise")
        ent = repo.get(session, Enterprise, actor.enterprise_id)
        assert ent is not None
        return ent
    if actor.is_bureau:
        if not uscc:
            raise InvalidInput("企业信用代码：科技局代企业登记时须填写",
                               "enterprise_uscc is required when the bureau files", field="企业")
        return repo.enterprise_by_uscc(session, actor, uscc.strip().upper())
    raise Forbidden("您的角色不能登记此项", "Your role may not file this")


# --------------------------------------------------------------------------- demands


def do_create_demand(session: Session, actor: Actor, data: dict[str, Any]) -> TechDemand:
    try:
        item = DemandIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    ent = _owner_enterprise(session, actor, data.get("enterprise_uscc"))
    _check_industry(session, item.industry_code)
    demand = TechDemand(
        enterprise_id=ent.id, title=item.title, description=item.description,
        targets=item.targets, industry_code=item.industry_code or ent.industry_code,
        region_code=ent.region_code, budget_min=item.budget_min, budget_max=item.budget_max,
        deadline=item.deadline, visibility=item.visibility, status="open",
        created_by=actor.user_id, created_at=now(), updated_at=now())
    repo.add(session, demand)
    audit.record(session, actor, "matching.demand.create", "tech_demand", demand.id,
                 after=_row(demand, *DEMAND_AUDIT), region_code=demand.region_code)
    return demand


def do_update_demand(session: Session, actor: Actor, demand_id: int,
                     data: dict[str, Any]) -> TechDemand:
    demand = repo.get_demand(session, actor, demand_id, manage=True)
    if demand.status in ("solved", "closed"):
        raise Conflict("已解决或已关闭的需求不能修改", "A solved or closed demand is final")
    try:
        item = DemandIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    _check_industry(session, item.industry_code)
    before = _row(demand, *DEMAND_AUDIT)
    for name in ("title", "description", "targets", "budget_min", "budget_max", "deadline",
                 "visibility"):
        setattr(demand, name, getattr(item, name))
    demand.industry_code = item.industry_code or demand.industry_code
    demand.updated_at = now()
    audit.record(session, actor, "matching.demand.update", "tech_demand", demand.id,
                 before=before, after=_row(demand, *DEMAND_AUDIT), region_code=demand.region_code)
    return demand


def do_transition_demand(session: Session, actor: Actor, demand_id: int, to: str,
                         note: str = "") -> TechDemand:
    demand = repo.get_demand(session, actor, demand_id, manage=True)
    if to not in DEMAND_STATUSES:
        raise InvalidInput(f"状态：未知的需求状态 {to}", f"Unknown status {to}", field="状态")
    if to not in DEMAND_TRANSITIONS[demand.status]:
        raise Conflict(
            f"需求状态不能从“{DEMAND_STATUSES[demand.status]}”改为“{DEMAND_STATUSES[to]}”",
            f"A demand cannot go from {demand.status} to {to}")
    before = demand.status
    demand.status = to
    demand.updated_at = now()
    audit.record(session, actor, "matching.demand.status", "tech_demand", demand.id,
                 before={"status": before}, after={"status": to, "note": note[:500]},
                 region_code=demand.region_code)
    return demand


# --------------------------------------------------------------------------- achievements


def _owner_of_achievement(session: Session, actor: Actor,
                          data: dict[str, Any]) -> tuple[str, Institute | None,
                                                         Enterprise | None, str]:
    if actor.role == "institute":
        if actor.institute_id is None:
            raise Forbidden("账号未关联机构", "Account has no institute")
        inst = repo.get(session, Institute, actor.institute_id)
        assert inst is not None
        return "institute", inst, None, inst.region_code
    if actor.role == "enterprise":
        ent = _owner_enterprise(session, actor, None)
        return "enterprise", None, ent, ent.region_code
    if actor.is_bureau:
        code = str(data.get("institute_code") or "").strip()
        if code:
            inst = repo.institute_by_code(session, actor, code)
            return "institute", inst, None, inst.region_code
        uscc = str(data.get("enterprise_uscc") or "").strip()
        if uscc:
            ent = repo.enterprise_by_uscc(session, actor, uscc.upper())
            return "enterprise", None, ent, ent.region_code
        raise InvalidInput("成果所有者：科技局代登记时须填写机构代码或企业信用代码",
                           "institute_code or enterprise_uscc is required", field="成果所有者")
    raise Forbidden("您的角色不能登记科技成果", "Your role may not file achievements")


def next_achievement_code(session: Session) -> str:
    n = repo.achievement_count(session)
    while True:
        n += 1
        code = f"ACH-{n:06d}"
        if not repo.achievement_code_taken(session, code):
            return code


def do_create_achievement(session: Session, actor: Actor, data: dict[str, Any],
                          source: str = "") -> Achievement:
    try:
        item = AchievementIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    kind, inst, ent, region = _owner_of_achievement(session, actor, data)
    code = item.code or next_achievement_code(session)
    if repo.achievement_code_taken(session, code):
        raise Conflict(f"成果编号：{code} 已存在", f"Achievement code {code} exists",
                       field="成果编号")
    fm = fieldmap.load()
    row = Achievement(
        code=code, owner_kind=kind, institute_id=inst.id if inst else None,
        enterprise_id=ent.id if ent else None, region_code=region, title=item.title,
        abstract=item.abstract, keywords=item.keywords, discipline=item.discipline,
        tech_field=fm.classify(item.title, item.abstract, item.keywords),
        maturity=item.maturity, trl=item.trl, patent_numbers=item.patent_numbers,
        transfer_modes=item.transfer_modes, price_min=item.price_min, price_max=item.price_max,
        visibility=item.visibility, source=source, created_by=actor.user_id,
        created_at=now(), updated_at=now())
    repo.add(session, row)
    audit.record(session, actor, "matching.achievement.create", "achievement", row.id,
                 after=_row(row, *ACHIEVEMENT_AUDIT), region_code=row.region_code)
    return row


def do_update_achievement(session: Session, actor: Actor, achievement_id: int,
                          data: dict[str, Any]) -> Achievement:
    row = repo.get_achievement(session, actor, achievement_id, manage=True)
    try:
        item = AchievementIn.parse({**data, "code": row.code})
    except FieldError as exc:
        raise as_invalid(exc) from exc
    before = _row(row, *ACHIEVEMENT_AUDIT)
    for name in ("title", "abstract", "keywords", "discipline", "maturity", "trl",
                 "patent_numbers", "transfer_modes", "price_min", "price_max", "visibility"):
        setattr(row, name, getattr(item, name))
    row.tech_field = fieldmap.load().classify(item.title, item.abstract, item.keywords)
    row.updated_at = now()
    audit.record(session, actor, "matching.achievement.update", "achievement", row.id,
                 before=before, after=_row(row, *ACHIEVEMENT_AUDIT), region_code=row.region_code)
    return row


def do_set_achievement_visibility(session: Session, actor: Actor, achievement_id: int,
                                  visibility: str) -> Achievement:
    row = repo.get_achievement(session, actor, achievement_id, manage=True)
    if visibility not in ("public", "bureau_only"):
        raise InvalidInput("公开范围：须为 public 或 bureau_only", "visibility: public|bureau_only")
    before = row.visibility
    row.visibility = visibility
    row.updated_at = now()
    audit.record(session, actor, "matching.achievement.visibility", "achievement", row.id,
                 before={"visibility": before}, after={"visibility": visibility},
                 region_code=row.region_code)
    return row


# --------------------------------------------------------------------------- experts


def do_save_expert_profile(session: Session, actor: Actor, expert_id: int,
                           data: dict[str, Any]) -> ExpertProfile:
    expert = repo.get(session, Expert, expert_id)
    allowed = expert is not None and (
        (actor.is_bureau and repo.expert_in_scope(session, actor, expert_id))
        or (actor.role == "institute" and expert.institute_id == actor.institute_id
            and actor.institute_id is not None)
        or (actor.role == "expert" and actor.expert_id == expert_id))
    if not allowed:
        raise NotFound(f"专家 {expert_id} 不存在或无权修改", f"Expert {expert_id} not found")
    try:
        expertise = text(data.get("expertise"), "专长与成果", max_len=20_000)
        keywords = text(data.get("keywords"), "关键词", max_len=2000)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    visibility = data.get("visibility") or "public"
    if visibility not in ("public", "bureau_only"):
        raise InvalidInput("公开范围：须为 public 或 bureau_only", "visibility: public|bureau_only")
    profile = repo.get(session, ExpertProfile, expert_id)
    before = None if profile is None else _row(profile, "expertise", "keywords", "visibility")
    if profile is None:
        profile = repo.add_unflushed(session, ExpertProfile(expert_id=expert_id))
    profile.expertise, profile.keywords, profile.visibility = expertise, keywords, visibility
    profile.updated_at = now()
    session.flush()
    audit.record(session, actor, "matching.expert.profile", "expert", expert_id, before=before,
                 after=_row(profile, "expertise", "keywords", "visibility"),
                 region_code=expert.region_code if expert else None)
    return profile


# --------------------------------------------------------------------------- talent


def do_create_position(session: Session, actor: Actor, data: dict[str, Any]) -> TalentPosition:
    try:
        item = PositionIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    ent = _owner_enterprise(session, actor, data.get("enterprise_uscc"))
    pos = TalentPosition(enterprise_id=ent.id, title=item.title, field=item.field,
                         degree=item.degree, count=item.count,
                         industry_chain=item.industry_chain, region_code=ent.region_code,
                         status="open", created_at=now())
    repo.add(session, pos)
    audit.record(session, actor, "matching.position.create", "talent_position", pos.id,
                 after=_row(pos, "title", "field", "degree", "count", "industry_chain"),
                 region_code=pos.region_code)
    return pos


def do_create_talent_entry(session: Session, actor: Actor, data: dict[str, Any],
                           region_code: str | None = None) -> TalentEntry:
    """Only the bureau records people in the pool (personal data: name, field, degree,
    contact — nothing more); the audit row names the entry, never the contact."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以登记人才库条目", "Only the bureau records talent")
    try:
        item = TalentEntryIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    region = region_code or actor.region_code
    if region is None:
        raise InvalidInput("地区：请指定人才所在地区", "region is required")
    entry = TalentEntry(name=item.name, field=item.field, degree=item.degree,
                        contact=item.contact, region_code=region, created_at=now())
    repo.add(session, entry)
    audit.record(session, actor, "matching.talent.create", "talent_entry", entry.id,
                 after={"field": entry.field, "degree": entry.degree}, region_code=region)
    return entry


def do_apply(session: Session, actor: Actor, entry_id: int,
             position_id: int) -> TalentApplication:
    """Record that a person applied to a position: from then on that enterprise sees them."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以登记投递", "Only the bureau records applications")
    entry = repo.visible_talent_entry(session, actor, entry_id)
    pos = repo.manageable_position(session, actor, position_id)
    if entry is None or pos is None:
        raise NotFound("人才或岗位不存在或不在管辖范围内", "Entry or position not found")
    if repo.application_exists(session, entry_id, position_id):
        raise Conflict("此人已投递该岗位", "Already applied")
    app = TalentApplication(entry_id=entry_id, position_id=position_id,
                            enterprise_id=pos.enterprise_id, created_at=now())
    repo.add(session, app)
    audit.record(session, actor, "matching.talent.apply", "talent_application", app.id,
                 after={"entry_id": entry_id, "position_id": position_id},
                 region_code=pos.region_code)
    return app


def talent_entries(session: Session, actor: Actor) -> list[TalentEntry]:
    return repo.talent_entries(session, actor, 500)


# --------------------------------------------------------------------------- commissioners


def do_create_commissioner(session: Session, actor: Actor, data: dict[str, Any]) -> Commissioner:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以登记科技特派员", "Only the bureau files commissioners")
    try:
        item = CommissionerIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    region = actor.region_code
    if region is None:
        raise InvalidInput("地区：命令行登记须指定地区", "region is required")
    row = Commissioner(name=item.name, expertise=item.expertise, affiliation=item.affiliation,
                       capacity=item.capacity, region_code=region, active=True,
                       created_at=now())
    repo.add(session, row)
    audit.record(session, actor, "matching.commissioner.create", "commissioner", row.id,
                 after=_row(row, "name", "affiliation", "capacity"), region_code=region)
    return row


def do_create_service_request(session: Session, actor: Actor,
                              data: dict[str, Any]) -> ServiceRequest:
    try:
        item = ServiceRequestIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    ent = _owner_enterprise(session, actor, data.get("enterprise_uscc"))
    row = ServiceRequest(enterprise_id=ent.id, title=item.title, description=item.description,
                         industry_code=ent.industry_code, region_code=ent.region_code,
                         team_size=item.team_size, status="open", created_at=now())
    repo.add(session, row)
    audit.record(session, actor, "matching.service_request.create", "service_request", row.id,
                 after=_row(row, "title", "team_size", "status"), region_code=row.region_code)
    return row


def do_create_service_log(session: Session, actor: Actor, data: dict[str, Any]) -> ServiceLog:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以登记服务记录", "Only the bureau files service logs")
    try:
        item = ServiceLogIn.parse(data)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    com = repo.commissioner_in_scope(session, actor, item.commissioner_id)
    if com is None:
        raise NotFound("科技特派员不存在或不在管辖范围内", "Commissioner not found")
    ent = repo.enterprise_by_uscc(session, actor, item.enterprise_uscc)
    row = ServiceLog(commissioner_id=com.id, enterprise_id=ent.id, visited_on=item.visited_on,
                     problem=item.problem, result=item.result, created_at=now())
    repo.add(session, row)
    audit.record(session, actor, "matching.service_log.create", "service_log", row.id,
                 after={"commissioner_id": com.id, "enterprise_id": ent.id,
                        "visited_on": item.visited_on}, region_code=ent.region_code)
    return row


# --------------------------------------------------------------------------- match workflow


def _supply_exists(session: Session, actor: Actor, kind: str, supply_id: int) -> str:
    """The supply's title; it must be something the matcher could have shown (public)."""
    if kind == "achievement":
        a = repo.public_achievement(session, supply_id)
        if a is not None:
            return a.title
    elif kind == "expert":
        e = repo.get(session, Expert, supply_id)
        if e is not None:
            return e.name
    elif kind == "institute":
        i = repo.get(session, Institute, supply_id)
        if i is not None:
            return i.name
    raise NotFound(f"匹配对象 {SUPPLY_KINDS.get(kind, kind)} {supply_id} 不存在",
                   f"{kind} {supply_id} not found")


def do_mark_match(session: Session, actor: Actor, demand_id: int, data: dict[str, Any]
                  ) -> tuple[MatchMark, Cooperation | None]:
    """Mark a suggested match contacted, declined (with a reason code) or agreed; an
    agreement becomes a cooperation record and moves the demand to 合作中."""
    demand = repo.get_demand(session, actor, demand_id, manage=True)
    kind = str(data.get("supply_kind") or "")
    status = str(data.get("status") or "")
    reason = str(data.get("reason_code") or "") or None
    if kind not in SUPPLY_KINDS:
        raise InvalidInput(f"匹配对象类型：{kind} 不是可选值（achievement / expert / institute）",
                           f"supply_kind {kind} is not valid", field="匹配对象类型")
    if status not in MARK_STATUSES:
        raise InvalidInput(f"标记：{status} 不是可选值（contacted / declined / agreed）",
                           f"status {status} is not valid", field="标记")
    if status == "declined" and reason not in DECLINE_REASONS:
        raise InvalidInput("谢绝原因：须为 " + "、".join(
            f"{k}（{v}）" for k, v in DECLINE_REASONS.items()),
            "reason_code required for declined", field="谢绝原因")
    if status != "declined":
        reason = None
    if demand.status in ("solved", "closed"):
        raise Conflict("已解决或已关闭的需求不能再标记匹配", "The demand is final")
    try:
        supply_id = count(data.get("supply_id"), "匹配对象编号", 1, 2**31 - 1, 0)
        note = text(data.get("note"), "备注", max_len=2000)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    title = _supply_exists(session, actor, kind, supply_id)
    mark = repo.match_mark(session, demand.id, kind, supply_id)
    before = None if mark is None else _row(mark, "status", "reason_code")
    if mark is not None and mark.status == "agreed":
        raise Conflict("该匹配已达成合作，不能再改", "This match is already agreed")
    if mark is None:
        mark = repo.add_unflushed(session, MatchMark(
            demand_id=demand.id, supply_kind=kind, supply_id=supply_id, created_at=now()))
    mark.status, mark.reason_code, mark.note = status, reason, note
    score = data.get("score")
    mark.score = float(score) if isinstance(score, int | float) else mark.score
    mark.marked_by = actor.user_id
    mark.updated_at = now()
    session.flush()
    audit.record(session, actor, "matching.match.mark", "match_mark", mark.id, before=before,
                 after={"demand_id": demand.id, "supply_kind": kind, "supply_id": supply_id,
                        "status": status, "reason_code": reason},
                 region_code=demand.region_code)
    coop = None
    if status == "agreed":
        coop = Cooperation(match_id=mark.id, demand_id=demand.id,
                           enterprise_id=demand.enterprise_id, supply_kind=kind,
                           supply_id=supply_id, title=f"{demand.title} × {title}"[:300],
                           status="active", next_step="none", next_step_ref="",
                           created_by=actor.user_id, created_at=now(), updated_at=now())
        repo.add(session, coop)
        audit.record(session, actor, "matching.cooperation.create", "cooperation", coop.id,
                     after={"match_id": mark.id, "demand_id": demand.id, "title": coop.title},
                     region_code=demand.region_code)
        if demand.status == "open":
            do_transition_demand(session, actor, demand.id, "matched")
        if demand.status == "matched":
            do_transition_demand(session, actor, demand.id, "in_cooperation")
    elif status == "contacted" and demand.status == "open":
        do_transition_demand(session, actor, demand.id, "matched")
    return mark, coop


def do_set_next_step(session: Session, actor: Actor, cooperation_id: int, step: str,
                     ref: str = "") -> Cooperation:
    """Flag a cooperation to start a technology contract, a pre-research fund application
    or a challenge; the intent and a link are stored (those programs come later)."""
    coop = repo.visible_cooperation(session, actor, cooperation_id)
    if coop is None or not (actor.is_bureau or actor.role == "enterprise"):
        raise NotFound(f"合作记录 {cooperation_id} 不存在或无权修改",
                       f"Cooperation {cooperation_id} not found")
    if step not in NEXT_STEPS:
        raise InvalidInput(f"后续事项：{step} 不是可选值（" + "、".join(NEXT_STEPS) + "）",
                           f"next_step {step} is not valid", field="后续事项")
    try:
        ref = text(ref, "关联链接或编号", max_len=200)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    before = _row(coop, "next_step", "next_step_ref")
    coop.next_step, coop.next_step_ref = step, ref
    coop.updated_at = now()
    audit.record(session, actor, "matching.cooperation.next_step", "cooperation", coop.id,
                 before=before, after={"next_step": step, "next_step_ref": ref})
    return coop


def marks_of(session: Session, demand_id: int) -> dict[tuple[str, int], MatchMark]:
    return {(m.supply_kind, m.supply_id): m for m in repo.marks_of(session, demand_id)}


def cooperations(session: Session, actor: Actor) -> list[Cooperation]:
    return repo.cooperations(session, actor, 500)


# --------------------------------------------------------------------------- synonyms


def do_add_synonyms(session: Session, actor: Actor, line: str) -> SynonymEntry:
    """The bureau adds a synonym group (one line, terms separated by commas or 、); the
    first term names the group; a group with the same first term is replaced."""
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以编辑同义词词典", "Only the bureau edits synonyms")
    try:
        terms = listing(text(line, "同义词组", max_len=500, required=True), "同义词组", None, 20)
    except FieldError as exc:
        raise as_invalid(exc) from exc
    if len(terms) < 2:
        raise InvalidInput("同义词组：至少需要两个词，用逗号或顿号分隔",
                           "A synonym group needs at least two terms", field="同义词组")
    if any(len(t) > 60 for t in terms):
        raise InvalidInput("同义词组：每个词不超过 60 个字符", "Terms are at most 60 characters")
    entry = repo.synonym_entry(session, terms[0])
    before = None if entry is None else {"variants": entry.variants}
    if entry is None:
        entry = repo.add_unflushed(session, SynonymEntry(canonical=terms[0], created_at=now()))
    entry.variants = terms[1:]
    entry.created_by = actor.user_id
    session.flush()
    audit.record(session, actor, "matching.synonyms.save", "match_synonym", entry.id,
                 before=before, after={"canonical": terms[0], "variants": terms[1:]})
    return entry


def do_delete_synonyms(session: Session, actor: Actor, entry_id: int) -> None:
    if not actor.is_bureau:
        raise Forbidden("只有科技局可以编辑同义词词典", "Only the bureau edits synonyms")
    entry = repo.get(session, SynonymEntry, entry_id)
    if entry is None:
        raise NotFound("同义词组不存在", "Synonym group not found")
    audit.record(session, actor, "matching.synonyms.delete", "match_synonym", entry.id,
                 before={"canonical": entry.canonical, "variants": entry.variants})
    repo.delete_row(session, entry)
