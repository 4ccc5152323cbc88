"""The YAML cases of the push rules (push/rules.cases.yaml) pass under pytest and
``kechuang push test``; a changed threshold in rules.yaml fails a case."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kechuang.cli import app
from kechuang.push.cli import CASES_PATH, run_push_cases
from kechuang.push.schemas import RULES_PATH, load_rules

runner = CliRunner()


def test_the_rules_are_dated_and_cite_their_source() -> None:
    r = load_rules()
    assert r.valid_from and "国科发火〔2016〕32号" in r.source


def test_the_shipped_cases_pass() -> None:
    results = run_push_cases()
    assert len(results) >= 3
    assert [r.problems for r in results if not r.ok] == []


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(CASES_PATH, tmp_path / CASES_PATH.name)
    text = RULES_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    (tmp_path / RULES_PATH.name).write_text(text.replace(old, new), encoding="utf-8")
    return tmp_path / CASES_PATH.name


@pytest.mark.parametrize(("old", "new"), [
    ("relative_gap: 0.2", "relative_gap: 0.25"),
    ("relative_gap: 0.2", "relative_gap: 0.15"),
    ("score_points: 5", "score_points: 3"),
    ("score_points: 5", "score_points: 10"),
    ("max_failed_leaves: 1", "max_failed_leaves: 2"),
    ("eligible_verdicts: [eligible, likely]", "eligible_verdicts: [likely]"),
])
def test_a_changed_rule_fails_a_case(tmp_path: Path, old: str, new: str) -> None:
    assert any(not r.ok for r in run_push_cases(_mutated(tmp_path, old, new)))


def test_the_command(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["push", "test"])
    assert ok.exit_code == 0, ok.output
    assert "0 个失败" in ok.output
    bad = runner.invoke(app, ["push", "test",
                              str(_mutated(tmp_path, "score_points: 5", "score_points: 3"))])
    assert bad.exit_code == 1
    assert "失败 FAIL" in bad.output and "near_eligible" in bad.output
    broken = tmp_path / "broken.cases.yaml"
    broken.write_text("rules: rules.yaml\ncases:\n  - nam: x\n", encoding="utf-8")
    out = runner.invoke(app, ["push", "test", str(broken)])
    assert out.exit_code == 1 and "broken.cases.yaml 第3行" in out.output
