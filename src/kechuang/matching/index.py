"""Lexical index: field-weighted BM25 (BM25F) over jieba words and character bigrams, with
incremental add / update / remove and explanations.

Why our own scoring rather than bm25s's index: bm25s computes every document's term scores
at build time with the collection's idf and average length baked in, so adding or changing
one record would change the stored scores of every document sharing a term. Here the index
keeps raw term frequencies (a SciPy CSC matrix per field, the "main" part) and computes
idf and length normalisation at query time; an added record goes into a small "delta"
(per-term posting lists) that queries merge with the main part, and a removed or replaced
record is only marked dead. Scores are therefore exactly those of a full rebuild after any
sequence of changes. ``compact()`` folds the delta in and drops dead rows; it runs by
itself when the delta exceeds ``fold_at`` records. Cost of one add: analysing its text
(jieba, about 1 ms per abstract) plus appending its postings; a remove is O(1).

Scoring (Robertson/Zaragoza BM25F, Lucene's idf): for a query term t,
``tf~ = Σ_f w_f · tf_f / (1 − b_f + b_f · len_f / avglen_f)``,
``score += q_t · idf(t) · tf~ / (k1 + tf~)``, ``idf = ln(1 + (N − df + 0.5) / (df + 0.5))``
where df counts live documents containing t in any field and q_t is the query weight of t
(occurrences × word/bigram/synonym weight).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

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

    def matched_terms(self) -> list[str]:
        return list(dict.fromkeys(t for t, _, _ in self.terms))

    def fields(self) -> list[str]:
        return list(dict.fromkeys(f for _, f, _ in self.terms))


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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

    def view(self) -> FloatArray:
        return self.data[:self.n]


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
        self._main: dict[str, sparse.csc_matrix] = {
            f: sparse.csc_matrix((0, 0), dtype=np.float64) for f in self._fields}
        self._main_rows = 0
        self._delta: dict[str, dict[int, tuple[list[int], list[float]]]] = {
            f: {} for f in self._fields}
        self._delta_docs = 0

    # ---------------------------------------------------------------- building
    def __len__(self) -> int:
        return self._n_alive

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._rows

    def get(self, doc_id: str) -> Document | None:
        return self._docs.get(doc_id)

    def documents(self) -> list[Document]:
        return list(self._docs.values())

    def _analyse(self, value: str) -> Counter[str]:
        return Counter(textmod.analyse(value, words=self.params.words,
                                       bigrams=self.params.bigrams))

    def _term_id(self, term: str) -> int:
        tid = self._vocab.get(term)
        if tid is None:
            tid = self._vocab[term] = len(self._vocab)
        return tid

    def _new_row(self, doc: Document) -> tuple[int, dict[str, Counter[str]]]:
        if not doc.id:
            raise InvalidInput("文档编号不能为空。", "Document id must not be empty.")
        if doc.id in self._rows:
            self._kill(doc.id)
        row = len(self._row_ids)
        self._row_ids.append(doc.id)
        self._rows[doc.id] = row
        self._docs[doc.id] = doc
        if row >= len(self._alive):
            self._alive = np.concatenate([self._alive, np.zeros(max(1024, row), dtype=bool)])
        self._alive[row] = True
        self._n_alive += 1
        counts = {f: self._analyse(doc.field_text(f)) for f in self._fields}
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
        """Add a record, or replace the record with the same id (an update)."""
        row, counts = self._new_row(doc)
        for f, c in counts.items():
            postings = self._delta[f]
            for term, tf in c.items():
                entry = postings.setdefault(self._term_id(term), ([], []))
                entry[0].append(row)
                entry[1].append(float(tf))
        self._delta_docs += 1
        if self._delta_docs >= self.fold_at:
            self.compact()

    update = add

    def remove(self, doc_id: str) -> bool:
        """Drop a record; False when the index does not hold it."""
        if doc_id not in self._rows:
            return False
        self._kill(doc_id)
        return True

    def rebuild(self, docs: Iterable[Document],
                progress: Callable[[int], None] | None = None) -> None:
        """Replace the whole content by ``docs`` (one bulk pass, no delta)."""
        self._clear()
        coo: dict[str, tuple[list[int], list[int], list[float]]] = {
            f: ([], [], []) for f in self._fields}
        done = 0
        for doc in docs:
            if doc.id in self._rows:
                raise InvalidInput(f"文档编号重复：{doc.id}", f"Duplicate document id: {doc.id}")
            row, counts = self._new_row(doc)
            for f, c in counts.items():
                rows, cols, vals = coo[f]
                for term, tf in c.items():
                    rows.append(row)
                    cols.append(self._term_id(term))
                    vals.append(float(tf))
            done += 1
            if progress is not None and done % 256 == 0:
                progress(256)
        if progress is not None and done % 256:
            progress(done % 256)
        n_rows, n_terms = len(self._row_ids), len(self._vocab)
        for f, (rows, cols, vals) in coo.items():
            self._main[f] = sparse.csc_matrix(
                (np.asarray(vals), (np.asarray(rows), np.asarray(cols))), shape=(n_rows, n_terms))
            self._main[f].sort_indices()
        self._main_rows = n_rows

    def compact(self) -> None:
        """Fold the delta into the main matrices and drop dead rows (renumbering rows)."""
        n_rows, n_terms = len(self._row_ids), len(self._vocab)
        alive = self._alive[:n_rows]
        new_row = np.cumsum(alive) - 1
        for f in self._fields:
            main = self._main[f].tocoo()
            rows = [main.row.astype(np.int64)]
            cols = [main.col.astype(np.int64)]
            vals = [main.data]
            for tid, (drows, dvals) in self._delta[f].items():
                rows.append(np.asarray(drows, dtype=np.int64))
                cols.append(np.full(len(drows), tid, dtype=np.int64))
                vals.append(np.asarray(dvals))
            r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
            keep = alive[r]
            matrix = sparse.csc_matrix((v[keep], (new_row[r[keep]], c[keep])),
                                       shape=(int(alive.sum()), n_terms))
            matrix.sort_indices()
            self._main[f] = matrix
            grown = _Grow()
            for value in self._lengths[f].view()[alive]:
                grown.append(float(value))
            self._lengths[f] = grown
            self._delta[f] = {}
        self._row_ids = [d for d, a in zip(self._row_ids, alive, strict=True) if a]
        self._rows = {d: i for i, d in enumerate(self._row_ids)}
        self._alive = np.ones(len(self._row_ids), dtype=bool)
        self._main_rows = len(self._row_ids)
        self._delta_docs = 0

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
        main = self._main[f]
        if tid < main.shape[1]:
            lo, hi = main.indptr[tid], main.indptr[tid + 1]
            rows, vals = main.indices[lo:hi].astype(np.int64), main.data[lo:hi]
        else:
            rows, vals = np.zeros(0, dtype=np.int64), np.zeros(0)
        delta = self._delta[f].get(tid)
        if delta:
            rows = np.concatenate([rows, np.asarray(delta[0], dtype=np.int64)])
            vals = np.concatenate([vals, np.asarray(delta[1])])
        return rows, vals

    def _term_scores(self, tid: int) -> tuple[IntArray, FloatArray, dict[str, FloatArray]]:
        """Rows holding the term, their saturated BM25F term scores (without idf and query
        weight), and each field's weighted normalised tf (for explanations)."""
        p = self.params
        n = max(self._n_alive, 1)
        parts: list[tuple[str, IntArray, FloatArray]] = []
        for f in self._fields:
            rows, tfs = self._postings(f, tid)
            if not len(rows):
                continue
            keep = self._alive[rows]
            rows, tfs = rows[keep], tfs[keep]
            spec = p.fields[f]
            avg = self._total_len[f] / n or 1.0
            lens = self._lengths[f].view()[rows]
            parts.append((f, rows, spec.weight * tfs / (1 - spec.b + spec.b * lens / avg)))
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0), {}
        if len(parts) == 1:
            # common case, one field holds the term: its rows are already unique and sorted
            # (main rows are sorted, delta rows are appended later and so are all larger)
            f, rows, vals = parts[0]
            return rows, vals / (p.k1 + vals), {f: vals}
        all_rows = np.concatenate([r for _, r, _ in parts])
        uniq, inverse = np.unique(all_rows, return_inverse=True)
        per_field: dict[str, FloatArray] = {}
        total = np.zeros(len(uniq))
        offset = 0
        for f, rows, vals in parts:
            contrib = np.zeros(len(uniq))
            contrib[inverse[offset:offset + len(rows)]] = vals
            per_field[f] = contrib
            total += contrib
            offset += len(rows)
        return uniq, total / (p.k1 + total), per_field

    def _idf(self, df: int) -> float:
        n = self._n_alive
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, query: str) -> FloatArray:
        """BM25F score of every row (dead rows score 0); indexed by internal row."""
        weights, _ = self.query_terms(query)
        out = np.zeros(len(self._row_ids))
        for term, qw in weights.items():
            tid = self._vocab.get(term)
            if tid is None:
                continue
            rows, sat, _ = self._term_scores(tid)
            if len(rows):
                out[rows] += qw * self._idf(len(rows)) * sat
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

    def explain(self, query: str, doc_id: str) -> Explanation:
        """Each query term the document contains, the field, and its contribution."""
        row = self._rows.get(doc_id)
        if row is None:
            raise InvalidInput(f"索引中没有文档 {doc_id}。", f"No document {doc_id} in the index.")
        weights, added = self.query_terms(query)
        syn_terms = {t for m in added for t in self._analyse(m)}
        terms: list[tuple[str, str, float]] = []
        matched_syn: list[str] = []
        total = 0.0
        for term, qw in weights.items():
            tid = self._vocab.get(term)
            if tid is None:
                continue
            rows, sat, per_field = self._term_scores(tid)
            pos = np.searchsorted(rows, row)
            if pos >= len(rows) or rows[pos] != row:
                continue
            contribution = qw * self._idf(len(rows)) * float(sat[pos])
            total += contribution
            field_tf = {f: float(v[pos]) for f, v in per_field.items() if v[pos] > 0}
            tf_sum = sum(field_tf.values())
            for f, v in field_tf.items():
                terms.append((textmod.display(term), f, contribution * v / tf_sum))
            if term in syn_terms:
                matched_syn.extend(m for m in added if term in self._analyse(m))
        terms.sort(key=lambda t: -t[2])
        return Explanation(doc_id, total, terms, list(dict.fromkeys(matched_syn)))
