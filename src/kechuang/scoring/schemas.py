"""Pydantic models of the indicator-system file (scoring.md, "The indicator-system file
format"). Every model forbids unknown keys so an analyst's typo is an error, not a silently
ignored setting. Numbers may be constant expressions (``log(100)``), folded at load time.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from kechuang.scoring import expressions as ex


def _const(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return ex.constant(value)
        except ex.ExpressionError as exc:
            raise ValueError(str(exc)) from exc
    return value


Number = Annotated[float, BeforeValidator(_const)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitSpec(_Strict):
    id: str = "uscc"
    name: str | None = None
    #: batch mode: the year column of panel data (optional; one row per unit without it)
    year: str = "year"


ImputeMethod = Literal["none", "zero", "mean", "median", "group_mean", "group_median", "latest"]


class ImputeSpec(_Strict):
    method: ImputeMethod
    group: str | None = None

    @model_validator(mode="after")
    def _group(self) -> ImputeSpec:
        if self.method.startswith("group_") and not self.group:
            raise ValueError(f"方法 {self.method} 需要指定 group（分组列）")
        if self.group and not self.method.startswith("group_"):
            raise ValueError(f"方法 {self.method} 不使用 group")
        return self


class TreatSpec(_Strict):
    method: Literal["none", "skew_kurt", "percentile_cap", "sd_cap"]
    skew: Number = 2.0
    kurt: Number = 3.5
    winmax: int = Field(default=5, ge=0)
    lower: Number | None = None  # percentile_cap: lower quantile (0–1)
    upper: Number | None = None  # percentile_cap: upper quantile (0–1)
    k: Number = 3.0  # sd_cap: mean ± k·sd

    @model_validator(mode="after")
    def _params(self) -> TreatSpec:
        if self.method == "percentile_cap":
            lo = 0.0 if self.lower is None else self.lower
            hi = 1.0 if self.upper is None else self.upper
            if not 0 <= lo < hi <= 1:
                raise ValueError("percentile_cap 需要 0 ≤ lower < upper ≤ 1")
        if self.method == "sd_cap" and self.k <= 0:
            raise ValueError("sd_cap 的 k 应大于 0")
        return self


class TransformSpec(_Strict):
    method: Literal["none", "log", "sqrt", "cap"]
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _params(self) -> TransformSpec:
        if self.method == "cap":
            if self.min is None and self.max is None:
                raise ValueError("cap 需要 min 或 max")
            if self.min is not None and self.max is not None and self.min >= self.max:
                raise ValueError("cap 的 min 应小于 max")
        return self


NormaliseMethod = Literal[
    "none", "minmax", "zscore", "percentile", "rank", "goalposts", "distance", "bands"
]


class NormaliseSpec(_Strict):
    method: NormaliseMethod
    range: tuple[Number, Number] | None = None
    within: str | None = None
    min: Number | None = None  # goalposts
    max: Number | None = None  # goalposts
    target: Number | None = None  # distance
    bands: list[tuple[Number, Number]] | None = None  # [[lower bound inclusive, points], …]
    otherwise: Number = 0.0  # bands: points below the lowest bound

    @field_validator("bands")
    @classmethod
    def _descending(cls, v: list[tuple[float, float]] | None) -> Any:
        if v is not None:
            if not v:
                raise ValueError("bands 不能为空")
            bounds = [b for b, _ in v]
            if any(a <= b for a, b in zip(bounds, bounds[1:], strict=False)):
                raise ValueError("bands 的下限应从高到低严格递减（自上而下判断）")
        return v

    @field_validator("range")
    @classmethod
    def _range(cls, v: tuple[float, float] | None) -> Any:
        if v is not None and v[0] >= v[1]:
            raise ValueError("range 的下限应小于上限")
        return v

    @model_validator(mode="after")
    def _params(self) -> NormaliseSpec:
        m = self.method
        if m == "goalposts":
            if self.min is None or self.max is None:
                raise ValueError("goalposts 需要 min 和 max")
            if self.min >= self.max:
                raise ValueError("goalposts 的 min 应小于 max")
        elif self.min is not None or self.max is not None:
            raise ValueError(f"方法 {m} 不使用 min/max")
        if m == "distance" and self.target is None:
            raise ValueError("distance 需要 target")
        if m != "distance" and self.target is not None:
            raise ValueError(f"方法 {m} 不使用 target")
        if m == "bands" and self.bands is None:
            raise ValueError("bands 方法需要 bands 表")
        if m != "bands" and self.bands is not None:
            raise ValueError(f"方法 {m} 不使用 bands")
        return self

    @property
    def out_range(self) -> tuple[float, float]:
        if self.range is not None:
            return (float(self.range[0]), float(self.range[1]))
        return (0.0, 1.0) if self.method in ("goalposts",) else (0.0, 100.0)


class AggregateSpec(_Strict):
    method: Literal["arithmetic_mean", "geometric_mean", "harmonic_mean", "weighted_sum"]
    #: missing children: ignore (renormalise the weights present), zero (count as 0),
    #: propagate (the group is missing when any child is)
    missing: Literal["ignore", "zero", "propagate"] = "ignore"


class CohortWeight(_Strict):
    """A weight that differs by cohort, e.g. by enterprise stage 初创/成长/稳定."""

    by: str
    values: dict[str, Number]
    default: Number = 1.0

    @field_validator("values")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for key, w in v.items():
            if w <= 0:
                raise ValueError(f"权重应大于 0（{key}: {w}）")
        return v

    @field_validator("default")
    @classmethod
    def _default_positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("权重应大于 0")
        return v


def _weight(value: Any) -> Any:
    value = _const(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
        raise ValueError(f"权重应大于 0，实为 {value}")
    return value


class NodeSpec(_Strict):
    code: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str | None = None
    description: str | None = None
    source: str | None = None  # source department (documentation)
    weight: Annotated[float | CohortWeight, BeforeValidator(_weight)] = 1.0
    formula: str | None = None
    denominator: str | None = None
    direction: Literal[1, -1] = 1
    impute: ImputeSpec | None = None
    treat: TreatSpec | None = None
    transform: TransformSpec | None = None
    normalise: NormaliseSpec | None = None
    aggregate: AggregateSpec | None = None
    children: list[NodeSpec] | None = None

    @field_validator("formula", "denominator")
    @classmethod
    def _parses(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ex.parse(str(v))
            except ex.ExpressionError as exc:
                raise ValueError(str(exc)) from exc
        return v

    @model_validator(mode="after")
    def _kind(self) -> NodeSpec:
        if self.children is not None:
            if not self.children:
                raise ValueError("children 不能为空")
            bad = [k for k in ("formula", "denominator", "impute", "treat", "transform",
                               "normalise") if getattr(self, k) is not None]
            if bad:
                raise ValueError(f"分组节点（有 children）不能设置 {', '.join(bad)}")
        elif self.aggregate is not None:
            raise ValueError("指标节点（无 children）不能设置 aggregate")
        return self

    @property
    def is_group(self) -> bool:
        return self.children is not None


class Defaults(_Strict):
    impute: ImputeSpec = ImputeSpec(method="none")
    treat: TreatSpec = TreatSpec(method="none")
    transform: TransformSpec = TransformSpec(method="none")
    normalise: NormaliseSpec = NormaliseSpec(method="minmax")
    aggregate: AggregateSpec = AggregateSpec(method="arithmetic_mean")


class ColumnSpec(_Strict):
    """An extra data column a formula may use besides the metric catalogue (batch mode)."""

    name: str | None = None
    source: str | None = None


class VetoSpec(_Strict):
    """一票否决: a condition that excludes a unit from published lists (score stays visible)."""

    code: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    name: str | None = None
    condition: str
    description: str | None = None
    source: str | None = None

    @field_validator("condition")
    @classmethod
    def _parses(cls, v: str) -> str:
        try:
            ex.parse(str(v))
        except ex.ExpressionError as exc:
            raise ValueError(str(exc)) from exc
        return v


class SystemSpec(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    version: str
    effective_from: dt.date
    description: str | None = None
    #: the document (and article) the indicators and weights come from; every shipped
    #: system cites one (rule files are dated and sourced, docs/scoring/README.md)
    source: str | None = Field(default=None, min_length=4)
    unit: UnitSpec = UnitSpec()
    groups: list[str] = []
    columns: dict[str, ColumnSpec | None] = {}
    defaults: Defaults = Defaults()
    tree: list[NodeSpec] = Field(min_length=1)
    veto: list[VetoSpec] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v
