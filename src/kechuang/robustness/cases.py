"""YAML cases of the robustness defaults (``default.cases.yaml`` beside ``default.yaml``),
run by ``kechuang robustness test`` and by pytest (tests/robustness/test_default_cases.py).

A case names a shipped indicator system (file stem), the enterprises per stage
(``stages``: stage → count; every enterprise in industry section C) and optional
``overrides`` of the configuration (e.g. fewer replications). Enterprise k (0-based, in the
order listed) has the value k + 1 in every indicator (lower-is-better indicators get −(k + 1))
so the later an enterprise, the better it is on every indicator: whatever the replication
draws, the ranking cannot change, and what the case checks follows from the rule alone:

- ``factors``: the uncertain choices that act on the system, with their number of levels
  (from the configuration: weight sets, normalisation methods, aggregation methods,
  winsorisation levels);
- ``max_width_ranks``: the widest 90 % rank interval that is still robust
  (``rule.max_width_share`` × ranked enterprises);
- ``tiers``: how many enterprises the nominal ranking puts on each list (cut-offs by stage,
  from the scoring lists), and ``unstable``: how many are not robust.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kechuang.kit import rules
from kechuang.kit.errors import KechuangError
from kechuang.robustness.engine import Inputs, analyse
from kechuang.robustness.schemas import DEFAULT_FILE, load_config
from kechuang.scoring.system import load, shipped

CASES_FILE = DEFAULT_FILE.with_name("default.cases.yaml")


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")

    factors: dict[str, int] | None = None
    max_width_ranks: float | None = None
    tiers: dict[str, int] | None = None
    unstable: int | None = None


class RobustnessCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    system: str
    stages: dict[str, int] = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)
    expect: Expected


class RobustnessCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: str
    cases: list[RobustnessCase] = Field(min_length=1)


def _inputs(case: RobustnessCase) -> Inputs:
    systems = shipped()
    if case.system not in systems:
        raise KeyError(f"未知的指标体系 “{case.system}”（可选：{'、'.join(systems)}）")
    system = load(systems[case.system])
    stage = np.array([s for s, count in case.stages.items() for _ in range(count)],
                     dtype=object)
    n = stage.size
    rising = np.arange(1, n + 1, dtype=np.float64)
    imputed = {code: rising * ind.direction for code, ind in system.indicators.items()}
    cohorts: dict[str, np.ndarray] = {"stage": stage,
                                      "industry_section": np.array(["C"] * n, dtype=object)}
    return Inputs(system=system, imputed=imputed, cohorts=cohorts,
                  ids=np.arange(1, n + 1, dtype=np.int64))


def run_case(config_path: Path, case: RobustnessCase, filename: str) -> rules.CaseResult:
    result = rules.CaseResult(filename, case.name)
    try:
        config = load_config(config_path, **case.overrides)
        analysis = analyse(_inputs(case), config)
    except (KechuangError, KeyError) as exc:
        result.problems.append(f"分析失败 failed: {getattr(exc, 'message_zh', exc)}")
        return result
    want = case.expect
    got: dict[str, Any] = {
        "factors": dict(analysis.factors),
        "max_width_ranks": analysis.rule.get("max_width_ranks"),
        "unstable": analysis.unstable,
    }
    names = list(analysis.rule.get("tiers") or [])
    counts = Counter(int(t) for t in analysis.nominal_tier if 0 <= t < len(names))
    got["tiers"] = {names[t]: c for t, c in sorted(counts.items())}
    for key in ("factors", "max_width_ranks", "tiers", "unstable"):
        expected = getattr(want, key)
        if expected is None:
            continue
        if isinstance(expected, dict):
            if expected != got[key]:
                result.problems.append(f"{key}: 期望 expected {expected!r}，实为 got {got[key]!r}")
            continue
        problem = rules.mismatch(key, expected, got[key])
        if problem:
            result.problems.append(problem)
    return result


def run_case_file(path: Path = CASES_FILE) -> list[rules.CaseResult]:
    """Every case of one file against the configuration it names (the one rule loader)."""
    text, name = rules.read_text(path)
    cf = rules.loads(text, RobustnessCaseFile, name)
    return [run_case(path.parent / cf.config, case, name) for case in cf.cases]
