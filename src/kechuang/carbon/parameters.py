"""The carbon-efficiency parameter editions (``rules/efficiency*.yaml``), loaded through
:mod:`kechuang.kit.rules`, turned into the engine's :class:`~kechuang.carbon.engine.Edition`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from kechuang.carbon.engine import Edition
from kechuang.carbon.schemas import BandsFile, EfficiencyRules
from kechuang.kit import rules

RULES_DIR = Path(__file__).parent / "rules"


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[EfficiencyRules, ...]:
    """Every shipped edition, oldest first."""
    files = sorted(p for p in RULES_DIR.glob("efficiency*.yaml") if ".cases." not in p.name)
    loaded = [rules.load(p, EfficiencyRules) for p in files]
    return tuple(sorted(loaded, key=lambda r: r.valid_from))


def to_edition(r: EfficiencyRules) -> Edition:
    return Edition(
        first_period=r.valid_from.year * 100 + r.valid_from.month,
        bands=tuple((b.grade, b.max) for b in r.bands),
        levels=tuple((lv.level, lv.max) for lv in r.levels),
        intensity_up=r.alerts.intensity_up,
    )


def builtin_editions() -> list[Edition]:
    return [to_edition(r) for r in builtin_rules()]


def default_min_cohort() -> int:
    return builtin_rules()[-1].min_cohort


def editions_with(bands_path: Path | None) -> tuple[list[Edition], int]:
    """The editions to grade with, and the minimum cohort: the built-in ones, or a
    ``--bands`` file whose ``bands`` (and ``levels``, ``alerts``, ``min_cohort`` when it has
    them) replace the latest built-in edition's for every period."""
    if bands_path is None:
        return builtin_editions(), default_min_cohort()
    user = rules.load(bands_path, BandsFile)
    base = builtin_rules()[-1]
    merged = base.model_copy(update={
        "bands": user.bands,
        "levels": user.levels if user.levels is not None else base.levels,
        "alerts": user.alerts if user.alerts is not None else base.alerts,
    })
    edition = to_edition(merged)
    edition = Edition(0, edition.bands, edition.levels, edition.intensity_up)
    return [edition], user.min_cohort if user.min_cohort is not None else base.min_cohort
