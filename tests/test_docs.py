"""Documentation stays in step with the code (datasette's rule): every setting and every
command and option of the CLI is documented, and the README starts with the quick start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from kechuang.cli import app
from kechuang.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        env = f"KECHUANG_{name.upper()}"
        assert f"`{env}`" in doc, f"{env} is not documented in docs/settings.md"
    documented = set(re.findall(r"`KECHUANG_([A-Z_]+)`", doc)) - {"SETTINGS_FILE"}
    assert documented <= {n.upper() for n in Settings.model_fields}, "docs name a stale setting"


def _commands(group: Any, prefix: str = "kechuang") -> dict[str, Any]:
    # Typer vendors its own click, so groups and options are recognised by shape
    found = {prefix: group}
    if hasattr(group, "commands"):
        for name, cmd in group.commands.items():
            found.update(_commands(cmd, f"{prefix} {name}"))
    return found


def _cli_docs() -> str:
    """docs/cli.md and the per-package pages it links (docs/cli/*.md)."""
    pages = [ROOT / "docs" / "cli.md", *sorted((ROOT / "docs" / "cli").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages if p.exists())


def test_every_command_and_option_is_documented():
    doc = _cli_docs()
    commands = _commands(typer.main.get_command(app))
    assert {"kechuang init", "kechuang import", "kechuang users create"} <= set(commands)
    for path, cmd in commands.items():
        if hasattr(cmd, "commands"):
            continue
        assert f"## `{path}`" in doc, f"`{path}` has no section in docs/cli.md or docs/cli/"
        section = doc.split(f"## `{path}`", 1)[1].split("\n## ", 1)[0]
        for param in cmd.params:
            if param.param_type_name == "option":
                longest = max(param.opts, key=len)
                if longest == "--help":
                    continue
                assert f"`{longest}" in section, f"{longest} of `{path}` is undocumented"
            else:
                assert param.name.upper() in section, f"argument {param.name} of `{path}`"


def test_readme_opens_with_the_quick_start():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^\s*(?:\$ )?(make \w+)", text, flags=re.M)
    assert commands[:2] == ["make run", "make test"]
