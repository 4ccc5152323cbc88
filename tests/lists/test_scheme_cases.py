"""Every shipped reward scheme carries its dated header and YAML cases, and every case
passes (the cases are read by the one rule loader, kechuang.kit.rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kechuang.kit import rules
from kechuang.lists.engine import run_case
from kechuang.lists.schemes import SCHEMES_DIR, case_files, load_cases, shipped_schemes

CASES = [(path, case) for path in case_files() for case in load_cases(path)[1]]


def test_every_shipped_scheme_is_dated_sourced_and_has_cases() -> None:
    for sid, loaded in shipped_schemes().items():
        scheme = loaded.scheme
        assert scheme.valid_from is not None and scheme.source, sid
        assert (SCHEMES_DIR / loaded.source.replace(".yaml", ".cases.yaml")).exists(), sid


@pytest.mark.parametrize(("path", "case"), CASES, ids=[f"{p.stem}:{c.name[:30]}" for p, c in CASES])
def test_scheme_case(path: Path, case) -> None:
    loaded, _ = load_cases(path)
    assert run_case(loaded.scheme, case) == []


def test_a_case_file_with_a_repeated_key_is_refused(tmp_path: Path) -> None:
    text = (SCHEMES_DIR / "ranks-top10.cases.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "ranks-top10.cases.yaml"
    bad.write_text(text.replace("scheme: ranks-top10.yaml\n",
                                "scheme: ranks-top10.yaml\nscheme: x.yaml\n"), encoding="utf-8")
    with pytest.raises(rules.RuleFileError, match="键重复"):
        load_cases(bad)
