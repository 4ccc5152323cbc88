"""Technology fields and the industry ↔ field map (``data/field_map.yaml``), as data.

Why a file the bureau edits rather than code: which technology fields serve which industries
is a local judgement (张家港's steel makers care about materials and energy saving); the map
drives the field boost of the matcher and the "enterprises in fitting industries" list.
An achievement's field comes from its Chinese Library Classification number when its
keywords carry one (ChinaXiv records often do: "分类号：TP393"), otherwise from the field
whose keywords occur most often in its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput

_CLC = re.compile(r"(?:分类号|分类|中图)[^A-Z]{0,6}([A-Z]{1,2}\d*)")
_CLC_LOOSE = re.compile(r"(?<![A-Za-z])([A-Z]{1,2})\d{1,4}")


@dataclass(frozen=True)
class TechField:
    code: str
    name: str
    clc: tuple[str, ...]
    keywords: tuple[str, ...]
    industries: tuple[str, ...]


@dataclass(frozen=True)
class FieldMap:
    fields: tuple[TechField, ...]
    field_boost: float = 0.3
    region_boost: float = 0.1

    def by_code(self, code: str | None) -> TechField | None:
        return next((f for f in self.fields if f.code == code), None)

    def name_of(self, code: str | None) -> str:
        f = self.by_code(code)
        return f.name if f else "—"

    def fields_for_industry(self, industry_code: str | None) -> set[str]:
        """Codes of the fields serving a GB/T 4754 code (longest prefixes do not matter:
        a field serves the industry when any of its prefixes starts the code)."""
        if not industry_code:
            return set()
        return {f.code for f in self.fields
                if any(industry_code.startswith(p) for p in f.industries)}

    def industry_prefixes(self, field_code: str | None) -> tuple[str, ...]:
        f = self.by_code(field_code)
        return f.industries if f else ()

    def classify(self, title: str, abstract: str, keywords: str) -> str | None:
        """The field of an achievement: by class number first, else by keyword counts."""
        for pattern in (_CLC, _CLC_LOOSE):
            m = pattern.search(keywords)
            if m:
                code = m.group(1)
                best = max(((len(p), f.code) for f in self.fields for p in f.clc
                            if code.startswith(p)), default=None)
                if best:
                    return best[1]
        body = f"{title} {title} {keywords} {abstract}"
        pattern, owners = self._keyword_pattern()
        tally = [0] * len(self.fields)
        for word in pattern.findall(body):
            for i in owners[word]:
                tally[i] += 1
        top = max(range(len(tally)), key=lambda i: (tally[i], -i)) if tally else 0
        return self.fields[top].code if tally and tally[top] > 0 else None

    def _keyword_pattern(self) -> tuple[re.Pattern[str], dict[str, list[int]]]:
        """One alternation of every keyword (longest first): one pass over the text."""
        cached = _PATTERNS.get(id(self))
        if cached is None or cached[0] is not self:
            owners: dict[str, list[int]] = {}
            for i, f in enumerate(self.fields):
                for w in f.keywords:
                    owners.setdefault(w, []).append(i)
            words = sorted(owners, key=len, reverse=True)
            pattern = re.compile("|".join(re.escape(w) for w in words) or "(?!)")
            cached = _PATTERNS[id(self)] = (self, pattern, owners)
        return cached[1], cached[2]


_PATTERNS: dict[int, tuple[FieldMap, re.Pattern[str], dict[str, list[int]]]] = {}


def parse(raw: str, where: str) -> FieldMap:
    # the one rule loader: file, line and key in its errors, duplicate keys refused
    data = rules.parse_yaml(raw, where) or {}
    items = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"领域映射 {where} 须有非空的 fields: 列表。",
                           f"Field map {where} needs a non-empty fields: list.")
    out: list[TechField] = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
            raise InvalidInput(f"领域映射 {where} 第 {n} 个领域缺少 code 或 name。",
                               f"Field map {where}: field {n} lacks code or name.")
        out.append(TechField(
            code=str(item["code"]), name=str(item["name"]),
            clc=tuple(str(x) for x in item.get("clc") or ()),
            keywords=tuple(str(x) for x in item.get("keywords") or ()),
            industries=tuple(str(x) for x in item.get("industries") or ())))
    codes = [f.code for f in out]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise InvalidInput(f"领域映射 {where} 中领域代码重复：{', '.join(dup)}",
                           f"Field map {where}: duplicate codes {', '.join(dup)}")
    boosts = data.get("boosts") or {}
    try:
        fb, rb = float(boosts.get("field", 0.3)), float(boosts.get("region", 0.1))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"领域映射 {where} 的 boosts 须为数字。",
                           f"Field map {where}: boosts must be numbers.") from exc
    if not (0 <= fb <= 5 and 0 <= rb <= 5):
        raise InvalidInput(f"领域映射 {where} 的 boosts 须在 0 到 5 之间。",
                           f"Field map {where}: boosts must lie in 0..5.")
    return FieldMap(tuple(out), fb, rb)


@lru_cache(maxsize=4)
def load(path: str | None = None) -> FieldMap:
    """The map at ``path``, or the one shipped with the package (cached per path)."""
    if path is None:
        raw = resources.files("kechuang.matching").joinpath("data/field_map.yaml").read_text(
            encoding="utf-8")
        return parse(raw, "field_map.yaml")
    return parse(Path(path).read_text(encoding="utf-8"), path)
