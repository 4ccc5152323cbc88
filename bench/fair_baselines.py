"""FairIR and FairFlow (Kobren, Saha, McCallum, "Paper Matching with Local Fairness
Constraints", KDD 2019, arXiv:1905.11924), written from the paper for the issue-12
comparison with ``kechuang review assign --fair`` (bench code, not part of the product).

Problem (as in the paper): reviewers ``r`` review at most ``u_r`` papers, paper ``p`` gets
exactly ``k_p`` reviewers, only allowed pairs may be used; a paper's *score* is the sum of
its reviewers' affinities. Both algorithms look for a large *makespan* ``T`` (every paper
scoring at least ``T``) while keeping the total affinity high.

FairIR — fair matching by iterative relaxation (paper, section 4.1):
1. Binary search (10 steps, ``T`` between 0 and ``max affinity × max k``, first at the top)
   for the largest ``T`` at which the LP relaxation of "maximise the total affinity subject
   to coverage, loads and every paper ≥ T" is feasible.
2. At that ``T``, iterative relaxation: solve the LP (a vertex, HiGHS dual simplex); fix
   every integral variable at its value; drop the makespan constraint of every paper with 2
   or 3 fractional assignments; if none was dropped, drop the load constraint of every
   reviewer with exactly 2 fractional assignments; solve again until the solution is
   integral. Dropped constraints are what the paper's guarantee pays with: a paper may end
   below ``T`` (by less than its largest affinity) and a reviewer above its load by one —
   the benchmark counts both.

FairFlow — the min-cost-flow heuristic (paper, section 4.2):
- Affinities are shifted to be non-negative (the minimum subtracted) and compared as
  integers ``int(-1 - C × a)`` in the flow networks, ``C = 10^4`` (``10^8`` for an arc that
  lifts a group-3 paper to the threshold), as the authors' implementation does.
- Start: the optimal assignment by min-cost flow (the "validifier" network from empty).
- For a threshold ``T``, split papers into G1 (score ≥ T), G2 (T − A ≤ score < T, A the
  largest shifted affinity) and G3 (score < T − A). Remove the lowest-affinity reviewer of
  every G3 paper; route, by min-cost flow, one reviewer from each G1 paper (the paper
  releases one of its reviewers), optionally through a G2 paper (a G2 paper takes a
  released reviewer and releases one of its own only when its score stays ≥ T − A), to a G3
  paper; then fill the empty seats by min-cost flow (validifier). Repeat while G3 shrinks.
- Binary search (10 steps, from ``T = max affinity × max k / 2``) keeps the current
  solution from step to step; success at ``T`` means G3 became empty and the worst score did
  not fall below the best seen. A last refinement runs at the best ``T`` found.

Min-cost flows are solved as linear programmes by HiGHS (dual simplex, a vertex of a totally
unimodular system: integral; checked), instead of OR-tools. Where the authors'
implementation would stop with an error because the improvement network cannot carry
``min(|G1|, |G3|)`` units, this one routes the maximum flow it can carry (min cost among
maximum flows) — documented in docs/benchmarks.md.

Usage::

    .venv/bin/python bench/fair_baselines.py midl --data DIR  # scores.npy, covs.npy, loads.npy

The MIDL 2018 instance is the one the FairIR/FairFlow authors publish with their code:
``data/midl/{scores,covs,loads}.npy`` of https://github.com/iesl/fair-matching (118 papers ×
177 reviewers). That repository carries no licence file, so the data is not shipped here:
download the three files into DIR.
    .venv/bin/python bench/fair_baselines.py chinaxiv          # conference-like instance

Each run solves the same instance with ``kechuang review assign`` (optimal), ``kechuang
review assign --fair``, FairFlow and FairIR and prints one table row per solver: worst-served
paper score, total affinity, share of the optimal total given up, load or coverage
violations, wall time.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import maximum_flow

from kechuang.matching.index import Document, LexicalIndex
from kechuang.review.service import AFFINITY_PARAMS

ROOT = Path(__file__).resolve().parents[1]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

INT_TOL = 1e-6


# --------------------------------------------------------------------------- instance
@dataclass
class Instance:
    """Dense reviewer × paper affinities (rows: reviewers, columns: papers, as the paper's
    data files), the allowed pairs, per-paper coverage and per-reviewer load."""

    name: str
    affinity: FloatArray  # (n_rev, n_pap)
    allowed: BoolArray  # (n_rev, n_pap)
    coverage: IntArray  # (n_pap,)
    loads: IntArray  # (n_rev,)
    note: str = ""

    @property
    def n_rev(self) -> int:
        return int(self.affinity.shape[0])

    @property
    def n_pap(self) -> int:
        return int(self.affinity.shape[1])


@dataclass
class Result:
    solver: str
    solution: FloatArray  # 0/1 (n_rev, n_pap)
    seconds: float
    detail: str = ""


def paper_scores(inst: Instance, x: FloatArray) -> FloatArray:
    return np.asarray((x * inst.affinity).sum(axis=0), dtype=np.float64)


# --------------------------------------------------------------------------- min-cost flow
def min_cost_flow(n_nodes: int, tail: IntArray, head: IntArray, cap: IntArray,
                  cost: FloatArray, source: int, sink: int, flow: int) -> IntArray:
    """The flow on every arc of a minimum-cost flow of value ``min(flow, max flow)`` from
    ``source`` to ``sink`` (integral: the LP's constraint matrix is an incidence matrix)."""
    n_arcs = len(tail)
    if n_arcs == 0 or flow <= 0:
        return np.zeros(n_arcs, dtype=np.int64)
    # the most the network can carry (exact integer max flow), at most ``flow``
    caps = sparse.csr_matrix((cap.astype(np.int32), (tail, head)), shape=(n_nodes, n_nodes))
    carry = int(maximum_flow(caps, source, sink).flow_value)
    value = min(flow, carry)
    if value <= 0:
        return np.zeros(n_arcs, dtype=np.int64)
    inc = sparse.csr_matrix(
        (np.r_[np.ones(n_arcs), -np.ones(n_arcs)], (np.r_[tail, head], np.r_[np.arange(n_arcs),
                                                                          np.arange(n_arcs)])),
        shape=(n_nodes, n_arcs))
    b = np.zeros(n_nodes)
    b[source] = value
    b[sink] = -value
    res = linprog(cost, A_eq=inc, b_eq=b, bounds=np.column_stack([np.zeros(n_arcs), cap]),
                  method="highs-ds")
    if res.status != 0:
        raise RuntimeError(f"min-cost flow failed: {res.message}")
    f = np.asarray(res.x)
    if np.max(np.abs(f - np.round(f))) > INT_TOL:
        raise RuntimeError("min-cost flow returned a fractional flow")
    return np.round(f).astype(np.int64)


# --------------------------------------------------------------------------- FairIR
class FairIR:
    """Iterative relaxation at the best LP-feasible makespan (module docstring)."""

    SEARCH_STEPS = 10

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        rows, cols = np.nonzero(inst.allowed)
        self.rev = rows.astype(np.int64)
        self.pap = cols.astype(np.int64)
        self.w = inst.affinity[rows, cols]
        n = len(self.w)
        ar = np.arange(n)
        self.cov = sparse.csr_matrix((np.ones(n), (self.pap, ar)), shape=(inst.n_pap, n))
        self.load = sparse.csr_matrix((np.ones(n), (self.rev, ar)), shape=(inst.n_rev, n))
        self.score = sparse.csr_matrix((self.w, (self.pap, ar)), shape=(inst.n_pap, n))
        self.lp_solves = 0
        self.dropped_makespan = 0
        self.dropped_load = 0
        self.fallbacks = 0

    def _lp(self, T: float, ms_rows: BoolArray, load_rows: BoolArray, lo: FloatArray,
            hi: FloatArray) -> FloatArray | None:
        self.lp_solves += 1
        A = sparse.vstack([self.load[load_rows], -self.score[ms_rows]]).tocsr()
        b = np.r_[self.inst.loads[load_rows].astype(np.float64),
                  np.full(int(ms_rows.sum()), -T)]
        res = linprog(-self.w, A_ub=A if A.shape[0] else None, b_ub=b if A.shape[0] else None,
                      A_eq=self.cov, b_eq=self.inst.coverage.astype(np.float64),
                      bounds=np.column_stack([lo, hi]), method="highs-ds")
        return np.asarray(res.x) if res.status == 0 else None

    def find_makespan(self) -> float | None:
        n = len(self.w)
        all_p = np.ones(self.inst.n_pap, dtype=bool)
        all_r = np.ones(self.inst.n_rev, dtype=bool)
        lo_b, hi_b = np.zeros(n), np.ones(n)
        mn, mx = 0.0, float(self.inst.affinity.max() * self.inst.coverage.max())
        ms, best = mx, None
        for _ in range(self.SEARCH_STEPS):
            if self._lp(ms, all_p, all_r, lo_b, hi_b) is None:
                mx = ms
                ms -= (ms - mn) / 2.0
            else:
                best, mn = ms, ms
                ms += (mx - ms) / 2.0
        return best

    def solve(self) -> tuple[FloatArray, float]:
        T = self.find_makespan()
        if T is None:  # even T = 0 is LP-infeasible (negative affinities): no makespan rows
            T = -np.inf
        n = len(self.w)
        lo, hi = np.zeros(n), np.ones(n)
        ms_rows = np.ones(self.inst.n_pap, dtype=bool) if np.isfinite(T) else np.zeros(
            self.inst.n_pap, dtype=bool)
        load_rows = np.ones(self.inst.n_rev, dtype=bool)
        while True:
            x = self._lp(T, ms_rows, load_rows, lo, hi)
            if x is None:
                raise RuntimeError("FairIR: LP infeasible during rounding")
            frac = (x > INT_TOL) & (x < 1 - INT_TOL)
            zero, one = x <= INT_TOL, x >= 1 - INT_TOL
            lo[one], hi[one] = 1.0, 1.0
            lo[zero], hi[zero] = 0.0, 0.0
            if not frac.any():
                break
            per_paper = np.bincount(self.pap[frac], minlength=self.inst.n_pap)
            drop = ms_rows & ((per_paper == 2) | (per_paper == 3))
            if drop.any():
                ms_rows &= ~drop
                self.dropped_makespan += int(drop.sum())
                continue
            per_rev = np.bincount(self.rev[frac], minlength=self.inst.n_rev)
            drop_r = load_rows & (per_rev == 2)
            if drop_r.any():
                load_rows &= ~drop_r
                self.dropped_load += int(drop_r.sum())
                continue
            # not covered by the paper's rule (a non-vertex or degenerate LP solution):
            # drop the makespan row of the paper with fewest fractional assignments
            self.fallbacks += 1
            cand = np.flatnonzero(ms_rows & (per_paper > 0))
            if not len(cand):
                raise RuntimeError("FairIR: fractional solution with nothing left to drop")
            ms_rows[cand[np.argmin(per_paper[cand])]] = False
        sol = np.zeros((self.inst.n_rev, self.inst.n_pap))
        sol[self.rev, self.pap] = np.round(x)
        return sol, float(T)


# --------------------------------------------------------------------------- FairFlow
class SeatsLeftEmpty(RuntimeError):
    pass


class FairFlow:
    """The min-cost-flow heuristic (module docstring)."""

    SEARCH_STEPS = 10
    BIG_C = 10_000
    BIGGER_C = BIG_C ** 2

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        a = inst.affinity.copy()
        a[~inst.allowed] = np.nan
        shift = float(np.nanmin(a))
        self.affs = inst.affinity - min(shift, 0.0)
        self.maxaff = float(np.nanmax(np.where(inst.allowed, self.affs, np.nan)))
        self.allowed = inst.allowed
        self.sol = np.zeros((inst.n_rev, inst.n_pap))
        self.makespan = 0.0
        self.flows = 0
        self.undone = 0

    # validifier: fill every paper's missing seats from the reviewers' spare load
    def validify(self) -> None:
        inst = self.inst
        rev_caps = inst.loads - self.sol.sum(axis=1).astype(np.int64)
        pap_caps = np.maximum(inst.coverage - self.sol.sum(axis=0).astype(np.int64), 0)
        need = int(pap_caps.sum())
        if need == 0:
            return
        n_r, n_p = inst.n_rev, inst.n_pap
        source, sink = n_r + n_p, n_r + n_p + 1
        rr, pp = np.nonzero(self.allowed & (self.sol == 0))
        tail = np.r_[np.full(n_r, source), rr, n_r + np.arange(n_p)]
        head = np.r_[np.arange(n_r), n_r + pp, np.full(n_p, sink)]
        cap = np.r_[rev_caps, np.ones(len(rr), dtype=np.int64), pap_caps]
        cost = np.r_[np.zeros(n_r), np.trunc(-1.0 - self.BIG_C * self.affs[rr, pp]),
                     np.zeros(n_p)]
        f = min_cost_flow(n_r + n_p + 2, tail, head, cap, cost, source, sink, need)
        self.flows += 1
        used = f[n_r:n_r + len(rr)] > 0
        if int(f[n_r:n_r + len(rr)].sum()) != need:
            raise SeatsLeftEmpty("FairFlow: the validifier cannot fill every seat")
        self.sol[rr[used], pp[used]] = 1.0

    def groups(self) -> tuple[IntArray, IntArray, IntArray]:
        s = (self.sol * self.affs).sum(axis=0)
        g1 = np.flatnonzero(s >= self.makespan)
        g3 = np.flatnonzero(s < self.makespan - self.maxaff)
        g2 = np.flatnonzero((s < self.makespan) & (s >= self.makespan - self.maxaff))
        return g1, g2, g3

    def improve_once(self) -> tuple[int, int]:
        inst = self.inst
        if self.sol.sum() != inst.coverage.sum():
            self.validify()
        g1, g2, g3 = self.groups()
        if not len(g1) or not len(g3):
            return len(g1), len(g3)
        old_g3 = len(g3)
        before = self.sol.copy()
        # unassign the lowest-affinity reviewer of every G3 paper
        masked = np.where(self.sol > 0, self.affs, np.inf)
        worst = np.argmin(masked[:, g3], axis=0)
        self.sol[worst, g3] = 0.0
        scores = (self.sol * self.affs).sum(axis=0)
        n_r, n_p = inst.n_rev, inst.n_pap
        source, sink = n_r + n_p, n_r + n_p + 1
        dummy = n_r + n_p + 2  # + paper index, for G2 papers
        tail: list[int] = []
        head: list[int] = []
        cost: list[float] = []
        for p in g1:
            tail.append(source), head.append(n_r + int(p)), cost.append(0.0)
        for p in g3:
            tail.append(n_r + int(p)), head.append(sink), cost.append(0.0)
        for p in g2:
            tail.append(dummy + int(p)), head.append(n_r + int(p)), cost.append(0.0)
        give: set[int] = set()
        added: set[int] = set()
        min_in = np.full(n_p, np.inf)
        revs, cols = np.nonzero(self.sol[:, g1])
        for r, c in zip(revs, cols, strict=True):
            r, p = int(r), int(g1[c])
            tail.append(n_r + p), head.append(r), cost.append(0.0)  # G1 paper releases r
            give.add(r)
            if r not in added:
                for p2 in g2:
                    if self.sol[r, p2] == 0 and self.allowed[r, p2]:
                        tail.append(r), head.append(dummy + int(p2)), cost.append(0.0)
                        min_in[p2] = min(min_in[p2], self.affs[r, p2])
                added.add(r)
        revs, cols = np.nonzero(self.sol[:, g2])
        for r, c in zip(revs, cols, strict=True):
            r, p = int(r), int(g2[c])
            bound = scores[p] + min_in[p] - self.affs[r, p]
            if np.isfinite(min_in[p]) and self.makespan - self.maxaff <= bound:
                tail.append(n_r + p), head.append(r), cost.append(0.0)
                give.add(r)
        lb = self.makespan - self.maxaff
        for r in sorted(give):
            for p3 in g3:
                if self.sol[r, p3] == 0 and self.allowed[r, p3]:
                    a = self.affs[r, p3]
                    c = self.BIGGER_C if a + scores[p3] >= lb else self.BIG_C
                    tail.append(r), head.append(n_r + int(p3)), cost.append(float(np.trunc(
                        -1.0 - c * a)))
        t = np.array(tail, dtype=np.int64)
        h = np.array(head, dtype=np.int64)
        f = min_cost_flow(dummy + n_p, t, h, np.ones(len(t), dtype=np.int64),
                          np.array(cost), source, sink, int(min(len(g1), len(g3))))
        self.flows += 1
        for arc in np.flatnonzero(f > 0):
            a, b = int(t[arc]), int(h[arc])
            if a == source or b == sink or a >= dummy:
                continue
            if b >= dummy:  # reviewer a joins G2 paper b - dummy
                self.sol[a, b - dummy] = 1.0
            elif b >= n_r:  # reviewer a joins G3 paper
                self.sol[a, b - n_r] = 1.0
            else:  # paper a - n_r releases reviewer b
                self.sol[b, a - n_r] = 0.0
        try:
            self.validify()
        except SeatsLeftEmpty:
            # only with sparse candidate lists (the paper's data are dense): a G3 paper lost
            # its worst reviewer and no reviewer with spare load may take the seat — the
            # step is undone, which ends the refinement at this threshold
            self.sol = before
            self.undone += 1
        g1, _, g3 = self.groups()
        if len(g3) > old_g3:
            raise RuntimeError("FairFlow: group 3 grew")
        return len(g1), len(g3)

    def _refine(self) -> tuple[int, int]:
        s1, s3 = self.improve_once()
        prev = (-1, -1)
        while s3 > 0 and prev != (s1, s3):
            prev = (s1, s3)
            s1, s3 = self.improve_once()
        return s1, s3

    def solve(self) -> tuple[FloatArray, float]:
        mn, mx = 0.0, self.maxaff * float(self.inst.coverage.max())
        ms = (mx - mn) / 2.0
        best, best_worst = None, 0.0
        for _ in range(self.SEARCH_STEPS):
            self.makespan = ms
            s1, s3 = self.improve_once()
            prev3 = -1
            while s3 > 0 and prev3 != s3:
                prev3 = s3
                s1, s3 = self.improve_once()
            worst = float((self.sol * self.affs).sum(axis=0).min())
            if s3 == 0 and worst >= best_worst:
                best, best_worst, mn = ms, worst, ms
                ms += (mx - ms) / 2.0
            else:
                mx = ms
                ms -= (ms - mn) / 2.0
        self.makespan = best if best is not None else 0.0
        self._refine()
        return self.sol.copy(), self.makespan + min(
            float(np.nanmin(np.where(self.allowed, self.inst.affinity, np.nan))), 0.0)


# --------------------------------------------------------------------------- ours
def write_affinity(inst: Instance, path: Path) -> None:
    rr, pp = np.nonzero(inst.allowed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["application_id", "expert_id", "affinity"])
        for r, p in zip(rr, pp, strict=True):
            w.writerow([f"P{p + 1}", f"R{r + 1}", repr(float(inst.affinity[r, p]))])


def run_ours(inst: Instance, affinity: Path, out: Path, *, fair: bool, k: int, load: int,
             time_limit: float) -> tuple[Result, dict[str, object]]:
    cmd = [str(ROOT / ".venv/bin/kechuang"), "review", "assign", "--affinity", str(affinity),
           "--k", str(k), "--max-load", str(load), "--out", str(out)]
    if fair:
        cmd += ["--fair", "--time-limit", str(time_limit)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}")
    summary = json.loads(proc.stdout)
    sol = np.zeros((inst.n_rev, inst.n_pap))
    with out.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            sol[int(row["expert_id"][1:]) - 1, int(row["application_id"][1:]) - 1] = 1.0
    name = "kechuang --fair" if fair else "kechuang (optimal)"
    return Result(name, sol, seconds, str(summary.get("solver_status", ""))), summary


# --------------------------------------------------------------------------- instances
def load_midl(data: Path) -> Instance:
    """The MIDL 2018 data of the authors' repository (iesl/fair-matching, data/midl):
    ``scores.npy`` reviewers × papers, ``covs.npy`` reviewers per paper, ``loads.npy``
    papers per reviewer. Every pair is allowed, as in the paper."""
    scores = np.load(data / "scores.npy")
    covs = np.load(data / "covs.npy").astype(np.int64)
    loads = np.load(data / "loads.npy").astype(np.int64)
    return Instance("MIDL 2018 (iesl/fair-matching data/midl)", scores.astype(np.float64),
                    np.ones(scores.shape, dtype=bool), covs, loads,
                    f"{scores.shape[1]} papers × {scores.shape[0]} reviewers, dense, "
                    f"k = {int(covs.max())}, load ≤ {int(loads.max())}")


def load_chinaxiv(n_papers: int, n_reviewers: int, per_reviewer: int, candidates: int,
                  k: int, load: int, seed: int) -> Instance:
    """A conference-like instance from the public ChinaXiv abstracts
    (/work/shared/data/chinaxiv/achievements.csv, CC BY 4.0): the papers are ``n_papers``
    abstracts; each reviewer's profile is ``per_reviewer`` other abstracts on one topic (the
    reviewer's "publications": a seed abstract and its nearest abstracts by keyword overlap);
    the affinity of (reviewer, paper) is the matcher's BM25F text affinity that
    ``kechuang.review.service.text_affinity`` gives the product (keywords as the title field,
    text as the body, normalised per paper so its best reviewer has 1), each paper listing
    its ``candidates`` best reviewers. Deterministic from ``seed``."""
    path = Path("/work/shared/data/chinaxiv/achievements.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    papers = [rows[i] for i in order[:n_papers]]
    rest = [rows[i] for i in order[n_papers:]]
    kw = [set(filter(None, (r.get("keywords") or "").replace("；", ";").replace(
        "，", ";").replace(",", ";").split(";"))) for r in rest]
    by_kw: dict[str, list[int]] = {}
    for i, ws in enumerate(kw):
        for w in ws:
            by_kw.setdefault(w.strip(), []).append(i)
    seeds = rng.choice(len(rest), size=n_reviewers, replace=False)
    docs = []
    for j, s in enumerate(seeds):
        near: dict[int, int] = {}
        for w in kw[int(s)]:
            for i in by_kw.get(w.strip(), [])[:200]:
                if i != s:
                    near[i] = near.get(i, 0) + 1
        picks = [int(s)] + [i for i, _ in sorted(near.items(), key=lambda t: (-t[1], t[0]))
                            ][:per_reviewer - 1]
        title = " ".join(w for i in picks for w in kw[i])
        text = " ".join((rest[i]["title"] + " " + rest[i]["abstract"]) for i in picks)
        docs.append(Document(str(j), title=title, text=text))
    index = LexicalIndex(AFFINITY_PARAMS)
    index.rebuild(docs)
    pos = {pid: i for i, pid in enumerate(index.row_ids())}
    perm = np.array([pos[str(j)] for j in range(n_reviewers)])
    aff = np.zeros((n_reviewers, n_papers))
    allowed = np.zeros((n_reviewers, n_papers), dtype=bool)
    ids = np.arange(n_reviewers)
    for p, row in enumerate(papers):
        raw = index.scores(f"{row['title']}\n{row['abstract']}"[:2000])[perm]
        best = float(raw.max())
        a = np.round(raw / best, 6) if best > 0 else np.zeros(n_reviewers)
        top = np.lexsort((ids, -a))[:candidates]
        aff[top, p] = a[top]
        allowed[top, p] = True
    return Instance(
        "ChinaXiv conference-like", aff, allowed, np.full(n_papers, k, dtype=np.int64),
        np.full(n_reviewers, load, dtype=np.int64),
        f"{n_papers} abstracts × {n_reviewers} reviewer profiles ({per_reviewer} abstracts "
        f"each), top {candidates} candidates per paper, k = {k}, load ≤ {load}, seed {seed}")


# --------------------------------------------------------------------------- report
def check(inst: Instance, x: FloatArray) -> str:
    problems = []
    cov = x.sum(axis=0)
    if np.any(cov != inst.coverage):
        problems.append(f"{int(np.sum(cov != inst.coverage))} papers without k reviewers")
    over = x.sum(axis=1) - inst.loads
    if np.any(over > 0):
        problems.append(f"{int(np.sum(over > 0))} reviewers over their load "
                        f"(by up to {int(over.max())})")
    if np.any((x > 0) & ~inst.allowed):
        problems.append("uses pairs that are not allowed")
    return "; ".join(problems) or "feasible"


def compare(inst: Instance, time_limit: float) -> list[dict[str, object]]:
    k, load = int(inst.coverage.max()), int(inst.loads.max())
    if np.any(inst.coverage != k) or np.any(inst.loads != load):
        raise SystemExit("kechuang review assign takes one k and one load for all")
    results: list[Result] = []
    extra: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        aff = Path(tmp) / "affinity.csv"
        write_affinity(inst, aff)
        opt, _ = run_ours(inst, aff, Path(tmp) / "opt.csv", fair=False, k=k, load=load,
                          time_limit=time_limit)
        results.append(opt)
        fair, summ = run_ours(inst, aff, Path(tmp) / "fair.csv", fair=True, k=k, load=load,
                              time_limit=time_limit)
        b = summ.get("bounds") or {}
        extra["kechuang --fair"] = (f"status {summ['status']}; LP bound on the worst "
                                    f"{b.get('lp_bound_worst', float('nan')):.6f}")
        results.append(fair)
    start = time.perf_counter()
    ff = FairFlow(inst)
    sol, T = ff.solve()
    results.append(Result("FairFlow", sol, time.perf_counter() - start,
                          f"threshold T = {T:.6f}; {ff.flows} min-cost flows; "
                          f"{ff.undone} steps undone"))
    start = time.perf_counter()
    fi = FairIR(inst)
    sol, T = fi.solve()
    results.append(Result("FairIR", sol, time.perf_counter() - start,
                          f"threshold T = {T:.6f}; {fi.lp_solves} LPs; makespan rows dropped "
                          f"{fi.dropped_makespan}, load rows dropped {fi.dropped_load}, "
                          f"fallback drops {fi.fallbacks}"))
    optimal_total = float((results[0].solution * inst.affinity).sum())
    rows = []
    for r in results:
        s = paper_scores(inst, r.solution)
        total = float((r.solution * inst.affinity).sum())
        rows.append({"solver": r.solver, "worst": float(s.min()), "total": total,
                     "given_up_pct": 100.0 * (optimal_total - total) / abs(optimal_total),
                     "mean": float(s.mean()), "p10": float(np.percentile(s, 10)),
                     "check": check(inst, r.solution), "seconds": r.seconds,
                     "detail": extra.get(r.solver, r.detail)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance", choices=["midl", "chinaxiv"])
    ap.add_argument("--data", type=Path, help="midl: the folder with scores/covs/loads.npy")
    ap.add_argument("--papers", type=int, default=600)
    ap.add_argument("--reviewers", type=int, default=240)
    ap.add_argument("--per-reviewer", type=int, default=5)
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--max-load", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--time-limit", type=float, default=50.0)
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    if args.instance == "midl":
        if args.data is None:
            ap.error("midl needs --data")
        inst = load_midl(args.data)
    else:
        inst = load_chinaxiv(args.papers, args.reviewers, args.per_reviewer, args.candidates,
                             args.k, args.max_load, args.seed)
    print(f"{inst.name}: {inst.note}")
    rows = compare(inst, args.time_limit)
    print("| solver | worst-served paper | total affinity | given up vs optimal | "
          "10th pct | constraints | time |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['solver']} | {r['worst']:.6f} | {r['total']:.4f} | "
              f"{r['given_up_pct']:.3f} % | {r['p10']:.4f} | {r['check']} | "
              f"{r['seconds']:.1f} s |")
    for r in rows:
        print(f"  {r['solver']}: {r['detail']}")
    if args.json:
        args.json.write_text(json.dumps({"instance": inst.name, "note": inst.note,
                                         "rows": rows}, ensure_ascii=False, indent=1),
                             encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
