"""Shapes of the programs capability: program-type definitions (workflow, form, tranches —
loaded from dated YAML by :mod:`kechuang.kit.rules`), the pre-research fund's dated
parameters, the cases files, and what the service, API and pages take and return."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kechuang.kit import rules as rulefiles

HERE = Path(__file__).parent
TYPES_DIR = HERE / "types"
PRE_RESEARCH_PATH = HERE / "pre_research_fund.yaml"
PRE_RESEARCH_CASES = HERE / "pre_research_fund.cases.yaml"

KINDS = ("challenge", "horse_race", "pre_research", "grant")
Kind = Literal["challenge", "horse_race", "pre_research", "grant"]
Role = Literal["bureau_admin", "bureau_staff", "enterprise", "institute", "system"]
GUARDS = ("before_deadline", "deadline_passed", "budget_left", "has_applications",
          "gates_left", "no_gates_left")
Guard = Literal["before_deadline", "deadline_passed", "budget_left", "has_applications",
                "gates_left", "no_gates_left"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Label(Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Transition(Strict):
    """One move of a state machine: from which states, to which state, by which roles,
    under which guards."""

    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    roles: list[Role] = Field(min_length=1)
    guards: list[Guard] = Field(default_factory=list)
    zh: str
    en: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Workflow(Strict):
    initial: str
    states: dict[str, Label] = Field(min_length=2)
    transitions: dict[str, Transition] = Field(min_length=1)

    @model_validator(mode="after")
    def _states_known(self) -> Workflow:
        if self.initial not in self.states:
            raise ValueError(f"初始状态 “{self.initial}” 不在 states 中")
        for name, t in self.transitions.items():
            for s in [*t.from_, t.to]:
                if s not in self.states:
                    raise ValueError(f"转换 “{name}” 用到未定义的状态 “{s}”")
        return self


FieldType = Literal["text", "textarea", "money", "integer", "date", "choice"]


class FormField(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str
    en: str
    type: FieldType
    required: bool = False
    max_length: int | None = Field(default=None, ge=1, le=20000)
    min: Decimal | None = None
    max: Decimal | None = None
    choices: list[str] = Field(default_factory=list)


class AttachmentSpec(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str
    en: str
    required: bool = False
    #: sniffed content types accepted (pdf, png, jpeg, docx, xlsx)
    types: list[Literal["pdf", "png", "jpeg", "docx", "xlsx"]] = Field(min_length=1)
    max_bytes: int = Field(ge=1, le=50 * 1024 * 1024)


class Form(Strict):
    fields: list[FormField] = Field(min_length=1)
    attachments: list[AttachmentSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Form:
        keys = [f.key for f in self.fields] + [a.key for a in self.attachments]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"表单字段重复：{', '.join(sorted(dup))}")
        return self


class ProgramTypeDef(rulefiles.RuleHeader):
    """A program type: what a call of it looks like and how it moves."""

    kind: Kind
    description: str = ""
    call_workflow: Workflow
    application_workflow: Workflow
    form: Form
    #: tranche split of an award, shares summing to 1 (e.g. 0.3 / 0.4 / 0.3)
    tranches: list[Decimal] = Field(default_factory=lambda: [Decimal(1)], min_length=1)
    #: 赛马: stage gates after the decision, and how many continue at each gate
    gates: int = Field(default=0, ge=0, le=10)
    continue_counts: list[int] = Field(default_factory=list)
    fund_count: int | None = Field(default=None, ge=1, le=100)
    rubric_id: str = "default"

    @model_validator(mode="after")
    def _tranches(self) -> ProgramTypeDef:
        if sum(self.tranches) != 1:
            raise ValueError(f"tranches 各期比例之和应为 1，实为 {sum(self.tranches)}")
        if any(t <= 0 for t in self.tranches):
            raise ValueError("tranches 每期比例应大于 0")
        if self.gates and len(self.continue_counts) != self.gates:
            raise ValueError("continue_counts 的项数应等于 gates")
        if self.gates and len(self.tranches) != self.gates + 1:
            raise ValueError("赛马：tranches 的期数应为 gates + 1（立项一期，每个关口一期）")
        return self


@cache
def builtin_types() -> dict[str, ProgramTypeDef]:
    out = {}
    for path in sorted(TYPES_DIR.glob("*.yaml")):
        if path.name.endswith(".cases.yaml"):
            continue
        t = rulefiles.load(path, ProgramTypeDef)
        out[t.id] = t
    return out


# --------------------------------------------------------------------------- pre-research
class PreResearchParams(rulefiles.RuleHeader):
    """Dated rates and caps of the pre-research fund (产学研预研资金)."""

    front_rate: list[rulefiles.DatedValue] = Field(min_length=1)
    front_cap: list[rulefiles.DatedValue] = Field(min_length=1)
    back_rate: list[rulefiles.DatedValue] = Field(min_length=1)
    back_cap: list[rulefiles.DatedValue] = Field(min_length=1)


@cache
def pre_research_params() -> PreResearchParams:
    return rulefiles.load(PRE_RESEARCH_PATH, PreResearchParams)


class PreResearchCase(Strict):
    name: str
    day: date
    contract: Decimal | None = None
    followup_rd: Decimal | None = None
    front: Decimal | None = None
    back: Decimal | None = None


class PreResearchCases(Strict):
    cases: list[PreResearchCase] = Field(min_length=1)


class WorkflowCase(Strict):
    """A clerk-written case: in state S, role R taking action A with these guards → the
    new state, or an error containing ``error``."""

    name: str
    type: str
    machine: Literal["call", "application"]
    state: str
    action: str
    role: str
    guards: dict[str, bool] = Field(default_factory=dict)
    to: str | None = None
    error: str | None = None


class WorkflowCases(Strict):
    cases: list[WorkflowCase] = Field(min_length=1)


# --------------------------------------------------------------------------- inputs
class ProgramIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,40}$")
    title: str = Field(min_length=2, max_length=200)
    type_code: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2100)
    budget: Decimal = Field(ge=0)


class CallIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,40}$")
    title: str = Field(min_length=2, max_length=200)
    closes_on: date
    visibility: Literal["public", "bureau"] = "public"
    policy_id: str | None = None
    problem: str = ""
    kpis: list[dict[str, str]] = Field(default_factory=list)
    budget_cap: Decimal | None = Field(default=None, ge=0)
    cofunding: Decimal | None = Field(default=None, ge=0)
    fund_count: int | None = Field(default=None, ge=1, le=100)


class MemberIn(Strict):
    org_type: Literal["enterprise", "institute", "other"]
    org_id: int | None = None
    name: str = Field(min_length=1, max_length=200)
    role: Literal["lead", "member"] = "member"


# --------------------------------------------------------------------------- outputs
class ProgramOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    type_code: str
    kind: str
    region_code: str
    year: int
    budget: Decimal
    budget_key: str


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    code: str
    title: str
    kind: str
    region_code: str
    year: int
    state: str
    state_label: str = ""
    visibility: str
    closes_at: datetime | None
    problem: str
    kpis: list[dict[str, str]]
    budget_cap: Decimal | None
    cofunding: Decimal | None
    fund_count: int | None
    current_gate: int


class ApplicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    applicant_type: str
    applicant_name: str
    state: str
    state_label: str = ""
    title: str
    requested_amount: Decimal | None
    awarded_amount: Decimal | None
    contract_amount: Decimal | None
    followup_rd: Decimal | None
    score: Decimal | None
    rank: int | None
    gate: int
    members: list[dict[str, object]]
    submitted_at: datetime | None


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    application_id: int
    kind: str
    tranche: int | None
    amount: Decimal
    payee_type: str
    payee_name: str
    decision_ref: str
    ledger_entry_id: int | None
    paid_on: date


class WinnerOut(BaseModel):
    call_id: int
    call_code: str
    call_title: str
    kind: str
    applicant_name: str
    awarded_amount: Decimal | None
    rank: int | None
    state: str


class PublicChallengesOut(BaseModel):
    open: list[CallOut]
    winners: list[WinnerOut]


class YearStats(BaseModel):
    """One year of the pre-research fund, as the Zhangjiagang report counts it."""

    year: int | None  # None = the total over every year
    applications: int
    institutes: int
    enterprises: int
    front_approved: int
    back_approved: int
    disbursed: Decimal
    rd_leveraged: Decimal


class ActionResult(BaseModel):
    id: int
    state: str
    state_label: str
