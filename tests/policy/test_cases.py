"""Every YAML case of every built-in policy runs as its own pytest test."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from kechuang.policy.cases import case_files, check_case, load_cases
from kechuang.policy.loader import LoadedPolicy, builtin_policies
from kechuang.policy.loader import load_policy_file as _load


@cache
def load_policy_file(path: Path) -> LoadedPolicy:
    return _load(path)

CASES = [
    (path, policy, case)
    for path in case_files()
    for policy, case in load_cases(path)
]


@pytest.mark.parametrize(
    ("path", "policy", "case"), CASES, ids=[f"{p.name}:{c.name}" for p, _, c in CASES]
)
def test_builtin_case(path, policy, case):
    lp = load_policy_file(path.parent / policy)
    result = check_case(lp, case, str(path))
    assert result.ok, "\n".join(result.problems)


def test_every_builtin_policy_ships_at_least_ten_cases():
    counts: dict[str, int] = {}
    for path, policy, _ in CASES:
        pid = load_policy_file(path.parent / policy).id
        counts[pid] = counts.get(pid, 0) + 1
    assert set(counts) == set(builtin_policies())
    assert all(n >= 10 for n in counts.values()), counts


def test_builtin_cases_cover_every_verdict():
    seen = {c.output.verdict for _, _, c in CASES}
    assert {"ineligible", "insufficient_data", "eligible", "likely", "borderline"} <= seen
