"""Issue 16 item 4: every rule file is read by the one loader (kechuang.kit.rules), which
names file, line and key and refuses duplicate keys."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kechuang.ingest.schemas import TemplateError, parse_template
from kechuang.kit import rules
from kechuang.kit.errors import InvalidInput
from kechuang.matching.synonyms import Synonyms
from kechuang.registry import catalogue

SRC = Path(__file__).resolve().parents[2] / "src" / "kechuang"


def test_no_module_but_the_loader_parses_yaml() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "kit" / "rules.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "yaml"
                    and node.attr in ("safe_load", "load", "load_all", "safe_load_all",
                                      "compose", "full_load", "unsafe_load")):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} yaml.{node.attr}")
    assert not offenders, "read rule files through kechuang.kit.rules:\n" + "\n".join(offenders)


def test_synonyms_refuse_a_duplicate_key_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "syn.yaml"
    path.write_text("groups:\n  - [锂电, 锂电池]\ngroups:\n  - [光伏, 太阳能电池]\n",
                    encoding="utf-8")
    with pytest.raises(rules.RuleFileError) as info:
        Synonyms.load(path)
    assert "第3行" in info.value.message_zh and "groups" in info.value.message_zh
    assert "键重复" in info.value.message_zh


def test_synonyms_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "syn.yaml"
    path.write_text("groups:\n  - [锂电, 锂电池\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        Synonyms.load(path)
    assert "syn.yaml" in info.value.message_zh and "YAML 语法错误" in info.value.message_zh


def test_shipped_synonyms_still_load() -> None:
    syn = Synonyms.load()
    assert "锂电池" in syn.expansions("锂电")


TEMPLATE = """\
name: mine
title: 我的模板
department: tax
layout: wide
keys:
  uscc: [统一社会信用代码]
  period: [年度]
columns:
  - metric: revenue
    headers: [收入]
"""


def test_an_import_template_refuses_a_duplicate_key() -> None:
    text = TEMPLATE.replace("layout: wide\n", "layout: wide\nlayout: long\n")
    with pytest.raises(TemplateError) as info:
        parse_template(text, "mine.yaml")
    assert info.value.problems == [(5, "layout", "键重复")]
    assert "mine.yaml 第5行" in info.value.message_zh


def test_the_catalogue_refuses_a_duplicate_metric(tmp_path: Path, monkeypatch) -> None:
    for name in ("metrics.yaml", "catalogue.yaml"):
        (tmp_path / name).write_text((catalogue.DATA_DIR / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    core = tmp_path / "metrics.yaml"
    text = core.read_text(encoding="utf-8")
    line = next(t for t in text.splitlines() if t.strip().startswith("revenue:"))
    core.write_text(text.replace(line, line + "\n" + line, 1), encoding="utf-8")
    want = text.splitlines().index(line) + 2
    monkeypatch.setattr(catalogue, "DATA_DIR", tmp_path)
    catalogue.load_catalogue.cache_clear()
    try:
        with pytest.raises(rules.RuleFileError) as info:
            catalogue.load_catalogue()
        assert f"metrics.yaml 第{want}行，键“revenue”：键重复" in info.value.message_zh
        # a misspelt key is named with its line, never silently ignored
        core.write_text(text.replace("period: year}", "perod: year}", 1), encoding="utf-8")
        with pytest.raises(rules.RuleFileError) as info:
            catalogue.load_catalogue()
        assert "perod" in info.value.message_zh and "未知的键" in info.value.message_zh
    finally:
        catalogue.load_catalogue.cache_clear()
