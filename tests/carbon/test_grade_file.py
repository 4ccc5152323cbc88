"""``kechuang carbon grade``: the file contract (issue 14 item 3) — columns, order,
formatting, benchmarks, bands, cohorts, alerts — and bad input (file, row, column named;
nothing written)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kechuang.carbon.engine import OUTPUT_COLUMNS
from kechuang.cli import app

runner = CliRunner()
HEADER = "uscc,name,industry_code,region_code,period,energy_tce,co2_t,value_added_wan\n"


def _run(tmp_path: Path, body: str, *extra: str, header: str = HEADER):
    data = tmp_path / "monthly.csv"
    data.write_text(header + body, encoding="utf-8")
    out = tmp_path / "grades.csv"
    result = runner.invoke(app, ["carbon", "grade", "--data", str(data), "--out", str(out),
                                 *extra])
    return result, out


def _rows(out: Path) -> list[dict[str, str]]:
    with out.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_columns_order_and_formatting(tmp_path: Path) -> None:
    body = ("B,乙,3311,330382,2024-02,5,11,10\n"
            "A,甲,C3311,330382,2024-02,4,13,10\n"
            "A,甲,3311,330382,2024-01,4,10,10\n"
            "C,丙,3312,330383,2024-01,4,3,0\n")
    result, out = _run(tmp_path, body)
    assert result.exit_code == 0, result.output
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(OUTPUT_COLUMNS)
    rows = _rows(out)
    assert [(r["uscc"], r["period"]) for r in rows] == [
        ("A", "2024-01"), ("A", "2024-02"), ("B", "2024-02"), ("C", "2024-01")]
    a1, a2, b2, c1 = rows
    # few enterprises: the section's computed benchmark Σco2/Σva of the month's graded ones
    assert a1["benchmark_level"] == "section" and float(a1["benchmark"]) == 1.0
    assert a2["benchmark"] == "1.2"  # (13+11)/(10+10), shortest full-precision text
    assert a2["intensity"] == "1.3" and a2["carbon_level"] == "medium"
    assert float(a2["ratio"]) == pytest.approx(1.3 / 1.2, rel=1e-15)
    assert a2["alert"] == "intensity_up"  # 1.0 → 1.3, grade 3 → 3
    # value added 0: no intensity, grade, benchmark, rank or alert — every cell empty
    assert all(c1[k] == "" for k in OUTPUT_COLUMNS[2:])
    assert b2["industry_rank"] == "1" and a2["industry_rank"] == "2"
    assert a2["industry_count"] == "2" and a2["region_count"] == "2"


def test_ties_share_the_best_rank_and_counts_cover_the_cohort(tmp_path: Path) -> None:
    body = "".join(f"E{i},x,3311,R1,2024-03,1,{c},10\n" for i, c in enumerate([5, 5, 7, 3]))
    body += "F,x,3311,R2,2024-03,1,5,10\n"
    result, out = _run(tmp_path, body, "--min-cohort", "1")
    assert result.exit_code == 0, result.output
    by = {r["uscc"]: r for r in _rows(out)}
    assert [by[k]["industry_rank"] for k in ("E3", "E0", "E1", "F", "E2")] == [
        "1", "2", "2", "2", "5"]
    assert {by[k]["industry_count"] for k in by} == {"5"}
    assert [by[k]["region_rank"] for k in ("E3", "E0", "E1", "E2")] == ["1", "2", "2", "4"]
    assert by["F"]["region_rank"] == "1" and by["F"]["region_count"] == "1"
    assert {by[k]["benchmark_level"] for k in by} == {"class"}


def test_cohort_fallback_follows_min_cohort(tmp_path: Path) -> None:
    body = ("A,x,3311,R,2024-03,1,1,10\nB,x,3311,R,2024-03,1,3,10\n"
            "C,x,3312,R,2024-03,1,2,10\nD,x,3411,R,2024-03,1,4,10\n")
    levels = {}
    for n, want in ((1, "class"), (2, "class"), (3, "group"), (4, "section")):
        result, out = _run(tmp_path, body, "--min-cohort", str(n))
        assert result.exit_code == 0, result.output
        levels[n] = {r["uscc"]: (r["benchmark_level"], r["benchmark"]) for r in _rows(out)}
        assert levels[n]["A"][0] == want
    assert levels[3]["A"][1] == "0.2"  # group 331: (1+3+2)/30
    assert levels[3]["D"][0] == "section"  # 341 has one, 34 has one → section
    assert levels[4]["A"][1] == "0.25"  # section C: 10/40


def test_published_benchmarks_class_group_division_section(tmp_path: Path) -> None:
    bench = tmp_path / "b.csv"
    bench.write_text("industry_code,benchmark\n3311,0.5\n331,1\n34,2\nC,4\n", encoding="utf-8")
    body = ("A,x,3311,R,2024-03,1,1,10\nB,x,3312,R,2024-03,1,1,10\n"
            "C,x,3411,R,2024-03,1,1,10\nD,x,3911,R,2024-03,1,1,10\n"
            "E,x,0111,R,2024-03,1,1,10\n")
    result, out = _run(tmp_path, body, "--benchmarks", str(bench))
    assert result.exit_code == 0, result.output
    by = {r["uscc"]: (r["benchmark_level"], r["benchmark"], r["grade"]) for r in _rows(out)}
    assert by["A"] == ("published:class", "0.5", "1")  # K = 0.2
    assert by["B"][:2] == ("published:group", "1.0")
    assert by["C"][:2] == ("published:division", "2.0")
    assert by["D"][:2] == ("published:section", "4.0")
    assert by["E"][0] == "section"  # section A is not published: computed (alone)
    assert by["E"][1] == "0.1" and by["E"][2] == "3"  # K = 1


def test_bands_file_replaces_the_defaults(tmp_path: Path) -> None:
    bands = tmp_path / "bands.yaml"
    bands.write_text("bands: [{grade: 1, max: 0.9}, {grade: 2, max: 1.5}, {grade: 3}]\n",
                     encoding="utf-8")
    body = "A,x,3311,R,2024-03,1,1,10\nB,x,3311,R,2024-03,1,3,10\n"
    result, out = _run(tmp_path, body, "--bands", str(bands))
    assert result.exit_code == 0, result.output
    # benchmark 0.2 → K 0.5 and 1.5 (1.5 is on the boundary of grade 2)
    assert [r["grade"] for r in _rows(out)] == ["1", "2"]


def test_previous_month_is_the_calendar_month_before(tmp_path: Path) -> None:
    bench = tmp_path / "b.csv"
    bench.write_text("industry_code,benchmark\nC,1\n", encoding="utf-8")
    body = ("A,x,3311,R,2023-12,1,5,10\nA,x,3311,R,2024-01,1,7,10\n"  # across the year
            "A,x,3311,R,2024-03,1,20,10\n"  # February missing: no alert
            "B,x,3311,R,2024-01,1,9,10\nB,x,3311,R,2024-02,1,9.9,10\n"  # exactly +10 %
            "B,x,3311,R,2024-03,1,11,10\n")  # +11.1 %, same grade
    result, out = _run(tmp_path, body, "--benchmarks", str(bench))
    assert result.exit_code == 0, result.output
    alerts = {(r["uscc"], r["period"]): r["alert"] for r in _rows(out)}
    assert alerts == {("A", "2023-12"): "", ("A", "2024-01"): "grade_drop;intensity_up",
                      ("A", "2024-03"): "", ("B", "2024-01"): "", ("B", "2024-02"): "",
                      ("B", "2024-03"): "intensity_up"}


def test_missing_values_are_not_zero(tmp_path: Path) -> None:
    body = ("A,x,3311,R,2024-03,,1,10\n"  # no energy: still graded
            "B,x,3311,R,2024-03,1,,10\n"  # no CO2: no intensity
            "C,x,3311,R,2024-03,1,0,10\n"  # zero CO2: intensity 0, grade 1
            "D,x,3311,R,2024-03,1,2,-5\n")  # a loss: no intensity
    result, out = _run(tmp_path, body)
    assert result.exit_code == 0, result.output
    by = {r["uscc"]: r for r in _rows(out)}
    assert by["A"]["grade"] != "" and by["B"]["intensity"] == "" and by["D"]["grade"] == ""
    assert by["C"]["intensity"] == "0.0" and by["C"]["grade"] == "1"
    assert by["A"]["industry_count"] == "2"


@pytest.mark.parametrize(("body", "row", "column"), [
    ("A,x,3311,R,2024-3,1,1,10\n", 2, "period"),
    ("A,x,3311,R,202403,1,1,10\n", 2, "period"),
    ("A,x,3311,R,2024-03,-1,1,10\n", 2, "energy_tce"),
    ("A,x,3311,R,2024-03,1,-0.5,10\n", 2, "co2_t"),
    ("A,x,3311,R,2024-03,1,1,10\nB,x,3309,R,2024-03,1,1,10\n", 3, "industry_code"),
    ("A,x,331,R,2024-03,1,1,10\n", 2, "industry_code"),
    ("A,x,3311,R,2024-03,1,\"1,000\",10\n", 2, "co2_t"),
    ("A,x,3311,R,2024-03,1,1,abc\n", 2, "value_added_wan"),
    ("A,x,3311,R,2024-03,1,1,10\n\nA,x,3311,R,2024-03,1,2,10\n", 4, "period"),
    (",x,3311,R,2024-03,1,1,10\n", 2, "uscc"),
])
def test_bad_input_names_file_row_column_and_writes_nothing(tmp_path: Path, body: str,
                                                            row: int, column: str) -> None:
    result, out = _run(tmp_path, body)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"monthly.csv 第 {row} 行 {column} 列" in text
    assert f"row {row} column {column}" in text
    assert not out.exists()
    assert not list(tmp_path.glob(".grades.csv.*"))


def test_bad_header_bands_and_benchmarks(tmp_path: Path) -> None:
    result, out = _run(tmp_path, "A,3311,R,2024-03,1,1\n",
                       header="uscc,industry_code,region_code,period,energy_tce,co2_t\n")
    assert result.exit_code == 1 and "value_added_wan" in result.output and not out.exists()
    bands = tmp_path / "bands.yaml"
    bands.write_text("bands: [{grade: 1, max: 0.9}, {grade: 2, max: 0.5}, {grade: 3}]\n",
                     encoding="utf-8")
    result, out = _run(tmp_path, "A,x,3311,R,2024-03,1,1,10\n", "--bands", str(bands))
    assert result.exit_code == 1 and "bands.yaml" in result.output and not out.exists()
    bench = tmp_path / "b.csv"
    bench.write_text("industry_code,benchmark\n3311,0\n9999,1\n", encoding="utf-8")
    result, out = _run(tmp_path, "A,x,3311,R,2024-03,1,1,10\n", "--benchmarks", str(bench))
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and not out.exists()
    assert "b.csv 第 2 行 benchmark 列" in text and "b.csv 第 3 行 industry_code 列" in text


def test_gb18030_and_extra_columns(tmp_path: Path) -> None:
    data = tmp_path / "monthly.csv"
    data.write_bytes(("uscc,name,industry_code,region_code,period,energy_tce,co2_t,"
                      "value_added_wan,备注\nA,甲公司,3311,R,2024-03,1,1,10,无\n").encode("gb18030"))
    out = tmp_path / "grades.csv"
    result = runner.invoke(app, ["carbon", "grade", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert _rows(out)[0]["grade"] == "3"
