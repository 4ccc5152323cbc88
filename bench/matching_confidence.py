"""Calibration of the matcher's confidence (issue 11, item 5): when is the best candidate
a real match, and when is there nothing good to show?

On the ChinaXiv development set (``../shared/data/chinaxiv/bench_*``, CC BY 4.0: 12,100
abstracts, 1,500 queries with one relevant abstract each) every query is asked twice:
- **answerable**: the whole corpus; the best candidate is a real match when it is the
  relevant abstract;
- **unanswerable**: the relevant abstract removed from the candidates, so no good answer
  exists and whatever comes first is junk.
For each, the best candidate's confidence (``Explanation.coverage``: the idf-weighted share
of the query's words it contains) is recorded, and the script prints, for a range of
thresholds, the share of correct first candidates kept and of unanswerable queries
abstained on. ``src/kechuang/matching/rules/confidence.yaml`` takes the equal-error point.

nDCG@10 of the plain BM25F order is printed too: the matcher's order without boosts (boosts
go to strong candidates only), with the requirement words as stop words.

    .venv/bin/python bench/matching_confidence.py
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "chinaxiv"
sys.path.insert(0, str(ROOT / "src"))

from kechuang.matching import confidence  # noqa: E402
from kechuang.matching.engine import params  # noqa: E402
from kechuang.matching.index import Document, LexicalIndex  # noqa: E402


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def main() -> None:
    corpus = read("bench_corpus.csv")
    queries = read("bench_queries.csv")
    qrels: dict[str, set[str]] = {}
    for r in read("bench_qrels.csv"):
        qrels.setdefault(r["query_id"], set()).add(r["doc_id"])
    t0 = time.perf_counter()
    index = LexicalIndex(params())
    index.rebuild([Document(d["id"], d.get("title") or "", d["text"])
                   for d in corpus])
    built = time.perf_counter() - t0
    correct, unanswerable = [], []
    threshold_now = confidence.rule().strong_coverage
    ndcg_plain: list[float] = []
    for q in queries:
        relevant = qrels.get(q["id"], set())
        if not relevant:
            continue
        deep = index.top(index.scores(q["text"]), 10 + len(relevant))
        hits = deep[:1 + len(relevant)]
        if not hits:
            continue
        ndcg_plain.append(_ndcg10([h.doc_id for h in deep], relevant))
        if hits[0].doc_id in relevant:
            correct.append(index.explain(q["text"], hits[0].doc_id).coverage)
        junk = next((h for h in hits if h.doc_id not in relevant), None)
        if junk is not None:
            unanswerable.append(index.explain(q["text"], junk.doc_id).coverage)
    c, u = np.array(correct), np.array(unanswerable)
    table = []
    for threshold in np.arange(0.20, 0.81, 0.05):
        table.append({"threshold": round(float(threshold), 2),
                      "correct_kept": round(float((c >= threshold).mean()), 4),
                      "junk_abstained": round(float((u < threshold).mean()), 4)})
    keep95 = float(np.quantile(c, 0.05))
    print(json.dumps({
        "index_build_s": round(built, 1), "queries": len(queries),
        "correct_first": len(c), "unanswerable": len(u),
        "coverage_correct": {"p05": round(keep95, 4), "median": round(float(np.median(c)), 4)},
        "coverage_junk": {"median": round(float(np.median(u)), 4),
                          "p95": round(float(np.quantile(u, 0.95)), 4)},
        "threshold_keeping_95pct_correct": round(keep95, 4),
        "junk_abstained_at_that_threshold": round(float((u < keep95).mean()), 4),
        "ndcg10_plain": round(float(np.mean(ndcg_plain)), 4),
        "at_threshold": threshold_now,
        "table": table}, ensure_ascii=False, indent=1))


def _ndcg10(ranked: list[str], relevant: set[str]) -> float:
    gain = sum(1 / np.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in relevant)
    ideal = sum(1 / np.log2(i + 2) for i in range(min(10, len(relevant))))
    return float(gain / ideal)


if __name__ == "__main__":
    main()
