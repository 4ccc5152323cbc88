"""Issue 11 item 6: in file mode (``kechuang index compute``) a formula may name the data
file's own columns without declaring them; an unknown name is still a clear error naming the
formula and the name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from kechuang.cli import app

runner = CliRunner()

# no ``columns:`` block: ``widgets`` and ``staff`` are in neither the metric catalogue nor
# the system, only in the data file
SYSTEM = """\
id: file-cols
name: 数据文件列示例
version: "1.0"
effective_from: 2024-01-01
unit: {id: code, name: name}
defaults:
  normalise: {method: minmax, range: [0, 100]}
  aggregate: {method: arithmetic_mean}
tree:
  - code: index
    children:
      - {code: per_head, formula: widgets / staff}
      - {code: widgets_raw, formula: widgets}
"""

DATA = {"code": ["A", "B", "C"], "name": ["甲", "乙", "丙"],
        "widgets": [10, 40, 30], "staff": [5, 10, 10]}


def _run(tmp_path: Path, system: str, data: dict) -> tuple[object, Path]:
    (tmp_path / "s.yaml").write_text(system, encoding="utf-8")
    data_path = tmp_path / "d.csv"
    pd.DataFrame(data).to_csv(data_path, index=False)
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["index", "compute", "--system", str(tmp_path / "s.yaml"),
                                 "--data", str(data_path), "--out", str(out)])
    return result, out


def test_a_formula_may_name_the_data_files_own_columns(tmp_path: Path) -> None:
    result, out = _run(tmp_path, SYSTEM, DATA)
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index("code")
    # per head 2, 4, 3 → minmax 0, 100, 50; widgets 10, 40, 30 → 0, 100, 66.67
    assert got.loc["A", "per_head"] == 0.0 and got.loc["B", "per_head"] == 100.0
    assert got.loc["C", "per_head"] == 50.0
    assert abs(got.loc["C", "index"] - (50 + 200 / 3) / 2) < 1e-9
    assert list(got.sort_values("index_rank").index) == ["B", "C", "A"]


def test_an_unknown_name_names_the_formula_and_the_name(tmp_path: Path) -> None:
    result, out = _run(tmp_path, SYSTEM.replace("widgets / staff", "widgets / staf"), DATA)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "per_head" in text and "widgets / staf" in text and "“staf”" in text
    assert "s.yaml" in text and "第" in text
    assert not out.exists()


def test_a_column_missing_from_the_file_is_still_unknown(tmp_path: Path) -> None:
    data = {k: v for k, v in DATA.items() if k != "staff"}
    result, _ = _run(tmp_path, SYSTEM, data)
    assert result.exit_code == 1
    assert "staff" in result.output
