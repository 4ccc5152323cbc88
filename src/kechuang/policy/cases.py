"""YAML test cases that policy staff write next to each policy file.

A case file ``X.cases.yaml`` holds ``policy`` (an id or a file next to it) and ``cases``:
each with a Chinese ``name``, ``period`` (evaluation year) or ``as_of`` (date), ``input``
(attributes at top level, yearly metrics under ``years``) and ``output`` (what to check:
verdict, score bounds, failed leaves, missing inputs, leaf values, gap text). Failures are
reported as file, case name, expected and actual — never a traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kechuang.kit.errors import KechuangError
from kechuang.policy.engine import VERDICTS, evaluate
from kechuang.policy.gaps import gaps_for
from kechuang.policy.loader import (
    BUILTIN_DIR,
    LoadedPolicy,
    get_policy,
    load_policy_file,
    read_yaml,
    validation_error,
)

CASE_USCC = "CASE"


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal[VERDICTS] | None = None  # type: ignore[valid-type]
    score: float | None = None
    score_min: float | None = None
    score_max: float | None = None
    failed: list[str] | None = None
    missing: list[str] | None = None
    values: dict[str, float | str] = Field(default_factory=dict)
    gaps: dict[str, str] = Field(default_factory=dict)


class CaseDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    period: int | None = None
    as_of: date | None = None
    input: dict[str, Any]
    output: Expected

    @model_validator(mode="after")
    def _when(self) -> CaseDef:
        if (self.period is None) == (self.as_of is None):
            raise ValueError("须且只须给出 period（评价年度）或 as_of（评价日）之一")
        return self

    @property
    def when(self) -> date:
        return self.as_of or date((self.period or 0) + 1, 1, 1)


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str
    cases: list[CaseDef] = Field(min_length=1)


@dataclass
class CaseResult:
    file: str
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def case_frame(case: CaseDef) -> pd.DataFrame:
    """The case input as rows of enterprise × year, like a ``policy eval`` input file."""
    attrs = {k: v for k, v in case.input.items() if k != "years"}
    years = case.input.get("years") or {case.when.year - 1: {}}
    rows = [{"uscc": CASE_USCC, "year": int(y), **attrs, **(vals or {})}
            for y, vals in years.items()]
    return pd.DataFrame(rows)


def _close(a: float, b: float) -> bool:
    return (math.isinf(a) and a == b) or abs(a - b) <= 1e-6 * max(1.0, abs(b))


def check_case(lp: LoadedPolicy, case: CaseDef, file: str) -> CaseResult:
    result = CaseResult(file, case.name)
    try:
        ev = evaluate(lp, case_frame(case), case.when)
    except KechuangError as exc:
        result.problems.append(f"评价出错：{exc.message_zh}")
        return result
    row = ev.table().iloc[0]
    out = case.output
    bad = result.problems
    if out.verdict is not None and row["verdict"] != out.verdict:
        bad.append(f"verdict 期望 {out.verdict}，实际 {row['verdict']}"
                   + (f"（缺失：{row['missing']}）" if row["missing"] else ""))
    for key in ("score", "score_min", "score_max"):
        want = getattr(out, key)
        got = row[key]
        if want is not None and (got == "" or not _close(float(got), want)):
            bad.append(f"{key} 期望 {want:g}，实际 {got or '（无）'}")
    if out.failed is not None:
        got_failed = sorted(x for x in str(row["failed"]).split(";") if x)
        if got_failed != sorted(out.failed):
            bad.append(f"failed 期望 {sorted(out.failed)}，实际 {got_failed}")
    if out.missing is not None:
        got_missing = sorted(x for x in str(row["missing"]).split(";") if x)
        if got_missing != sorted(out.missing):
            bad.append(f"missing 期望 {sorted(out.missing)}，实际 {got_missing}")
    for leaf_id, want in out.values.items():
        if leaf_id not in row.index:
            bad.append(f"values：没有条件 {leaf_id}")
            continue
        got = str(row[leaf_id])
        if isinstance(want, str) or "-" in got[1:]:
            ok = got == str(want)
        else:
            ok = got != "" and _close(float(got), float(want))
        if not ok:
            bad.append(f"{leaf_id} 的取值期望 {want}，实际 {got or '（缺失）'}")
    if out.gaps:
        texts = {g.leaf_id: g.text for g in gaps_for(ev, CASE_USCC, all_unmet=True)}
        for leaf_id, fragment in out.gaps.items():
            if fragment not in texts.get(leaf_id, ""):
                bad.append(f"{leaf_id} 的差距说明应包含 {fragment!r}，实际 "
                           f"{texts.get(leaf_id, '（无差距）')!r}")
    return result


def run_case_file(path: Path) -> list[CaseResult]:
    """Run every case of one file; a malformed file is one failing result naming the line."""
    try:
        data, smap = read_yaml(path.read_text(encoding="utf-8"), str(path))
        try:
            cf = CaseFile.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc, smap) from exc
        sibling = path.parent / cf.policy
        lp = load_policy_file(sibling) if sibling.suffix == ".yaml" else get_policy(cf.policy)
    except (KechuangError, OSError) as exc:
        message = exc.message_zh if isinstance(exc, KechuangError) else str(exc)
        return [CaseResult(str(path), "（文件）", [message])]
    return [check_case(lp, case, str(path)) for case in cf.cases]


def case_files(target: Path | None = None) -> list[Path]:
    target = target or BUILTIN_DIR
    if target.is_file():
        return [target]
    return sorted(target.rglob("*.cases.yaml"))


def load_cases(path: Path) -> list[tuple[str, CaseDef]]:
    """(policy, case) pairs of a case file, for pytest parametrisation."""
    data, _ = read_yaml(path.read_text(encoding="utf-8"), str(path))
    cf = CaseFile.model_validate(data)
    return [(cf.policy, c) for c in cf.cases]
