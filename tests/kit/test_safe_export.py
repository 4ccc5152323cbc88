from __future__ import annotations

import csv

import pytest

from kechuang.kit.errors import InvalidInput
from kechuang.kit.safe_export import neutralise, write_csv


@pytest.mark.parametrize("text", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "＝HYPERLINK(1)"])
def test_formula_triggers_are_neutralised(text):
    assert neutralise(text) == "'" + text


def test_numbers_and_plain_text_pass_unchanged():
    assert neutralise(-2) == -2
    assert neutralise("张家港") == "张家港"


def test_write_csv_neutralises_every_cell_and_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "o.csv"
    n = write_csv(out, ["id", "=name"], [["1", "=cmd|' /C calc'!A0"], ["2", "ok"]])
    assert n == 2
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows == [["id", "'=name"], ["1", "'=cmd|' /C calc'!A0"], ["2", "ok"]]
    assert [p.name for p in tmp_path.iterdir()] == ["o.csv"]


def test_a_failure_mid_way_leaves_the_old_file_untouched(tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("old\n", encoding="utf-8")

    def rows():
        yield ["1"]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_csv(out, ["id"], rows())
    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["o.csv"]


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="不存在"):
        write_csv(tmp_path / "nope" / "o.csv", ["id"], [])
