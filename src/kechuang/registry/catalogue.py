"""The metric catalogue: ``metrics.yaml`` (the spec's core, verbatim) merged with
``catalogue.yaml`` (English names, value types, ranges, sources, and added metrics)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

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


def _dec(v: object) -> Decimal | None:
    return None if v is None else Decimal(str(v))


@lru_cache(maxsize=1)
def load_catalogue() -> tuple[dict[str, MetricDef], dict[str, DepartmentDef]]:
    core = yaml.safe_load((DATA_DIR / "metrics.yaml").read_text(encoding="utf-8"))["metrics"]
    ext = yaml.safe_load((DATA_DIR / "catalogue.yaml").read_text(encoding="utf-8"))
    departments = {
        code: DepartmentDef(code=code, name_zh=d["zh"], name_en=d["en"])
        for code, d in ext["departments"].items()
    }
    metrics: dict[str, MetricDef] = {}
    codes = list(core) + [c for c in ext["metrics"] if c not in core]
    for i, code in enumerate(codes, start=1):
        base = core.get(code, {})
        more = ext["metrics"].get(code, {})
        merged = {**base, **more}
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
