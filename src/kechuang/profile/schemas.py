"""Shapes of the enterprise profile (画像) and of the what-if panel.

The what-if input is validated here so that a bad change is refused with a clear Chinese
message naming the metric and the reason (unknown metric, not a number, not a yearly
numeric metric, named twice); whether the changed value is possible (e.g. a negative head
count) depends on the current value and is checked by :mod:`kechuang.profile.whatif`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kechuang.kit.errors import InvalidInput
from kechuang.registry.catalogue import metrics_by_code

#: most changes one what-if may carry (a panel, not a bulk import)
MAX_CHANGES = 20


def metric_label(code: str) -> str:
    meta = metrics_by_code().get(code)
    return f"{meta.name_zh}（{code}）" if meta else code


class WhatIfChange(BaseModel):
    """One changed input: ``delta`` is added to the current value of the scoring year, or
    ``value`` replaces it (exactly one of the two), in the catalogue's unit (万元, 人, 件)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    delta: Decimal | None = None
    value: Decimal | None = None

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        code = v.strip()
        meta = metrics_by_code().get(code)
        if meta is None:
            raise ValueError(f"未知的指标 “{code}”（不在指标目录中）")
        if meta.period_type != "year" or meta.value_type not in ("number", "integer"):
            raise ValueError(f"指标 {metric_label(code)} 不是按年度填报的数值，不能在推演中修改")
        return code

    @field_validator("delta", "value", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        if v is None or isinstance(v, Decimal | int | float) and not isinstance(v, bool):
            if isinstance(v, float) and v != v:  # NaN
                raise ValueError("应为数字")
            return v
        if isinstance(v, bool):
            raise ValueError(f"应为数字，实为 “{v}”")
        text = str(v).strip().replace(",", "").replace("，", "")
        if text.startswith("+"):
            text = text[1:]
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"应为数字，实为 “{v}”") from None
        if not number.is_finite():
            raise ValueError(f"应为有限的数字，实为 “{v}”")
        return number

    @model_validator(mode="after")
    def _one_of(self) -> WhatIfChange:
        if (self.delta is None) == (self.value is None):
            raise ValueError("delta / value")
        meta = metrics_by_code()[self.metric]
        number = self.delta if self.delta is not None else self.value
        if meta.value_type == "integer" and number is not None and number != number.to_integral():
            raise ValueError(f"{metric_label(self.metric)} 以“{meta.unit or '个'}”计，应为整数，"
                             f"实为 {number}")
        return self


class WhatIfRequest(BaseModel):
    """The what-if question: which system's latest run, and the changed inputs."""

    model_config = ConfigDict(extra="forbid")

    system_id: str | None = None
    changes: list[WhatIfChange] = Field(default_factory=list, max_length=MAX_CHANGES)

    @field_validator("changes")
    @classmethod
    def _once_each(cls, v: list[WhatIfChange]) -> list[WhatIfChange]:
        seen: set[str] = set()
        for c in v:
            if c.metric in seen:
                raise ValueError(f"指标 {metric_label(c.metric)} 出现了两次")
            seen.add(c.metric)
        return v


def _problem(err: Any) -> str:
    loc = [p for p in err.get("loc", ()) if p not in ("changes",)]
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        msg = "未知的字段"
    elif kind == "missing":
        msg = "缺少必填字段"
    elif kind == "too_long":
        msg = f"一次最多修改 {MAX_CHANGES} 项"
    elif msg == "delta / value":
        msg = "每项修改须给出 delta（增减量）或 value（新值）之一"
    where = ""
    if loc and isinstance(loc[0], int):
        where = f"第 {loc[0] + 1} 项修改"
        loc = loc[1:]
    if loc:
        where += ("" if not where else "，") + f"字段 “{'.'.join(str(p) for p in loc)}”"
    return f"{where}：{msg}" if where else msg


def parse_request(data: Any) -> WhatIfRequest:
    """Validate a what-if request; any problem becomes one :class:`InvalidInput` in Chinese."""
    try:
        return WhatIfRequest.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors()]
        raise InvalidInput("推演输入有误：" + "；".join(problems),
                           "invalid what-if input", problems=problems) from None


def parse_form(form: dict[str, str], metric_prefix: str = "delta.") -> WhatIfRequest:
    """The HTMX form: one ``delta.<metric>`` field per metric (empty = unchanged)."""
    changes: list[dict[str, Any]] = []
    problems: list[str] = []
    for key, raw in form.items():
        if not key.startswith(metric_prefix):
            continue
        code = key[len(metric_prefix):]
        text = str(raw).strip()
        if not text:
            continue
        try:
            change = WhatIfChange(metric=code, delta=text)
        except ValidationError as exc:
            problems += [f"{metric_label(code)}：{_problem(e).split('：', 1)[-1]}"
                         for e in exc.errors()]
            continue
        if change.delta != 0:
            changes.append({"metric": change.metric, "delta": change.delta})
    if problems:
        raise InvalidInput("推演输入有误：" + "；".join(problems), "invalid what-if input",
                           problems=problems)
    return parse_request({"system_id": form.get("system_id") or None, "changes": changes})


# --------------------------------------------------------------------------- profile output
class RunOut(BaseModel):
    id: int
    system_id: str
    system_version: str
    system_name: str
    year: int
    published: bool
    created_at: datetime
    enterprises: int


class SystemChoice(BaseModel):
    system_id: str
    name: str
    latest_year: int


class Standing(BaseModel):
    points: float | None
    rank: int | None
    of: int
    rank_industry: int | None
    of_industry: int
    rank_region: int | None
    of_region: int
    rank_cohort: int | None
    of_cohort: int
    cohort: str | None
    percentile: float | None
    list_tier: str | None
    list_tier_label: str | None
    stage: str | None
    industry_section: str | None
    #: the veto items (bureau only); the enterprise gets ``notice`` instead
    veto: list[str] | None = None
    notice: str | None = None
    prev_points: float | None = None
    prev_rank: int | None = None


class Dimension(BaseModel):
    code: str
    name: str
    value: float | None
    median: float | None
    p90: float | None
    #: the highest score of the dimension over the run (the radar's axis maximum)
    max: float | None


class Radar(BaseModel):
    section: str | None
    members: int
    dimensions: list[Dimension]


class TrendPoint(BaseModel):
    year: int
    run_id: int | None
    points: float | None
    rank: int | None
    of: int | None


class FactRef(BaseModel):
    metric: str
    metric_name: str
    unit: str | None
    period: int
    value: str
    department: str
    department_name: str
    batch_id: int
    batch_filename: str
    batch_at: datetime | None


class IndicatorOut(BaseModel):
    code: str
    name: str
    group: str | None
    group_name: str | None
    formula: str
    raw: float | None
    imputed: float | None
    treated: float | None
    normalised: float | None
    weight: float | None
    contribution: float | None
    #: share of the cohort at or below the enterprise's normalised value, in [0, 100]
    percentile: float | None
    cohort_size: int
    facts: list[FactRef] = Field(default_factory=list)


class WhatIfMetric(BaseModel):
    code: str
    name: str
    unit: str | None
    year: int
    current: float | None


class ProfileOut(BaseModel):
    uscc: str
    name: str
    systems: list[SystemChoice]
    run: RunOut | None
    standing: Standing | None
    radar: Radar | None
    trend: list[TrendPoint]
    strongest: list[IndicatorOut]
    weakest: list[IndicatorOut]
    indicators: list[IndicatorOut]
    whatif_metrics: list[WhatIfMetric]
    notes: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- what-if output
class ScoreSide(BaseModel):
    points: float | None
    rank: int | None
    rank_industry: int | None
    rank_region: int | None
    rank_cohort: int | None
    percentile: float | None
    list_tier: str | None
    stage: str | None
    vetoed: bool
    dimensions: dict[str, float | None]


class PolicyChange(BaseModel):
    policy_id: str
    policy_name: str
    before: str
    before_label: str
    after: str
    after_label: str
    changed: bool
    score_before: list[float | None]
    score_after: list[float | None]
    #: the conditions (leaf ids) that fail for certain, before and after the change
    failed_before: list[str]
    failed_after: list[str]
    #: gap sentences of the failed conditions, before and after the change
    gaps_before: list[str]
    gaps_after: list[str]


class AppliedChange(BaseModel):
    metric: str
    name: str
    unit: str | None
    year: int
    before: float | None
    after: float


class WhatIfOut(BaseModel):
    uscc: str
    run_id: int
    system_id: str
    year: int
    population: int
    changes: list[AppliedChange]
    before: ScoreSide
    after: ScoreSide
    delta_points: float | None
    delta_rank: int | None
    stored_points: float | None
    policies_as_of: str
    policies: list[PolicyChange]
    notes: list[str] = Field(default_factory=list)
