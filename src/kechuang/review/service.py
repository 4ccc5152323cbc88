"""Expert review services: open a round (from ``programs.review_requested``), assign
reviewers (conflicts by the rules, affinity from the matcher's text index, the optimal or
fair engine), repair after a late conflict declaration, collect reviews against the
call's rubric, rank and fund, record the decision (``review.decision_recorded``).

Every ``do_*`` is one state change with its audit row; services never commit. Every read of
an application by an expert is audited (:func:`read_for_expert`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.kit import audit, events
from kechuang.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from kechuang.kit.rules import load as load_rules
from kechuang.kit.seams import RankedSubject, ReviewDecision, ReviewRequest
from kechuang.matching.index import Document, FieldSpec, LexicalIndex, Params
from kechuang.matching.text import MAX_QUERY_CHARS
from kechuang.models.review import ReviewRound, ReviewSubject
from kechuang.review import engine, repository
from kechuang.review.schemas import ProfileOut, ReviewRules, Rubric

HERE = Path(__file__).parent
RULES_FILE = HERE / "rules" / "review.yaml"
RUBRIC_DIR = HERE / "rubrics"
#: the matcher's BM25F field weights for expert documents (keywords count more than text)
AFFINITY_PARAMS = Params(fields={"title": FieldSpec(weight=2.0, b=0.3),
                                 "text": FieldSpec(weight=1.0, b=0.5)})


@cache
def rules() -> ReviewRules:
    return load_rules(RULES_FILE, ReviewRules)


@cache
def rubric(rubric_id: str) -> Rubric:
    path = RUBRIC_DIR / f"{rubric_id}.yaml"
    if not rubric_id.replace("_", "").replace("-", "").isalnum() or not path.exists():
        raise InvalidInput(f"评分表“{rubric_id}”不存在（{RUBRIC_DIR}）",
                           f"Unknown rubric {rubric_id!r}")
    return load_rules(path, Rubric)


def _is_bureau(actor: Actor) -> bool:
    return actor.role in ("bureau_admin", "bureau_staff")


# --------------------------------------------------------------------------- rounds
def do_open_round(session: Session, actor: Actor, request: ReviewRequest) -> ReviewRound:
    """Open the round of a call and stage (idempotent: the same call and stage return the
    existing round)."""
    existing = repository.round_by_call(session, request.call_id, request.stage)
    if existing is not None:
        return existing
    rubric(request.rubric_id)  # refuse an unknown rubric now, not at the first review
    ids = [s.subject_id for s in request.subjects]
    if len(set(ids)) != len(ids):
        raise InvalidInput("评审请求中的申请编号重复", "Duplicate subject ids in the request")
    r = repository.add_round(session, {
        "call_id": request.call_id, "call_code": request.call_code,
        "call_title": request.call_title, "stage": request.stage,
        "region_code": request.region_code, "rubric_id": request.rubric_id,
        "budget": request.budget, "fund_count": request.fund_count, "due": request.due,
        "k": rules().assignment.k, "status": "open", "assignment_summary": {}},
        [{"subject_id": s.subject_id, "title": s.title, "text": s.text,
          "requested_amount": s.requested_amount,
          "parties": [p.model_dump(mode="json") for p in s.parties],
          "named_people": list(s.named_people)} for s in request.subjects])
    audit.record(session, actor, "review.round_opened", "review_round", r.id,
                 after={"call_id": r.call_id, "stage": r.stage, "subjects": len(ids)},
                 region_code=r.region_code)
    return r


@dataclass(frozen=True)
class RoundCount:
    round: ReviewRound
    subjects: int
    assignments: int
    reviews: int


def list_rounds(session: Session, actor: Actor) -> list[RoundCount]:
    return [RoundCount(*row) for row in repository.rounds(session, actor)]


def get_round(session: Session, actor: Actor, round_id: int) -> ReviewRound:
    return repository.get_round(session, actor, round_id)


# --------------------------------------------------------------------------- affinity
def _expert_doc(e: repository.PoolExpert) -> Document:
    return Document(str(e.id), title=" ".join(e.keywords + e.fields),
                    text=" ".join([e.expertise, " ".join(e.discipline_codes)]))


def text_affinity(subjects: list[ReviewSubject], experts: list[repository.PoolExpert],
                  candidates: int) -> dict[int, list[tuple[int, float]]]:
    """Per subject row id: its ``candidates`` best experts with the matcher's BM25F text
    affinity, normalised so the subject's best expert has 1 (ties by expert id). Experts
    with no shared term get 0: listed (so a subject is never unservable for want of words)
    but last."""
    if not experts:
        return {s.id: [] for s in subjects}
    index = LexicalIndex(AFFINITY_PARAMS)
    index.rebuild(_expert_doc(e) for e in experts)
    rows = {pid: i for i, pid in enumerate(index.row_ids())}
    order = np.array([rows[str(e.id)] for e in experts])
    ids = np.array([e.id for e in experts])
    out: dict[int, list[tuple[int, float]]] = {}
    for s in subjects:
        query = f"{s.title}\n{s.text}".strip()[:MAX_QUERY_CHARS]
        raw = index.scores(query)[order] if query else np.zeros(len(experts))
        best = float(raw.max()) if len(raw) else 0.0
        aff = np.round(raw / best, 6) if best > 0 else np.zeros(len(experts))
        top = np.lexsort((ids, -aff))[:candidates]
        out[s.id] = [(int(ids[j]), float(aff[j])) for j in top]
    return out


def _facts(experts: list[repository.PoolExpert]) -> list[engine.ExpertFacts]:
    return [engine.ExpertFacts(
        e.id, e.name, e.affiliation, e.region_code, e.declared,
        [(str(c.get("name", "")), int(c.get("year", 0))) for c in e.collaborations])
        for e in experts]


def _subject_facts(subjects: list[ReviewSubject]) -> list[engine.SubjectFacts]:
    return [engine.SubjectFacts(s.id, [p.get("name", "") for p in s.parties],
                                [p.get("region_code") or "" for p in s.parties
                                 if p.get("role") == "lead"],
                                list(s.named_people)) for s in subjects]


def _caps(experts: list[repository.PoolExpert]) -> dict[int, int]:
    default = rules().assignment.default_load_cap
    return {e.id: (e.load_cap if e.load_cap >= 0 else default) for e in experts
            if e.available}


# --------------------------------------------------------------------------- assignment
def do_assign_round(session: Session, actor: Actor, round_id: int, *, fair: bool = False,
                    today: date | None = None) -> dict[str, Any]:
    """Assign ``k`` reviewers to every subject of the round (conflicts found by the rules,
    the matcher's affinity, the engine's optimal or fair assignment). Reviews already
    submitted are kept; unreviewed active assignments are replaced. When no assignment
    exists nothing changes but the round's summary, which names the subjects and the
    binding constraint."""
    r = repository.get_round(session, actor, round_id)
    if r.status == "decided":
        raise Conflict("该轮评审已决策，不能重新分配", "The round is decided")
    cfg = rules()
    subjects = repository.subjects(session, r.id)
    experts = [e for e in repository.pool(session, actor, None)
               if e.region_code.startswith(r.region_code[:4])]
    caps = _caps(experts)
    pool = [e for e in experts if e.id in caps]
    year = (today or datetime.now(UTC).date()).year
    found = engine.find_conflicts(
        _subject_facts(subjects), _facts(pool), year=year,
        **cfg.conflicts.model_dump())
    known = {(c.subject_row_id, c.expert_id, c.rule) for c in repository.conflicts(session, r.id)}
    repository.add_conflicts(session, [
        {"round_id": r.id, "subject_row_id": s, "expert_id": e, "rule": rule, "reason": why,
         "created_at": datetime.now(UTC)}
        for s, e, rule, why in found if (s, e, rule) not in known])
    banned = {(c.subject_row_id, c.expert_id) for c in repository.conflicts(session, r.id)}
    aff = text_affinity(subjects, pool, cfg.assignment.candidates)
    a_ids = [str(s.id) for s in subjects]
    e_ids = [str(e.id) for e in pool]
    a_pos = {s.id: i for i, s in enumerate(subjects)}
    e_pos = {e.id: i for i, e in enumerate(pool)}
    pa, pe, fit, bad = [], [], [], []
    for s in subjects:
        for eid, a in aff[s.id]:
            pa.append(a_pos[s.id])
            pe.append(e_pos[eid])
            fit.append(a)
            bad.append((s.id, eid) in banned)
    problem = engine.AssignProblem(
        a_ids, e_ids, np.array(pa, dtype=np.int64), np.array(pe, dtype=np.int64),
        np.array(fit, dtype=np.float64), np.array(bad, dtype=bool), r.k,
        np.array([caps[e.id] for e in pool], dtype=np.int64))
    outcome = engine.assign(problem, fair=fair)
    title = {str(s.id): f"#{s.subject_id}" for s in subjects}
    summary: dict[str, Any] = {
        "status": outcome.status, "fair": fair, "total_affinity": outcome.total,
        "worst_subject_id": (subjects[outcome.worst_app].subject_id
                             if outcome.worst_app is not None else None),
        "worst_affinity": outcome.worst_score, "solver_status": outcome.solver_status,
        "bounds": outcome.bounds, "conflicts": len(banned),
        "unserved": [{"constraint": u.constraint,
                      "subjects": [title[a] for a in u.application_ids],
                      "message_zh": _relabel(u.message_zh, title),
                      "message_en": _relabel(u.message_en, title)}
                     for u in outcome.unserved]}
    if outcome.status != "infeasible":
        repository.withdraw_active(session, r.id)
        keep = {(a.subject_row_id, a.expert_id) for a in repository.assignments(session, r.id)}
        now = datetime.now(UTC)
        repository.add_assignments(session, [
            {"round_id": r.id, "subject_row_id": subjects[int(a)].id,
             "expert_id": pool[int(e)].id, "affinity": float(f), "status": "active",
             "created_at": now}
            for a, e, f in zip(problem.pair_app[outcome.chosen],
                               problem.pair_expert[outcome.chosen],
                               problem.affinity[outcome.chosen], strict=True)
            if (subjects[int(a)].id, pool[int(e)].id) not in keep])
    repository.set_round(session, r, assignment_summary=summary,
                         status="assigned" if outcome.status != "infeasible" else r.status)
    audit.record(session, actor, "review.assigned", "review_round", r.id,
                 after={k: summary[k] for k in ("status", "fair", "total_affinity",
                                                "worst_affinity", "conflicts")},
                 region_code=r.region_code)
    return summary


def _relabel(message: str, title: dict[str, str]) -> str:
    """Engine messages name subject rows; show the programs' application numbers."""
    for key, shown in sorted(title.items(), key=lambda t: -len(t[0])):
        message = message.replace(f"申请 {key}", f"申请 {shown}").replace(
            f"application {key}", f"application {shown}")
    return message


@dataclass(frozen=True)
class Repair:
    withdrawn_id: int
    replacement_id: int | None
    replacement_expert_id: int | None
    message_zh: str
    message_en: str


def do_declare_conflict(session: Session, actor: Actor, assignment_id: int,
                        reason: str) -> Repair:
    """An expert declares a conflict after assignment: the conflict is recorded, the
    assignment withdrawn and its seat given to the best alternate with load left — no other
    assignment moves. Refused once the expert has submitted the review."""
    a = repository.assignment(session, assignment_id)
    if a is None or a.status != "active":
        raise NotFound("评审任务不存在", "Assignment not found")
    if not (actor.expert_id == a.expert_id or _is_bureau(actor)):
        raise NotFound("评审任务不存在", "Assignment not found")  # never reveal others' tasks
    r = repository.get_round(session, Actor.command_line(), a.round_id) if not _is_bureau(
        actor) else repository.get_round(session, actor, a.round_id)
    if r.status == "decided":
        raise Conflict("该轮评审已决策", "The round is decided")
    if repository.score_of(session, a.id) is not None:
        raise Conflict("已提交评审意见，不能再申报回避", "A review was already submitted")
    repository.add_conflicts(session, [{
        "round_id": r.id, "subject_row_id": a.subject_row_id, "expert_id": a.expert_id,
        "rule": "declared", "reason": reason[:300], "created_at": datetime.now(UTC)}])
    a.status = "withdrawn"
    subject = repository.subject(session, a.subject_row_id)
    assert subject is not None
    experts = [e for e in repository.pool(session, Actor.command_line(), None)
               if e.region_code.startswith(r.region_code[:4])]
    caps = _caps(experts)
    pool = [e for e in experts if e.id in caps]
    active = repository.assignments(session, r.id)
    load: dict[int, int] = {}
    for x in active:
        load[x.expert_id] = load.get(x.expert_id, 0) + 1
    free = {e: caps[e] - load.get(e, 0) for e in caps}
    conflicted = {c.expert_id for c in repository.conflicts(session, r.id)
                  if c.subject_row_id == subject.id}
    found = engine.find_conflicts(_subject_facts([subject]), _facts(pool),
                                  year=datetime.now(UTC).year,
                                  **rules().conflicts.model_dump())
    conflicted |= {e for _, e, _, _ in found} | {a.expert_id}
    on_subject = {x.expert_id for x in active if x.subject_row_id == subject.id}
    cands = text_affinity([subject], pool, len(pool))[subject.id]
    pick = engine.best_alternate(cands, on_subject, conflicted, free)
    new_id = None
    if pick is not None:
        row = repository.add_assignment(session, {
            "round_id": r.id, "subject_row_id": subject.id, "expert_id": pick[0],
            "affinity": pick[1], "status": "active"})
        a.replaced_by_id = row.id
        new_id = row.id
        zh = f"已回避；由专家 #{pick[0]}（匹配度 {pick[1]:.3f}）替补，其他分配不变"
        en = f"Withdrawn; replaced by expert #{pick[0]} (affinity {pick[1]:.3f}); others unchanged"
    else:
        zh = "已回避；没有可替补的专家（均已满额或有利益冲突），该申请缺 1 名评审专家"
        en = "Withdrawn; no alternate has load left or is free of conflicts: one seat empty"
    session.flush()
    audit.record(session, actor, "review.conflict_declared", "review_assignment", a.id,
                 after={"reason": reason, "replacement": new_id,
                        "replacement_expert": pick[0] if pick else None},
                 region_code=r.region_code)
    return Repair(a.id, new_id, pick[0] if pick else None, zh, en)


# --------------------------------------------------------------------------- reviewing
def my_assignments(session: Session, actor: Actor) -> list[tuple[Any, Any, Any, bool]]:
    """The actor's own active assignments (experts see only theirs)."""
    if actor.expert_id is None:
        return []
    return repository.expert_assignments(session, actor.expert_id)


def read_for_expert(session: Session, actor: Actor, assignment_id: int
                    ) -> tuple[Any, ReviewSubject, ReviewRound, Any]:
    """An assignment's application for its expert; every read is audited."""
    a = repository.assignment(session, assignment_id)
    if a is None or a.status != "active" or actor.expert_id != a.expert_id:
        raise NotFound("评审任务不存在", "Assignment not found")
    s = repository.subject(session, a.subject_row_id)
    r = repository.get_round(session, Actor.command_line(), a.round_id)
    assert s is not None
    audit.record(session, actor, "review.application_read", "review_subject", s.subject_id,
                 after={"assignment": a.id, "round": r.id}, region_code=r.region_code)
    return a, s, r, repository.score_of(session, a.id)


def do_submit_review(session: Session, actor: Actor, assignment_id: int,
                     scores: dict[str, float], comment: str = "") -> Decimal:
    a = repository.assignment(session, assignment_id)
    if a is None or a.status != "active" or actor.expert_id != a.expert_id:
        raise NotFound("评审任务不存在", "Assignment not found")
    r = repository.get_round(session, Actor.command_line(), a.round_id)
    if r.status == "decided":
        raise Conflict("该轮评审已决策，不能再提交", "The round is decided")
    if repository.score_of(session, a.id) is not None:
        raise Conflict("评审意见已提交，不能重复提交", "The review was already submitted")
    rb = rubric(r.rubric_id)
    total = engine.weighted_total(
        [(c.key, c.weight, c.scale.min, c.scale.max) for c in rb.criteria], scores)
    repository.add_score(session, {"assignment_id": a.id, "scores": dict(scores),
                                   "total": total, "comment": comment})
    audit.record(session, actor, "review.submitted", "review_assignment", a.id,
                 after={"total": total}, region_code=r.region_code)
    return total


# --------------------------------------------------------------------------- ranking
@dataclass(frozen=True)
class RankedRow:
    subject_id: int
    title: str
    rank: int
    score: float | None
    reviews: int
    spread: float | None
    flagged: bool
    requested_amount: Decimal | None
    funded: bool
    amount: Decimal | None
    note: str


def ranking(session: Session, actor: Actor, round_id: int) -> tuple[ReviewRound,
                                                                    list[RankedRow], str]:
    """The decision page's table: aggregated scores (rules: normalisation, trimming,
    disagreement spread), rank, funding in order within the budget. Reviewer identities
    are not part of it."""
    r = repository.get_round(session, actor, round_id)
    cfg = rules().aggregation
    subjects = repository.subjects(session, r.id)
    agg = engine.aggregate(repository.round_scores(session, r.id), normalise=cfg.normalise,
                           trim=cfg.trim, spread=cfg.disagreement_spread,
                           min_reviews=cfg.normalise_min_reviews)
    items = [(s.subject_id, (round(agg[s.id].score, 4) if s.id in agg else None),  # type: ignore[arg-type]
              s.requested_amount) for s in subjects]
    funded, summary = engine.fund_in_order(items, r.budget, r.fund_count)
    by_sid = {s.subject_id: s for s in subjects}
    rows = []
    for f in funded:
        s = by_sid[f.subject_id]
        g = agg.get(s.id)
        rows.append(RankedRow(f.subject_id, s.title, f.rank, f.score,
                              g.reviews if g else 0, g.spread if g else None,
                              bool(g and g.flagged), s.requested_amount, f.funded, f.amount,
                              f.note))
    return r, rows, summary


def do_record_decision(session: Session, actor: Actor, round_id: int) -> ReviewDecision:
    """Record the ranking as the decision (one audited action) and hand it to programs
    through ``review.decision_recorded``."""
    r, rows, summary = ranking(session, actor, round_id)
    if repository.decision(session, r.id) is not None or r.status == "decided":
        raise Conflict("该轮评审已有决策", "The round already has a decision")
    if not any(x.score is not None for x in rows):
        raise InvalidInput("尚无评审分数，不能决策", "No review scores yet")
    now = datetime.now(UTC)
    decision = ReviewDecision(
        call_id=r.call_id, stage=r.stage, round_id=r.id, decided_at=now,
        ranked=[RankedSubject(subject_id=x.subject_id, rank=x.rank,
                              score=Decimal(str(x.score if x.score is not None else 0)),
                              funded=x.funded, amount=x.amount, note=x.note) for x in rows],
        summary=summary)
    cfg = rules().aggregation
    repository.add_decision(session, {
        "round_id": r.id, "ranked": [x.model_dump(mode="json") for x in decision.ranked],
        "summary": summary, "method": cfg.model_dump(), "decided_by": actor.username,
        "decided_at": now})
    repository.set_round(session, r, status="decided")
    audit.record(session, actor, "review.decision_recorded", "review_round", r.id,
                 after={"funded": [x.subject_id for x in rows if x.funded],
                        "summary": summary}, region_code=r.region_code)
    events.emit("review.decision_recorded", session=session, actor=actor, decision=decision)
    return decision


def overdue(session: Session, actor: Actor, round_id: int | None = None,
            now: datetime | None = None) -> list[tuple[Any, Any, Any, str]]:
    return repository.overdue(session, actor, now or datetime.now(UTC), round_id)


# --------------------------------------------------------------------------- profiles
def do_update_profile(session: Session, actor: Actor, expert_id: int, *,
                      keywords: list[str], discipline_codes: list[str], affiliation: str,
                      collaborations: list[dict[str, Any]], available: bool,
                      load_cap: int) -> None:
    """Experts maintain their own profile (the bureau may too)."""
    if not (actor.expert_id == expert_id or _is_bureau(actor)):
        raise Forbidden("只能维护自己的专家信息", "Only your own profile")
    if repository.expert(session, expert_id) is None:
        raise NotFound("专家不存在", "Expert not found")
    if not 0 <= load_cap <= 1000:
        raise InvalidInput(f"评审上限应在 0–1000，实为 {load_cap}",
                           f"Load cap must be 0–1000, got {load_cap}")
    before = repository.profile(session, expert_id)
    repository.save_profile(session, expert_id, {
        "keywords": keywords, "discipline_codes": discipline_codes,
        "affiliation": affiliation, "collaborations": collaborations,
        "available": available, "load_cap": load_cap, "updated_at": datetime.now(UTC)})
    audit.record(session, actor, "review.profile_updated", "expert", expert_id,
                 before={"load_cap": before.load_cap} if before else None,
                 after={"keywords": keywords, "available": available, "load_cap": load_cap})


def my_profile(session: Session, actor: Actor) -> ProfileOut:
    """The expert's own review profile (defaults until first saved)."""
    if actor.expert_id is None:
        raise NotFound("账户未关联专家", "The account has no expert")
    row = repository.profile(session, actor.expert_id)
    if row is None:
        return ProfileOut(expert_id=actor.expert_id)
    return ProfileOut(expert_id=actor.expert_id, keywords=list(row.keywords or []),
                      discipline_codes=list(row.discipline_codes or []),
                      affiliation=row.affiliation or "",
                      collaborations=list(row.collaborations or []),
                      available=bool(row.available), load_cap=int(row.load_cap))


def names_of(session: Session, ids: list[int]) -> dict[int, str]:
    return repository.experts_named(session, ids)
