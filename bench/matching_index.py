"""Benchmark: the lexical index at 100,000 achievements (issue 5's measured goals).

Goals: lexical build ≤ 120 s; query p95 ≤ 30 ms; adding one record ≤ 50 ms. Figures go
in docs/bench-notes/matching_index.md with the command and the machine.

Corpus synthesis (deterministic, no download): the sentences of the 12,100 ChinaXiv
abstracts of ``achievements.csv`` and of the 12,100 texts of ``bench_corpus.csv`` (CC BY
4.0) form a pool (split after 。！？；); the titles of achievements.csv form a title pool.
Record i (0 ≤ i < N) draws, from ``numpy.random.default_rng(SEED)`` in order, a title and
4–8 sentences, and appends a title-pool keyword-like tail (the original keywords of a random
achievement). So the vocabulary and the length distribution are those of real abstracts,
every record is distinct, and two runs produce the same corpus.

Measured in-process with ``kechuang.matching.index.LexicalIndex``:
- build: ``rebuild`` of N records (analysis with jieba + bigrams, matrix construction);
- query: Q queries (the first sentences of ``bench_queries.csv``, a realistic mix of short
  and long queries) timed one by one with ``search(q, k=10)``, after 20 warm-up queries;
- add: A records added one by one with ``add`` (new ids, texts recombined the same way),
  also updates (``add`` with an existing id) and removes; p50/p95/max per operation.

    .venv/bin/python bench/matching_index.py              # N = 100,000
    .venv/bin/python bench/matching_index.py --n 20000    # quicker
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "chinaxiv"
sys.path.insert(0, str(ROOT / "src"))
SEED = 20261122

csv.field_size_limit(16 * 1024 * 1024)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


_SPLIT = re.compile(r"(?<=[。！？；!?;])")


def pools() -> tuple[list[str], list[str], list[str]]:
    ach = _read(DATA / "achievements.csv")
    corpus = _read(DATA / "bench_corpus.csv")
    sentences: list[str] = []
    for text in [a["abstract"] for a in ach] + [c["text"] for c in corpus]:
        sentences.extend(s.strip() for s in _SPLIT.split(text) if len(s.strip()) >= 8)
    titles = [a["title"] for a in ach if a["title"].strip()]
    keywords = [a.get("keywords", "") for a in ach]
    return titles, sentences, keywords


def synthesise(n: int, start: int = 0, seed: int = SEED) -> list[tuple[str, str, str]]:
    """``n`` records (id, title, text), deterministic for (n, start, seed)."""
    titles, sentences, keywords = pools()
    rng = np.random.default_rng(seed + start)
    out: list[tuple[str, str, str]] = []
    for i in range(start, start + n):
        title = titles[int(rng.integers(len(titles)))]
        k = int(rng.integers(4, 9))
        picks = rng.integers(len(sentences), size=k)
        text = "".join(sentences[int(j)] for j in picks)
        kw = keywords[int(rng.integers(len(keywords)))]
        out.append((f"S{i:06d}", title, f"{text} 关键词：{kw}"))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--adds", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None,
                        help="analysis processes for the build (default: the index's choice)")
    args = parser.parse_args()

    from kechuang.matching import text as textmod
    from kechuang.matching.index import Document, LexicalIndex

    textmod.analyse("预热 jieba 词典")  # load the dictionary outside the timings
    t0 = time.perf_counter()
    records = synthesise(args.n)
    t_synth = time.perf_counter() - t0
    chars = sum(len(t) + len(x) for _, t, x in records)

    index = LexicalIndex()
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    c0 = time.process_time()
    k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    index.rebuild((Document(i, t, x) for i, t, x in records), workers=args.workers)
    t_build = time.perf_counter() - t0
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_main = time.process_time() - c0
    cpu_children = (k1.ru_utime + k1.ru_stime) - (k0.ru_utime + k0.ru_stime)
    del records

    queries = [q["text"] for q in _read(DATA / "bench_queries.csv")][:args.queries]
    for q in queries[:20]:
        index.search(q, k=10)
    q_times: list[float] = []
    q_cpu: list[float] = []
    for q in queries:
        t = time.perf_counter()
        c = time.process_time()
        index.search(q, k=10)
        q_cpu.append((time.process_time() - c) * 1000)
        q_times.append((time.perf_counter() - t) * 1000)

    extra = synthesise(args.adds, start=args.n)
    add_times: list[float] = []
    add_cpu: list[float] = []
    for i, t, x in extra:
        s = time.perf_counter()
        c = time.process_time()
        index.add(Document(i, t, x))
        add_cpu.append((time.process_time() - c) * 1000)
        add_times.append((time.perf_counter() - s) * 1000)
    upd_times: list[float] = []
    for (i, _, _), (_, t, x) in zip(extra[: args.adds // 2], extra[args.adds // 2:], strict=False):
        s = time.perf_counter()
        index.update(Document(i, t, x))
        upd_times.append((time.perf_counter() - s) * 1000)
    rm_times: list[float] = []
    for i, _, _ in extra[: args.adds // 2]:
        s = time.perf_counter()
        index.remove(i)
        rm_times.append((time.perf_counter() - s) * 1000)
    # queries after the changes (delta merged at query time)
    q2: list[float] = []
    for q in queries[:200]:
        t = time.perf_counter()
        index.search(q, k=10)
        q2.append((time.perf_counter() - t) * 1000)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; shared with other engineers: load average "
          f"{load0:.1f} at the build's start, {os.getloadavg()[0]:.1f} at the end")
    print(f"records: {args.n:,} ({chars / 1e6:.1f} M characters), synthesis {t_synth:.1f} s")
    print(f"build (rebuild, workers={args.workers or 'auto'}): wall {t_build:.1f} s; CPU "
          f"{cpu_main:.1f} s in the main process + {cpu_children:.1f} s in workers   "
          f"[goal ≤ 120 s]")
    print(f"terms: {index.vocabulary_size():,}")
    print(f"query ({len(q_times)}, k=10): wall p50 {statistics.median(q_times):.1f} ms, "
          f"p95 {pct(q_times, 0.95):.1f} ms, max {max(q_times):.1f} ms; CPU p50 "
          f"{statistics.median(q_cpu):.1f} ms, p95 {pct(q_cpu, 0.95):.1f} ms   "
          f"[goal p95 ≤ 30 ms]")
    print(f"query after {len(extra)} adds/updates/removes: wall p50 "
          f"{statistics.median(q2):.1f} ms, p95 {pct(q2, 0.95):.1f} ms")
    print(f"add one record ({len(add_cpu)}): CPU p50 {statistics.median(add_cpu):.2f} ms, "
          f"p95 {pct(add_cpu, 0.95):.2f} ms, max {max(add_cpu):.2f} ms")
    for name, values in (("add", add_times), ("update", upd_times), ("remove", rm_times)):
        print(f"{name} one record ({len(values)}): wall p50 {statistics.median(values):.2f} ms, "
              f"p95 {pct(values, 0.95):.2f} ms, max {max(values):.2f} ms   [goal ≤ 50 ms]")
    print(f"segments after the changes: {index.segment_sizes()}")


if __name__ == "__main__":
    main()
