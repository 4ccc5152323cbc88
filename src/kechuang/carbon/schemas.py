"""Pydantic models at the edge of the carbon package: the parameter file (bands, levels,
alert threshold) and what the API returns."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: int = Field(ge=1, le=99)
    max: float | None = Field(default=None, ge=0)


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: str = Field(pattern=r"^[a-z_]+$")
    max: float | None = Field(default=None, ge=0)


class Alerts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intensity_up: float = Field(ge=0, le=100)


def _check_ladder(items: list[Band] | list[Level], what: str) -> None:
    maxes = [i.max for i in items]
    if maxes[-1] is not None:
        raise ValueError(f"最后一档（{what}）不能有 max：它接收其余全部")
    if any(m is None for m in maxes[:-1]):
        raise ValueError(f"除最后一档外，每一档（{what}）都需要 max")
    upper = [m for m in maxes[:-1] if m is not None]
    if any(b <= a for a, b in zip(upper, upper[1:], strict=False)):
        raise ValueError(f"各档（{what}）的 max 必须严格递增")


class BandsFile(BaseModel):
    """A ``--bands`` file: ``bands:`` is required; the header and the other parameters are
    optional there (the built-in file carries them all, citing the standard)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    title: str | None = None
    title_en: str | None = None
    valid_from: date | None = None
    source: str | None = None
    bands: list[Band] = Field(min_length=2)
    levels: list[Level] | None = Field(default=None, min_length=2)
    alerts: Alerts | None = None
    min_cohort: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _ladders(self) -> BandsFile:
        grades = [b.grade for b in self.bands]
        if grades != sorted(set(grades)):
            raise ValueError("bands 的 grade 必须从小到大且不重复（1 为最好）")
        _check_ladder(self.bands, "bands")
        if self.levels is not None:
            _check_ladder(self.levels, "levels")
        return self


class EfficiencyRules(BandsFile):
    """The built-in, dated parameter file: every field required."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    title: str
    valid_from: date
    source: str = Field(min_length=4)
    levels: list[Level] = Field(min_length=2)
    alerts: Alerts
    min_cohort: int = Field(ge=1)


# --------------------------------------------------------------------------- API
class GradeOut(BaseModel):
    uscc: str
    enterprise_id: int
    name: str
    industry_code: str
    region_code: str
    period: str
    intensity: float | None
    carbon_level: str | None
    benchmark: float | None
    benchmark_level: str | None
    ratio: float | None
    grade: int | None
    industry_rank: int | None
    industry_count: int | None
    region_rank: int | None
    region_count: int | None
    alert: str


class GradePage(BaseModel):
    period: str | None
    periods: list[str]
    total: int
    items: list[GradeOut]


class ShareRow(BaseModel):
    period: str
    graded: int
    counts: dict[str, int]


class GroupRow(BaseModel):
    code: str
    name: str
    graded: int
    intensity: float | None
    counts: dict[str, int]


class OverviewOut(BaseModel):
    period: str | None
    periods: list[str]
    shares: list[ShareRow]
    by_region: list[GroupRow]
    by_industry: list[GroupRow]
    alerts: int


class EvaluationOut(BaseModel):
    id: int
    region_code: str
    periods: list[str]
    enterprises: int
    graded: int
    alerts: int
    created_at: str


class NotifyOut(BaseModel):
    period: str
    notified: int
    already: int
