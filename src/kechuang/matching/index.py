"""Lexical index: field-weighted BM25 (BM25F) over jieba words and character bigrams, with
incremental add / update / replace / remove and explanations.

Why our own scoring rather than bm25s's index: bm25s computes every document's term scores
at build time with the collection's idf and average length baked in, so adding or changing
one record would change the stored scores of every document sharing a term. Here the index
keeps raw term frequencies and computes idf and length normalisation at query time, so
scores are exactly those of a full rebuild after any sequence of changes.

Storage (as Lucene does it): immutable *segments* of consecutive rows, each a SciPy CSC
matrix of raw tf per field, plus a small *delta* (per-term posting lists) that takes new
records. A removed or replaced record is only marked dead (its row is skipped and its
length leaves the averages). When the delta reaches ``fold_at`` records it becomes a
segment (cost ∝ the delta) and the newest segments merge while the older is at most
``MERGE_RATIO`` times the newer (a binary counter: big merges are rare); when more than
``DEAD_SHARE`` of the rows are dead, the flush compacts everything. ``compact()`` folds all
into one segment on demand. Cost of one add: analysing its text (jieba, 1–2 ms per
abstract) plus appending its postings; a remove is O(1).

Building: ``rebuild`` analyses in blocks; from ``PARALLEL_MIN`` records on, in worker
processes (spawned, so safe in a threaded server), and assembles one segment.

Querying is set-based per segment (see :meth:`LexicalIndex.scores`): a query's term columns
are sliced out of the CSC matrices at once and scored with sparse operations in C.

Scoring (Robertson/Zaragoza BM25F, Lucene's idf): for a query term t,
``tf~ = Σ_f w_f · tf_f / (1 − b_f + b_f · len_f / avglen_f)``,
``score += q_t · idf(t) · tf~ / (k1 + tf~)``, ``idf = ln(1 + (N − df + 0.5) / (df + 0.5))``
where df counts live documents containing t in any field and q_t is the query weight of t
(occurrences × word/bigram/synonym weight).
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt
from scipy import sparse

from kechuang.kit.errors import InvalidInput
from kechuang.matching import text as textmod
from kechuang.matching.synonyms import Synonyms


@dataclass(frozen=True)
class Document:
    """A record to match: registries map their rows to this (achievement, demand, expert…).

    ``fields`` holds optional extra text fields (keywords, industry name, region…); those named
    in the index's field weights are indexed, all are kept as metadata for callers.
    """

    id: str
    title: str = ""
    text: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)

    def field_text(self, name: str) -> str:
        if name == "title":
            return self.title
        if name == "text":
            return self.text
        return self.fields.get(name, "")


@dataclass(frozen=True)
class FieldSpec:
    weight: float = 1.0
    b: float = 0.75


@dataclass(frozen=True)
class Params:
    """Ranking parameters; defaults are the choices measured in docs/bench-notes/matching.md."""

    k1: float = 1.2
    fields: Mapping[str, FieldSpec] = field(default_factory=lambda: {
        "title": FieldSpec(weight=2.0, b=0.5), "text": FieldSpec(weight=1.0, b=0.75)})
    word_weight: float = 1.0
    bigram_weight: float = 0.5
    synonym_weight: float = 0.5
    words: bool = True
    bigrams: bool = True


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float


@dataclass(frozen=True)
class Explanation:
    """Why a document matched: each query term found, where, and its share of the score."""

    doc_id: str
    score: float
    terms: list[tuple[str, str, float]]  # (term as read, field, contribution)
    synonyms: list[str]  # dictionary terms that were added to the query and matched
    #: whole words of the query found in the document, most contributing first (never the
    #: character bigrams, which are fragments such as 膜的 to a reader)
    words: list[str] = field(default_factory=list)
    #: the idf-weighted share of the query's words the document contains, 0–1: how much of
    #: what was asked the document speaks about (the matcher's confidence, calibrated in
    #: rules/confidence.yaml)
    coverage: float = 0.0

    def matched_terms(self) -> list[str]:
        return list(dict.fromkeys(t for t, _, _ in self.terms))

    def fields(self) -> list[str]:
        return list(dict.fromkeys(f for _, f, _ in self.terms))


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _csc(vals: npt.NDArray[np.float32], rows: npt.NDArray[np.int64],
         cols: npt.NDArray[np.int64], shape: tuple[int, int]) -> sparse.csc_matrix:
    """A CSC matrix of raw term frequencies (float32 holds them exactly, int32 indices)."""
    m = sparse.csc_matrix((vals.astype(np.float32, copy=False),
                           (rows.astype(np.int32, copy=False), cols.astype(np.int32, copy=False))),
                          shape=shape, dtype=np.float32)
    m.sort_indices()
    return m


class _Grow:
    """A float array that grows by doubling (row attributes: lengths)."""

    def __init__(self) -> None:
        self.data = np.zeros(1024, dtype=np.float64)
        self.n = 0

    def append(self, value: float) -> None:
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.zeros(len(self.data))])
        self.data[self.n] = value
        self.n += 1

    def extend(self, values: FloatArray) -> None:
        need = self.n + len(values)
        if need > len(self.data):
            grown = np.zeros(max(need, 2 * len(self.data)))
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:need] = values
        self.n = need

    def view(self) -> FloatArray:
        return self.data[:self.n]


@dataclass
class _Segment:
    """An immutable block of consecutive rows ``start … start + rows − 1``: per field a CSC
    matrix (local row × term id) of raw term frequencies."""

    start: int
    rows: int
    mats: dict[str, sparse.csc_matrix]

    @property
    def nnz(self) -> int:
        return sum(m.nnz for m in self.mats.values())


#: rebuilds of at least this many records analyse their text in worker processes
PARALLEL_MIN = 20_000
#: rebuilds of at least this many records freeze the heap afterwards (see ``rebuild``)
FREEZE_MIN = 10_000
#: records per work unit of a parallel rebuild
CHUNK = 2_000
#: merge the two newest segments while the older is at most this times the newer
MERGE_RATIO = 2
#: a flush compacts everything when more than this share of rows is dead
DEAD_SHARE = 0.25

_Chunk = tuple[list[str], list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int32],
                                     npt.NDArray[np.float32], FloatArray]]]


def _analyse_chunk(args: tuple[bool, bool, list[list[str]]]) -> _Chunk:
    """Analyse a block of records, one text list per field: the block's own vocabulary
    (terms in id order) and per field COO arrays (local row, local term id, tf) and lengths.

    A module-level function so that worker processes (spawned: safe in threaded servers)
    can run it; small NumPy arrays travel back instead of millions of Python objects."""
    words, bigrams, field_texts = args
    with _no_gc():
        return _analyse_texts(words, bigrams, field_texts)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Bulk builds create millions of small objects that all live on: the cyclic garbage
    collector's repeated full scans would cost ~20 % of a build and find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _analyse_texts(words: bool, bigrams: bool, field_texts: list[list[str]]) -> _Chunk:
    vocab: dict[str, int] = {}
    out = []
    for texts in field_texts:
        rows: array[int] = array("i")
        cols: array[int] = array("i")
        vals: array[float] = array("f")
        lens: array[float] = array("d")
        for r, value in enumerate(texts):
            terms = textmod.analyse(value, words=words, bigrams=bigrams)
            counts = Counter(terms)
            for term in counts:
                if term not in vocab:
                    vocab[term] = len(vocab)
            cols.extend(map(vocab.__getitem__, counts))
            vals.extend(counts.values())
            rows.extend(repeat(r, len(counts)))
            lens.append(float(len(terms)))
        out.append((np.frombuffer(rows, dtype=np.int32), np.frombuffer(cols, dtype=np.int32),
                    np.frombuffer(vals, dtype=np.float32), np.frombuffer(lens)))
    return list(vocab), out


def default_workers(n_docs: int) -> int:
    if n_docs < PARALLEL_MIN:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


class LexicalIndex:
    def __init__(self, params: Params | None = None, synonyms: Synonyms | None = None,
                 fold_at: int = 5000) -> None:
        self.params = params or Params()
        self.synonyms = synonyms if synonyms is not None else Synonyms()
        self.fold_at = fold_at
        self._fields = list(self.params.fields)
        self._clear()

    def _clear(self) -> None:
        self._vocab: dict[str, int] = {}
        self._row_ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._docs: dict[str, Document] = {}
        self._alive = np.zeros(0, dtype=bool)
        self._n_alive = 0
        self._lengths = {f: _Grow() for f in self._fields}
        self._total_len = dict.fromkeys(self._fields, 0.0)
        self._segments: list[_Segment] = []
        self._delta: dict[str, dict[int, tuple[list[int], list[float]]]] = {
            f: {} for f in self._fields}
        self._delta_start = 0
        self._norm_cache: tuple[object, dict[str, FloatArray]] | None = None

    # ---------------------------------------------------------------- building
    def __len__(self) -> int:
        return self._n_alive

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._rows

    def get(self, doc_id: str) -> Document | None:
        return self._docs.get(doc_id)

    def documents(self) -> list[Document]:
        return list(self._docs.values())

    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def segment_sizes(self) -> list[int]:
        """Rows per segment, oldest first, then the delta's (for tests and the bench)."""
        return [seg.rows for seg in self._segments] + [len(self._row_ids) - self._delta_start]

    def _analyse(self, value: str) -> Counter[str]:
        return Counter(textmod.analyse(value, words=self.params.words,
                                       bigrams=self.params.bigrams))

    def _term_id(self, term: str) -> int:
        tid = self._vocab.get(term)
        if tid is None:
            tid = self._vocab[term] = len(self._vocab)
        return tid

    def _grow_alive(self, n_rows: int) -> None:
        if n_rows > len(self._alive):
            grown = np.zeros(max(n_rows, 2 * len(self._alive), 1024), dtype=bool)
            grown[:len(self._alive)] = self._alive
            self._alive = grown

    def _new_row(self, doc: Document) -> tuple[int, dict[str, Counter[str]]]:
        if not doc.id:
            raise InvalidInput("文档编号不能为空。", "Document id must not be empty.")
        counts = {f: self._analyse(doc.field_text(f)) for f in self._fields}
        if doc.id in self._rows:
            self._kill(doc.id)
        row = len(self._row_ids)
        self._row_ids.append(doc.id)
        self._rows[doc.id] = row
        self._docs[doc.id] = doc
        self._grow_alive(row + 1)
        self._alive[row] = True
        self._n_alive += 1
        for f, c in counts.items():
            length = float(sum(c.values()))
            self._lengths[f].append(length)
            self._total_len[f] += length
        return row, counts

    def _kill(self, doc_id: str) -> None:
        row = self._rows.pop(doc_id)
        del self._docs[doc_id]
        self._alive[row] = False
        self._n_alive -= 1
        for f in self._fields:
            self._total_len[f] -= self._lengths[f].view()[row]

    def add(self, doc: Document) -> None:
        """Add a record, or replace the record with the same id (an update). The text is
        analysed before anything changes, so a failure leaves the index as it was."""
        row, counts = self._new_row(doc)
        for f, c in counts.items():
            postings = self._delta[f]
            for term, tf in c.items():
                entry = postings.setdefault(self._term_id(term), ([], []))
                entry[0].append(row)
                entry[1].append(float(tf))
        if len(self._row_ids) - self._delta_start >= self.fold_at:
            self._flush()

    update = add

    def replace(self, doc: Document) -> None:
        """Replace the record with ``doc.id``; unlike ``add`` it must exist already."""
        if doc.id not in self._rows:
            raise InvalidInput(f"索引中没有文档 {doc.id}。", f"No document {doc.id} in the index.")
        self.add(doc)

    def remove(self, doc_id: str) -> bool:
        """Drop a record; False when the index does not hold it."""
        if doc_id not in self._rows:
            return False
        self._kill(doc_id)
        return True

    def rebuild(self, docs: Iterable[Document],
                progress: Callable[[int], None] | None = None,
                workers: int | None = None) -> None:
        """Replace the whole content by ``docs`` (one bulk pass into one segment).

        Analysis (jieba) dominates the cost; from ``PARALLEL_MIN`` records on it runs in
        ``workers`` spawned processes (default: up to 4, the CPU count), blocks of ``CHUNK``
        records each, merged in input order — the result is identical to a serial build.
        The ids are checked before any work; the index is replaced only at the end."""
        items = list(docs)
        seen: set[str] = set()
        for doc in items:
            if not doc.id:
                raise InvalidInput("文档编号不能为空。", "Document id must not be empty.")
            if doc.id in seen:
                raise InvalidInput(f"文档编号重复：{doc.id}", f"Duplicate document id: {doc.id}")
            seen.add(doc.id)
        n_workers = default_workers(len(items)) if workers is None else max(1, workers)
        size = CHUNK if n_workers > 1 else 256
        jobs = [(self.params.words, self.params.bigrams,
                 [[d.field_text(f) for d in items[i:i + size]] for f in self._fields])
                for i in range(0, len(items), size)]
        vocab: dict[str, int] = {}
        parts: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                    npt.NDArray[np.float32]]]] = {f: [] for f in self._fields}
        lengths: dict[str, list[FloatArray]] = {f: [] for f in self._fields}

        def merge(offset: int, result: _Chunk) -> None:
            local_terms, per_field = result
            gmap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in local_terms),
                               dtype=np.int64, count=len(local_terms))
            for f, (rows, cols, vals, lens) in zip(self._fields, per_field, strict=True):
                parts[f].append((rows.astype(np.int64) + offset, gmap[cols], vals))
                lengths[f].append(lens)
            if progress is not None:
                progress(len(per_field[0][3]))

        with _no_gc():
            self._rebuild_from(items, jobs, size, n_workers, merge, vocab, parts, lengths)
        # the index's millions of long-lived objects would make every later full collection
        # of the cyclic GC scan them all (a ~0.1 s pause inside some add or query): move
        # everything alive now out of the collector's generations (gc.freeze, Python ≥ 3.7)
        if len(items) >= FREEZE_MIN:
            gc.collect()
            gc.freeze()

    def _rebuild_from(self, items: list[Document], jobs: list[tuple[bool, bool, list[list[str]]]],
                      size: int, n_workers: int, merge: Callable[[int, _Chunk], None],
                      vocab: dict[str, int],
                      parts: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                                  npt.NDArray[np.float32]]]],
                      lengths: dict[str, list[FloatArray]]) -> None:
        if n_workers > 1 and len(jobs) > 1:
            ctx = multiprocessing.get_context("spawn")
            with ctx.Pool(min(n_workers, len(jobs))) as pool:
                for i, result in enumerate(pool.imap(_analyse_chunk, jobs)):
                    merge(i * size, result)
        else:
            for i, job in enumerate(jobs):
                merge(i * size, _analyse_chunk(job))

        self._clear()
        n_rows, n_terms = len(items), len(vocab)
        self._vocab = vocab
        self._row_ids = [d.id for d in items]
        self._rows = {d.id: i for i, d in enumerate(items)}
        self._docs = {d.id: d for d in items}
        self._alive = np.ones(max(n_rows, 1024), dtype=bool)
        self._alive[n_rows:] = False
        self._n_alive = n_rows
        mats: dict[str, sparse.csc_matrix] = {}
        for f in self._fields:
            lens = np.concatenate(lengths[f]) if lengths[f] else np.zeros(0)
            self._lengths[f].extend(lens)
            self._total_len[f] = float(lens.sum())
            rows = (np.concatenate([p[0] for p in parts[f]]) if parts[f]
                    else np.zeros(0, dtype=np.int64))
            cols = (np.concatenate([p[1] for p in parts[f]]) if parts[f]
                    else np.zeros(0, dtype=np.int64))
            vals = (np.concatenate([p[2] for p in parts[f]]) if parts[f]
                    else np.zeros(0, dtype=np.float32))
            parts[f] = []
            mats[f] = _csc(vals, rows, cols, (n_rows, n_terms))
        if n_rows:
            self._segments = [_Segment(0, n_rows, mats)]
        self._delta_start = n_rows

    def _flush(self) -> None:
        """Turn the delta into a segment (cost ∝ the delta), then merge the newest segments
        while the older is at most ``MERGE_RATIO`` times the newer (cost ∝ their size; the
        big merges are rare, as in a binary counter). Compacts when many rows are dead."""
        start, n = self._delta_start, len(self._row_ids) - self._delta_start
        if n == 0:
            return
        n_terms = len(self._vocab)
        mats: dict[str, sparse.csc_matrix] = {}
        for f in self._fields:
            delta = self._delta[f]
            tids = list(delta)
            counts = [len(delta[t][0]) for t in tids]
            total = sum(counts)
            rows = np.fromiter(chain.from_iterable(delta[t][0] for t in tids),
                               dtype=np.int64, count=total) - start
            vals = np.fromiter(chain.from_iterable(delta[t][1] for t in tids),
                               dtype=np.float32, count=total)
            cols = np.repeat(np.asarray(tids, dtype=np.int64), counts)
            mats[f] = _csc(vals, rows, cols, (n, n_terms))
            self._delta[f] = {}
        self._segments.append(_Segment(start, n, mats))
        self._delta_start = len(self._row_ids)
        n_rows = len(self._row_ids)
        if n_rows and (n_rows - self._n_alive) > DEAD_SHARE * n_rows:
            self.compact()
            return
        while (len(self._segments) >= 2
               and self._segments[-2].rows <= MERGE_RATIO * self._segments[-1].rows):
            b = self._segments.pop()
            a = self._segments.pop()
            merged = {}
            for f in self._fields:
                ma, mb = a.mats[f].copy(), b.mats[f].copy()
                ma.resize((a.rows, n_terms))
                mb.resize((b.rows, n_terms))
                merged[f] = sparse.vstack([ma, mb], format="csc")
                merged[f].sort_indices()
            self._segments.append(_Segment(a.start, a.rows + b.rows, merged))

    def compact(self) -> None:
        """Fold every segment and the delta into one and drop dead rows (renumbering rows)."""
        n_rows, n_terms = len(self._row_ids), len(self._vocab)
        alive = self._alive[:n_rows].copy()
        new_row = np.cumsum(alive) - 1
        n_live = int(alive.sum())
        mats: dict[str, sparse.csc_matrix] = {}
        for f in self._fields:
            rows_l: list[npt.NDArray[np.int64]] = []
            cols_l: list[npt.NDArray[np.int64]] = []
            vals_l: list[npt.NDArray[np.float32]] = []
            for seg in self._segments:
                coo = seg.mats[f].tocoo()
                rows_l.append(coo.row.astype(np.int64) + seg.start)
                cols_l.append(coo.col.astype(np.int64))
                vals_l.append(coo.data.astype(np.float32))
            for tid, (drows, dvals) in self._delta[f].items():
                rows_l.append(np.asarray(drows, dtype=np.int64))
                cols_l.append(np.full(len(drows), tid, dtype=np.int64))
                vals_l.append(np.asarray(dvals, dtype=np.float32))
            r = np.concatenate(rows_l) if rows_l else np.zeros(0, dtype=np.int64)
            c = np.concatenate(cols_l) if cols_l else np.zeros(0, dtype=np.int64)
            v = np.concatenate(vals_l) if vals_l else np.zeros(0, dtype=np.float32)
            keep = alive[r]
            mats[f] = _csc(v[keep], new_row[r[keep]], c[keep], (n_live, n_terms))
            grown = _Grow()
            grown.extend(self._lengths[f].view()[alive])
            self._lengths[f] = grown
            self._delta[f] = {}
        self._segments = [_Segment(0, n_live, mats)] if n_live else []
        self._row_ids = [d for d, a in zip(self._row_ids, alive, strict=True) if a]
        self._rows = {d: i for i, d in enumerate(self._row_ids)}
        self._alive = np.ones(max(n_live, 1024), dtype=bool)
        self._alive[n_live:] = False
        self._delta_start = n_live

    # ---------------------------------------------------------------- querying
    def query_terms(self, query: str) -> tuple[dict[str, float], list[str]]:
        """Weighted query terms and the synonym-dictionary terms that were added."""
        textmod.check_query(query)
        p = self.params
        weights: dict[str, float] = {}
        for term, n in self._analyse(query).items():
            w = p.bigram_weight if term.startswith(textmod.BIGRAM_PREFIX) else p.word_weight
            weights[term] = weights.get(term, 0.0) + n * w
        added = self.synonyms.expansions(query)
        for member in added:
            for term, n in self._analyse(member).items():
                if term in weights:
                    continue
                base = (p.bigram_weight if term.startswith(textmod.BIGRAM_PREFIX)
                        else p.word_weight)
                weights[term] = p.synonym_weight * base * min(n, 1)
        return weights, added

    def _postings(self, f: str, tid: int) -> tuple[IntArray, FloatArray]:
        """Rows (global, ascending) holding term ``tid`` in field ``f`` and their tf."""
        rows_l: list[npt.NDArray[np.integer]] = []
        vals_l: list[npt.NDArray[np.floating]] = []
        for seg in self._segments:
            m = seg.mats[f]
            if tid < m.shape[1]:
                lo, hi = m.indptr[tid], m.indptr[tid + 1]
                if hi > lo:
                    idx = m.indices[lo:hi]
                    rows_l.append(idx + seg.start if seg.start else idx)
                    vals_l.append(m.data[lo:hi])
        delta = self._delta[f].get(tid)
        if delta:
            rows_l.append(np.asarray(delta[0], dtype=np.int64))
            vals_l.append(np.asarray(delta[1]))
        if not rows_l:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if len(rows_l) == 1:
            return rows_l[0].astype(np.int64, copy=False), vals_l[0].astype(np.float64)
        return (np.concatenate(rows_l).astype(np.int64, copy=False),
                np.concatenate(vals_l).astype(np.float64))

    def _term_scores(self, tid: int) -> tuple[IntArray, FloatArray, dict[str, FloatArray]]:
        """Rows holding the term, their saturated BM25F term scores (without idf and query
        weight), and each field's weighted normalised tf (for explanations)."""
        p = self.params
        norms = self._norms()
        parts: list[tuple[str, IntArray, FloatArray]] = []
        for f in self._fields:
            rows, tfs = self._postings(f, tid)
            if not len(rows):
                continue
            if self._n_alive < len(self._row_ids):  # some rows are dead: skip them
                keep = self._alive[rows]
                rows, tfs = rows[keep], tfs[keep]
            parts.append((f, rows, tfs * norms[f][rows]))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0), {}
        if len(parts) == 1:
            # common case, one field holds the term: its rows are already unique and sorted
            # (main rows are sorted, delta rows are appended later and so are all larger)
            f, rows, vals = parts[0]
            return rows, vals / (p.k1 + vals), {f: vals}
        n_post = sum(len(r) for _, r, _ in parts)
        per_field: dict[str, FloatArray] = {}
        if n_post * 16 < len(self._row_ids):
            # few postings: sort-based union
            all_rows = np.concatenate([r for _, r, _ in parts])
            uniq, inverse = np.unique(all_rows, return_inverse=True)
            offset = 0
            for f, rows, vals in parts:
                contrib = np.zeros(len(uniq))
                contrib[inverse[offset:offset + len(rows)]] = vals
                per_field[f] = contrib
                offset += len(rows)
        else:
            # a common term: dense scatter over all rows beats sorting its postings
            present = np.zeros(len(self._row_ids), dtype=bool)
            dense: dict[str, FloatArray] = {}
            for f, rows, vals in parts:
                present[rows] = True
                d = np.zeros(len(self._row_ids))
                d[rows] = vals
                dense[f] = d
            uniq = np.flatnonzero(present)
            per_field = {f: d[uniq] for f, d in dense.items()}
        total = np.zeros(len(uniq))
        for contrib in per_field.values():
            total += contrib
        return uniq, total / (p.k1 + total), per_field

    def _idf(self, df: int) -> float:
        n = self._n_alive
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _norms(self) -> dict[str, FloatArray]:
        """Per field and row, ``w_f / (1 − b_f + b_f · len_f / avglen_f)``: the factor turning
        a raw tf into its BM25F contribution. Recomputed when the content changed."""
        key = (len(self._row_ids), self._n_alive, tuple(self._total_len.values()))
        if self._norm_cache is not None and self._norm_cache[0] == key:
            return self._norm_cache[1]
        n = max(self._n_alive, 1)
        norms: dict[str, FloatArray] = {}
        for f in self._fields:
            spec = self.params.fields[f]
            avg = self._total_len[f] / n or 1.0
            norms[f] = spec.weight / (1 - spec.b + spec.b * self._lengths[f].view() / avg)
        self._norm_cache = (key, norms)
        return norms

    def scores(self, query: str) -> FloatArray:
        """BM25F score of every row (dead rows score 0); indexed by internal row.

        Set-based: per segment, the query's term columns of every field are sliced out of
        the CSC matrices at once, scaled by the rows' length norms and summed (sparse, in C)
        into tf~; document frequencies are the columns' live non-zeros over all segments
        plus the delta; one sparse matrix–vector product per segment adds the scores. Only
        the small delta is walked term by term."""
        weights, _ = self.query_terms(query)
        out = np.zeros(len(self._row_ids))
        known = [(self._vocab[t], qw) for t, qw in weights.items() if t in self._vocab]
        if not known or not self._row_ids:
            return out
        tids = np.array([t for t, _ in known], dtype=np.int64)
        qws = np.array([w for _, w in known])
        norms = self._norms()
        some_dead = self._n_alive < len(self._row_ids)
        df = np.zeros(len(tids), dtype=np.int64)
        blocks: list[tuple[int, sparse.csc_matrix]] = []
        for seg in self._segments:
            total: sparse.csc_matrix | None = None
            end = seg.start + seg.rows
            for f in self._fields:
                m = seg.mats[f]
                inside = tids < m.shape[1]
                cols = np.where(inside, tids, 0)
                sub = m[:, cols]
                if not inside.all():  # terms born after this segment: empty columns
                    sub = sub @ sparse.diags(inside.astype(np.float32))
                sub = sparse.csc_matrix(sub.multiply(norms[f][seg.start:end, None]))
                total = sub if total is None else total + sub
            assert total is not None
            if some_dead:
                total = sparse.csc_matrix(total.multiply(self._alive[seg.start:end, None]))
            total.eliminate_zeros()
            df += np.diff(total.indptr)
            blocks.append((seg.start, total))
        delta_parts: list[tuple[int, IntArray, FloatArray]] = []
        for j, tid in enumerate(tids.tolist()):
            rows_l: list[IntArray] = []
            vals_l: list[FloatArray] = []
            for f in self._fields:
                entry = self._delta[f].get(tid)
                if entry:
                    r = np.asarray(entry[0], dtype=np.int64)
                    rows_l.append(r)
                    vals_l.append(np.asarray(entry[1]) * norms[f][r])
            if not rows_l:
                continue
            r = np.concatenate(rows_l)
            v = np.concatenate(vals_l)
            if len(rows_l) > 1:
                r, inverse = np.unique(r, return_inverse=True)
                v = np.bincount(inverse, weights=v, minlength=len(r)).astype(np.float64)
            if some_dead:
                keep = self._alive[r]
                r, v = r[keep], v[keep]
            df[j] += len(r)
            delta_parts.append((j, r, v))
        n = self._n_alive
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        factor = qws * idf
        k1 = self.params.k1
        for start, total in blocks:
            total.data = total.data / (k1 + total.data)
            out[start:start + total.shape[0]] += total @ factor
        for j, r, v in delta_parts:
            out[r] += factor[j] * (v / (k1 + v))
        return out

    def search(self, query: str, k: int = 10, fill: bool = False) -> list[Hit]:
        """The ``k`` best live documents, best first, ties by id for stability. Only documents
        sharing a term with the query (score > 0), unless ``fill``: then the list is topped
        up to ``k`` with score-0 documents in id order (the batch file format wants k rows)."""
        return self.top(self.scores(query), k, fill)

    def top(self, scores: FloatArray, k: int, fill: bool = False) -> list[Hit]:
        if k <= 0:
            return []
        alive = self.alive_mask()
        candidates = np.flatnonzero(alive if fill else (scores > 0) & alive)
        if len(candidates) > k:
            part = np.argpartition(-scores[candidates], k - 1)[:k]
            threshold = scores[candidates[part]].min()
            candidates = candidates[scores[candidates] >= threshold]
        order = sorted(candidates.tolist(), key=lambda r: (-scores[r], self._row_ids[r]))
        return [Hit(self._row_ids[r], float(scores[r])) for r in order[:k]]

    def scores_of(self, scores: FloatArray, ids: Iterable[str]) -> FloatArray:
        """Scores (from ``scores``) of the live documents ``ids``."""
        return np.array([scores[self._rows[d]] for d in ids], dtype=np.float64)

    def row_ids(self) -> list[str]:
        """Document id of each internal row (dead rows included), the order of ``scores``."""
        return self._row_ids

    def alive_mask(self) -> npt.NDArray[np.bool_]:
        return self._alive[:len(self._row_ids)]

    def coverage(self, query: str, doc_ids: list[str]) -> FloatArray:
        """For each document, the idf-weighted share of the query's own words it contains —
        :attr:`Explanation.coverage` for many documents at once (one membership test per
        query word, not one explanation per document)."""
        rows = np.array([self._rows[d] for d in doc_ids], dtype=np.int64)
        found = np.zeros(len(rows))
        weights, _ = self.query_terms(query)
        own = set(self._analyse(query))
        asked = 0.0
        for term, qw in weights.items():
            if term.startswith(textmod.BIGRAM_PREFIX) or term not in own:
                continue
            tid = self._vocab.get(term)
            if tid is None:
                asked += qw * self._idf(0)
                continue
            term_rows, _, _ = self._term_scores(tid)
            idf = self._idf(len(term_rows))
            asked += qw * idf
            found += qw * idf * np.isin(rows, term_rows)
        return found / asked if asked > 0 else found

    def explain(self, query: str, doc_id: str) -> Explanation:
        """Each query term the document contains, the field, and its contribution."""
        row = self._rows.get(doc_id)
        if row is None:
            raise InvalidInput(f"索引中没有文档 {doc_id}。", f"No document {doc_id} in the index.")
        weights, added = self.query_terms(query)
        syn_terms = {t for m in added for t in self._analyse(m)}
        terms: list[tuple[str, str, float]] = []
        matched_syn: list[str] = []
        own = set(self._analyse(query))
        words: list[tuple[float, str]] = []
        asked = found = 0.0  # idf mass of the query's own words, and of those found
        total = 0.0
        for term, qw in weights.items():
            is_word = not term.startswith(textmod.BIGRAM_PREFIX) and term in own
            tid = self._vocab.get(term)
            if tid is None:
                if is_word:  # a word no document has: asked for, found nowhere
                    asked += qw * self._idf(0)
                continue
            rows, sat, per_field = self._term_scores(tid)
            idf = self._idf(len(rows))
            if is_word:
                asked += qw * idf
            pos = np.searchsorted(rows, row)
            if pos >= len(rows) or rows[pos] != row:
                continue
            contribution = qw * idf * float(sat[pos])
            total += contribution
            if is_word:
                found += qw * idf
                words.append((contribution, term))
            field_tf = {f: float(v[pos]) for f, v in per_field.items() if v[pos] > 0}
            tf_sum = sum(field_tf.values())
            for f, v in field_tf.items():
                terms.append((textmod.display(term), f, contribution * v / tf_sum))
            if term in syn_terms:
                matched_syn.extend(m for m in added if term in self._analyse(m))
        terms.sort(key=lambda t: -t[2])
        words.sort(key=lambda w: (-w[0], w[1]))
        return Explanation(doc_id, total, terms, list(dict.fromkeys(matched_syn)),
                           words=[w for _, w in words],
                           coverage=found / asked if asked > 0 else 0.0)
