"""The metric catalogue: ``metrics.yaml`` (the spec's core, verbatim) merged with
``catalogue.yaml`` (English names, value types, ranges, sources, and added metrics)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from kechuang.kit import rules

DATA_DIR = Path(__file__).parent / "data"

PeriodType = Literal["year", "month", "attr"]
ValueType = Literal["number", "integer", "date", "bool", "enum", "text"]


class MetricDef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    unit: str | None
    period_type: PeriodType
    value_type: ValueType
    allowed_values: tuple[str, ...] | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    sources: tuple[str, ...] = ()
    note: str | None = None
    builtin: bool = True


class DepartmentDef(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name_zh: str
    name_en: str


class _CoreMetric(BaseModel):
    """One metric of ``metrics.yaml`` (the spec's core catalogue)."""

    model_config = ConfigDict(extra="forbid")

    zh: str
    unit: str | None = None
    period: PeriodType
    type: ValueType | None = None
    values: list[str] | None = None
    note: str | None = None


class _CoreFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: dict[str, _CoreMetric]


class _ExtMetric(BaseModel):
    """One metric of ``catalogue.yaml``: additions to a core metric, or a full new one."""

    model_config = ConfigDict(extra="forbid")

    zh: str | None = None
    en: str | None = None
    unit: str | None = None
    period: PeriodType | None = None
    value: ValueType | None = None
    type: ValueType | None = None
    values: list[str] | None = None
    min: int | float | None = None
    max: int | float | None = None
    sources: list[str] | None = None
    note: str | None = None


class _Department(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: str
    en: str


class _ExtFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    departments: dict[str, _Department]
    groups: dict[str, Any] = {}  # YAML anchors shared by the metrics (``<<: *money``)
    metrics: dict[str, _ExtMetric]


def _dec(v: object) -> Decimal | None:
    return None if v is None else Decimal(str(v))


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[dict[str, MetricDef], dict[str, DepartmentDef]]:
    # the one rule loader: duplicate keys refused, errors with file, line and key
    core_file = rules.load(DATA_DIR / "metrics.yaml", _CoreFile)
    ext_file = rules.load(DATA_DIR / "catalogue.yaml", _ExtFile)
    core = {c: m.model_dump(exclude_unset=True) for c, m in core_file.metrics.items()}
    ext_metrics = {c: m.model_dump(exclude_unset=True) for c, m in ext_file.metrics.items()}
    departments = {
        code: DepartmentDef(code=code, name_zh=d.zh, name_en=d.en)
        for code, d in ext_file.departments.items()
    }
    metrics: dict[str, MetricDef] = {}
    codes = list(core) + [c for c in ext_metrics if c not in core]
    for i, code in enumerate(codes, start=1):
        base = core.get(code, {})
        more = ext_metrics.get(code, {})
        merged: dict[str, Any] = {**base, **more}
        value_type = merged.get("value") or merged.get("type") or "number"
        metrics[code] = MetricDef(
            id=i,
            code=code,
            name_zh=merged["zh"],
            name_en=merged.get("en", code),
            unit=merged.get("unit"),
            period_type=merged["period"],
            value_type=value_type,
            allowed_values=tuple(merged["values"]) if merged.get("values") else None,
            min_value=_dec(merged.get("min")),
            max_value=_dec(merged.get("max")),
            sources=tuple(merged.get("sources", ())),
            note=merged.get("note"),
            builtin=code in core,
        )
    for m in metrics.values():
        unknown = set(m.sources) - set(departments)
        if unknown:
            raise ValueError(f"catalogue.yaml: metric {m.code} names unknown department {unknown}")
    return metrics, departments


def metrics_by_code() -> dict[str, MetricDef]:
    return load_catalogue()[0]


def departments_by_code() -> dict[str, DepartmentDef]:
    return load_catalogue()[1]
