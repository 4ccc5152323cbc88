"""The finance rule file (``data/finance.yaml``) and its cases, loaded by
:mod:`kechuang.kit.rules` (file, line and key in every error; duplicate keys refused).

Every parameter is dated (:class:`~kechuang.kit.rules.DatedValue`); :class:`Rules` gives the
values in force on a date as typed objects the engine computes with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules
from kechuang.kit.rules import DatedValue, RuleHeader, value_at

DATA_DIR = Path(__file__).with_name("data")
RULES_PATH = DATA_DIR / "finance.yaml"
CASES_PATH = DATA_DIR / "finance.cases.yaml"

VERDICTS = ("eligible", "likely", "borderline", "insufficient_data")
MATCH_PARTS = ("eligibility", "amount", "term", "collateral", "points")
ASSESSMENT_PARTS = ("loans", "amount", "growth", "credit_share", "first_time_share", "rate")
KINDS = ("credit", "ip_pledge", "guarantee", "points_loan")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Dated = list[DatedValue]


class Matching(_Strict):
    verdict_factor: Dated = Field(min_length=1)
    weights: Dated = Field(min_length=1)
    points_missing: Dated = Field(min_length=1)
    guarantee_without_offer: Dated = Field(min_length=1)
    per_need: Dated = Field(min_length=1)


class Disclosure(_Strict):
    min_count: Dated = Field(min_length=1)


class Consent(_Strict):
    default_days: Dated = Field(min_length=1)
    max_days: Dated = Field(min_length=1)


class RiskPool(_Strict):
    share: Dated = Field(min_length=1)
    cap_per_loan_yuan: Dated = Field(min_length=1)
    cap_per_year_yuan: Dated = Field(min_length=1)
    eligible_kinds: Dated = Field(min_length=1)


class Assessment(_Strict):
    weights: Dated = Field(min_length=1)


class RuleFile(RuleHeader):
    matching: Matching
    disclosure: Disclosure
    consent: Consent
    risk_pool: RiskPool
    assessment: Assessment


@dataclass(frozen=True)
class MatchRules:
    verdict_factor: dict[str, float]
    weights: dict[str, float]
    points_missing: float
    guarantee_without_offer: float
    per_need: int


@dataclass(frozen=True)
class PoolRules:
    share: Decimal
    cap_per_loan_yuan: Decimal
    cap_per_year_yuan: Decimal
    eligible_kinds: frozenset[str]


@dataclass(frozen=True)
class Rules:
    """The values in force on ``on``."""

    on: date
    match: MatchRules
    min_count: int
    consent_default_days: int
    consent_max_days: int
    pool: PoolRules
    assessment_weights: dict[str, float]
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "verdict_factor": self.match.verdict_factor,
            "weights": self.match.weights,
            "points_missing": self.match.points_missing,
            "per_need": self.match.per_need,
            "source": self.source,
        }


def _weights(value: Any, names: tuple[str, ...], where: str) -> dict[str, float]:
    if not isinstance(value, dict) or set(value) != set(names):
        raise rules.RuleFileError(
            RULES_PATH.name, [(1, where, f"须给出且只给出 {', '.join(names)}")]
        )
    out = {k: float(v) for k, v in value.items()}
    if any(v < 0 for v in out.values()):
        raise rules.RuleFileError(RULES_PATH.name, [(1, where, "权重不能为负")])
    return out


def rules_at(on: date, path: Path | None = None) -> Rules:
    f = load_file(path or RULES_PATH)
    m, p = f.matching, f.risk_pool
    factor = _weights(value_at(m.verdict_factor, on), VERDICTS, "matching.verdict_factor")
    return Rules(
        on=on,
        match=MatchRules(
            verdict_factor=factor,
            weights=_weights(value_at(m.weights, on), MATCH_PARTS, "matching.weights"),
            points_missing=float(value_at(m.points_missing, on)),
            guarantee_without_offer=float(value_at(m.guarantee_without_offer, on)),
            per_need=int(value_at(m.per_need, on)),
        ),
        min_count=int(value_at(f.disclosure.min_count, on)),
        consent_default_days=int(value_at(f.consent.default_days, on)),
        consent_max_days=int(value_at(f.consent.max_days, on)),
        pool=PoolRules(
            share=Decimal(str(value_at(p.share, on))),
            cap_per_loan_yuan=Decimal(str(value_at(p.cap_per_loan_yuan, on))),
            cap_per_year_yuan=Decimal(str(value_at(p.cap_per_year_yuan, on))),
            eligible_kinds=frozenset(value_at(p.eligible_kinds, on)),
        ),
        assessment_weights=_weights(
            value_at(f.assessment.weights, on), ASSESSMENT_PARTS, "assessment.weights"
        ),
        source=f"{f.id}: {f.title}",
    )


@cache
def _load_cached(path: str, mtime: float) -> RuleFile:
    return rules.load(path, RuleFile)


def load_file(path: Path) -> RuleFile:
    return _load_cached(str(path), path.stat().st_mtime)


def load_cases(path: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    text, name = rules.read_text(path or CASES_PATH)
    raw = rules.parse_yaml(text, name)
    if not isinstance(raw, dict):
        raise rules.RuleFileError(name, [(1, "", "文件应为一个映射（键: 值）")])
    return {k: list(v or []) for k, v in raw.items()}
