"""Push rules (a YAML file, validated) and the shapes the pages and the API return."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules as rule_files

RULES_PATH = Path(__file__).parent / "rules.yaml"

#: message kinds; ``program_open`` is written when a call for applications opens
#: (:func:`kechuang.push.service.do_push_program_open`)
KINDS = ("expiring", "newly_eligible", "near_eligible", "program_open")
KIND_LABELS = {
    "newly_eligible": "新符合条件",
    "near_eligible": "接近符合",
    "expiring": "资格即将到期",
    "program_open": "新开放项目",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NearRule(Strict):
    verdicts: list[str]
    max_failed_leaves: int = Field(ge=1)
    relative_gap: float = Field(ge=0, lt=1)
    score_points: float = Field(ge=0)


class RenewalRule(Strict):
    policy: str
    window_days: int = Field(ge=1)
    certificate_years: int = Field(ge=1)


class PushRules(rule_files.RuleHeader):
    """``rules.yaml``: a dated rule file (id, title, valid_from, source); every threshold
    is in the file, none here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eligible_verdicts: list[str]
    near_eligible: NearRule
    renewal: RenewalRule
    sms_max_chars: int = Field(ge=10, le=70)
    sms_prefix: str = ""


class OpenProgram(Strict):
    """A call for applications (申报通知) that has just opened. Who it fits is read from the
    latest eligibility run of ``policy_id`` covering the caller; the messages are keyed by
    (enterprise, ``program_id``, ``period``), so announcing the same call again adds nothing.
    The programs capability calls this when a call moves to ``open``; until it exists, the
    bureau announces a call with ``kechuang push program-open``."""

    program_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
                            description="the call's id (letters, digits, _ . : -)")
    title: str = Field(min_length=1, max_length=100, description="the call's title")
    policy_id: str = Field(min_length=1, max_length=64,
                           description="the policy whose eligible enterprises the call fits")
    period: int = Field(ge=2000, le=2100, description="the call's year")
    link: str = Field(min_length=2, max_length=255, pattern=r"^/[^\s]*$",
                      description="the call's page on the platform (a path)")
    closes_on: date | None = Field(default=None, description="the application deadline")


def load_rules(path: Path = RULES_PATH) -> PushRules:
    """Read and validate a rules file with the one rule loader (kechuang.kit.rules): errors
    name the file, the line and the key; duplicate keys are refused."""
    return rule_files.load(path, PushRules)


@cache
def rules() -> PushRules:
    return load_rules()


def rules_hash(path: Path = RULES_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class MessageOut(BaseModel):
    id: int
    policy_id: str
    period: int
    kind: Literal["expiring", "newly_eligible", "near_eligible", "program_open"]
    kind_label: str
    title: str
    body: str
    gap: str | None
    link: str
    created_at: datetime
    opened_at: datetime | None
    applied_at: datetime | None
    granted_at: datetime | None


class FunnelRow(BaseModel):
    policy_id: str
    kind: str
    pushed: int
    opened: int
    applied: int
    granted: int
    open_rate: float | None
    apply_rate: float | None
    grant_rate: float | None
