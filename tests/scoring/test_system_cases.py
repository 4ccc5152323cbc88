"""The YAML cases of the shipped indicator systems (systems/<system>.cases.yaml) pass, run
by pytest and by ``kechuang index test``; a wrong weight, band or formula fails one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.kit import rules
from kechuang.scoring.cases import case_files, run_case_file
from kechuang.scoring.system import SYSTEMS_DIR, load, shipped

runner = CliRunner()
FILES = case_files()


def test_every_shipped_system_has_cases_and_a_dated_source() -> None:
    systems = shipped()
    assert {f.name.removesuffix(".cases.yaml") for f in FILES} == set(systems)
    for name, path in systems.items():
        spec = load(path).spec
        assert spec.effective_from is not None, name
        assert len((spec.source or "").strip()) >= 10, f"{name}: source must cite a document"


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_shipped_cases_pass(path: Path) -> None:
    results = run_case_file(path)
    assert results
    assert [r.problems for r in results if not r.ok] == []


def _mutated(tmp_path: Path, system: str, old: str, new: str) -> Path:
    for f in SYSTEMS_DIR.glob(f"{system}*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    target = tmp_path / f"{system}.yaml"
    text = target.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target.write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path / f"{system}.cases.yaml"


@pytest.mark.parametrize(("system", "old", "new"), [
    # a group weight of zjg-2.0 (创新投入 0.30 → 0.35)
    ("zjg-2.0", "weight: 0.30", "weight: 0.35"),
    # an indicator weight inside torch's technology group (class-I IP 2 → 1)
    ("torch", "formula: class1_ip, source: 知识产权局, weight: 2",
     "formula: class1_ip, source: 知识产权局, weight: 1"),
    # a stage weight of torch (初创 technology 0.60 → 0.55)
    ("torch", "初创: 0.60", "初创: 0.55"),
    # a band of zjg-1.0 (R&D intensity ≥ 6 % → 20 points becomes 18)
    ("zjg-1.0", "[[0.06, 20]", "[[0.06, 18]"),
    # a formula (R&D intensity over revenue → over tax paid)
    ("zjg-1.0", "formula: rd_expense / revenue", "formula: rd_expense / tax_paid"),
])
def test_a_wrong_rule_fails_a_case(tmp_path: Path, system: str, old: str, new: str) -> None:
    cases = _mutated(tmp_path, system, old, new)
    assert any(not r.ok for r in run_case_file(cases))


def test_the_command_runs_the_shipped_cases() -> None:
    result = runner.invoke(app, ["index", "test"])
    assert result.exit_code == 0, result.output
    assert f"{sum(len(run_case_file(f)) for f in FILES)} 个用例" in result.output
    assert "0 个失败" in result.output


def test_the_command_fails_and_names_the_case(tmp_path: Path) -> None:
    cases = _mutated(tmp_path, "zjg-1.0", "[[0.06, 20]", "[[0.06, 18]")
    result = runner.invoke(app, ["index", "test", str(cases)])
    assert result.exit_code == 1
    assert "失败 FAIL" in result.output and "zjg-1.0.cases.yaml" in result.output
    assert "A rd_intensity: 期望 expected 20" in result.output


def test_a_case_file_error_names_file_line_and_key(tmp_path: Path) -> None:
    cases = _mutated(tmp_path, "zjg-1.0", "[[0.06, 20]", "[[0.06, 20]")
    text = cases.read_text(encoding="utf-8").replace("  - name:", "  - nam:", 1)
    cases.write_text(text, encoding="utf-8")
    with pytest.raises(rules.RuleFileError) as info:
        run_case_file(cases)
    assert "zjg-1.0.cases.yaml 第" in info.value.message_zh and "nam" in info.value.message_zh
    result = runner.invoke(app, ["index", "test", str(cases)])
    assert result.exit_code == 1 and "nam" in result.output
