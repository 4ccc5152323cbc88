"""docs/architecture.md describes the layout a newcomer can predict: every package under
src/kechuang in its package table with a one-line purpose, the shared file names, and the
data flow from an import batch to a published list naming functions that exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
SRC = ROOT / "src" / "kechuang"
#: packages being written now: listed ahead of their first commit
EXPECTED_NEW = {"ledger", "vouchers", "programs", "review", "finance", "monitoring", "carbon",
                "facts"}
SHARED_FILES = ("schemas.py", "repository.py", "engine.py", "service.py", "api.py",
                "views.py", "i18n.py", "cli.py", "jobs.py", "subscribers.py")


def _section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert m, f"docs/architecture.md has no section “## {title}”"
    return m.group(1)


def _table(title: str) -> dict[str, str]:
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \|$", _section(title), re.M)
    return dict(rows)


def test_every_package_is_listed_with_a_one_line_purpose() -> None:
    packages = {p.name for p in SRC.iterdir()
                if p.is_dir() and ((p / "__init__.py").exists() or p.name == "migrations")
                and not p.name.startswith("_")}
    listed = _table("Packages")
    missing = sorted((packages | EXPECTED_NEW) - set(listed))
    assert not missing, f"add these packages to the table in docs/architecture.md: {missing}"
    stale = sorted(set(listed) - packages - EXPECTED_NEW)
    assert not stale, f"docs/architecture.md lists packages that do not exist: {stale}"
    for name, purpose in listed.items():
        assert len(purpose) > 20 and "\n" not in purpose, (name, purpose)


def test_the_shared_file_names_are_described() -> None:
    described = _table("The shared file names")
    assert not [f for f in SHARED_FILES if f not in described], sorted(described)


def test_the_data_flow_names_functions_that_exist() -> None:
    flow = _section("From an import batch to a published list")
    names = set(re.findall(r"\b((?:ingest|facts|scoring|robustness|lists|tiers|push|jobs|kit)"
                           r"\.[a-z_]+\.[A-Za-z_]+(?:\.[A-Za-z_]+)?)", flow))
    assert len(names) >= 12, names
    for dotted in sorted(names):
        parts = dotted.split(".")
        for cut in (len(parts) - 1, len(parts) - 2):
            try:
                obj = importlib.import_module("kechuang." + ".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr, None)
            assert obj is not None, f"docs/architecture.md names {dotted}, which does not exist"
            break
        else:
            raise AssertionError(f"docs/architecture.md names {dotted}: no such module")
