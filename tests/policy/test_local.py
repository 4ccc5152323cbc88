"""Local example policies and the inputs they need: innovation points and other policies'
verdicts as leaf inputs (file mode and database runs), reference cycles refused at load
time, the ``policy.runs_completed`` event, and runs independent of chunking."""

from __future__ import annotations

import csv
import re
from datetime import date
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.cli import app
from kechuang.db import unit_of_work
from kechuang.kit import events
from kechuang.models import Enterprise, PolicyRun, ScoreResult, ScoringRun
from kechuang.policy import repository as repo
from kechuang.policy import service
from kechuang.policy.engine import evaluate
from kechuang.policy.loader import (
    BUILTIN_DIR,
    PolicyFileError,
    builtin_policies,
    load_policy_file,
)
from kechuang.policy.service import do_run_policies
from tests.policy.helpers import hte_rows
from tests.policy.rundata import AS_OF, U1, U2, U3, import_all

CLI = Actor.command_line()
runner = CliRunner()

AS_OF_HTE = date(2024, 3, 1)  # evaluation year 2023 (hte_rows' latest year)
LOCAL = ("points_dividend", "innovation_voucher", "pre_research", "points_loan")


def test_local_policies_are_built_in_and_reference_tech_sme():
    policies = builtin_policies()
    assert set(LOCAL) <= set(policies)
    for pid in ("innovation_voucher", "pre_research", "points_loan"):
        assert set(policies[pid].refs) == {"tech_sme"}
    for pid in LOCAL:  # examples say so in their document title
        assert "示例" in policies[pid].policy.document.title


# -- references: loading -------------------------------------------------------------------

REF = """\
id: {id}
name: 引用示例
document: {{number: 示例〔2024〕1号, title: 示例文件}}
effective_from: 2020-01-01
target: 企业
conditions:
  all:
    - id: {id}.ref
      label: 引用
      clause: 第一条
      checks:
        - value: {value}
          format: bool
"""


def _write(tmp_path, pid: str, value: str):
    path = tmp_path / f"{pid}.yaml"
    path.write_text(REF.format(id=pid, value=value), encoding="utf-8")
    return path


def test_reference_cycle_is_refused_with_file_line_and_key(tmp_path):
    a = _write(tmp_path, "a", "policy('b')")
    _write(tmp_path, "b", "employees > 0 and policy('a')")
    with pytest.raises(PolicyFileError) as info:
        load_policy_file(a)
    message = info.value.message_zh
    # the reference that closes the cycle is b's, on line 12 of b.yaml (its checks' value)
    assert "b.yaml 第 12 行" in message and "conditions.all.0.checks.0.value" in message
    assert "a → b → a" in message


def test_self_reference_unknown_policy_and_unquoted_id_are_refused(tmp_path):
    with pytest.raises(PolicyFileError, match="循环"):
        load_policy_file(_write(tmp_path, "c", "policy('c')"))
    with pytest.raises(PolicyFileError, match="未知政策 'nope'") as info:
        load_policy_file(_write(tmp_path, "d", "policy('nope')"))
    assert "d.yaml 第 12 行" in info.value.message_zh
    with pytest.raises(PolicyFileError, match="带引号"):
        load_policy_file(_write(tmp_path, "e", "policy(employees)"))


def test_reference_to_a_builtin_from_another_folder(tmp_path):
    lp = load_policy_file(_write(tmp_path, "f", "policy('hte')"))
    assert lp.refs["hte"].id == "hte"


# -- references: evaluation ----------------------------------------------------------------

def test_referenced_verdict_is_three_valued(tmp_path):
    """hte's expert-judged items make its verdict likely/borderline (undecided), which a
    reference carries as undecided; ineligible → false; insufficient_data → missing."""
    lp = load_policy_file(_write(tmp_path, "g", "policy('hte')"))
    rows = (hte_rows("A", (4000, 4500, 5000), (300, 320, 350))            # strong: undecided
            + hte_rows("B", (4000, 4500, 5000), (10, 10, 10))             # R&D 0.2%: fails
            + hte_rows("C", (4000, 4500, 5000), (300, 320, 350), employees=None))
    data = pd.DataFrame(rows)
    hte = evaluate(builtin_policies()["hte"], data, AS_OF_HTE)
    got = evaluate(lp, data, AS_OF_HTE)
    by = dict(zip(got.uscc, got.verdict, strict=True))
    hte_by = dict(zip(hte.uscc, hte.verdict, strict=True))
    assert hte_by["A"] in ("likely", "borderline") and by["A"] == "borderline"
    assert hte_by["B"] == "ineligible" and by["B"] == "ineligible"
    assert hte_by["C"] == "insufficient_data" and by["C"] == "insufficient_data"
    # the referenced policy's missing input is named by the referencing one
    assert dict(zip(got.uscc, got.missing, strict=True))["C"] == "employees(2023)"


# -- points in file mode ---------------------------------------------------------------------

def test_policy_eval_reads_points_from_the_data_file(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text(
        "uscc,year,points,points_percentile,points_tier,points_veto,seriously_dishonest,"
        "abnormal_operation,hte_cert_expires_on\n"
        "A,2023,88,95,lead,否,否,否,2026-01-01\n"
        "B,2023,61,72,advance,否,否,否,2026-01-01\n"
        "C,2023,,,,,否,否,2026-01-01\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    r = runner.invoke(app, ["policy", "eval", "--policy", "points_loan", "--data", str(data),
                            "--as-of", "2024-03-01", "--out", str(out)])
    assert r.exit_code == 0, r.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = {row["uscc"]: row for row in csv.DictReader(fh)}
    assert rows["A"]["verdict"] == "eligible" and rows["A"]["points_loan.credit_line"] == "2000"
    assert rows["B"]["verdict"] == "eligible" and rows["B"]["points_loan.credit_line"] == "300"
    assert rows["C"]["verdict"] == "insufficient_data"
    assert rows["C"]["missing"] == "points;points_tier;points_veto"


# -- database runs ---------------------------------------------------------------------------

@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_all(engine)
    return engine


def _scoring_run(engine: Engine, published: bool,
                 results: dict[str, tuple[float, int, float, str | None, str | None]]) -> int:
    with unit_of_work(engine) as s:
        run = ScoringRun(system_id="zjg", system_version="1", system_name="积分", system_hash="h",
                         system_source="x", year=2024, parameters={}, input_hash="i",
                         region_code=None, enterprises=len(results), vetoed=0, indicators=[],
                         groups=[], notes=[], treatment={}, published=published, actor="test")
        s.add(run)
        s.flush()
        for u, (points, rank, pct, tier, veto) in results.items():
            eid = s.scalar(select(Enterprise.id).where(Enterprise.uscc == u))
            s.add(ScoreResult(run_id=run.id, enterprise_id=eid, points=points, rank=rank,
                              percentile=pct, list_tier=tier, veto=veto, groups={}))
        return run.id


def _results(engine: Engine, run_id: int) -> dict[str, Any]:
    with unit_of_work(engine) as s:
        usccs = dict(s.execute(select(Enterprise.id, Enterprise.uscc)).all())
        return {usccs[r.enterprise_id]: r for r in repo.run_results(s, run_id)}


def test_without_a_published_scoring_run_points_are_missing_never_zero(loaded: Engine):
    _scoring_run(loaded, False, {U1: (90.0, 1, 99.0, "lead", None)})  # not published
    with unit_of_work(loaded) as s:
        runs = do_run_policies(s, CLI, ["points_dividend"], AS_OF)
    got = _results(loaded, runs[0].run_id)
    assert got[U1].verdict == "insufficient_data"
    assert got[U1].missing == ["points", "points_percentile", "points_veto"]
    with unit_of_work(loaded) as s:
        run = s.get(PolicyRun, runs[0].run_id)
        assert run is not None and run.parameters["points_run"]["value"] is None


def test_points_come_from_the_latest_published_scoring_run(loaded: Engine):
    _scoring_run(loaded, True, {U1: (10.0, 9, 5.0, None, None)})  # older, superseded
    latest = _scoring_run(loaded, True, {
        U1: (88.0, 1, 95.0, "lead", None),
        U2: (75.0, 2, 85.0, None, "严重失信"),     # vetoed: no tier
    })
    _scoring_run(loaded, False, {U1: (1.0, 9, 1.0, None, None)})  # newer but unpublished
    with unit_of_work(loaded) as s:
        runs = {r.policy_id: r for r in do_run_policies(
            s, CLI, ["points_dividend", "points_loan", "tech_sme"], AS_OF)}
    div = _results(loaded, runs["points_dividend"].run_id)
    assert div[U1].verdict == "eligible"
    assert div[U1].values["points_dividend.ranked"] == 95.0
    # who is eligible only: the amount is the reward scheme's (lists/schemes/points-dividend)
    assert "points_dividend.amount" not in div[U1].values
    assert div[U2].verdict == "ineligible" and div[U2].failed == ["points_dividend.not_vetoed"]
    # U3 was not scored by that run: missing, named
    assert div[U3].verdict == "insufficient_data" and "points" in div[U3].missing
    loan = _results(loaded, runs["points_loan"].run_id)
    assert loan[U2].values["points_loan.credit_line"] == 0.0  # no list tier ("none")
    assert "points_loan.tier" in loan[U2].failed
    with unit_of_work(loaded) as s:
        params = {r.policy_id: r.parameters for r in s.scalars(select(PolicyRun))}
    assert params["points_dividend"]["points_run"]["value"] == latest
    assert "points_run" not in params["tech_sme"]


# -- event and chunking ----------------------------------------------------------------------

@pytest.fixture
def heard():
    calls: list[dict[str, Any]] = []

    def handler(session: Any, actor: Actor, run_ids: list[int], **_: Any) -> None:
        # inside the run's transaction: the runs are visible to the subscriber
        found = set(session.scalars(select(PolicyRun.id).where(PolicyRun.id.in_(run_ids))))
        calls.append({"run_ids": list(run_ids), "found": found, "actor": actor})

    events.subscribe("policy.runs_completed")(handler)
    yield calls
    events._handlers["policy.runs_completed"].remove(handler)


def test_runs_completed_fires_once_per_run_with_the_run_ids(loaded: Engine, heard):
    with unit_of_work(loaded) as s:
        first = do_run_policies(s, CLI, ["tech_sme", "innovation_voucher"], AS_OF)
    assert len(heard) == 1
    assert heard[0]["run_ids"] == [r.run_id for r in first]
    assert heard[0]["found"] == set(heard[0]["run_ids"]) and heard[0]["actor"] is CLI
    with unit_of_work(loaded) as s:
        second = do_run_policies(s, CLI, None, AS_OF)
    assert len(heard) == 2
    assert heard[1]["run_ids"] == [r.run_id for r in second]
    assert len(second) == len(builtin_policies())


def test_results_do_not_depend_on_chunking(loaded: Engine, monkeypatch):
    with unit_of_work(loaded) as s:
        whole = do_run_policies(s, CLI, ["hte", "innovation_voucher"], AS_OF)
    monkeypatch.setattr(service, "CHUNK_ENTERPRISES", 2)
    with unit_of_work(loaded) as s:
        n = s.scalar(select(Enterprise.id).order_by(Enterprise.id.desc()).limit(1))
        chunked = do_run_policies(s, CLI, ["hte", "innovation_voucher"], AS_OF)
    assert n is not None and n > 2  # really several chunks
    for a, b in zip(whole, chunked, strict=True):
        assert (a.input_hash, a.counts, a.enterprises) == (b.input_hash, b.counts,
                                                           b.enterprises)
        with unit_of_work(loaded) as s:
            rows_a = repo.run_results(s, a.run_id)
            rows_b = repo.run_results(s, b.run_id)
        assert rows_a == rows_b and len(rows_a) == a.enterprises


# -- kechuang policy test ----------------------------------------------------------------------

@pytest.mark.parametrize("pid", LOCAL)
def test_policy_test_runs_each_local_case_file(pid):
    path = BUILTIN_DIR / f"{pid}.cases.yaml"
    r = runner.invoke(app, ["policy", "test", str(path)])
    assert r.exit_code == 0, r.output
    m = re.search(r"1 个文件，(\d+) 个用例，(\d+) 个通过，0 个失败", r.output)
    assert m is not None and int(m.group(1)) >= 10 and m.group(1) == m.group(2), r.output


def test_failing_local_case_prints_file_case_expected_and_actual(tmp_path):
    cases = tmp_path / "points.cases.yaml"
    cases.write_text("""\
policy: points_dividend
cases:
  - name: 没有积分却期望符合
    period: 2023
    input: {seriously_dishonest: 否}
    output: {verdict: eligible}
""", encoding="utf-8")
    r = runner.invoke(app, ["policy", "test", str(cases)])
    assert r.exit_code == 1
    assert "points.cases.yaml" in r.output and "没有积分却期望符合" in r.output
    assert ("verdict 期望 eligible，实际 insufficient_data"
            "（缺失：points;points_percentile;points_veto）") in r.output
    assert "Traceback" not in r.output
