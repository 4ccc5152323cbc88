"""Templates are data: built-ins validate, mistakes name the file, line and key, and a
bureau's edits or a settings folder override the built-ins."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kechuang.db import unit_of_work
from kechuang.ingest.schemas import TemplateError, parse_template
from kechuang.ingest.template_store import (
    all_templates,
    builtin_templates,
    do_save_template,
    get_template,
)
from kechuang.kit.errors import Forbidden
from tests.ingest.helpers import CLI, U1, csv_bytes, current_value, run_import, user_actor

REQUIRED = {"tax", "stats", "ip", "hrss", "kjj", "market"}


def test_builtins_cover_the_departments_and_validate():
    builtins = builtin_templates()
    assert set(builtins) >= REQUIRED
    assert builtins["market"].template.create_enterprises
    assert builtins["ip"].template.layout == "long"
    scaled = [c for c in builtins["tax"].template.columns if c.headers == ["研发费用（元）"]]
    assert scaled[0].scale == Decimal("0.0001")


MINIMAL = """\
name: mine
title: 测试
department: tax
layout: wide
keys:
  uscc: [信用代码]
  period: [年度]
columns:
  - metric: revenue
    headers: [收入]
"""


def test_unknown_key_is_reported_with_file_line_and_key():
    text = MINIMAL.replace("    headers: [收入]", "    headers: [收入]\n    sclae: 2")
    with pytest.raises(TemplateError) as err:
        parse_template(text, "mine.yaml")
    assert err.value.problems == [(11, "columns.0.sclae", "未知的键（模板不允许此键）")]
    assert "mine.yaml 第11行" in err.value.message_zh


def test_metric_outside_the_departments_sources_is_refused():
    text = MINIMAL.replace("metric: revenue", "metric: invention_patents")
    with pytest.raises(TemplateError) as err:
        parse_template(text, "mine.yaml")
    assert "不是指标“invention_patents”" in err.value.message_zh


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(TemplateError) as err:
        parse_template(MINIMAL + "  - [unclosed\n", "x.yaml")
    assert err.value.problems[0][0] is not None


def test_creating_template_must_map_master_fields():
    text = MINIMAL.replace("layout: wide", "layout: wide\ncreate_enterprises: true")
    with pytest.raises(TemplateError) as err:
        parse_template(text, "x.yaml")
    assert "name、region_code、industry_code" in err.value.message_zh


def test_bureau_edit_overrides_the_builtin_and_is_audited(engine):
    tax_yaml = builtin_templates()["tax"].yaml_text
    edited = tax_yaml.replace("[营业收入（万元）, 营业收入,",
                              "[营收合计（万元）, 营业收入（万元）, 营业收入,")
    with unit_of_work(engine) as s:
        row = do_save_template(s, CLI, "tax", edited)
        assert row.version == 1
    with unit_of_work(engine) as s:
        entry = get_template(s, "tax")
        assert entry.source == "database" and entry.version == 1
    rows = [["统一社会信用代码", "年度", "营收合计（万元）"], [U1, 2023, 9]]
    r = run_import(engine, csv_bytes(rows))
    assert r.ok, r.problems
    assert current_value(engine, U1, "revenue", 2023) == Decimal(9)


def test_invalid_edit_saves_nothing_and_staff_cannot_edit(engine):
    with unit_of_work(engine) as s, pytest.raises(TemplateError):
        do_save_template(s, CLI, "tax", "name: tax\nbogus: 1\n")
    with unit_of_work(engine) as s, pytest.raises(TemplateError):
        do_save_template(s, CLI, "tax", MINIMAL)  # renaming is refused
    with unit_of_work(engine) as s, pytest.raises(Forbidden):
        do_save_template(s, user_actor(engine, "staff"), "tax",
                         builtin_templates()["tax"].yaml_text)
    with unit_of_work(engine) as s:
        assert get_template(s, "tax").source == "builtin"


def test_settings_folder_and_path_templates(engine, settings_env, tmp_path):
    (tmp_path / "mine.yaml").write_text(MINIMAL, encoding="utf-8")
    settings_env(import_templates_dir=tmp_path)
    with unit_of_work(engine) as s:
        assert all_templates(s)["mine"].source == "folder"
    r = run_import(engine, csv_bytes([["信用代码", "年度", "收入"], [U1, 2023, 5]]), "mine")
    assert r.ok, r.problems
    other = tmp_path / "other.yml"
    other.write_text(MINIMAL.replace("name: mine", "name: other").replace("[收入]", "[收入2]"),
                     encoding="utf-8")
    r = run_import(engine, csv_bytes([["信用代码", "年度", "收入2"], [U1, 2024, 6]]), str(other))
    assert r.ok and r.template == "other"
