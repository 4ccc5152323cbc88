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
KINDS = ("expired", "expiring", "information", "newly_eligible", "near_eligible",
         "program_open")
KIND_LABELS = {
    "newly_eligible": "新符合条件",
    "near_eligible": "接近符合",
    "expiring": "资格即将到期",
    "expired": "资格已到期",
    "information": "政策信息",
    "program_open": "新开放项目",
}
#: kinds an enterprise acts on by applying (「我要申请」); the others say what to do instead
APPLY_KINDS = ("newly_eligible", "near_eligible", "program_open")
#: a batch of messages: draft (in no inbox yet) → sent | discarded
BATCH_STATUSES = ("draft", "sent", "discarded")


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
    #: a certificate that expired at most this many days before the run's as-of date gets
    #: an expiry notice (``expired``) with the renewal path instead of any other message
    expired_days: int = Field(ge=1)
    #: what to do to renew, quoted in expiry and renewal notices
    path: str = Field(min_length=4)


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
    kind: Literal["expired", "expiring", "information", "newly_eligible", "near_eligible",
                  "program_open"]
    kind_label: str
    title: str
    body: str
    gap: str | None
    #: estimated benefit of an information message (a tax saving, in 万元, as text)
    benefit: str | None = None
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


class BatchOut(BaseModel):
    """A batch of push messages: what one run (or bureau action) calls for."""

    id: int
    source: str
    source_run_id: int | None
    policy_id: str
    policy_name: str
    policy_name_en: str
    period: int
    region_code: str | None
    status: Literal["draft", "sent", "discarded"]
    counts: dict[str, int]
    messages: int
    created_at: datetime
    created_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision: dict[str, int] | None


class BatchItemOut(BaseModel):
    """One message of a batch as the reviewer sees it: who, which message, why."""

    id: int
    enterprise_id: int
    uscc: str
    enterprise_name: str
    kind: str
    kind_label: str
    verdict: str | None
    title: str
    body: str
    gap: str | None
    benefit: str | None
    sms_text: str
    status: Literal["draft", "sent", "dropped"]


class SendBatchIn(BaseModel):
    """The reviewer's decision on a draft batch: items not to send, and edited texts."""

    model_config = ConfigDict(extra="forbid")

    drop: list[int] = Field(default_factory=list, max_length=100_000,
                            description="ids of messages not to send")
    edits: dict[int, str] = Field(default_factory=dict,
                                  description="message id → the edited body text")

    @property
    def edited(self) -> dict[int, str]:
        return {k: v.strip() for k, v in self.edits.items()}
