"""YAML cases of the shipped indicator systems (``systems/<system>.cases.yaml``), run by
``kechuang index test`` and by pytest (tests/scoring/test_system_cases.py).

A case file names its ``system`` (a file beside it) and lists ``cases``: each a few
enterprises' input facts (``units``: one mapping per enterprise, the unit id, cohort columns
and metric codes; a metric a unit does not list is *missing*, never zero) and the values the
published rule gives them, computed by hand (``expect``: per unit id, node codes → points,
``<group>_rank`` → rank, ``veto`` → the veto codes, ``raw.<indicator>`` → the indicator's
value before imputation). The case runs the real engine (in-process DuckDB), so a wrong
weight, band or formula in the system file fails a case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules
from kechuang.kit.errors import KechuangError
from kechuang.scoring import engine
from kechuang.scoring.system import SYSTEMS_DIR, System, load


class SystemCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    year: int | None = None
    units: list[dict[str, Any]] = Field(min_length=1)
    expect: dict[str, dict[str, Any]] = Field(min_length=1)
    tolerance: float = Field(default=1e-6, gt=0)


class SystemCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: str
    cases: list[SystemCase] = Field(min_length=1)


def case_files(path: Path | None = None) -> list[Path]:
    """The case files of ``path`` (a file or a folder), default the shipped systems'."""
    where = path or SYSTEMS_DIR
    if where.is_dir():
        return sorted(where.glob("*.cases.yaml"))
    return [where]


def _frame(system: System, case: SystemCase) -> pd.DataFrame:
    df = pd.DataFrame(case.units)
    uid = system.spec.unit.id
    for col in sorted(system.inputs() | system.cohort_columns() | {uid}):
        if col not in df.columns:
            df[col] = None  # not given: missing (the system's impute rule decides)
    df[uid] = df[uid].astype(str)
    for col in system.cohort_columns():
        df[col] = df[col].astype(object).where(df[col].notna(), None)
    for col in system.inputs():
        df[col] = pd.to_numeric(df[col], errors="raise").astype("float64")
    return df


def run_case(system: System, case: SystemCase, filename: str) -> rules.CaseResult:
    result = rules.CaseResult(filename, case.name)
    uid = system.spec.unit.id
    try:
        con = ibis.duckdb.connect()
        table = con.create_table("case_data", _frame(system, case))
        res = engine.compute(system, table, year=case.year, con=con)
        scores = res.scores.execute().set_index(uid)
        assert res.wide is not None
        wide = res.wide.execute().set_index(uid)
    except (KechuangError, ValueError, TypeError) as exc:
        result.problems.append(f"计算失败 failed: {getattr(exc, 'message_zh', exc)}")
        return result
    for unit, wanted in case.expect.items():
        if unit not in scores.index:
            result.problems.append(f"{unit}: 没有这个单位 no such unit")
            continue
        for key, want in wanted.items():
            if key.startswith("raw."):
                column, frame = f"raw__{key[4:]}", wide
            else:
                column, frame = key, scores
            if column not in frame.columns:
                result.problems.append(f"{unit} {key}: 没有这一项 no such value")
                continue
            got = frame.at[unit, column]
            got = got.item() if hasattr(got, "item") else got
            problem = rules.mismatch(f"{unit} {key}", want, got, case.tolerance)
            if problem:
                result.problems.append(problem)
    return result


def run_case_file(path: Path) -> list[rules.CaseResult]:
    """Every case of one file against the system it names (loaded by the one loader)."""
    text, name = rules.read_text(path)
    cf = rules.loads(text, SystemCaseFile, name)
    system = load(path.parent / cf.system)
    return [run_case(system, case, name) for case in cf.cases]
