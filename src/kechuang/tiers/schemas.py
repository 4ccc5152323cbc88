"""Tier rules (a YAML file, validated) and the rows the pages and the API return."""

from __future__ import annotations

import hashlib
import math
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kechuang.kit import rules as rule_files
from kechuang.kit.errors import InvalidInput

RULES_PATH = Path(__file__).parent / "rules.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeadingRule(Strict):
    system: str | None = None
    top_n: int = Field(ge=1)
    top_share: float = Field(ge=0, le=1)
    pool_factor: float = Field(ge=1)

    def cutoff(self, scored: int) -> int:
        """The last list rank of the tier: top N, or the top share, whichever is more."""
        return max(self.top_n, math.ceil(self.top_share * scored))


class Held(Strict):
    """A qualification the enterprise already holds puts it in the tier whatever a policy
    run says about a new application: a certificate in force at the end of the tier year
    (``valid_until``: the enterprise column of its expiry date), a register entry of that
    year or later (``registered_year``), or a register level (``level_in``)."""

    valid_until: Literal["hte_expires_on"] | None = None
    registered_year: Literal["tech_sme_year"] | None = None
    level_in: dict[Literal["srdi_level"], list[str]] | None = None

    @model_validator(mode="after")
    def _one(self) -> Held:
        given = [x for x in (self.valid_until, self.registered_year, self.level_in) if x]
        if len(given) != 1:
            raise ValueError("held 须且只须给出 valid_until、registered_year 或 level_in 之一")
        return self

    def columns(self) -> list[str]:
        return ([self.valid_until] if self.valid_until else []) + \
            ([self.registered_year] if self.registered_year else []) + \
            list(self.level_in or {})

    def holds(self, quals: pd.DataFrame, year: int) -> np.ndarray:
        """Which rows of ``quals`` (enterprise qualification columns) hold it in ``year``."""
        if self.valid_until:  # a certificate in force at the end of the year
            until = pd.to_datetime(quals[self.valid_until], errors="coerce")
            return (until >= pd.Timestamp(year, 12, 31)).to_numpy(dtype=bool)
        if self.registered_year:  # registered for the year (or later)
            registered = pd.to_numeric(quals[self.registered_year], errors="coerce")
            return (registered >= year).to_numpy(dtype=bool)
        column, allowed = next(iter((self.level_in or {}).items()))
        return quals[column].isin(allowed).to_numpy(dtype=bool)


class Tier(Strict):
    id: str
    level: int = Field(ge=1)
    label: str
    label_en: str
    policy: str | None = None
    scoring: LeadingRule | None = None
    held: Held | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Tier:
        if (self.policy is None) == (self.scoring is None):
            raise ValueError("每个梯队须且只须给出 policy 或 scoring 之一")
        return self


class TierRules(rule_files.RuleHeader):
    """``rules.yaml``: a dated rule file (id, title, valid_from, source); every cut-off is
    in the file, none here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reached_verdicts: list[str]
    require_lower: bool
    tiers: list[Tier]
    none_label: str
    none_label_en: str

    @model_validator(mode="after")
    def _levels(self) -> TierRules:
        levels = [t.level for t in self.tiers]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError("梯队 level 须从 1 起按顺序连续编号")
        if len({t.id for t in self.tiers}) != len(self.tiers):
            raise ValueError("梯队 id 重复")
        return self

    def by_id(self, tier_id: str) -> Tier:
        for t in self.tiers:
            if t.id == tier_id:
                return t
        raise InvalidInput(f"未知梯队 {tier_id!r}；可选：{', '.join(t.id for t in self.tiers)}",
                           f"Unknown tier {tier_id!r}")

    def label(self, level: int, locale: str = "zh") -> str:
        if level == 0:
            return self.none_label_en if locale == "en" else self.none_label
        t = self.tiers[level - 1]
        return t.label_en if locale == "en" else t.label

    def tier_id(self, level: int) -> str:
        return "none" if level == 0 else self.tiers[level - 1].id


def load_rules(path: Path = RULES_PATH) -> TierRules:
    """Read and validate a tier rules file with the one rule loader (kechuang.kit.rules):
    errors name the file, the line and the key; duplicate keys are refused."""
    return rule_files.load(path, TierRules)


@cache
def rules() -> TierRules:
    return load_rules()


def rules_hash(path: Path = RULES_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PoolRow(BaseModel):
    enterprise_id: int
    uscc: str
    name: str
    region_code: str
    current_tier: str
    current_label: str
    target_tier: str
    gap: str


class Transition(BaseModel):
    from_tier: str
    to_tier: str
    from_level: int
    to_level: int
    count: int
