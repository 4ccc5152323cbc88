"""Eligibility runs and what the pages show of them.

``do_run_policies`` evaluates policies over every enterprise in the actor's scope and writes
one immutable run per policy with its results and an audit row; it never commits (the
request or the command does). Enterprises are read, evaluated and written in chunks of
``CHUNK_ENTERPRISES`` (by enterprise id), so memory stays bounded at a million enterprises;
the results do not depend on the chunking (every verdict is per enterprise). At the end it
emits ``policy.runs_completed`` (``kechuang.kit.events``) with the new run ids, so precise
push and tier snapshots follow inside the same transaction. "Current" is the latest run of
a policy: for an enterprise, the latest run holding a result for it; for the bureau's
overview, the latest run whose region scope covers the actor's region.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.facts import read_facts
from kechuang.kit import audit, events
from kechuang.kit.errors import InvalidInput, NotFound
from kechuang.models import Enterprise, PolicyRun, ScoringRun
from kechuang.policy import cluster as policy_cluster
from kechuang.policy import repository as repo
from kechuang.policy.atoms import POINTS_ATOMS
from kechuang.policy.blocks import StoredResult
from kechuang.policy.engine import evaluate, evaluation_year
from kechuang.policy.gaps import gaps_for
from kechuang.policy.loader import LoadedPolicy, builtin_policies
from kechuang.policy.points import PointsSource, add_points, latest_points_run, uses_points
from kechuang.policy.runs import (
    ChunkResult,
    chunk_result,
    enterprise_hashes,
    evaluate_policies,
    input_codes,
    input_years,
    parameters_in_force,
    policy_hash,
    resolve_policies,
    run_hash,
)
from kechuang.registry.catalogue import metrics_by_code
from kechuang.spark.cluster import Cluster

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


#: enterprises read, evaluated and written at a time (bounds memory at 1,000,000)
CHUNK_ENTERPRISES = 200_000

_UNSET: Any = object()


def policy_inputs(session: Session, actor: Actor, years: list[int], *,
                  enterprise_ids: list[int] | None = None,
                  id_range: tuple[int, int] | None = None,
                  points_run: Any = _UNSET,
                  codes: frozenset[str] | None = None) -> pd.DataFrame:
    """The input table of a database evaluation: current facts (``read_facts``) plus the
    points of the latest published scoring run (``points_run`` when the caller already
    looked it up). Runs and the enterprise page read through here, so the per-enterprise
    input hashes they compare are over the same columns: those of :func:`input_codes`
    (the built-ins' inputs, or ``codes`` when a run adds a policy file's)."""
    data = read_facts(session, actor, years, codes=codes or input_codes(),
                      enterprise_ids=enterprise_ids, id_range=id_range)
    run = latest_points_run(session, actor) if points_run is _UNSET else points_run
    return add_points(session, actor, data, run)


def do_run_policies(session: Session, actor: Actor, policy_ids: list[str] | None = None,
                    as_of: date | None = None,
                    progress: Progress | None = None, *, cluster: Cluster | None = None,
                    lake: Path | None = None) -> list[RunSummary]:
    """Evaluate policies (all built-ins by default) over the actor's enterprises; one run
    per policy, results written in bulk, one audit row per run, then the
    ``policy.runs_completed`` event with the run ids.

    With ``cluster``, the evaluation runs there over the Parquet export in ``lake``
    (:mod:`kechuang.policy.cluster`; it must be current); the runs written are the same."""
    if cluster is not None and lake is None:
        raise InvalidInput("在 Spark 集群上运行政策需要导出目录 lake", "a cluster run needs a lake")
    as_of = as_of or date.today()
    policies = resolve_policies(policy_ids)
    step = progress or (lambda _label, _done, _total: None)
    points_run = latest_points_run(session, actor)
    source = (PointsSource(points_run.id, points_run.system_id, int(points_run.year))
              if points_run is not None else None)
    runs: list[PolicyRun] = []
    for lp in policies:
        parameters = parameters_in_force(lp, as_of)
        if uses_points(lp):
            parameters["points_run"] = (source.as_parameter() if source else
                                        {"value": None, "ref": "没有已发布的评分运行：积分缺失",
                                         "from": None})
        run = PolicyRun(
            policy_id=lp.id, policy_name=lp.policy.name, policy_hash=policy_hash(lp),
            policy_source=_short_source(lp), as_of=as_of, eval_year=evaluation_year(as_of),
            parameters=parameters, pass_mark=None, input_hash="", region_code=actor.region_code,
            enterprises=0, counts={}, created_by=actor.user_id, actor=actor.username,
        )
        runs.append(run)
    repo.add_runs(session, runs)
    counts = [Counter[str]() for _ in policies]
    pass_marks: list[float | None] = [None] * len(policies)
    chunk_hashes: list[pd.Series] = []
    if cluster is None or lake is None:
        chunks = _in_process(session, actor, policies, as_of, points_run, step)
    else:
        chunks = policy_cluster.chunks_on_cluster(session, actor, policies, as_of, points_run,
                                                  cluster, lake, step)
    for chunk in chunks:
        for i, run in enumerate(runs):
            repo.insert_results(session, run.id, chunk.columns(i))
            counts[i].update(chunk.counts[i])
            if pass_marks[i] is None:
                pass_marks[i] = chunk.pass_marks[i]
        chunk_hashes.append(chunk.hashes)
    engine = ({"engine": "spark", "cluster": cluster.where, "lake": str(lake)}
              if cluster is not None else {})
    hashes = (pd.concat(chunk_hashes).sort_index() if chunk_hashes
              else pd.Series([], dtype="int64"))
    summaries = []
    for run, cnt, mark in zip(runs, counts, pass_marks, strict=True):
        run.input_hash = run_hash(run.policy_hash, as_of, hashes)
        run.enterprises = len(hashes)
        run.counts = {str(k): int(v) for k, v in cnt.items()}
        run.pass_mark = mark
        audit.record(session, actor, "policy.run", "policy_run", run.id,
                     after={"policy_id": run.policy_id, "as_of": as_of,
                            "eval_year": run.eval_year, "enterprises": run.enterprises,
                            "counts": run.counts, "input_hash": run.input_hash,
                            "policy_hash": run.policy_hash, **engine},
                     region_code=actor.region_code)
        summaries.append(RunSummary(run.id, run.policy_id, run.policy_name, as_of,
                                    run.eval_year, run.enterprises, dict(run.counts),
                                    run.input_hash))
    session.flush()
    step("通知 notifying", 0, 1)
    events.emit("policy.runs_completed", session=session, actor=actor,
                run_ids=[run.id for run in runs])
    step("完成 done", 1, 1)
    return summaries


def _in_process(session: Session, actor: Actor, policies: list[LoadedPolicy], as_of: date,
                points_run: ScoringRun | None, step: Progress) -> Iterator[ChunkResult]:
    """The run's enterprises read from the database and evaluated here, in chunks of
    ``CHUNK_ENTERPRISES`` (by enterprise id)."""
    codes = input_codes(policies)
    years = input_years(as_of)
    # an enterprise founded after the evaluation year had no business in it: not evaluated
    # for that year (it would otherwise read as "insufficient data" with nothing missing)
    ids = repo.visible_ids(session, actor, founded_by=date(evaluation_year(as_of), 12, 31))
    chunks = [ids[i:i + CHUNK_ENTERPRISES] for i in range(0, len(ids), CHUNK_ENTERPRISES)]
    total = 3 * max(len(chunks), 1) + 1
    done = 0
    chunk_list: list[np.ndarray | None] = list(chunks) if chunks else [None]
    for chunk in chunk_list:
        step("读取数据 reading facts", done, total)
        id_range = (int(chunk[0]), int(chunk[-1])) if chunk is not None else None
        data = policy_inputs(session, actor, years, id_range=id_range, points_run=points_run,
                             codes=codes)
        if chunk is not None and len(data) != len(chunk) * len(years):
            # the range also holds enterprises founded after the evaluation year: drop them
            # (whole enterprises, so the grid stays a grid; row masks no longer apply)
            data = data[np.isin(data["enterprise_id"].to_numpy(), chunk)].reset_index(drop=True)
            data.attrs.pop("inferred", None)
        step("计算 evaluating", done + 1, total)
        outcomes, enterprise_ids, hashes = evaluate_policies(data, policies, as_of)
        del data
        step("写入 writing", done + 2, total)
        yield chunk_result(outcomes, enterprise_ids, hashes)
        del outcomes
        done += 3


def run_summaries(session: Session, run_ids: Sequence[int]) -> list[RunSummary]:
    """The summaries of stored runs (a run made by a job, reported by the command)."""
    out = []
    for run_id in run_ids:
        run = repo.get_run(session, run_id)
        if run is None:
            raise NotFound(f"没有政策运行 #{run_id}", f"no policy run #{run_id}")
        out.append(RunSummary(run.id, run.policy_id, run.policy_name, run.as_of, run.eval_year,
                              run.enterprises, dict(run.counts), run.input_hash))
    return out


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


def latest_covering_runs(session: Session, actor: Actor) -> dict[str, PolicyRun]:
    """Each policy's latest run whose region scope covers the actor's whole region."""
    latest: dict[str, PolicyRun] = {}
    for run, path in repo.runs_with_region(session):
        if _covers(path, actor):
            latest[run.policy_id] = run
    return latest


def policy_overview(session: Session, actor: Actor) -> list[PolicyOverview]:
    """Every built-in policy with its document and the latest covering run's counts
    (counted over the enterprises the actor may see)."""
    latest = latest_covering_runs(session, actor)
    counts_of = repo.visible_counts(session, actor, [run.id for run in latest.values()])
    out = []
    for lp in builtin_policies().values():
        pol = lp.policy
        run = latest.get(lp.id)
        counts = counts_of.get(run.id, {}) if run else {}
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
    policy_name_en: str | None = None  # the policy file's English name, for English pages

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
    points_atom = POINTS_ATOMS.get(m.group(1))
    name = meta.name_zh if meta else (points_atom.name_zh if points_atom else m.group(1))
    return f"{name}（{m.group(2)} 年）" if m.group(2) else name


def _visible_enterprise(session: Session, actor: Actor, uscc: str) -> Enterprise:
    e = repo.visible_enterprise(session, actor, uscc.strip().upper())
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
    policies = builtin_policies()
    inputs: dict[date, Any] = {}
    out = []
    for result, run, view in _latest_views(session, e, policies):
        lp = policies.get(run.policy_id)
        if lp is not None and result.failed:
            _add_gaps(session, actor, e, lp, result, run, view, inputs)
        out.append(view)
    return out


def enterprise_verdicts(session: Session, actor: Actor, uscc: str) -> list[EnterprisePolicy]:
    """The latest verdict of every policy for one enterprise, as stored by its run: what
    :func:`enterprise_policies` gives without the gap sentences (which read the inputs again
    and evaluate them) — for summaries such as the enterprise's home."""
    e = _visible_enterprise(session, actor, uscc)
    return [view for _, _, view in _latest_views(session, e, builtin_policies())]


def _latest_views(session: Session, e: Enterprise, policies: dict[str, LoadedPolicy]
                  ) -> list[tuple[StoredResult, PolicyRun, EnterprisePolicy]]:
    latest = {run.policy_id: (result, run)
              for result, run in repo.latest_enterprise_results(session, e.id)}
    return [(result, run, _view(result, run, policies.get(policy_id)))
            for policy_id, (result, run) in sorted(latest.items())]


def _view(result: StoredResult, run: PolicyRun, lp: LoadedPolicy | None) -> EnterprisePolicy:
    failed = set(result.failed or [])
    values = result.values or {}
    doc = lp.policy.document if lp else None
    leaves = [LeafView(leaf.id, leaf.label, leaf.clause, values.get(leaf.id),
                       leaf.id in failed) for leaf in (lp.leaves if lp else [])]
    view = EnterprisePolicy(
        policy_id=run.policy_id, policy_name=run.policy_name,
        policy_name_en=lp.policy.name_en if lp else None,
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
              result: StoredResult, run: PolicyRun, view: EnterprisePolicy,
              inputs: dict[date, Any]) -> None:
    if policy_hash(lp) != run.policy_hash:
        view.note = "政策文件在该次运行之后已修改，差距说明暂不可用；请重新运行政策计算"
        return
    if run.as_of not in inputs:
        inputs[run.as_of] = policy_inputs(session, actor, input_years(run.as_of),
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
    return repo.latest_run_ids(session)



# ---------------------------------------------------------- reads for the other packages
def read_results(session: Session, run_id: int, columns: Sequence[str] | None = None,
                 enterprise_ids: Sequence[int] | np.ndarray | None = None) -> pd.DataFrame:
    """A run's results as a frame ordered by enterprise id: every column, or ``columns``;
    only ``enterprise_ids`` when given."""
    return repo.read_results(session, run_id, columns, enterprise_ids)


def run_enterprise_ids(session: Session, run_id: int,
                       enterprise_ids: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """The enterprise ids a run holds results for (among ``enterprise_ids`` if given)."""
    return repo.run_enterprise_ids(session, run_id, enterprise_ids)


def visible_ids(session: Session, actor: Actor) -> np.ndarray:
    """Ids of the enterprises ``actor`` may see, ascending."""
    return repo.visible_ids(session, actor)


def get_run(session: Session, run_id: int) -> PolicyRun | None:
    """A policy run by id, unscoped (None when it does not exist)."""
    return repo.get_run(session, run_id)


def eval_years(session: Session, run_ids: Sequence[int]) -> list[int]:
    """The distinct evaluation years of some runs, ascending."""
    return repo.eval_years(session, run_ids)
