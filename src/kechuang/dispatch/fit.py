"""Fit of a commissioner for a service request: text relevance plus region and industry
boosts, with the weights as data (:class:`FitWeights`, loadable from JSON).

Set-based: the commissioners form one small :class:`~kechuang.matching.index.LexicalIndex`
(their expertise and affiliation as BM25F fields); each request is one query over it (title
+ description), giving every commissioner's score at once as a NumPy vector. The text part
is normalised per request by its best score, so it lies in [0, 1] and requests with long
descriptions do not dominate the total fit that the assignment maximises.

``fit = text · s/max(s) + region_same · [same county: first 6 digits of the region codes]
+ region_city · [same city (first 4 digits), other county]
+ industry · [the request's industry name matches the expertise]``.

Candidates (the sparse pairs handed to the assignment engine): a commissioner is a candidate
for a request when its normalised text score is at least ``min_text``; each request keeps at
most ``max_candidates`` of them, best fit first (ties by commissioner id). The optimum is
optimal over these pairs; the bench measures it with ``max_candidates`` = 0 (no limit) too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from kechuang.dispatch.assign import Pair
from kechuang.kit.errors import InvalidInput
from kechuang.matching.index import Document, FieldSpec, LexicalIndex, Params
from kechuang.matching.text import MAX_QUERY_CHARS


@dataclass(frozen=True)
class FitWeights:
    text: float = 1.0
    region_same: float = 0.3
    region_city: float = 0.1
    industry: float = 0.2
    min_text: float = 0.2
    max_candidates: int = 50  # 0 = every commissioner with min_text

    @classmethod
    def load(cls, path: Path) -> FitWeights:
        """Weights from a JSON object; unknown keys are an error (a typo must not be silent)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{path}：无法读取权重文件（应为 JSON 对象）：{exc}",
                               f"{path}: cannot read the weights JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInput(f"{path}：权重文件应为 JSON 对象", f"{path}: expected an object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"{path}：未知的权重 {', '.join(unknown)}"
                               f"（可用：{', '.join(sorted(known))}）",
                               f"{path}: unknown weights {', '.join(unknown)}")
        for key, value in data.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise InvalidInput(f"{path}：权重 {key} 应为非负数：{value!r}",
                                   f"{path}: weight {key} must be a non-negative number")
        if "max_candidates" in data:
            data["max_candidates"] = int(data["max_candidates"])
        return cls(**data)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class RequestText:
    id: str
    title: str
    description: str = ""
    region_code: str = ""
    industry_name: str = ""


@dataclass(frozen=True)
class CommissionerText:
    id: str
    expertise: str
    affiliation: str = ""
    region_code: str = ""


#: expertise weighs more than the affiliation (a university name says little)
INDEX_PARAMS = Params(fields={"title": FieldSpec(weight=1.0, b=0.5),
                              "text": FieldSpec(weight=2.0, b=0.3)})


def commissioner_index(people: Sequence[CommissionerText]) -> LexicalIndex:
    index = LexicalIndex(INDEX_PARAMS)
    index.rebuild(Document(p.id, title=p.affiliation, text=p.expertise) for p in people)
    return index


def fit_pairs(requests: Sequence[RequestText], people: Sequence[CommissionerText],
              weights: FitWeights | None = None) -> list[Pair]:
    """The candidate pairs with their fit (see module docstring)."""
    w = weights or FitWeights()
    if not people:
        return []
    index = commissioner_index(people)
    rows = {pid: i for i, pid in enumerate(index.row_ids())}
    order = np.array([rows[p.id] for p in people])  # scores are by index row → people order
    counties = np.array([p.region_code[:6] for p in people])
    cities = np.array([p.region_code[:4] for p in people])
    pair_list: list[Pair] = []
    for r in requests:
        query = f"{r.title}\n{r.description}".strip()[:MAX_QUERY_CHARS]
        if not query:
            continue
        raw = index.scores(query)[order]
        best = raw.max() if len(raw) else 0.0
        if best <= 0:
            continue
        text = raw / best
        fit = w.text * text
        if r.region_code:
            same = counties == r.region_code[:6]
            fit = fit + w.region_same * same
            if len(r.region_code) >= 4:
                fit = fit + w.region_city * ((cities == r.region_code[:4]) & ~same)
        if r.industry_name and w.industry:
            ind = index.scores(r.industry_name)[order]
            fit = fit + w.industry * (ind > 0)
        cand = np.flatnonzero(text >= max(w.min_text, 1e-12))
        if w.max_candidates and len(cand) > w.max_candidates:
            ranked = cand[np.lexsort((cand, -fit[cand]))]
            cand = ranked[:w.max_candidates]
        for j in cand:
            pair_list.append(Pair(r.id, people[int(j)].id, round(float(fit[j]), 6)))
    return pair_list
