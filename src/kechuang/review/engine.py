"""Pure computation of expert review: reviewer assignment (optimal and fair), its
infeasibility diagnosis, conflict rules, score aggregation and the funding cut-off.

No database, no web, no files: the callers (``files``, ``service``) hand in arrays and
plain values and get dataclasses back.

Assignment problem. Applications ``a`` each need exactly ``k`` reviewers; expert ``e``
reviews at most ``capacity_e`` applications; only the listed (application, expert) pairs may
be used, each at most once, and conflicted pairs never. An application's *score* is the sum
of its reviewers' affinities (as in Kobren et al., KDD 2019).

- **Optimal** (:func:`assign`, ``fair=False``): maximise the total affinity. This is a
  min-cost flow on a totally unimodular network; it is solved by the commissioner-dispatch
  engine (:func:`kechuang.dispatch.assign.solve`: a maximum flow for feasibility, then the
  min-cost-flow LP by HiGHS's dual simplex with a duality-gap certificate).
- **Fair** (``fair=True``): lexicographic — first maximise the worst application's score
  ``t``, then the total among the assignments whose every application scores at least the
  ``t`` found. Side constraints break total unimodularity, so: (1) the LP relaxation gives an
  upper bound ``t_LP`` on every integral assignment; (2) a mixed-integer programme (HiGHS
  branch and cut) finds the largest integral ``t`` (proven when it reports ``optimal``;
  otherwise its bound is reported); (3) a second mixed-integer programme maximises the total
  subject to every application ≥ that ``t``. The result reports ``t_LP``, the integral ``t``,
  the MIP bound and the optimal (unfair) total so the price of fairness is visible.

Infeasibility. When some application cannot get ``k`` reviewers the result says which and
why, per application: ``too_few_candidates`` (fewer than ``k`` listed experts),
``conflicts`` (enough listed experts, but fewer than ``k`` once conflicts are removed) or
``capacity`` (a set of applications whose candidates' load caps together fall short, read
from the minimum cut of the flow network — a Hall-type certificate).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from kechuang.dispatch.assign import REVIEW_NOUNS, Pair, Person, Task, solve
from kechuang.kit.errors import InvalidInput, KechuangError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TOO_FEW = "too_few_candidates"
CONFLICTS = "conflicts"
CAPACITY = "capacity"
CONSTRAINT_ZH = {TOO_FEW: "候选专家不足", CONFLICTS: "利益冲突", CAPACITY: "专家评审容量"}
CONSTRAINT_EN = {TOO_FEW: "too few candidates", CONFLICTS: "conflicts of interest",
                 CAPACITY: "reviewer capacity"}

_DIGITS = re.compile(r"([0-9]+)")


def natural_key(value: str) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """Sort key that compares runs of ASCII digits as numbers ("A2" < "A10", "9" < "10");
    the raw text breaks remaining ties, so the order is total and deterministic."""
    parts = tuple((0, int(p), "") if p.isascii() and p.isdigit() else (1, 0, p)
                  for p in _DIGITS.split(value) if p)
    return parts, value


# --------------------------------------------------------------------------- problem
@dataclass(frozen=True)
class AssignProblem:
    """Applications and experts in canonical order; one entry per listed pair."""

    app_ids: Sequence[str]
    expert_ids: Sequence[str]
    pair_app: IntArray
    pair_expert: IntArray
    affinity: FloatArray
    conflicted: BoolArray
    k: int
    capacity: IntArray  # per expert

    def __post_init__(self) -> None:
        n = len(self.pair_app)
        if not (len(self.pair_expert) == len(self.affinity) == len(self.conflicted) == n):
            raise ValueError("pair arrays differ in length")
        if len(self.capacity) != len(self.expert_ids):
            raise ValueError("one capacity per expert")
        if self.k < 1:
            raise InvalidInput(f"每个申请的评审专家人数 k 至少为 1，实为 {self.k}",
                               f"k must be at least 1, got {self.k}")
        if np.any(self.capacity < 0):
            raise InvalidInput("专家评审上限不能为负", "An expert's load cap cannot be negative")
        if n and not np.all(np.isfinite(self.affinity)):
            raise InvalidInput("匹配度必须是有限数", "Affinities must be finite numbers")


@dataclass(frozen=True)
class Unserved:
    """Applications that cannot get ``k`` reviewers and the constraint that binds."""

    constraint: str  # TOO_FEW / CONFLICTS / CAPACITY
    application_ids: list[str]
    expert_ids: list[str]  # the candidates involved (capacity groups)
    demand: int  # reviewer seats these applications need
    supply: int  # seats they can get at most
    message_zh: str
    message_en: str


@dataclass
class AssignOutcome:
    status: str  # "optimal", "feasible" (fair mode stopped at its time limit), "infeasible"
    chosen: BoolArray  # per pair
    total: float
    app_score: FloatArray  # per application: sum of its reviewers' affinities
    worst_app: int | None
    solver_status: str
    unserved: list[Unserved] = field(default_factory=list)
    bounds: dict[str, float | None] = field(default_factory=dict)

    @property
    def worst_score(self) -> float | None:
        return None if self.worst_app is None else float(self.app_score[self.worst_app])


class SolverError(KechuangError):
    status_code = 500
    code = "solver_failed"


# --------------------------------------------------------------------------- diagnosis
def _candidate_counts(p: AssignProblem) -> tuple[IntArray, IntArray]:
    n_a = len(p.app_ids)
    listed = np.bincount(p.pair_app, minlength=n_a)
    usable = np.bincount(p.pair_app[~p.conflicted & (p.capacity[p.pair_expert] > 0)],
                         minlength=n_a)
    return listed, usable


def _names(ids: Sequence[str], limit: int = 10) -> str:
    shown = "、".join(ids[:limit])
    return shown + (f" 等 {len(ids)} 个" if len(ids) > limit else "")


def _names_en(ids: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def diagnose(p: AssignProblem, missing: dict[str, int],
             hall_groups: Sequence[tuple[list[str], list[str], int, int]]) -> list[Unserved]:
    """Name the applications short of ``k`` reviewers and the binding constraint.

    ``missing``: application id → seats a maximum flow leaves empty; ``hall_groups``:
    (application ids, candidate expert ids, demand, supply) of the minimum cut's deficient
    components. Applications with fewer than ``k`` listed candidates are ``too_few``; those
    with enough listed but fewer than ``k`` unconflicted ones (with a load cap above 0) are
    ``conflicts``; everything else short is ``capacity``."""
    n_a = len(p.app_ids)
    conflicted_count = np.bincount(p.pair_app[p.conflicted], minlength=n_a)
    listed = np.bincount(p.pair_app, minlength=n_a)
    free = np.bincount(p.pair_app[~p.conflicted], minlength=n_a)
    out: list[Unserved] = []
    handled: set[str] = set()
    for i in range(n_a):
        aid = p.app_ids[i]
        if listed[i] < p.k:
            handled.add(aid)
            out.append(Unserved(
                TOO_FEW, [aid], [], p.k, int(listed[i]),
                f"申请 {aid}：候选专家不足——匹配度文件只列出 {listed[i]} 名专家，需要 {p.k} 名",
                f"application {aid}: too few candidates — {listed[i]} experts listed, "
                f"{p.k} needed"))
        elif free[i] < p.k:
            handled.add(aid)
            out.append(Unserved(
                CONFLICTS, [aid], [], p.k, int(free[i]),
                f"申请 {aid}：利益冲突——{listed[i]} 名候选专家中 {conflicted_count[i]} 名"
                f"有利益冲突，只剩 {free[i]} 名，需要 {p.k} 名",
                f"application {aid}: conflicts of interest — {conflicted_count[i]} of "
                f"{listed[i]} candidates are conflicted, {free[i]} left, {p.k} needed"))
    covered: set[str] = set()
    a_pos = {a: i for i, a in enumerate(p.app_ids)}
    ok = ~p.conflicted

    def seats(group: list[str]) -> tuple[list[str], int]:
        """The group's unconflicted candidates and the most seats they can give it: each
        expert fills at most one seat per application and at most its load cap."""
        member = np.zeros(n_a, dtype=bool)
        member[[a_pos[a] for a in group]] = True
        sel = ok & member[p.pair_app]
        per_expert = np.bincount(p.pair_expert[sel], minlength=len(p.expert_ids))
        used = np.flatnonzero(per_expert)
        return ([p.expert_ids[int(j)] for j in used],
                int(np.minimum(per_expert[used], p.capacity[used]).sum()))

    for apps, _experts, _demand, _supply in hall_groups:
        rest = [a for a in apps if a not in handled and a not in covered]
        if not rest:
            continue
        covered.update(rest)
        experts, supply = seats(rest)
        demand = p.k * len(rest)
        out.append(Unserved(
            CAPACITY, rest, experts, demand, supply,
            f"申请 {_names(rest)}：专家评审容量不足——这些申请共需 {demand} 个评审名额，"
            f"其候选专家 {_names(experts) or '（无）'} 在评审上限内最多只能提供 {supply} 个",
            f"applications {_names_en(rest)}: reviewer capacity — they need {demand} reviewer "
            f"seats but their candidates {_names_en(experts) or '(none)'} can give at most "
            f"{supply} within their load caps"))
    rest = [a for a in p.app_ids if missing.get(a, 0) > 0 and a not in handled
            and a not in covered]
    if rest:
        out.append(Unserved(
            CAPACITY, rest, [], p.k * len(rest), p.k * len(rest) - sum(missing[a] for a in rest),
            f"申请 {_names(rest)}：专家评审容量不足——专家的评审上限合计不够所有申请各得 "
            f"{p.k} 名评审专家",
            f"applications {_names_en(rest)}: reviewer capacity — the experts' load caps "
            f"together cannot give every application {p.k} reviewers"))
    return out


# --------------------------------------------------------------------------- optimal
def _optimal(p: AssignProblem) -> tuple[AssignOutcome, dict[str, float | None]]:
    tasks = [Task(a, p.k) for a in p.app_ids]
    people = [Person(e, int(c)) for e, c in zip(p.expert_ids, p.capacity, strict=True)]
    apps, exps = p.app_ids, p.expert_ids
    pairs = [Pair(apps[int(a)], exps[int(e)], float(f))
             for a, e, f in zip(p.pair_app, p.pair_expert, p.affinity, strict=True)]
    forbidden = [(apps[int(a)], exps[int(e)])
                 for a, e in zip(p.pair_app[p.conflicted], p.pair_expert[p.conflicted],
                                 strict=True)]
    result = solve(tasks, people, pairs, forbidden, alternates=0, nouns=REVIEW_NOUNS)
    index = {(apps[int(a)], exps[int(e)]): i
             for i, (a, e) in enumerate(zip(p.pair_app, p.pair_expert, strict=True))}
    chosen = np.zeros(len(p.pair_app), dtype=bool)
    for pair in result.assignments:
        chosen[index[(pair.task_id, pair.person_id)]] = True
    score = np.bincount(p.pair_app[chosen], weights=p.affinity[chosen],
                        minlength=len(apps)).astype(np.float64)
    proof = result.proof
    bounds: dict[str, float | None] = {"dual_bound": proof.dual_bound, "gap": proof.gap}
    if result.seats_filled < result.seats_needed:
        groups = [(e.task_ids, e.person_ids, e.demand, e.supply)
                  for kind in ("hall", "total_capacity")
                  for e in result.explanations if e.kind == kind]
        unserved = diagnose(p, result.missing, groups)
        return AssignOutcome("infeasible", chosen, float(p.affinity[chosen].sum()), score,
                             None, proof.solver_status, unserved, bounds), bounds
    worst = _worst(score, apps) if len(apps) else None
    return AssignOutcome("optimal", chosen, float(p.affinity[chosen].sum()), score, worst,
                         f"optimal ({proof.method}; {proof.solver_status})", [],
                         bounds), bounds


def _worst(score: FloatArray, app_ids: Sequence[str]) -> int:
    """The worst-served application; ties go to the first in canonical order."""
    return int(np.argmin(score)) if len(score) else 0


# --------------------------------------------------------------------------- fair
def _fair_model(p: AssignProblem, usable: IntArray, scale: float
               ) -> tuple[sparse.csr_matrix, sparse.csr_matrix, sparse.csr_matrix]:
    """Rows over variables (x_usable…, t): one-per-app equality, app score / scale − t ≥ 0
    (t in units of ``scale``), expert load ≤ cap."""
    n_a, n_e, n_x = len(p.app_ids), len(p.expert_ids), len(usable)
    cols = np.arange(n_x)
    a_idx = p.pair_app[usable]
    e_idx = p.pair_expert[usable]
    aff = p.affinity[usable]
    eq = sparse.csr_matrix((np.ones(n_x), (a_idx, cols)), shape=(n_a, n_x + 1))
    score = sparse.hstack([sparse.csr_matrix((aff / scale, (a_idx, cols)), shape=(n_a, n_x)),
                           sparse.csr_matrix(-np.ones((n_a, 1)))]).tocsr()
    load = sparse.csr_matrix((np.ones(n_x), (e_idx, cols)), shape=(n_e, n_x + 1))
    return eq, score, load


#: the threshold search stops when the best integral worst score is this close to the
#: search's upper end (relative to the LP bound)
FAIR_SEARCH_TOLERANCE = 1e-3
FAIR_MAX_STEPS = 14
#: problems up to this many usable pairs also get an exact branch-and-cut max-min
FAIR_EXACT_PAIRS = 20_000


@dataclass
class _FairModel:
    p: AssignProblem
    usable: IntArray  # pair indices that may be used
    scale: float
    eq: sparse.csr_matrix  # over (x…, t)
    score: sparse.csr_matrix
    load: sparse.csr_matrix

    @property
    def n_x(self) -> int:
        return len(self.usable)

    def scores(self, x: FloatArray) -> FloatArray:
        p = self.p
        return np.bincount(p.pair_app[self.usable], weights=p.affinity[self.usable] * x,
                           minlength=len(p.app_ids)).astype(np.float64)


def _lp_max_min(m: _FairModel, t_lo: float) -> float:
    """The LP relaxation's best worst score: an upper bound for every integral assignment.
    Interior point with crossover (the max-min LP is too degenerate for the simplex)."""
    p, n_x, n_a = m.p, m.n_x, len(m.p.app_ids)
    c = np.r_[np.zeros(n_x), -1.0]
    t_hi = p.k * max(float(p.affinity[m.usable].max()), 0.0) / m.scale + 1.0
    res = linprog(c, A_ub=sparse.vstack([-m.score, m.load]).tocsr(),
                  b_ub=np.r_[np.zeros(n_a), p.capacity.astype(np.float64)],
                  A_eq=m.eq, b_eq=np.full(n_a, float(p.k)),
                  bounds=np.column_stack([np.r_[np.zeros(n_x), t_lo / m.scale],
                                          np.r_[np.ones(n_x), t_hi]]), method="highs-ipm")
    if res.status != 0:
        raise SolverError(f"公平模式线性松弛求解失败：{res.message}",
                          f"Fair mode LP relaxation failed: {res.message}")
    return -float(res.fun) * m.scale


def _integral_at(m: _FairModel, threshold: float, time_limit: float
                 ) -> tuple[FloatArray | None, float | None]:
    """An integral assignment whose every application scores ≥ ``threshold`` with a large
    total, or None; and the LP bound on the total at this threshold.

    The LP "maximise the total subject to every score ≥ threshold" is solved first (dual
    simplex; an upper bound on the integral total). Its vertex is integral except around the
    applications whose threshold binds; those (then also the applications sharing their
    fractional experts) are re-solved exactly as a small mixed-integer programme with the
    other applications' integral reviewers fixed and the experts' remaining capacity."""
    p, n_x, n_a = m.p, m.n_x, len(m.p.app_ids)
    aff = p.affinity[m.usable]
    a_idx = p.pair_app[m.usable]
    e_idx = p.pair_expert[m.usable]
    tol = 1e-9 * max(1.0, abs(threshold))
    lo = (threshold - tol) / m.scale
    eqx, sx, lx = m.eq[:, :n_x], m.score[:, :n_x], m.load[:, :n_x]
    cap = p.capacity.astype(np.float64)
    lp = linprog(-aff / m.scale, A_ub=sparse.vstack([-sx, lx]).tocsr(),
                 b_ub=np.r_[np.full(n_a, -lo), cap], A_eq=eqx, b_eq=np.full(n_a, float(p.k)),
                 bounds=(0.0, 1.0), method="highs-ds")
    if lp.status != 0 or lp.x is None:
        return None, None
    bound = -float(lp.fun) * m.scale
    x = np.asarray(lp.x)
    frac = (x > 1e-7) & (x < 1 - 1e-7)
    if not frac.any():
        return np.round(x), bound
    free_apps = np.zeros(n_a, dtype=bool)
    free_apps[a_idx[frac]] = True
    rings = [free_apps.copy()]
    busy = np.zeros(len(p.expert_ids), dtype=bool)
    busy[e_idx[frac]] = True
    ring = free_apps | np.isin(np.arange(n_a), a_idx[(x > 0.5) & busy[e_idx]])
    rings.append(ring)
    for free in rings:
        cols = np.flatnonzero(free[a_idx])
        fixed = ~free[a_idx] & (x > 0.5)
        used = np.bincount(e_idx[fixed], minlength=len(p.expert_ids))
        apps = np.flatnonzero(free)
        row = np.full(n_a, -1)
        row[apps] = np.arange(len(apps))
        r = row[a_idx[cols]]
        k = float(p.k)
        n_c = len(cols)
        eq = sparse.csr_matrix((np.ones(n_c), (r, np.arange(n_c))), shape=(len(apps), n_c))
        sc = sparse.csr_matrix((aff[cols] / m.scale, (r, np.arange(n_c))),
                               shape=(len(apps), n_c))
        ld = sparse.csr_matrix((np.ones(n_c), (e_idx[cols], np.arange(n_c))),
                               shape=(len(p.expert_ids), n_c))
        res = milp(-aff[cols] / m.scale,
                   constraints=[LinearConstraint(eq, k, k), LinearConstraint(sc, lo, np.inf),
                                LinearConstraint(ld, -np.inf, cap - used)],
                   integrality=np.ones(n_c), bounds=Bounds(np.zeros(n_c), np.ones(n_c)),
                   options={"time_limit": max(1.0, time_limit), "mip_rel_gap": 1e-7})
        if res.x is not None:
            out = np.where(fixed, 1.0, 0.0)
            out[cols] = np.round(res.x)
            return out, bound
    return None, bound


def _mip_max_min(m: _FairModel, t_lo: float, time_limit: float) -> tuple[float | None, float]:
    """Branch and cut on max t: the best integral worst score found (None if none) and the
    proven upper bound (equal to it when HiGHS reports optimal)."""
    p, n_x = m.p, m.n_x
    k = float(p.k)
    t_hi = p.k * max(float(p.affinity[m.usable].max()), 0.0) / m.scale + 1.0
    res = milp(np.r_[np.zeros(n_x), -1.0],
               constraints=[LinearConstraint(m.eq, k, k), LinearConstraint(m.score, 0.0, np.inf),
                            LinearConstraint(m.load, -np.inf, p.capacity.astype(np.float64))],
               integrality=np.r_[np.ones(n_x), 0.0],
               bounds=Bounds(np.r_[np.zeros(n_x), t_lo / m.scale], np.r_[np.ones(n_x), t_hi]),
               options={"time_limit": max(1.0, time_limit), "mip_rel_gap": 1e-9})
    if res.x is None:
        return None, math.inf
    found = float(m.scores(np.round(res.x[:n_x])).min())
    if res.status == 0:
        return found, found
    bound = res.mip_dual_bound
    return found, (-float(bound) * m.scale if bound is not None and math.isfinite(bound)
                   else math.inf)


def _mip_max_total(m: _FairModel, threshold: float, time_limit: float
                   ) -> tuple[FloatArray | None, float | None]:
    """Branch and cut on the total subject to every score ≥ ``threshold``: the assignment
    found and the proven upper bound on the total."""
    p, n_x = m.p, m.n_x
    k = float(p.k)
    aff = p.affinity[m.usable]
    lo = (threshold - 1e-9 * max(1.0, abs(threshold))) / m.scale
    res = milp(-aff / m.scale,
               constraints=[LinearConstraint(m.eq[:, :n_x], k, k),
                            LinearConstraint(m.score[:, :n_x], lo, np.inf),
                            LinearConstraint(m.load[:, :n_x], -np.inf,
                                             p.capacity.astype(np.float64))],
               integrality=np.ones(n_x), bounds=Bounds(np.zeros(n_x), np.ones(n_x)),
               options={"time_limit": max(1.0, time_limit), "mip_rel_gap": 1e-9})
    x = None if res.x is None else np.round(res.x)
    if res.status == 0 and x is not None:
        return x, float(aff @ x)
    bound = res.mip_dual_bound
    return x, (-float(bound) * m.scale if bound is not None and math.isfinite(bound) else None)


def _fair(p: AssignProblem, optimal: AssignOutcome, time_limit: float) -> AssignOutcome:
    """Lexicographic max-min then max-total (module docstring). The worst score is searched
    between the optimal assignment's (achieved) and the LP bound: first at the bound, then by
    bisection, each threshold tried by :func:`_integral_at`; the search stops within
    ``FAIR_SEARCH_TOLERANCE`` of the bound's relative scale, after ``FAIR_MAX_STEPS`` steps or
    at the time limit. Only proven facts are reported as such: the worst score is optimal
    when it reaches the LP bound; otherwise both are given."""
    started = _clock()
    usable = np.flatnonzero(~p.conflicted & (p.capacity[p.pair_expert] > 0))
    n_a = len(p.app_ids)
    scale = float(np.abs(p.affinity[usable]).max()) if len(usable) else 1.0
    scale = scale or 1.0
    eq, score, load = _fair_model(p, usable, scale)
    m = _FairModel(p, usable, scale, eq, score, load)
    best_x = optimal.chosen[usable].astype(np.float64)
    best_min = float(optimal.app_score.min())
    t_lp = max(_lp_max_min(m, best_min), best_min)
    best_bound: float | None = None
    hi = t_lp
    threshold = t_lp
    steps = 0
    while steps < FAIR_MAX_STEPS:
        steps += 1
        left = time_limit - (_clock() - started)
        if left <= 0:
            break
        x, bound = _integral_at(m, threshold, left)
        if x is not None:
            s = m.scores(x)
            if float(s.min()) >= best_min - 1e-12:
                best_x, best_min, best_bound = x, float(s.min()), bound
        else:
            hi = threshold
        if hi - best_min <= FAIR_SEARCH_TOLERANCE * max(abs(t_lp), 1e-12) or best_min >= hi:
            break
        threshold = (best_min + hi) / 2
    mip_bound = t_lp
    left = time_limit - (_clock() - started)
    if best_min < t_lp - 1e-9 * max(1.0, abs(t_lp)) and m.n_x <= FAIR_EXACT_PAIRS and left > 0:
        # small problem: settle the max-min exactly by branch and cut
        found, mip_bound = _mip_max_min(m, best_min, left)
        if found is not None and found > best_min + 1e-12:
            x, bound = _integral_at(m, found, left)
            if x is not None and float(m.scores(x).min()) >= best_min:
                best_x, best_min, best_bound = x, float(m.scores(x).min()), bound
    left = time_limit - (_clock() - started)
    if m.n_x <= FAIR_EXACT_PAIRS and left > 0:
        # and the total at that worst score exactly
        x, bound = _mip_max_total(m, best_min, left)
        if x is not None and float(m.scores(x).min()) >= best_min - 1e-9 * max(1.0, abs(best_min)) \
                and float(p.affinity[usable] @ x) >= float(p.affinity[usable] @ best_x) - 1e-12:
            best_x = x
        if bound is not None:
            best_bound = bound if best_bound is None else min(best_bound, bound)
    if best_bound is None:  # the optimal assignment itself is the fair one found
        _, best_bound = _integral_at(m, best_min, time_limit)
    chosen = np.zeros(len(p.pair_app), dtype=bool)
    chosen[usable[best_x > 0.5]] = True
    _check_feasible(p, chosen)
    app_score = np.bincount(p.pair_app[chosen], weights=p.affinity[chosen],
                            minlength=n_a).astype(np.float64)
    worst = float(app_score.min())
    total = float(p.affinity[chosen].sum())
    tol = 1e-9 * max(1.0, abs(t_lp))
    proven_min = worst >= min(t_lp, mip_bound) - tol
    proven_total = best_bound is not None and total >= best_bound - 1e-7 * max(1.0, abs(total))
    status = "optimal" if proven_min and proven_total else "feasible"
    solver = (f"fair: LP bound {t_lp:.6f} (HiGHS interior point), worst score {worst:.6f} "
              f"{'proven optimal' if proven_min else 'below bound'}; total "
              f"{'proven optimal' if proven_total else 'within LP bound'} at that threshold "
              f"(HiGHS simplex + branch and cut); {steps} threshold steps")
    bounds: dict[str, float | None] = {
        "lp_bound_worst": t_lp, "mip_bound_worst": min(t_lp, mip_bound),
        "integral_worst": worst,
        "worst_gap_pct": 100.0 * (t_lp - worst) / abs(t_lp) if t_lp else 0.0,
        "optimal_total": optimal.total, "optimal_worst": float(optimal.app_score.min()),
        "total_bound_at_threshold": best_bound,
        "total_given_up_pct": (100.0 * (optimal.total - total) / abs(optimal.total)
                               if optimal.total else 0.0)}
    return AssignOutcome(status, chosen, total, app_score, _worst(app_score, p.app_ids),
                         solver, [], bounds)


def _clock() -> float:
    return time.monotonic()


def _meets(p: AssignProblem, usable: IntArray, x: FloatArray, threshold: float) -> bool:
    chosen = np.zeros(len(p.pair_app), dtype=bool)
    chosen[usable[x > 0.5]] = True
    try:
        _check_feasible(p, chosen)
    except SolverError:
        return False
    s = np.bincount(p.pair_app[chosen], weights=p.affinity[chosen], minlength=len(p.app_ids))
    return bool(s.min() >= threshold)


def _check_feasible(p: AssignProblem, chosen: BoolArray) -> None:
    per_app = np.bincount(p.pair_app[chosen], minlength=len(p.app_ids))
    per_exp = np.bincount(p.pair_expert[chosen], minlength=len(p.expert_ids))
    if (np.any(per_app != p.k) or np.any(per_exp > p.capacity)
            or np.any(chosen & p.conflicted)):
        raise SolverError("求解结果不满足约束，未保存", "The solver's result breaks a constraint")


def assign(p: AssignProblem, *, fair: bool = False, time_limit: float = 50.0) -> AssignOutcome:
    """The optimal (or fair, see module docstring) assignment, or the diagnosis of why none
    exists (``status == "infeasible"``)."""
    outcome, _ = _optimal(p)
    if outcome.status == "infeasible" or not fair or not len(p.app_ids):
        return outcome
    return _fair(p, outcome, time_limit)


# --------------------------------------------------------------------------- conflicts
@dataclass(frozen=True)
class ExpertFacts:
    """What the conflict rules look at for one expert."""

    expert_id: int
    name: str
    affiliation: str  # as written, plus the registry institute's name when known
    region_code: str
    declared: Sequence[str]  # organisation names / credit codes the expert declared
    collaborations: Sequence[tuple[str, int]]  # (organisation or person, year)


@dataclass(frozen=True)
class SubjectFacts:
    subject_key: int
    party_names: Sequence[str]
    party_regions: Sequence[str]
    named_people: Sequence[str]


def _norm(text: str) -> str:
    return "".join(text.split()).lower()


def find_conflicts(subjects: Sequence[SubjectFacts], experts: Sequence[ExpertFacts], *,
                   same_organisation: bool, named_people: bool, declared: bool,
                   collaboration_years: int, same_region: bool, year: int
                   ) -> list[tuple[int, int, str, str]]:
    """Every (subject key, expert id, rule, reason) the rules find. Organisation names are
    compared without spaces and case; a person is named when the expert's name is listed."""
    out: list[tuple[int, int, str, str]] = []
    for s in subjects:
        parties = {_norm(n): n for n in s.party_names if n}
        people = {_norm(n) for n in s.named_people if n}
        regions = {r for r in s.party_regions if r}
        for e in experts:
            aff = _norm(e.affiliation)
            if same_organisation and aff and aff in parties:
                out.append((s.subject_key, e.expert_id, "same_org",
                            f"与申请单位同单位：{parties[aff]}"))
            if named_people and _norm(e.name) in people:
                out.append((s.subject_key, e.expert_id, "named",
                            f"申请书列为合作者/合作方：{e.name}"))
            if declared:
                hits = [parties[_norm(d)] for d in e.declared if _norm(d) in parties]
                if hits:
                    out.append((s.subject_key, e.expert_id, "declared",
                                f"专家申报的回避单位：{hits[0]}"))
            if collaboration_years:
                recent = [n for n, y in e.collaborations
                          if _norm(n) in parties and y >= year - collaboration_years]
                if recent:
                    out.append((s.subject_key, e.expert_id, "collaboration",
                                f"近 {collaboration_years} 年内与 {recent[0]} 合作"))
            if same_region and e.region_code and e.region_code in regions:
                out.append((s.subject_key, e.expert_id, "same_region",
                            f"与申请单位同地区：{e.region_code}"))
    return out


def best_alternate(candidates: Sequence[tuple[int, float]], assigned: set[int],
                   conflicted: set[int], free: dict[int, int]) -> tuple[int, float] | None:
    """The repair after a conflict declared post-assignment: the best-affinity candidate
    not already on the subject, not conflicted and with load left (ties: lower expert id).
    Only the withdrawn seat changes, so no other assignment is disturbed."""
    ok = [(e, a) for e, a in candidates
          if e not in assigned and e not in conflicted and free.get(e, 0) > 0]
    if not ok:
        return None
    return min(ok, key=lambda t: (-t[1], t[0]))


# --------------------------------------------------------------------------- scoring
def weighted_total(criteria: Sequence[tuple[str, float, float, float]],
                   scores: dict[str, float]) -> Decimal:
    """Weighted total on a 0–100 scale: each criterion (key, weight, min, max) rescaled to
    0–100 then weighted. Every criterion is required (missing is not zero)."""
    unknown = set(scores) - {c[0] for c in criteria}
    if unknown:
        raise InvalidInput(f"评分项不在评分表中：{'、'.join(sorted(unknown))}",
                           f"Unknown criteria: {', '.join(sorted(unknown))}")
    total = 0.0
    for key, weight, lo, hi in criteria:
        if key not in scores:
            raise InvalidInput(f"评分项“{key}”未打分（缺失不等于 0）",
                               f"Criterion {key!r} has no score (missing is not zero)")
        v = float(scores[key])
        if not math.isfinite(v) or not lo <= v <= hi:
            raise InvalidInput(f"评分项“{key}”的分数 {v:g} 超出 {lo:g}–{hi:g}",
                               f"Criterion {key!r}: {v:g} outside {lo:g}–{hi:g}")
        total += weight * (v - lo) / (hi - lo) * 100.0
    return Decimal(str(round(total, 4)))


@dataclass(frozen=True)
class Aggregate:
    subject: object
    score: float | None  # None: no review yet (missing, not zero)
    reviews: int
    spread: float | None  # max − min of the raw totals
    flagged: bool


def aggregate(reviews: Sequence[tuple[object, object, float]], *, normalise: bool, trim: int,
              spread: float, min_reviews: int = 3) -> dict[object, Aggregate]:
    """Per subject: the (trimmed) mean of its reviews. ``reviews``: (subject, reviewer,
    total). With ``normalise`` the totals of each reviewer with at least ``min_reviews``
    reviews and some variation become z-scores, mapped back onto the
    pooled scale (pooled mean + pooled sd × z), so scores stay readable as 0–100. ``trim``
    drops the ``trim`` highest and lowest values when at least 2·trim + 2 remain.
    ``flagged`` when the raw totals' max − min exceeds ``spread``."""
    if not reviews:
        return {}
    raw = np.array([r[2] for r in reviews], dtype=np.float64)
    values = raw.copy()
    if normalise:
        pooled_mean = float(raw.mean())
        pooled_sd = float(raw.std()) if len(raw) > 1 else 0.0
        by_reviewer: dict[object, list[int]] = {}
        for i, (_, who, _) in enumerate(reviews):
            by_reviewer.setdefault(who, []).append(i)
        for idx in by_reviewer.values():
            v = raw[idx]
            sd = float(v.std())
            if len(idx) >= max(min_reviews, 2) and sd > 0:
                # too few reviews say nothing about a reviewer's strictness: kept raw
                values[idx] = pooled_mean + pooled_sd * (v - v.mean()) / sd
    out: dict[object, Aggregate] = {}
    groups: dict[object, list[int]] = {}
    for i, (subject, _, _) in enumerate(reviews):
        groups.setdefault(subject, []).append(i)
    for subject, idx in groups.items():
        v = np.sort(values[idx])
        if trim and len(v) >= 2 * trim + 2:
            v = v[trim:-trim]
        r = raw[idx]
        width = float(r.max() - r.min())
        out[subject] = Aggregate(subject, float(v.mean()), len(idx), width, width > spread)
    return out


@dataclass(frozen=True)
class Funded:
    subject_id: int
    rank: int
    score: float | None
    funded: bool
    amount: Decimal | None
    note: str


def fund_in_order(items: Sequence[tuple[int, float | None, Decimal | None]],
                  budget: Decimal | None, fund_count: int | None) -> tuple[list[Funded], str]:
    """Rank by score (highest first; equal scores by subject id, said in the note; subjects
    without a score last and never funded) and fund in order while the budget (and the
    number of places, for 赛马) allows; the first subject that does not fit is the cut-off —
    nobody below it is funded, so the order is never jumped. Returns the list and a Chinese
    summary of the cut-off and ties."""
    order = sorted(items, key=lambda t: (t[1] is None, -(t[1] or 0.0), t[0]))
    scores = [t[1] for t in order if t[1] is not None]
    tied = {s for s in scores if scores.count(s) > 1}
    left = budget
    out: list[Funded] = []
    cut: str = ""
    stopped = False
    for rank, (sid, score, amount) in enumerate(order, start=1):
        note = []
        if score is not None and score in tied:
            note.append("与他人同分，按申请编号排序")
        funded = False
        if score is None:
            note.append("无评审分数，不予资助")
        elif stopped:
            note.append("位于截止线以下")
        elif fund_count is not None and sum(1 for f in out if f.funded) >= fund_count:
            stopped = True
            cut = cut or f"名额 {fund_count} 个已满，第 {rank} 名起不予资助"
            note.append("名额已满")
        elif left is not None and amount is not None and amount > left:
            stopped = True
            cut = cut or (f"第 {rank} 名（申请 {sid}）申请 {amount} 元，超过剩余预算 {left} 元，"
                          f"为截止线")
            note.append(f"剩余预算 {left} 元不足")
        else:
            funded = True
            if left is not None and amount is not None:
                left -= amount
            note.append("在预算内按名次资助")
        out.append(Funded(sid, rank, score, funded, amount if funded else None, "；".join(note)))
    n = sum(1 for f in out if f.funded)
    summary = f"按得分排序资助 {n} 项" + (f"；{cut}" if cut else "；全部在预算内")
    if tied:
        summary += "；同分者按申请编号排序"
    if left is not None:
        summary += f"；剩余预算 {left} 元"
    return out, summary
