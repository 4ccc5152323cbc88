"""``kechuang policy eval`` and ``kechuang policy test`` through Typer's runner."""

from __future__ import annotations

import csv

import pandas as pd
from typer.testing import CliRunner

from kechuang.cli import app
from tests.policy.helpers import hte_rows

runner = CliRunner()


def _read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_eval_writes_one_row_per_enterprise(tmp_path):
    rows = (hte_rows("A", (4000, 4500, 5000), (300, 300, 300))
            + hte_rows("=HYPERLINK(1)", (4000, 4500, 5000), (202.5, 202.5, 202.5)))
    data = tmp_path / "in.csv"
    pd.DataFrame(rows).to_csv(data, index=False, encoding="gb18030")
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["policy", "eval", "--policy", "hte", "--data", str(data),
                            "--as-of", "2024-03-01", "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = _read(out)
    assert len(got) == 2
    header = list(got[0].keys())
    assert header[:7] == ["uscc", "policy_id", "verdict", "score", "score_min", "score_max",
                          "failed"]
    assert "hte.rd_ratio" in header and "hte.innovation_score" in header
    by = {row["uscc"]: row for row in got}
    assert by["'=HYPERLINK(1)"]["verdict"] == "ineligible"  # formula neutralised
    assert by["'=HYPERLINK(1)"]["failed"] == "hte.rd_ratio"
    assert by["'=HYPERLINK(1)"]["hte.rd_ratio"] == "0.045"
    assert by["A"]["failed"] == ""
    assert by["A"]["hte.innovation_score"] == f"{by['A']['score_min']}-{by['A']['score_max']}"


def test_eval_reads_xlsx_and_reports_bad_input(tmp_path):
    data = tmp_path / "in.xlsx"
    pd.DataFrame([{"uscc": "A", "year": 2023, "employees": 10, "tech_staff": 3,
                   "revenue": 100, "total_assets": 100, "rd_expense": 10, "total_costs": 90,
                   "class1_ip": 1, "class2_ip": 0, "seriously_dishonest": "否",
                   "abnormal_operation": "否", "major_incident_last_year": "否"}]).to_excel(
        data, index=False)
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["policy", "eval", "--policy", "tech_sme", "--data", str(data),
                            "--as-of", "2024-01-01", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert _read(out)[0]["verdict"] == "eligible"
    r = runner.invoke(app, ["policy", "eval", "--policy", "nope", "--data", str(data),
                            "--out", str(out)])
    assert r.exit_code == 1 and "未知政策" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("uscc,year,employees\nA,2023,很多\n", encoding="utf-8")
    r = runner.invoke(app, ["policy", "eval", "--policy", "tech_sme", "--data", str(bad),
                            "--as-of", "2024-01-01", "--out", str(tmp_path / "o2.csv")])
    assert r.exit_code == 1 and "employees" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o2.csv").exists()


def test_policy_test_runs_builtins():
    r = runner.invoke(app, ["policy", "test"])
    assert r.exit_code == 0, r.output
    assert "0 个失败" in r.output


def test_failing_case_prints_file_case_expected_and_actual(tmp_path):
    cases = tmp_path / "mine.cases.yaml"
    cases.write_text("""\
policy: tech_sme
cases:
  - name: 故意写错的期望
    period: 2023
    input:
      seriously_dishonest: 否
      abnormal_operation: 否
      major_incident_last_year: 否
      years:
        2023: {employees: 100, tech_staff: 30, revenue: 5000, total_assets: 8000,
               rd_expense: 300, total_costs: 4000, class1_ip: 1, class2_ip: 0}
    output:
      verdict: ineligible
      score: 90
""", encoding="utf-8")
    r = runner.invoke(app, ["policy", "test", str(cases)])
    assert r.exit_code == 1
    assert "mine.cases.yaml" in r.output and "故意写错的期望" in r.output
    assert "verdict 期望 ineligible，实际 eligible" in r.output
    assert "score 期望 90，实际 100" in r.output
    assert "Traceback" not in r.output


def test_malformed_case_file_names_the_line(tmp_path):
    cases = tmp_path / "bad.cases.yaml"
    cases.write_text("policy: tech_sme\ncases:\n  - name: 缺少期间\n    input: {}\n"
                     "    output: {verdict: eligible}\n    extra: 1\n", encoding="utf-8")
    r = runner.invoke(app, ["policy", "test", str(cases)])
    assert r.exit_code == 1
    assert "第 6 行" in r.output and "extra" in r.output
