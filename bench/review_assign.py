"""Benchmark of ``kechuang review assign`` (issue 12), through the CLI's file contract.

Synthetic stand-in (documented in docs/benchmarks.md): applications and experts get
topic mixtures over 40 topics (Dirichlet, seed fixed); the affinity of a pair is the cosine
of the two mixtures rounded to 6 decimals; each application lists its ``--candidates``
best experts (ties by expert number). This is the shape of the matcher's text affinity
(sparse top-c lists of similarities in [0, 1]).

    .venv/bin/python bench/review_assign.py optimal   # 5,000 × 2,000, k=3, L=10, top 50
    .venv/bin/python bench/review_assign.py fair      # 1,000 × 400, k=3, L=8, top 50

Prints the wall time of the whole command (reading, solving, writing) and its JSON summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_affinity(path: Path, n_apps: int, n_experts: int, candidates: int, seed: int,
                  topics: int = 40) -> None:
    rng = np.random.default_rng(seed)
    apps = rng.dirichlet(np.full(topics, 0.15), size=n_apps)
    exps = rng.dirichlet(np.full(topics, 0.15), size=n_experts)
    apps /= np.linalg.norm(apps, axis=1, keepdims=True)
    exps /= np.linalg.norm(exps, axis=1, keepdims=True)
    sim = np.round(apps @ exps.T, 6)
    order = np.argsort(-sim, axis=1, kind="stable")[:, :candidates]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("application_id,expert_id,affinity\n")
        for i in range(n_apps):
            row = order[i]
            fh.write("".join(f"A{i + 1},E{j + 1},{sim[i, j]:.6f}\n" for j in row))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["optimal", "fair"])
    ap.add_argument("--apps", type=int)
    ap.add_argument("--experts", type=int)
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--max-load", type=int)
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args()
    fair = args.mode == "fair"
    n_apps = args.apps or (1000 if fair else 5000)
    n_exp = args.experts or (400 if fair else 2000)
    load = args.max_load or (8 if fair else 10)
    with tempfile.TemporaryDirectory() as tmp:
        aff = Path(tmp) / "affinity.csv"
        make_affinity(aff, n_apps, n_exp, args.candidates, args.seed)
        cmd = [str(ROOT / ".venv/bin/kechuang"), "review", "assign", "--affinity", str(aff),
               "--k", str(args.k), "--max-load", str(load), "--out", str(Path(tmp) / "a.csv")]
        if fair:
            cmd.append("--fair")
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    print(f"{args.mode}: {n_apps} applications × {n_exp} experts, top {args.candidates}, "
          f"k={args.k}, L={load}: exit {proc.returncode}, {elapsed:.1f} s")
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
    summary = json.loads(proc.stdout) if proc.stdout.strip() else {}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    b = summary.get("bounds") or {}
    if fair and b.get("lp_bound_worst"):
        worst = summary["worst_affinity"]
        lp, total, opt = b["lp_bound_worst"], summary["total_affinity"], b["optimal_total"]
        mip = b.get("mip_bound_worst", lp)
        print(f"worst-served: {worst:.6f}; LP bound {lp:.6f} "
              f"(within {100 * (1 - worst / lp):.3f} %); MIP bound {mip:.6f}; "
              f"total {total:.4f} vs optimal {opt:.4f} ({100 * (1 - total / opt):.3f} % given up)")


if __name__ == "__main__":
    main()
