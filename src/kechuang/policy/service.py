"""Eligibility runs and what the pages show of them.

``do_run_policies`` evaluates policies over every enterprise in the actor's scope and writes
one immutable run per policy with its results and an audit row; it never commits (the
request or the command does). "Current" is the latest run of a policy: for an enterprise,
the latest run holding a result for it; for the bureau's overview, the latest run whose
region scope covers the actor's region.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.auth.scope import enterprise_visible
from kechuang.facts import read_facts
from kechuang.kit import audit
from kechuang.kit.errors import NotFound
from kechuang.models import Enterprise, PolicyResult, PolicyRun
from kechuang.policy import repository as repo
from kechuang.policy.evaluate import evaluate
from kechuang.policy.gaps import gaps_for
from kechuang.policy.loader import LoadedPolicy, builtin_policies
from kechuang.policy.runs import (
    enterprise_hashes,
    evaluate_policies,
    input_years,
    policy_hash,
    resolve_policies,
)
from kechuang.registry.catalogue import metrics_by_code

VERDICT_LABELS = {
    "eligible": "符合",
    "ineligible": "不符合",
    "insufficient_data": "数据不足",
    "likely": "很可能符合",
    "borderline": "临界",
}
VERDICT_TONES = {"eligible": "ok", "likely": "ok", "borderline": "warn",
                 "insufficient_data": "muted", "ineligible": "bad"}

Progress = Callable[[str, int, int], None]


@dataclass
class RunSummary:
    run_id: int
    policy_id: str
    policy_name: str
    as_of: date
    eval_year: int
    enterprises: int
    counts: dict[str, int]
    input_hash: str


def do_run_policies(session: Session, actor: Actor, policy_ids: list[str] | None = None,
                    as_of: date | None = None,
                    progress: Progress | None = None) -> list[RunSummary]:
    """Evaluate policies (all built-ins by default) over the actor's enterprises; one run
    per policy, results written in bulk, one audit row per run."""
    as_of = as_of or date.today()
    policies = resolve_policies(policy_ids)
    step = progress or (lambda _label, _done, _total: None)
    total = len(policies) + 2
    step("读取数据 reading facts", 0, total)
    data = read_facts(session, actor, input_years(as_of))
    step("计算 evaluating", 1, total)
    outcomes, enterprise_ids, hashes = evaluate_policies(data, policies, as_of)
    del data
    step("写入 writing", 2, total)
    summaries = []
    for i, out in enumerate(outcomes, start=3):
        ev = out.evaluation
        run = PolicyRun(
            policy_id=out.lp.id, policy_name=out.lp.policy.name, policy_hash=out.policy_hash,
            policy_source=_short_source(out.lp), as_of=as_of, eval_year=ev.year,
            parameters=out.parameters, pass_mark=ev.pass_mark, input_hash=out.input_hash,
            region_code=actor.region_code, enterprises=len(ev.uscc), counts=out.counts,
            created_by=actor.user_id, actor=actor.username,
        )
        session.add(run)
        session.flush()
        repo.insert_results(session, run.id, out.result_rows(enterprise_ids, hashes))
        audit.record(session, actor, "policy.run", "policy_run", run.id,
                     after={"policy_id": run.policy_id, "as_of": as_of,
                            "eval_year": run.eval_year, "enterprises": run.enterprises,
                            "counts": run.counts, "input_hash": run.input_hash,
                            "policy_hash": run.policy_hash},
                     region_code=actor.region_code)
        summaries.append(RunSummary(run.id, run.policy_id, run.policy_name, as_of,
                                    run.eval_year, run.enterprises, dict(run.counts),
                                    run.input_hash))
        step(f"写入 writing {out.lp.id}", min(i, total), total)
    return summaries


def _short_source(lp: LoadedPolicy) -> str:
    source = lp.source
    marker = "kechuang/policy/builtin/"
    return source[source.index(marker):] if marker in source else source[-255:]


# -- the bureau's overview ------------------------------------------------------------------

@dataclass
class PolicyOverview:
    policy_id: str
    name: str
    document: str
    article: str | None
    effective_from: date
    effective_to: date | None
    run: PolicyRun | None
    counts: dict[str, int]


def _covers(run_path: str | None, actor: Actor) -> bool:
    """A run covers the actor when its region scope contains the actor's whole region."""
    if run_path is None:
        return True
    return actor.region_path != "/" and actor.region_path.startswith(run_path)


def policy_overview(session: Session, actor: Actor) -> list[PolicyOverview]:
    """Every built-in policy with its document and the latest covering run's counts
    (counted over the enterprises the actor may see)."""
    latest: dict[str, PolicyRun] = {}
    for run, path in repo.runs_with_region(session):
        if _covers(path, actor):
            latest[run.policy_id] = run
    out = []
    for lp in builtin_policies().values():
        pol = lp.policy
        run = latest.get(lp.id)
        counts = repo.visible_counts(session, actor, run.id) if run else {}
        out.append(PolicyOverview(lp.id, pol.name, pol.document.number, pol.document.article,
                                  pol.effective_from, pol.effective_to, run, counts))
    return out


# -- one enterprise ------------------------------------------------------------------------

@dataclass
class LeafView:
    leaf_id: str
    label: str
    clause: str
    value: Any
    failed: bool
    gap: str | None = None


@dataclass
class EnterprisePolicy:
    policy_id: str
    policy_name: str
    document: str
    document_title: str
    article: str | None
    run_id: int
    as_of: date
    eval_year: int
    run_at: Any
    verdict: str
    verdict_label: str
    tone: str
    score: float | None
    score_min: float | None
    score_max: float | None
    pass_mark: float | None
    failed: list[LeafView] = field(default_factory=list)
    leaves: list[LeafView] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id, "policy_name": self.policy_name,
            "document": self.document, "article": self.article, "run_id": self.run_id,
            "as_of": self.as_of.isoformat(), "eval_year": self.eval_year,
            "verdict": self.verdict, "verdict_label": self.verdict_label,
            "score": self.score, "score_min": self.score_min, "score_max": self.score_max,
            "pass_mark": self.pass_mark,
            "failed": [{"leaf_id": f.leaf_id, "label": f.label, "clause": f.clause,
                        "value": f.value, "gap": f.gap} for f in self.failed],
            "missing": self.missing,
            "conditions": [{"leaf_id": c.leaf_id, "label": c.label, "clause": c.clause,
                            "value": c.value, "failed": c.failed} for c in self.leaves],
            "note": self.note,
        }


_ATOM = re.compile(r"^([a-z0-9_]+)(?:\((\d{4})\))?$")


def describe_missing(atom: str) -> str:
    """``rd_expense(2021)`` → ``研发费用（2021 年）``: the missing input in the user's terms."""
    m = _ATOM.match(atom)
    if not m:
        return atom
    meta = metrics_by_code().get(m.group(1))
    name = meta.name_zh if meta else m.group(1)
    return f"{name}（{m.group(2)} 年）" if m.group(2) else name


def _visible_enterprise(session: Session, actor: Actor, uscc: str) -> Enterprise:
    e = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc.strip().upper(),
                                                enterprise_visible(actor)))
    if e is None:
        # the same answer whether it does not exist or lies outside the actor's scope
        raise NotFound("企业不存在或不在您的权限范围内", "No such enterprise in your scope")
    return e


def enterprise_policies(session: Session, actor: Actor, uscc: str) -> list[EnterprisePolicy]:
    """The latest result of every policy for one enterprise, with gap sentences.

    Verdicts, scores, failed leaves and missing inputs are the run's (immutable). Gap
    sentences are formatted on demand: the enterprise's inputs are read again and evaluated
    with the run's as-of date; when they hash differently from the run's (new data since),
    the page says the sentences follow the current data.
    """
    e = _visible_enterprise(session, actor, uscc)
    latest: dict[str, tuple[PolicyResult, PolicyRun]] = {}
    for result, run in repo.enterprise_results(session, e.id):
        latest.setdefault(run.policy_id, (result, run))
    policies = builtin_policies()
    inputs: dict[date, Any] = {}
    out = []
    for policy_id, (result, run) in sorted(latest.items()):
        lp = policies.get(policy_id)
        view = _view(result, run, lp)
        if lp is not None and result.failed:
            _add_gaps(session, actor, e, lp, result, run, view, inputs)
        out.append(view)
    return out


def _view(result: PolicyResult, run: PolicyRun, lp: LoadedPolicy | None) -> EnterprisePolicy:
    failed = set(result.failed or [])
    values = result.values or {}
    doc = lp.policy.document if lp else None
    leaves = [LeafView(leaf.id, leaf.label, leaf.clause, values.get(leaf.id),
                       leaf.id in failed) for leaf in (lp.leaves if lp else [])]
    view = EnterprisePolicy(
        policy_id=run.policy_id, policy_name=run.policy_name,
        document=doc.number if doc else "", document_title=doc.title if doc else "",
        article=doc.article if doc else None, run_id=run.id, as_of=run.as_of,
        eval_year=run.eval_year, run_at=run.created_at, verdict=result.verdict,
        verdict_label=VERDICT_LABELS.get(result.verdict, result.verdict),
        tone=VERDICT_TONES.get(result.verdict, "muted"), score=result.score,
        score_min=result.score_min, score_max=result.score_max, pass_mark=run.pass_mark,
        failed=[leaf for leaf in leaves if leaf.failed], leaves=leaves,
        missing=[describe_missing(a) for a in (result.missing or [])],
    )
    if lp is None:
        view.note = "该政策文件已不在内置政策中，仅显示运行时保存的结果"
    return view


def _add_gaps(session: Session, actor: Actor, e: Enterprise, lp: LoadedPolicy,
              result: PolicyResult, run: PolicyRun, view: EnterprisePolicy,
              inputs: dict[date, Any]) -> None:
    if policy_hash(lp) != run.policy_hash:
        view.note = "政策文件在该次运行之后已修改，差距说明暂不可用；请重新运行政策计算"
        return
    if run.as_of not in inputs:
        inputs[run.as_of] = read_facts(session, actor, input_years(run.as_of),
                                       enterprise_ids=[e.id])
    data = inputs[run.as_of]
    if data.empty:
        return
    current = int(enterprise_hashes(data).iloc[0])
    if current != int(result.input_hash):
        view.note = "该次运行之后企业数据已更新：判定为运行时结果，差距说明按当前数据计算"
    ev = evaluate(lp, data.drop(columns=["enterprise_id"]), run.as_of)
    sentences = {g.leaf_id: g.text for g in gaps_for(ev, e.uscc, all_unmet=True)}
    for leaf in view.failed:
        leaf.gap = sentences.get(leaf.leaf_id)


def latest_run_ids(session: Session) -> dict[str, int]:
    """The current run of each policy (the latest, whatever its scope)."""
    rows = session.execute(select(PolicyRun.policy_id, PolicyRun.id).order_by(PolicyRun.id))
    return {pid: rid for pid, rid in rows}

