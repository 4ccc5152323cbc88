"""The metric catalogue: the spec's core codes, verbatim, plus the project's additions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kechuang.registry.catalogue import DATA_DIR, load_catalogue

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "metrics.yaml"


def test_the_packaged_core_catalogue_is_the_spec_verbatim():
    if not SPEC.exists():
        pytest.skip("the specification is not beside this checkout")
    assert (DATA_DIR / "metrics.yaml").read_text(encoding="utf-8") == SPEC.read_text(
        encoding="utf-8")


def test_every_core_code_is_kept_with_its_unit_and_period():
    core = yaml.safe_load((DATA_DIR / "metrics.yaml").read_text(encoding="utf-8"))["metrics"]
    metrics, departments = load_catalogue()
    for code, spec in core.items():
        m = metrics[code]
        assert m.builtin
        assert m.unit == spec.get("unit")
        assert m.period_type == spec["period"]
        assert m.sources, f"{code} has no source department"
        assert set(m.sources) <= set(departments)
    added = [m for m in metrics.values() if not m.builtin]
    assert all(m.code not in core for m in added)
    # ids are stable: the core keeps the order of metrics.yaml, additions come after
    assert [metrics[c].id for c in core] == list(range(1, len(core) + 1))


def test_money_is_exact_and_ranges_are_sane():
    metrics, _ = load_catalogue()
    for code in ("revenue", "rd_expense", "total_assets"):
        assert metrics[code].value_type == "number"
        assert metrics[code].min_value == 0
    assert metrics["net_profit"].min_value < 0  # losses are real
    assert metrics["employees"].value_type == "integer"
    assert metrics["srdi_level"].allowed_values == ("none", "province", "national_little_giant")
