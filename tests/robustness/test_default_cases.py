"""The YAML cases of the robustness defaults (default.cases.yaml) pass under pytest and
``kechuang robustness test``; a changed default fails a case."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.kit import rules
from kechuang.robustness.cases import CASES_FILE, run_case_file
from kechuang.robustness.schemas import DEFAULT_FILE

runner = CliRunner()


def test_the_defaults_are_dated_and_sourced() -> None:
    data = rules.parse_yaml(DEFAULT_FILE.read_text(encoding="utf-8"), DEFAULT_FILE.name)
    header = rules.validate({k: data[k] for k in rules.RuleHeader.model_fields if k in data},
                            rules.RuleHeader, DEFAULT_FILE.name)
    assert header.valid_from and "OECD" in header.source


def test_the_shipped_cases_pass() -> None:
    results = run_case_file()
    assert len(results) >= 3
    assert [r.problems for r in results if not r.ok] == []


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(CASES_FILE, tmp_path / CASES_FILE.name)
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (tmp_path / DEFAULT_FILE.name).write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path / CASES_FILE.name


@pytest.mark.parametrize(("old", "new"), [
    ("sets: 100", "sets: 50"),
    ("methods: [minmax, zscore, percentile]", "methods: [minmax, zscore]"),
    ("max_width_share: 0.25", "max_width_share: 0.3"),
    ("    - {method: skew_kurt, winmax: 5}\n", ""),
    ("cohort: stage", "cohort: null"),
])
def test_a_changed_default_fails_a_case(tmp_path: Path, old: str, new: str) -> None:
    assert any(not r.ok for r in run_case_file(_mutated(tmp_path, old, new)))


def test_the_command(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["robustness", "test"])
    assert ok.exit_code == 0, ok.output
    assert "0 个失败" in ok.output
    bad = runner.invoke(app, ["robustness", "test",
                              str(_mutated(tmp_path, "sets: 100", "sets: 50"))])
    assert bad.exit_code == 1
    assert "失败 FAIL" in bad.output and "'weights': 50" in bad.output
