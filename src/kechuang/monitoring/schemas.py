"""Pydantic models of kechuang.monitoring: the indicator system and task rules (rule files),
and what the API returns."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kechuang.kit.rules import RuleHeader

Aggregate = Literal["sum", "count", "share"]
Population = Literal["all", "above_scale", "hte", "tech_sme", "platform_national",
                     "platform_province", "platform_city"]
Condition = Literal["rd_active"]


class Compute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aggregate: Aggregate
    population: Population = "all"
    metric: str | None = None
    condition: Condition | None = None
    scale: float = 1.0

    @model_validator(mode="after")
    def _needs(self) -> Compute:
        if self.aggregate == "sum" and not self.metric:
            raise ValueError("aggregate: sum 需要 metric")
        if self.aggregate == "share" and not self.condition:
            raise ValueError("aggregate: share 需要 condition")
        return self


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    name_en: str
    unit: str
    unit_en: str
    higher_is_better: bool = True
    compute: Compute | None = None
    upload: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Indicator:
        if (self.compute is None) == (not self.upload):
            raise ValueError("每个指标要么有 compute，要么 upload: true（二者只能有一个）")
        return self

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name

    def unit_label(self, locale: str) -> str:
        return self.unit_en if locale == "en" else self.unit


class AboveScale(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[str] = Field(min_length=1)
    metric: str
    min: float = Field(ge=0)


class IndicatorSystem(RuleHeader):
    above_scale: AboveScale
    indicators: list[Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> IndicatorSystem:
        ids = [i.id for i in self.indicators]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"指标编号重复：{'、'.join(dup)}")
        return self

    def by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}


class TaskRules(RuleHeader):
    near_deadline_days: int = Field(ge=0, le=365)
    min_progress_near_deadline: int = Field(ge=0, le=100)
    risk_statuses: list[Literal["on_track", "at_risk", "delayed", "done"]]
    stale_report_days: int = Field(ge=1, le=365)


# --------------------------------------------------------------------------- API
class IndicatorCard(BaseModel):
    indicator_id: str
    name: str
    unit: str
    source: Literal["computed", "uploaded"]
    year: int
    value: float | None
    previous: float | None
    yoy_change: float | None = Field(description="relative change over the year before")
    target: float | None
    progress: float | None = Field(description="value / target (target / value when lower "
                                               "is better), as a share")


class RegionValue(BaseModel):
    region_code: str
    name: str
    level: str
    value: float | None


class Dashboard(BaseModel):
    region_code: str
    region_name: str
    year: int
    years: list[int]
    cards: list[IndicatorCard]
    compare_indicator: str
    regions: list[RegionValue]


class IndicatorRow(BaseModel):
    region_code: str
    indicator_id: str
    year: int
    value: float | None
    source: Literal["computed", "uploaded"]


class UploadSummary(BaseModel):
    rows: int
    inserted: int
    updated: int


class MilestoneOut(BaseModel):
    id: int
    title: str
    due_on: date
    done_on: date | None


class ReportOut(BaseModel):
    id: int
    progress: int
    status: str
    note: str
    actor: str
    reported_at: str


class TaskOut(BaseModel):
    id: int
    code: str
    title: str
    description: str
    region_code: str
    department_code: str
    department: str
    year: int
    deadline: date
    status: str
    progress: int | None
    latest_status: str | None
    last_report: str | None
    overdue: bool
    at_risk: bool
    reasons: list[str]
    milestones: list[MilestoneOut] = []
    reports: list[ReportOut] = []


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    department_code: str
    year: int = Field(ge=2000, le=2100)
    deadline: date
    milestones: list[tuple[str, date]] = []


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    progress: int = Field(ge=0, le=100)
    status: Literal["on_track", "at_risk", "delayed", "done"]
    note: str = Field(default="", max_length=2000)
    milestones_done: list[int] = []
