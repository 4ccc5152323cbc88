"""The matcher's confidence rule (``rules/confidence.yaml``): a candidate is a *strong*
match when it covers at least ``strong_coverage`` of the query's words (idf-weighted);
when no candidate is strong the pages say so and offer the next steps (widen the field, ask
an S&T commissioner, publish the demand as a challenge) instead of ranking junk."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules
from kechuang.kit.rules import RuleHeader

RULE_FILE = Path(__file__).with_name("rules") / "confidence.yaml"
CASES_FILE = Path(__file__).with_name("rules") / "confidence.cases.yaml"


class ConfidenceRule(RuleHeader):
    strong_coverage: float = Field(ge=0.0, le=1.0)


class ConfidenceCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    coverage: float = Field(ge=0.0, le=1.0)
    strong: bool


class ConfidenceCases(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cases: list[ConfidenceCase]


@lru_cache(maxsize=1)
def rule() -> ConfidenceRule:
    return rules.load(RULE_FILE, ConfidenceRule)


def is_strong(coverage: float) -> bool:
    return coverage >= rule().strong_coverage


def run_cases(path: Path = CASES_FILE) -> list[tuple[str, bool, str]]:
    """(case name, passed, problem) for every case of the cases file."""
    out = []
    for case in rules.load(path, ConfidenceCases).cases:
        got = is_strong(case.coverage)
        out.append((case.name, got == case.strong,
                    "" if got == case.strong else f"期望 expected {case.strong}，实为 got {got}"))
    return out
