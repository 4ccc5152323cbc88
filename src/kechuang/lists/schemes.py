"""Reward schemes as data: YAML files a bureau analyst edits, validated with the file, line
and key of every mistake (the same discipline as policy and indicator-system files).

Two kinds (docs/lists.md describes the format with examples):

- ``tiers``: a fixed amount per list tier (领跑/竞跑/进取榜) or per range of places, first
  matching rule wins; an optional ``budget`` is either a hard limit (``over_budget:
  refuse``) or scales every amount down pro rata (``scale``);
- ``proportional``: a ``budget`` split in proportion to points above a ``threshold``
  (or to the points of those above it), with an optional per-enterprise ``cap`` whose
  freed money is re-distributed to the others (``redistribute: true``, the default).

Amounts are yuan as :class:`~decimal.Decimal` with at most two decimals (分): a scheme that
names a fraction of a 分 is refused rather than silently rounded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from kechuang.kit import rules
from kechuang.kit.errors import NotFound

SCHEMES_DIR = Path(__file__).with_name("schemes")
CENT = Decimal("0.01")


#: a reward-scheme file that does not validate (the one rule loader's error)
SchemeFileError = rules.RuleFileError


def _money(value: Any) -> Any:
    """YAML numbers → exact Decimal (``0.1`` stays 0.1, not the float's binary expansion)."""
    if isinstance(value, bool):
        raise ValueError(f"应为金额（元），实为 “{value}”")
    if isinstance(value, int | float | str):
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation as exc:
            raise ValueError(f"应为金额（元），实为 “{value}”") from exc
        if not amount.is_finite():
            raise ValueError(f"应为有限金额，实为 “{value}”")
        if amount < 0:
            raise ValueError(f"金额不能为负：{value}")
        if amount != amount.quantize(CENT):
            raise ValueError(f"金额须精确到分（最多两位小数）：{value}")
        return amount
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierRule(_Strict):
    """One line of a tier scheme: who (a list tier, or a range of places) gets how much."""

    tier: str | None = None
    ranks: tuple[int, int] | None = None
    stage: str | None = None
    amount: Money
    label: str | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> TierRule:
        if (self.tier is None) == (self.ranks is None):
            raise ValueError("每条规则须且只须写 tier（榜单）或 ranks（名次范围）之一")
        if self.ranks is not None:
            lo, hi = self.ranks
            if lo < 1 or hi < lo:
                raise ValueError(f"名次范围 [{lo}, {hi}] 无效：应 1 ≤ 起始名次 ≤ 结束名次")
        return self


class Scheme(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1)
    description: str | None = None
    # the dated header of a rule file (kechuang.kit.rules.RuleHeader): shipped schemes carry
    # it; a bureau's uploaded draft may leave it out
    valid_from: date | None = None
    valid_to: date | None = None
    source: str | None = Field(default=None, min_length=4)
    kind: Literal["tiers", "proportional"]
    budget: Money | None = None
    #: only enterprises of these revenue stages are paid (default: every stage)
    stages: list[str] | None = None
    #: only enterprises that are on a published list (list_tier set) are paid
    listed_only: bool = False
    # --- tiers
    tiers: list[TierRule] | None = None
    rank_basis: Literal["list", "stage"] = "list"
    over_budget: Literal["refuse", "scale"] = "refuse"
    # --- proportional
    threshold: float | None = None
    basis: Literal["excess", "points"] = "excess"
    cap: Money | None = None
    redistribute: bool = True

    @model_validator(mode="after")
    def _kind_keys(self) -> Scheme:
        if self.kind == "tiers":
            if not self.tiers:
                raise ValueError("kind: tiers 的方案须有 tiers（奖励档次）列表")
            for key in ("threshold", "cap"):
                if getattr(self, key) is not None:
                    raise ValueError(f"kind: tiers 的方案不使用键 {key}")
        else:
            if self.budget is None or self.threshold is None:
                raise ValueError("kind: proportional 的方案须有 budget（预算）"
                                 "和 threshold（积分门槛）")
            if self.tiers is not None:
                raise ValueError("kind: proportional 的方案不使用键 tiers")
            if self.cap is not None and self.cap == 0:
                raise ValueError("cap（单家上限）须大于 0")
        return self


@dataclass(frozen=True)
class LoadedScheme:
    """A validated scheme with the file it came from and the sha256 of its text (a payment
    list is reproducible from an immutable run plus this hash)."""

    scheme: Scheme
    source: str
    sha256: str
    text: str = field(repr=False)

    @property
    def id(self) -> str:
        return self.scheme.id


def parse_scheme(text: str, file: str) -> LoadedScheme:
    """Scheme text → a validated scheme; read by the one rule loader (kechuang.kit.rules):
    every mistake with file, line and dotted key, duplicate keys refused."""
    raw = rules.parse_yaml(text, file)
    if not isinstance(raw, dict):
        raise SchemeFileError(file, [(1, "", "奖励方案文件应为一个映射（键: 值）")])
    scheme = rules.validate(raw, Scheme, file)
    _cross_checks(scheme, raw, file)
    return LoadedScheme(scheme, file, hashlib.sha256(text.encode("utf-8")).hexdigest(), text)


def _cross_checks(scheme: Scheme, raw: Any, file: str) -> None:
    """Overlapping place ranges for the same stage are a mistake (first match would hide it)."""
    seen: list[tuple[int, int, str | None, int]] = []
    for i, rule in enumerate(scheme.tiers or []):
        if rule.ranks is None:
            continue
        lo, hi = rule.ranks
        for plo, phi, pstage, j in seen:
            if pstage == rule.stage and lo <= phi and plo <= hi:
                line, key = rules.locate(raw, ("tiers", i, "ranks"))
                raise SchemeFileError(file, [(line, key, f"名次范围 [{lo}, {hi}] 与第 {j + 1} "
                                                         f"条规则的 [{plo}, {phi}] 重叠")])
        seen.append((lo, hi, rule.stage, i))


def load_scheme_file(path: Path) -> LoadedScheme:
    text, name = rules.read_text(path)
    return parse_scheme(text, name)


def shipped_schemes() -> dict[str, LoadedScheme]:
    """The schemes shipped with the platform (``lists/schemes/*.yaml``), by id."""
    out: dict[str, LoadedScheme] = {}
    for path in sorted(SCHEMES_DIR.glob("*.yaml")):
        if path.name.endswith(".cases.yaml"):
            continue
        loaded = load_scheme_file(path)
        out[loaded.id] = loaded
    return out


def shipped_scheme(scheme_id: str) -> LoadedScheme:
    schemes = shipped_schemes()
    if scheme_id not in schemes:
        raise NotFound(f"没有 id 为 {scheme_id} 的奖励方案（可选：{'、'.join(schemes)}）",
                       f"No reward scheme {scheme_id}")
    return schemes[scheme_id]


# --------------------------------------------------------------------------- YAML cases
class _CaseCandidate(_Strict):
    id: int
    points: float
    list_rank: int | None = None
    stage_rank: int | None = None
    stage: str | None = None
    tier: str | None = None
    veto: str | None = None


class _CaseExpect(_Strict):
    #: enterprise id → amount (yuan); an enterprise not named is paid nothing
    payments: dict[int, Money]
    total: Money | None = None
    unallocated: Money | None = None


class SchemeCase(_Strict):
    name: str = Field(min_length=1)
    candidates: list[_CaseCandidate]
    expect: _CaseExpect | None = None
    #: a fragment of the refusal message, when the scheme must refuse (over budget)
    refused: str | None = None


class SchemeCaseFile(_Strict):
    scheme: str
    cases: list[SchemeCase] = Field(min_length=1)


def load_cases(path: Path) -> tuple[LoadedScheme, list[SchemeCase]]:
    """The scheme and the YAML cases of a ``<scheme>.cases.yaml`` file (run each with
    :func:`kechuang.lists.engine.run_case`)."""
    text, name = rules.read_text(path)
    cf = rules.loads(text, SchemeCaseFile, name)
    return load_scheme_file(path.parent / cf.scheme), cf.cases


def case_files(folder: Path = SCHEMES_DIR) -> list[Path]:
    return sorted(folder.glob("*.cases.yaml"))
