"""The monitoring rule files (indicator system, task rules), loaded through
:mod:`kechuang.kit.rules`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from kechuang.kit import rules
from kechuang.monitoring.schemas import IndicatorSystem, TaskRules

RULES_DIR = Path(__file__).parent / "rules"


@lru_cache(maxsize=1)
def indicator_system() -> IndicatorSystem:
    return rules.load(RULES_DIR / "indicators.yaml", IndicatorSystem)


@lru_cache(maxsize=1)
def task_rules() -> TaskRules:
    return rules.load(RULES_DIR / "tasks.yaml", TaskRules)
