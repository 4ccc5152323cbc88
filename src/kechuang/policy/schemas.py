"""The policy file format, validated with Pydantic (unknown keys are refused).

A policy is data: dated parameters with their legal references, scored items (bands,
cases, expert-judged ranges, sums and maxima) and a condition tree of leaves. Expressions
stay text here and are parsed by the loader, which reports file, line and key.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

Points = float | tuple[float, float]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(Strict):
    number: str = Field(description="文号, e.g. 国科发火〔2016〕32号")
    title: str
    article: str | None = None


class ParamValue(Strict):
    start: date = Field(alias="from")
    value: float
    ref: str = Field(description="legal reference of this value")


class Parameter(Strict):
    label: str
    unit: str | None = None
    #: ``as_of``: the value in force on the as-of date (eligibility rules); ``year_end``: the
    #: value in force on 31 December of the evaluation year (tax rates of that tax year)
    select: Literal["as_of", "year_end"] = "as_of"
    values: list[ParamValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> Parameter:
        starts = [v.start for v in self.values]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("参数取值的生效日期必须严格递增")
        return self

    def at(self, as_of: date) -> ParamValue | None:
        current = None
        for v in self.values:
            if v.start <= as_of:
                current = v
        return current


class Band(Strict):
    min: float | None = None
    above: float | None = None
    points: Points

    @model_validator(mode="after")
    def _one_bound(self) -> Band:
        if (self.min is None) == (self.above is None):
            raise ValueError("每一档须且只须给出 min（含）或 above（不含）之一")
        return self

    @property
    def bound(self) -> float:
        return self.min if self.min is not None else float(self.above)  # type: ignore[arg-type]


class Bands(Strict):
    value: str | float
    table: list[Band] = Field(min_length=1)
    otherwise: Points = Field(default=0, alias="else")

    @model_validator(mode="after")
    def _descending(self) -> Bands:
        bounds = [b.bound for b in self.table]
        if any(a <= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("分档下限必须自上而下严格递减（从最高档开始判断）")
        return self


class Case(Strict):
    when: str | bool
    points: Points


class ScoreItem(Strict):
    id: str
    label: str
    clause: str | None = None
    expert: tuple[float, float] | None = None
    bands: Bands | None = None
    cases: list[Case] | None = None
    otherwise: Points = Field(default=0, alias="else")
    sum: list[ScoreItem] | None = None
    max: list[ScoreItem] | None = None
    cap: float | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScoreItem:
        kinds = [k for k in ("expert", "bands", "cases", "sum", "max") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError("评分项须且只须是 expert / bands / cases / sum / max 之一")
        if self.expert and self.expert[0] > self.expert[1]:
            raise ValueError("专家评分区间下限大于上限")
        return self


class Check(Strict):
    value: str | float
    op: Literal[">=", ">", "<=", "<", "==", "!="] | None = None
    threshold: str | float | None = None
    format: Literal["pct", "wan", "int", "num", "pts", "days", "bool"] = "num"
    gap: str | None = None
    gap_vars: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _pair(self) -> Check:
        if (self.op is None) != (self.threshold is None):
            raise ValueError("op 与 threshold 须同时给出（或都省略，表示 value 本身为真假）")
        return self


class Leaf(Strict):
    id: str
    label: str
    clause: str
    checks: list[Check] = Field(min_length=1)


class Group(Strict):
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one(self) -> Group:
        if sum(x is not None for x in (self.all, self.any, self.not_)) != 1:
            raise ValueError("条件组须且只须是 all / any / not 之一")
        return self


def _kind(v: Any) -> str:
    if isinstance(v, dict):
        return "leaf" if "id" in v else "group"
    return "leaf" if isinstance(v, Leaf) else "group"


Condition = Annotated[
    Annotated[Leaf, Tag("leaf")] | Annotated[Group, Tag("group")], Discriminator(_kind)
]


class Estimate(Strict):
    """A figure reported with the verdict (e.g. a tax benefit), one output column each."""

    id: str
    label: str
    value: str
    format: Literal["pct", "wan", "int", "num", "pts", "days"] = "num"


class VerdictScore(Strict):
    points: str
    pass_mark: str | float


class Policy(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    name_en: str | None = None
    document: Document
    related: list[Document] = Field(default_factory=list)
    effective_from: date
    effective_to: date | None = None
    target: str
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    scores: list[ScoreItem] = Field(default_factory=list)
    verdict_score: VerdictScore | None = None
    conditions: Group
    estimates: list[Estimate] = Field(default_factory=list)
    #: ``application``: an enterprise applies (a push says so and offers 「我要申请」);
    #: ``tax_measure``: applied in the tax return (加计扣除…), so a push is information with
    #: the estimated ``benefit`` (the id of one of ``estimates``), never an apply button
    instrument: Literal["application", "tax_measure"] = "application"
    benefit: str | None = None

    @model_validator(mode="after")
    def _benefit_is_an_estimate(self) -> Policy:
        if self.benefit is not None and self.benefit not in {e.id for e in self.estimates}:
            raise ValueError(f"benefit {self.benefit!r} 不是本政策 estimates 中的编号")
        return self


ScoreItem.model_rebuild()
Group.model_rebuild()
