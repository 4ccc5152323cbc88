"""The scoring rule files (list cut-offs, cohort rules) are dated, sourced, read by the one
rule loader, and their YAML cases pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from kechuang.kit import rules
from kechuang.scoring import runs
from kechuang.scoring.system import LISTS_FILE, load, load_list_cases, shipped

LIST_RULES, LIST_CASES = load_list_cases()


@pytest.mark.parametrize("case", LIST_CASES, ids=[c.name[:40] for c in LIST_CASES])
def test_list_cut_off_case(case) -> None:
    assert runs.run_list_case(LIST_RULES, case) == []


def test_the_default_run_parameters_are_the_files() -> None:
    params = runs.default_parameters()
    assert [t["upto"] for t in params["lists"]["tiers"]] == [t.upto for t in LIST_RULES.tiers]
    assert params["stage"]["bands"][0]["below"] == 2000
    for path in (LISTS_FILE, LISTS_FILE.with_name("cohorts.yaml")):
        header = rules.load(path, runs.ListRules if path == LISTS_FILE else runs.CohortRules)
        assert header.valid_from and len(header.source) >= 4


def test_a_wrong_cut_off_is_named_with_file_line_and_key(tmp_path: Path) -> None:
    text = LISTS_FILE.read_text(encoding="utf-8").replace("upto: 0.10}", "upto: 一成}")
    bad = tmp_path / "lists.yaml"
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "一成" in t)
    with pytest.raises(rules.RuleFileError) as info:
        rules.load(bad, runs.ListRules)
    assert f"lists.yaml 第{line}行，键“tiers.1.upto”" in info.value.message_zh


def test_every_shipped_system_cites_its_source() -> None:


    for name, path in shipped().items():
        assert (load(path).spec.source or "").strip(), f"{name}: add source:"
