"""Benchmark: relevance and speed of the matcher on the ChinaXiv development set.

Data: ``../shared/data/chinaxiv/bench_{corpus,queries,qrels}.csv`` (ChinaXiv 中国科学院科技论文
预发布平台, CC BY 4.0): 12,100 abstracts without their first sentence, 1,500 queries that are
first sentences, one relevant document each. Goals (issue 5): nDCG@10 lexical >= 0.81,
hybrid >= 0.85. Figures are recorded in docs/bench-notes/matching.md.

Relevance is measured on the RUN.csv files written by the real command
(``kechuang match search … --mode lexical|hybrid``); timings (index build, query latency,
incremental add) are measured in-process with the same classes.

    .venv/bin/python bench/matching.py                 # lexical + hybrid (first hybrid run
                                                       # embeds 12,100 abstracts: ~30 min)
    .venv/bin/python bench/matching.py --modes lexical # lexical only (~1 min)
    .venv/bin/python bench/matching.py --ablation      # + the lexical ablation table
    .venv/bin/python bench/matching.py --baseline      # + plain jieba + bm25s for reference
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "chinaxiv"
KECHUANG = str(ROOT / ".venv" / "bin" / "kechuang")
sys.path.insert(0, str(ROOT / "src"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def evaluate(run: dict[str, list[str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    """recall@1, recall@10, MRR@10, nDCG@10 (binary relevance) averaged over qrels' queries."""
    r1 = r10 = mrr = ndcg = 0.0
    for qid, relevant in qrels.items():
        ranked = run.get(qid, [])[:10]
        hits = [i for i, d in enumerate(ranked) if d in relevant]
        r1 += len([d for d in ranked[:1] if d in relevant]) / len(relevant)
        r10 += len(hits) / len(relevant)
        mrr += 1 / (hits[0] + 1) if hits else 0.0
        dcg = sum(1 / math.log2(i + 2) for i in hits)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
        ndcg += dcg / ideal
    n = len(qrels)
    return {"recall@1": r1 / n, "recall@10": r10 / n, "MRR@10": mrr / n, "nDCG@10": ndcg / n}


def read_run(path: Path) -> dict[str, list[str]]:
    run: dict[str, list[tuple[int, str]]] = {}
    for row in read_csv(path):
        run.setdefault(row["query_id"], []).append((int(row["rank"]), row["doc_id"]))
    return {q: [d for _, d in sorted(v)] for q, v in run.items()}


def line(name: str, m: dict[str, float], extra: str = "") -> str:
    return (f"{name:<34} R@1 {m['recall@1']:.4f}  R@10 {m['recall@10']:.4f}  "
            f"MRR@10 {m['MRR@10']:.4f}  nDCG@10 {m['nDCG@10']:.4f}{extra}")


def run_command(mode: str, out: Path, cache_dir: Path, corpus: Path, queries: Path) -> float:
    started = time.perf_counter()
    subprocess.run([KECHUANG, "match", "search", "--corpus", str(corpus),
                    "--queries", str(queries), "--k", "10",
                    "--out", str(out), "--mode", mode, "--cache-dir", str(cache_dir)],
                   check=True, cwd=ROOT)
    return time.perf_counter() - started


def timings(qtexts: list[str], corpus_file: Path) -> None:
    """Lexical index build, query latency and the cost of one incremental add."""
    from kechuang.matching.files import read_corpus
    from kechuang.matching.index import Document, LexicalIndex
    from kechuang.matching.synonyms import Synonyms

    docs = read_corpus(corpus_file)
    index = LexicalIndex(synonyms=Synonyms.load())
    started = time.perf_counter()
    index.rebuild(docs)
    build = time.perf_counter() - started
    latencies = []
    for q in qtexts:
        t = time.perf_counter()
        index.search(q, 10)
        latencies.append((time.perf_counter() - t) * 1000)
    adds = []
    for i, doc in enumerate(docs[:200]):
        t = time.perf_counter()
        index.add(Document(f"new-{i}", doc.title, doc.text))
        adds.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    for q in qtexts[:200]:
        index.search(q, 10)
    with_delta = (time.perf_counter() - t) / 200 * 1000
    t = time.perf_counter()
    index.compact()
    fold = time.perf_counter() - t
    q = statistics.quantiles(latencies, n=100)
    a = statistics.quantiles(adds, n=100)
    print(f"lexical index build: {build:.1f} s for {len(docs):,} documents")
    print(f"query latency: p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms (k=10, {len(qtexts):,} queries)")
    print(f"incremental add: p50 {a[49]:.2f} ms, p95 {a[94]:.2f} ms; query with 200-doc delta "
          f"{with_delta:.1f} ms mean; compact (fold delta) {fold:.2f} s")


from kechuang.matching.index import FieldSpec  # noqa: E402

ABLATION: list[tuple[str, dict[str, Any]]] = [
    ("jieba words only", {"bigrams": False}),
    ("bigrams only", {"words": False}),
    ("words + bigrams, equal weight", {"bigram_weight": 1.0}),
    ("words + bigrams, bigrams x0.5 (default)", {}),
    ("  bigrams x0.3", {"bigram_weight": 0.3}),
    ("  k1=0.9", {"k1": 0.9}),
    ("  k1=1.5", {"k1": 1.5}),
    ("  text b=0.6", {"fields": {"title": FieldSpec(2.0, 0.5), "text": FieldSpec(1.0, 0.6)}}),
    ("  text b=0.9", {"fields": {"title": FieldSpec(2.0, 0.5), "text": FieldSpec(1.0, 0.9)}}),
    ("  no synonym dictionary", {"_no_synonyms": True}),
]


def ablation(corpus_docs: list, queries: list[dict[str, str]],
             qrels: dict[str, set[str]]) -> None:
    from kechuang.matching.index import LexicalIndex, Params
    from kechuang.matching.synonyms import Synonyms

    for name, overrides in ABLATION:
        overrides = dict(overrides)
        plain = overrides.pop("_no_synonyms", False)
        index = LexicalIndex(Params(**overrides), Synonyms() if plain else Synonyms.load())
        index.rebuild(corpus_docs)
        run = {q["id"]: [h.doc_id for h in index.search(q["text"], 10)] for q in queries}
        print(line(name, evaluate(run, qrels)), flush=True)


FUSIONS = [("z-score, alpha 0.5 (default)", {}), ("z-score, alpha 0.3", {"alpha": 0.3}),
           ("z-score, alpha 0.7", {"alpha": 0.7}),
           ("min-max, alpha 0.5", {"method": "minmax"}), ("RRF k=60", {"method": "rrf"}),
           ("dense only", {"_dense": True})]


def fusions(queries: list[dict[str, str]], qrels: dict[str, set[str]], cache_dir: Path,
            corpus_file: Path) -> None:
    """Hybrid fusion variants on the cached vectors (run the hybrid command first)."""
    from kechuang.matching import dense
    from kechuang.matching.files import read_corpus
    from kechuang.matching.search import Fusion, Matcher
    from kechuang.matching.synonyms import Synonyms

    docs = read_corpus(corpus_file)
    matcher = Matcher("hybrid", synonyms=Synonyms.load(), cache_dir=cache_dir)
    started = time.perf_counter()
    matcher.rebuild(docs)
    print(f"hybrid index build from the vector cache: {time.perf_counter() - started:.1f} s")
    texts = [q["text"] for q in queries]
    started = time.perf_counter()
    assert matcher.dense is not None
    dense.embed_queries(texts, matcher.dense.cache)
    print(f"query vectors: {(time.perf_counter() - started) / len(texts) * 1000:.1f} ms "
          "per query (from the cache when the hybrid command ran before)")
    for name, options in FUSIONS:
        options = dict(options)
        matcher.mode = "dense" if options.pop("_dense", False) else "hybrid"
        matcher.fusion = Fusion(**options)
        started = time.perf_counter()
        results = matcher.search_many(texts, 10)
        per_query = (time.perf_counter() - started) / len(texts) * 1000
        run = {q["id"]: [h.doc_id for h in hits] for q, hits in zip(queries, results,
                                                                   strict=True)}
        print(line(name, evaluate(run, qrels), f"  ({per_query:.1f} ms/query)"), flush=True)


def baseline(corpus: list[dict[str, str]], queries: list[dict[str, str]],
             qrels: dict[str, set[str]]) -> None:
    """Plain jieba (lcut of the whole text) + bm25s defaults: the reference point 0.79."""
    import bm25s
    import jieba

    jieba.setLogLevel(60)
    tokens = [jieba.lcut((r["title"] + " " + r["text"]).lower()) for r in corpus]
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    vocab_known = retriever.vocab_dict
    run = {}
    ids = [r["id"] for r in corpus]
    for q in queries:
        qt = [t for t in jieba.lcut(q["text"].lower()) if t in vocab_known]
        if not qt:
            run[q["id"]] = []
            continue
        docs, _ = retriever.retrieve([qt], k=10, show_progress=False)
        run[q["id"]] = [ids[i] for i in docs[0]]
    print(line("plain jieba + bm25s (reference)", evaluate(run, qrels)), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="lexical,hybrid")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--fusions", action="store_true",
                        help="hybrid fusion variants (needs the vector cache)")
    parser.add_argument("--subset", type=int, default=0,
                        help="use only the first N corpus documents and the queries whose "
                             "relevant document is among them (a smaller, easier set)")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "cache" / "matching")
    args = parser.parse_args()

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()}")
    corpus = read_csv(DATA / "bench_corpus.csv")
    queries = read_csv(DATA / "bench_queries.csv")
    qrels: dict[str, set[str]] = {}
    for row in read_csv(DATA / "bench_qrels.csv"):
        if int(row["relevance"]) > 0:
            qrels.setdefault(row["query_id"], set()).add(row["doc_id"])
    corpus_file, queries_file = DATA / "bench_corpus.csv", DATA / "bench_queries.csv"
    tmpdir = tempfile.TemporaryDirectory()
    if args.subset:
        corpus = corpus[:args.subset]
        kept = {r["id"] for r in corpus}
        qrels = {q: rel for q, rel in qrels.items() if rel <= kept}
        queries = [q for q in queries if q["id"] in qrels]
        corpus_file = Path(tmpdir.name) / "corpus.csv"
        queries_file = Path(tmpdir.name) / "queries.csv"
        for path, rows, cols in ((corpus_file, corpus, ["id", "title", "text"]),
                                 (queries_file, queries, ["id", "text"])):
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, cols)
                writer.writeheader()
                writer.writerows(rows)
        print("SUBSET: first", args.subset, "documents")
    print(f"corpus {len(corpus):,} documents, {len(queries):,} queries")

    if args.baseline:
        baseline(corpus, queries, qrels)
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            out = Path(tmp) / f"run-{mode}.csv"
            seconds = run_command(mode, out, args.cache_dir, corpus_file, queries_file)
            print(line(f"kechuang match search --mode {mode}", evaluate(read_run(out), qrels),
                       f"  ({seconds:.0f} s end to end)"), flush=True)
    timings([q["text"] for q in queries], corpus_file)
    if args.ablation:
        from kechuang.matching.files import read_corpus

        ablation(read_corpus(corpus_file), queries, qrels)
    if args.fusions:
        fusions(queries, qrels, args.cache_dir, corpus_file)
    tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
