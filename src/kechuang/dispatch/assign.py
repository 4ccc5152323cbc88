"""The generic optimal assignment engine: commissioners → service requests today, reviewers →
applications for expert review later (``programs.md``).

Problem. Tasks ``t`` each need ``need_t`` people (1 for a commissioner request, k reviewers
for an application); people ``p`` serve at most ``capacity_p`` tasks; a sparse list of
allowed (task, person) pairs carries a fit score; forbidden pairs (conflicts of interest) are
removed whatever their fit. A person fills at most one seat of a given task.

Priority (documented, lexicographic): first maximise the number of filled seats — for
one-person tasks that is the number of tasks served — then, among all assignments filling
that many seats, maximise the total fit. A team task may therefore be served partially; its
missing seats are reported with the constraint that binds.

Method and proof of optimality.
1. Phase 1, the number of seats: a maximum flow (SciPy's ``maximum_flow``, exact integer
   arithmetic) in the network source → task (capacity need) → person (capacity 1 per allowed
   pair) → sink (capacity = the person's capacity). Its value S* is the most seats any
   assignment fills; the residual graph's source side is a minimum cut, from which the
   Hall-type explanations of missing seats are read (see :func:`_explain`).
2. Phase 2, the fit: the minimum-cost flow of value exactly S* in the same network (cost
   −fit on pair arcs), solved as a linear programme by HiGHS's dual simplex. The constraint
   matrix is the node–arc incidence matrix of a directed graph, which is totally unimodular,
   so every vertex of the LP's polytope is integral; the simplex returns a vertex, and the
   engine checks that each arc's flow is within 1e-6 of an integer before rounding.
3. Certificate: from HiGHS's duals (node potentials y) the engine recomputes, on its own,
   the reduced costs d = c − Aᵀy and the weak-duality bound bᵀy + Σ u·min(0, d), which
   bounds every feasible flow of value S*, fractional or not. The integral flow's cost equals
   the bound up to ``gap`` (reported; ≈ 1e-9 relative), which proves it optimal; the engine
   refuses a result whose gap exceeds the tolerance. Tests compare with brute force.

People with capacity 0 are never assigned (their sink arc has capacity 0); they are still
listed as candidates in explanations ("候选人容量为 0").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import (
    NegativeCycleError,
    bellman_ford,
    breadth_first_order,
    connected_components,
    maximum_flow,
)

from kechuang.kit.errors import InvalidInput, KechuangError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: relative tolerance of the optimality certificate (duality gap / scale of the objective)
GAP_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Task:
    id: str
    need: int = 1
    label: str = ""


@dataclass(frozen=True)
class Person:
    id: str
    capacity: int = 1
    label: str = ""


@dataclass(frozen=True)
class Pair:
    task_id: str
    person_id: str
    fit: float


@dataclass(frozen=True)
class Nouns:
    """How explanations name tasks and people (requests/commissioners, applications/experts)."""

    task_zh: str = "需求"
    person_zh: str = "特派员"
    task_en: str = "request"
    person_en: str = "commissioner"


REVIEW_NOUNS = Nouns("申请", "评审专家", "application", "reviewer")


@dataclass(frozen=True)
class Explanation:
    """Why seats stay empty. ``kind``: no_candidates, all_conflicted, zero_capacity,
    total_capacity (global shortage), hall (a set of tasks sharing too few candidates)."""

    kind: str
    task_ids: list[str]
    person_ids: list[str]
    demand: int  # seats the tasks need
    supply: int  # seats their candidates can give them at most
    missing: int  # seats left empty among these tasks
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Alternate:
    person_id: str
    fit: float
    free: int  # capacity left after the assignment


@dataclass(frozen=True)
class Proof:
    """The optimality certificate (see module docstring)."""

    method: str
    seats_upper_bound: int  # capacity of the minimum cut = max flow value
    primal_fit: float
    dual_bound: float  # upper bound on the total fit of any assignment filling S* seats
    gap: float
    integral: bool
    solver_status: str
    negative_cycle_free: bool | None = None  # the independent check, when asked for

    @property
    def optimal(self) -> bool:
        if self.negative_cycle_free is False:
            return False
        return self.integral and self.gap <= GAP_TOLERANCE * max(1.0, abs(self.primal_fit),
                                                                 abs(self.dual_bound))


@dataclass
class Result:
    assignments: list[Pair]
    total_fit: float
    seats_needed: int
    seats_filled: int
    missing: dict[str, int]  # task id → seats left empty
    explanations: list[Explanation]
    alternates: dict[str, list[Alternate]]
    proof: Proof
    load: dict[str, int] = field(default_factory=dict)  # person id → tasks assigned

    def assigned_to(self, task_id: str) -> list[Pair]:
        return [a for a in self.assignments if a.task_id == task_id]

    @property
    def tasks_fully_served(self) -> int:
        return sum(1 for m in self.missing.values() if m == 0)


class AssignmentError(KechuangError):
    status_code = 500
    code = "assignment_failed"


def _index(ids: Iterable[str], what: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, key in enumerate(ids):
        if not key:
            raise InvalidInput(f"{what}编号不能为空（第 {i + 1} 个）",
                               f"{what} id must not be empty (item {i + 1})")
        if key in out:
            raise InvalidInput(f"{what}编号重复：{key}", f"Duplicate {what} id: {key}")
        out[key] = i
    return out


def solve(tasks: Sequence[Task], people: Sequence[Person], pairs: Iterable[Pair],
          forbidden: Iterable[tuple[str, str]] = (), *, alternates: int = 3,
          nouns: Nouns | None = None, verify: bool = False) -> Result:
    """The optimal assignment (see module docstring), alternates and explanations.

    ``verify`` adds a second, solver-independent optimality check: Bellman–Ford finds no
    negative-cost cycle in the residual network of the final flow (the classical criterion:
    a flow of given value has minimum cost iff its residual network has no negative cycle).
    Its verdict is ``Proof.negative_cycle_free``; it costs O(nodes × arcs) at worst."""
    nouns = nouns or Nouns()
    t_index = _index((t.id for t in tasks), nouns.task_zh)
    p_index = _index((p.id for p in people), nouns.person_zh)
    for t in tasks:
        if t.need < 0:
            raise InvalidInput(f"{nouns.task_zh} {t.id} 的所需人数不能为负：{t.need}",
                               f"{nouns.task_en} {t.id}: negative need {t.need}")
    for p in people:
        if p.capacity < 0:
            raise InvalidInput(f"{nouns.person_zh} {p.id} 的容量不能为负：{p.capacity}",
                               f"{nouns.person_en} {p.id}: negative capacity {p.capacity}")
    banned = set()
    for tid, pid in forbidden:
        if tid in t_index and pid in p_index:
            banned.add((t_index[tid], p_index[pid]))
    rows: list[int] = []
    cols: list[int] = []
    fits: list[float] = []
    seen: set[tuple[int, int]] = set()
    candidates: dict[int, set[int]] = {}  # allowed before conflicts, for explanations
    for pair in pairs:
        ti = t_index.get(pair.task_id)
        pi = p_index.get(pair.person_id)
        if ti is None:
            raise InvalidInput(f"候选对引用了不存在的{nouns.task_zh}：{pair.task_id}",
                               f"A pair names an unknown {nouns.task_en}: {pair.task_id}")
        if pi is None:
            raise InvalidInput(f"候选对引用了不存在的{nouns.person_zh}：{pair.person_id}",
                               f"A pair names an unknown {nouns.person_en}: {pair.person_id}")
        if (ti, pi) in seen:
            raise InvalidInput(f"候选对重复：{pair.task_id} / {pair.person_id}",
                               f"Duplicate pair: {pair.task_id} / {pair.person_id}")
        if not math.isfinite(pair.fit):
            raise InvalidInput(f"匹配度不是有限数：{pair.task_id} / {pair.person_id}",
                               f"Fit is not finite: {pair.task_id} / {pair.person_id}")
        seen.add((ti, pi))
        candidates.setdefault(ti, set()).add(pi)
        if (ti, pi) in banned:
            continue
        rows.append(ti)
        cols.append(pi)
        fits.append(float(pair.fit))
    need = np.array([t.need for t in tasks], dtype=np.int64)
    cap = np.array([p.capacity for p in people], dtype=np.int64)
    e_task = np.asarray(rows, dtype=np.int64)
    e_person = np.asarray(cols, dtype=np.int64)
    e_fit = np.asarray(fits, dtype=np.float64)

    n_t, n_p = len(tasks), len(people)
    flow_value, pair_flow, reach = _max_flow(need, cap, e_task, e_person)
    if flow_value == 0 or len(e_fit) == 0:
        chosen = np.zeros(len(e_fit), dtype=bool)
        proof = Proof("max-flow (nothing to assign)", flow_value, 0.0, 0.0, 0.0, True, "trivial")
    else:
        chosen, proof = _min_cost_flow(need, cap, e_task, e_person, e_fit, flow_value)
    if verify:
        proof = replace(proof, negative_cycle_free=_no_negative_cycle(
            need, cap, e_task, e_person, e_fit, chosen))
    if not proof.optimal:
        raise AssignmentError(
            f"求解器未能证明最优（对偶间隙 {proof.gap:.3g}），未保存结果",
            f"The solver could not prove optimality (gap {proof.gap:.3g}); nothing saved")
    del pair_flow

    filled = np.bincount(e_task[chosen], minlength=n_t)
    load = np.bincount(e_person[chosen], minlength=n_p)
    assignments = [Pair(tasks[int(t)].id, people[int(p)].id, float(f))
                   for t, p, f in zip(e_task[chosen], e_person[chosen], e_fit[chosen],
                                      strict=True)]
    assignments.sort(key=lambda a: (t_index[a.task_id], -a.fit, a.person_id))
    missing = {t.id: int(need[i] - filled[i]) for i, t in enumerate(tasks)}
    explanations = _explain(tasks, people, need, cap, e_task, e_person, chosen, reach,
                            candidates, banned, nouns) if flow_value < need.sum() else []
    alts = _alternates(tasks, people, cap - load, e_task, e_person, e_fit, chosen, alternates)
    return Result(assignments=assignments, total_fit=float(e_fit[chosen].sum()),
                  seats_needed=int(need.sum()), seats_filled=int(filled.sum()), missing=missing,
                  explanations=explanations, alternates=alts, proof=proof,
                  load={people[i].id: int(n) for i, n in enumerate(load) if n})


# ------------------------------------------------------------------ phase 1: max flow
def _network(n_t: int, n_p: int, need: IntArray, cap: IntArray, e_task: IntArray,
             e_person: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Arcs (tail, head, capacity): source 0, tasks 1..T, people T+1..T+P, sink T+P+1;
    arcs ordered source→task, pair arcs, person→sink."""
    sink = n_t + n_p + 1
    tails = np.concatenate([np.zeros(n_t, dtype=np.int64), 1 + e_task, 1 + n_t + np.arange(n_p)])
    heads = np.concatenate([1 + np.arange(n_t), 1 + n_t + e_person,
                            np.full(n_p, sink, dtype=np.int64)])
    caps = np.concatenate([need, np.ones(len(e_task), dtype=np.int64), cap])
    return tails, heads, caps


def _max_flow(need: IntArray, cap: IntArray, e_task: IntArray,
              e_person: IntArray) -> tuple[int, IntArray, npt.NDArray[np.bool_]]:
    """Max-flow value, flow on each pair arc, and the source side of a minimum cut
    (nodes reachable from the source in the residual graph)."""
    n_t, n_p = len(need), len(cap)
    n = n_t + n_p + 2
    tails, heads, caps = _network(n_t, n_p, need, cap, e_task, e_person)
    graph = sparse.csr_matrix((caps.astype(np.int32), (tails, heads)), shape=(n, n))
    graph.sort_indices()
    res = maximum_flow(graph, 0, n - 1)
    flow = res.flow.tocsr()
    arc_flow = np.asarray(flow[tails, heads]).ravel().astype(np.int64)
    residual_fwd = caps - arc_flow
    r_tail = np.concatenate([tails[residual_fwd > 0], heads[arc_flow > 0]])
    r_head = np.concatenate([heads[residual_fwd > 0], tails[arc_flow > 0]])
    residual = sparse.csr_matrix((np.ones(len(r_tail)), (r_tail, r_head)), shape=(n, n))
    order = breadth_first_order(residual, 0, directed=True, return_predecessors=False)
    reach = np.zeros(n, dtype=bool)
    reach[order] = True
    return int(res.flow_value), arc_flow[n_t:n_t + len(e_task)], reach


# ------------------------------------------------------------------ phase 2: min-cost flow
def _min_cost_flow(need: IntArray, cap: IntArray, e_task: IntArray, e_person: IntArray,
                   e_fit: FloatArray, value: int) -> tuple[npt.NDArray[np.bool_], Proof]:
    n_t, n_p, n_e = len(need), len(cap), len(e_task)
    n = n_t + n_p + 2
    tails, heads, caps = _network(n_t, n_p, need, cap, e_task, e_person)
    m = len(tails)
    # costs scaled to |fit| ≤ 1: HiGHS's tolerances are absolute, so fits are told apart at a
    # resolution of about 1e-9 of the largest |fit| (documented in docs/dispatch.md)
    scale = float(np.abs(e_fit).max()) or 1.0
    cost = np.zeros(m)
    cost[n_t:n_t + n_e] = -e_fit / scale
    # node-arc incidence (out − in = supply); the sink's row is implied and dropped
    a = sparse.csr_matrix(
        (np.concatenate([np.ones(m), -np.ones(m)]),
         (np.concatenate([tails, heads]), np.concatenate([np.arange(m), np.arange(m)]))),
        shape=(n, m))[: n - 1]
    b = np.zeros(n - 1)
    b[0] = value
    upper = caps.astype(np.float64)
    res = linprog(cost, A_eq=a, b_eq=b, bounds=np.column_stack([np.zeros(m), upper]),
                  method="highs-ds", options={"dual_feasibility_tolerance": 1e-10,
                                             "primal_feasibility_tolerance": 1e-10})
    if res.status != 0 or res.x is None:
        raise AssignmentError(f"线性规划求解失败：{res.message}", f"LP failed: {res.message}")
    x = np.asarray(res.x)
    integral = bool(np.all(np.abs(x - np.round(x)) <= 1e-6))
    xi = np.round(x)
    # certificate, recomputed here from the duals alone (weak duality holds for any y)
    y = np.asarray(res.eqlin.marginals)
    d = cost - a.T @ y
    dual_bound_cost = float(b @ y + upper @ np.minimum(0.0, d))
    primal_cost = float(cost @ xi)
    # the rounded flow must itself be feasible
    feasible = bool(np.all(np.abs(a @ xi - b) <= 1e-9) and np.all(xi >= 0)
                    and np.all(xi <= upper))
    gap = (primal_cost - dual_bound_cost) * scale
    proof = Proof(method="max-flow + min-cost flow LP (HiGHS dual simplex, TU network matrix)",
                  seats_upper_bound=value, primal_fit=-primal_cost * scale,
                  dual_bound=-dual_bound_cost * scale, gap=max(gap, 0.0),
                  integral=integral and feasible,
                  solver_status=str(res.message))
    return xi[n_t:n_t + n_e] > 0.5, proof


def _no_negative_cycle(need: IntArray, cap: IntArray, e_task: IntArray, e_person: IntArray,
                       e_fit: FloatArray, chosen: npt.NDArray[np.bool_]) -> bool:
    """True when the residual network of the chosen flow has no negative-cost cycle.

    Flow on source→task and person→sink arcs follows from the pair arcs. Costs are the fits
    on a 1e-6 grid made integral (fits are given with six decimals by ``fit.py``), so the
    test is exact up to that grid; a super-source with zero-cost arcs to every node makes
    every cycle reachable."""
    n_t, n_p = len(need), len(cap)
    n = n_t + n_p + 2
    tails, heads, caps = _network(n_t, n_p, need, cap, e_task, e_person)
    flow = np.concatenate([np.bincount(e_task[chosen], minlength=n_t),
                           chosen.astype(np.int64),
                           np.bincount(e_person[chosen], minlength=n_p)])
    cost = np.zeros(len(tails))
    cost[n_t:n_t + len(e_task)] = -np.round(e_fit * 1e6)
    fwd = flow < caps
    back = flow > 0
    src = np.concatenate([tails[fwd], heads[back], np.full(n, n)])
    dst = np.concatenate([heads[fwd], tails[back], np.arange(n)])
    w = np.concatenate([cost[fwd], -cost[back], np.zeros(n)])
    # parallel residual arcs (u→v forward and a backward v→u of another arc) never share
    # both endpoints in this layered network, so the matrix holds each arc once
    graph = sparse.csr_matrix((w, (src, dst)), shape=(n + 1, n + 1))
    try:
        bellman_ford(graph, directed=True, indices=n)
    except NegativeCycleError:
        return False
    return True


# ------------------------------------------------------------------ explanations
def _names(ids: Sequence[str], limit: int = 8) -> str:
    shown = "、".join(ids[:limit])
    return shown + (f" 等 {len(ids)} 个" if len(ids) > limit else "")


def _names_en(ids: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _shown(item: Task | Person) -> str:
    return f"{item.label}（#{item.id}）" if item.label else f"#{item.id}"


def _explain(tasks: Sequence[Task], people: Sequence[Person], need: IntArray, cap: IntArray,
             e_task: IntArray, e_person: IntArray, chosen: npt.NDArray[np.bool_],
             reach: npt.NDArray[np.bool_], candidates: dict[int, set[int]],
             banned: set[tuple[int, int]], nouns: Nouns) -> list[Explanation]:
    """Which constraint binds for the missing seats, read from the minimum cut.

    Let R be the source side of the min cut. Every task with an empty seat is in R. Split R's
    tasks and people into connected components (through allowed pairs); for a component C
    the max-flow/min-cut equality gives, exactly,
    ``missing(C) = need(C) − capacity(people of C) − crossing(C)``, where ``crossing`` counts
    pairs from C's tasks to people outside R (each already fills one seat: a person fills at
    most one seat per task). That is the Hall-type deficiency of C's tasks.
    """
    n_t, n_p = len(tasks), len(people)
    t_nodes = reach[1:1 + n_t]
    p_nodes = reach[1 + n_t:1 + n_t + n_p]
    out: list[Explanation] = []
    total_need, total_cap = int(need.sum()), int(cap.sum())
    filled = np.bincount(e_task[chosen], minlength=n_t)
    if total_cap < total_need:
        short = [tasks[i].id for i in range(n_t) if filled[i] < need[i]]
        out.append(Explanation(
            "total_capacity", short, [], total_need, total_cap, total_need - int(filled.sum()),
            f"{nouns.person_zh}总容量 {total_cap} 少于{nouns.task_zh}所需 {total_need}"
            f"（最多只能满足 {total_cap} 个名额）",
            f"Total {nouns.person_en} capacity {total_cap} is less than the {total_need} seats "
            f"the {nouns.task_en}s need"))
    # components of R restricted to allowed pairs inside R
    inside = t_nodes[e_task] & p_nodes[e_person]
    g = sparse.coo_matrix((np.ones(int(inside.sum())),
                           (e_task[inside], n_t + e_person[inside])), shape=(n_t + n_p,) * 2)
    _, label = connected_components(g, directed=False)
    crossing = t_nodes[e_task] & ~p_nodes[e_person]
    groups: dict[int, tuple[list[int], list[int]]] = {}
    for i in np.flatnonzero(t_nodes):
        groups.setdefault(int(label[i]), ([], []))[0].append(int(i))
    for j in np.flatnonzero(p_nodes):
        if int(label[n_t + j]) in groups:
            groups[int(label[n_t + j])][1].append(int(j))
    cross_count = np.bincount(e_task[crossing], minlength=n_t)
    for t_list, p_list in groups.values():
        demand = int(need[t_list].sum())
        supply = int(cap[p_list].sum()) + int(cross_count[t_list].sum())
        missing = demand - supply
        if missing <= 0:
            continue
        t_ids = [tasks[i].id for i in t_list]
        p_ids = [people[j].id for j in p_list]
        if total_cap < total_need and set(p_list) >= set(np.flatnonzero(cap > 0).tolist()):
            continue  # the global shortage above already says it
        if len(t_list) == 1 and not cap[p_list].sum() and cross_count[t_list[0]] == 0:
            ti = t_list[0]
            cands = candidates.get(ti, set())
            tid = tasks[ti].id
            if not cands:
                kind = "no_candidates"
                zh = f"{nouns.task_zh} #{tid} 没有任何候选{nouns.person_zh}（专长或地区均不匹配）"
                en = f"{nouns.task_en} #{tid} has no candidate {nouns.person_en} at all"
            elif all((ti, pj) in banned for pj in cands):
                kind = "all_conflicted"
                zh = f"{nouns.task_zh} #{tid} 的所有候选{nouns.person_zh}均有利益冲突"
                en = f"Every candidate {nouns.person_en} of {nouns.task_en} #{tid} has a conflict"
            else:
                kind = "zero_capacity"
                zh = (f"{nouns.task_zh} #{tid} 的候选{nouns.person_zh}或有利益冲突，"
                      f"或容量为 0")
                en = (f"The candidates of {nouns.task_en} #{tid} are conflicted or have "
                      f"zero capacity")
            out.append(Explanation(kind, [tid], [], demand, 0, missing, zh, en))
            continue
        t_shown = [f"#{i}" for i in t_ids]
        p_shown = [_shown(people[j]) for j in p_list]
        zh = (f"{nouns.task_zh} {_names(t_shown)} 共需 {demand} 名{nouns.person_zh}，"
              f"但它们的候选{nouns.person_zh} {_names(p_shown) or '（无）'} 的容量合计只有 "
              f"{int(cap[p_list].sum())}")
        en = (f"{nouns.task_en}s {_names_en(t_shown)} need {demand} {nouns.person_en}s but "
              f"their candidates {_names_en(p_shown) or '(none)'} have only "
              f"{int(cap[p_list].sum())} capacity")
        n_cross = int(cross_count[t_list].sum())
        if n_cross:
            zh += (f"，其余 {n_cross} 个名额已由其他候选人各填一次"
                   f"（同一人不能重复入选同一{nouns.task_zh}）")
            en += f"; {n_cross} more seats come from other candidates, once each"
        zh += f"，差 {missing} 名"
        en += f": {missing} short"
        out.append(Explanation("hall", t_ids, p_ids, demand, supply, missing, zh, en))
    return out


# ------------------------------------------------------------------ alternates
def _alternates(tasks: Sequence[Task], people: Sequence[Person], free: IntArray,
                e_task: IntArray, e_person: IntArray, e_fit: FloatArray,
                chosen: npt.NDArray[np.bool_], k: int) -> dict[str, list[Alternate]]:
    """For each task the next best ``k`` allowed people, not assigned to it, with capacity
    left after the assignment (for re-dispatch), best fit first (ties by person id order)."""
    out: dict[str, list[Alternate]] = {t.id: [] for t in tasks}
    if k <= 0 or not len(e_task):
        return out
    ok = ~chosen & (free[e_person] > 0)
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((e_person[idx], -e_fit[idx], e_task[idx]))]
    if not len(order):
        return out
    groups = e_task[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    for i in order[rank < k]:
        p = int(e_person[i])
        out[tasks[int(e_task[i])].id].append(Alternate(people[p].id, float(e_fit[i]),
                                                        int(free[p])))
    return out
