"""Eligibility runs over the database: the bulk facts reader, persisted verdicts equal to
the file-based engine's, identical numbers on a re-run, audit rows, the CLI command."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import Engine, func, inspect, select, text
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.facts import read_facts
from kechuang.ingest.service import do_import
from kechuang.migrate import downgrade, upgrade
from kechuang.models import AuditEvent, Enterprise, PolicyResultBlock, PolicyRun
from kechuang.policy import blocks
from kechuang.policy import repository as repo
from kechuang.policy.blocks import CONVERT_ROWS
from kechuang.policy.engine import evaluate
from kechuang.policy.loader import builtin_policies
from kechuang.policy.service import do_run_policies
from tests.ingest.helpers import csv_bytes, user_actor
from tests.policy.rundata import (
    AS_OF,
    HRSS,
    U1,
    U2,
    U3,
    U4,
    U5,
    YEARS,
    import_all,
    reference_table,
)


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_all(engine)
    return engine


def _read(engine: Engine, actor: Actor) -> pd.DataFrame:
    with unit_of_work(engine) as s:
        return read_facts(s, actor, YEARS)


def test_reader_values_attributes_and_exact_decimals(loaded: Engine) -> None:
    df = _read(loaded, Actor.command_line()).set_index(["uscc", "year"])
    assert df.loc[(U1, 2024), "revenue"] == 7500.0
    assert df.loc[(U1, 2022), "tech_staff"] == 35.0
    assert df.loc[(U2, 2023), "rd_expense"] == 264.6
    # six decimal places survive the scaled-integer storage on SQLite and NUMERIC on PG
    assert df.loc[(U3, 2024), "revenue"] == 1234.567891
    # no fact → missing, never 0; every enterprise gets a row per year
    assert math.isnan(df.loc[(U3, 2023), "revenue"])
    assert math.isnan(df.loc[(U4, 2024), "employees"])
    assert {y for (u, y) in df.index if u == U4} == set(YEARS)
    # attributes repeat on every year's row, typed: ISO dates, booleans, enum codes
    assert df.loc[(U2, 2022), "hte_cert_expires_on"] == "2026-12-31"
    assert df.loc[(U2, 2024), "hte_cert_expires_on"] == "2026-12-31"
    assert df.loc[(U1, 2023), "in_key_tech_field"] is True
    assert df.loc[(U2, 2023), "in_key_tech_field"] is False
    assert df.loc[(U3, 2023), "in_key_tech_field"] is None
    assert df.loc[(U1, 2024), "rd_institution_level"] == "province"
    assert df.loc[(U1, 2024), "seriously_dishonest"] is False  # not on the list
    assert df.loc[(U1, 2024), "founded_on"] == "2011-03-01"
    assert df.loc[(U2, 2024), "industry_code"] == "2651"
    assert df["revenue"].dtype == "float64"


def test_reader_scope(loaded: Engine) -> None:
    home = set(_read(loaded, user_actor(loaded, "staff"))["uscc"])
    assert home == {U1, U2, U3, U4}
    assert set(_read(loaded, user_actor(loaded, "ent1"))["uscc"]) == {U1}
    other = _read(loaded, user_actor(loaded, "other_admin"))
    assert U5 in set(other["uscc"]) and not home & set(other["uscc"])
    assert other.set_index(["uscc", "year"]).loc[(U5, 2024), "revenue"] == 3000.0
    assert _read(loaded, user_actor(loaded, "bank")).empty


def _same(stored: float | None, computed: float) -> bool:
    """A stored score equals the engine's (NULL where the engine has NaN)."""
    if math.isnan(computed):
        return stored is None
    return stored == pytest.approx(float(computed))


def _results(engine: Engine, run_id: int) -> dict[str, tuple]:
    with unit_of_work(engine) as s:
        codes = dict(s.execute(select(Enterprise.id, Enterprise.uscc)).all())
        return {codes[r.enterprise_id]: (r.verdict, r.score, r.score_min, r.score_max,
                                         r.failed, r.missing, r.values, r.input_hash)
                for r in repo.run_results(s, run_id)}


def test_run_persists_the_file_engine_verdicts(loaded: Engine) -> None:
    admin = user_actor(loaded, "admin")
    with unit_of_work(loaded) as s:
        runs = do_run_policies(s, admin, None, AS_OF)
    assert {r.policy_id for r in runs} == set(builtin_policies())
    reference = reference_table([U1, U2, U3, U4])
    seen = set()
    for run in runs:
        assert run.enterprises == 4 and run.eval_year == 2024
        ev = evaluate(builtin_policies()[run.policy_id], reference, AS_OF)
        stored = _results(loaded, run.run_id)
        assert set(stored) == {U1, U2, U3, U4}  # 常熟's enterprise is outside the scope
        failed = ev.failed()
        for i, code in enumerate(ev.uscc):
            verdict, score, lo, hi, f, missing, values, _h = stored[code]
            seen.add(verdict)
            assert verdict == ev.verdict[i], (run.policy_id, code)
            if ev.pass_mark is not None:
                assert _same(lo, ev.score_lo[i]) and _same(hi, ev.score_hi[i])
            else:
                assert lo is None and hi is None and score is None
            assert set(f) == {x for x in failed[i].split(";") if x}
            assert set(missing) == {x for x in str(ev.missing[i]).split(";") if x}
            assert set(values) >= set(ev.leaves)
        assert sum(run.counts.values()) == 4
    # the fixture data exercise the verdicts that matter on the page
    assert {"eligible", "ineligible", "insufficient_data"} <= seen
    rd = _results(loaded, next(r.run_id for r in runs if r.policy_id == "hte"))
    assert rd[U2][0] == "ineligible" and "hte.rd_ratio" in rd[U2][4]
    assert rd[U2][6]["hte.rd_ratio"] == pytest.approx(0.027)


def test_rerun_gives_identical_numbers_and_audits(loaded: Engine) -> None:
    cli = Actor.command_line()
    with unit_of_work(loaded) as s:
        first = do_run_policies(s, cli, ["hte", "tech_sme"], AS_OF)
    with unit_of_work(loaded) as s:
        second = do_run_policies(s, cli, ["hte", "tech_sme"], AS_OF)
    for a, b in zip(first, second, strict=True):
        assert a.run_id != b.run_id
        assert a.input_hash == b.input_hash and a.counts == b.counts
        assert _results(loaded, a.run_id) == _results(loaded, b.run_id)
    with unit_of_work(loaded) as s:
        run = s.get_one(PolicyRun, first[0].run_id)
        assert run.region_code is None and run.actor.startswith("cli:")
        assert run.parameters["rd_min_small"]["value"] == 0.05
        assert len(run.policy_hash) == 64
        audits = s.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "policy.run"))
        assert audits == 4
        assert s.scalar(select(func.sum(PolicyResultBlock.rows))) == 4 * 6


def test_changed_facts_change_the_input_hash_not_old_results(loaded: Engine) -> None:
    cli = Actor.command_line()
    with unit_of_work(loaded) as s:
        before = do_run_policies(s, cli, ["hte"], AS_OF)[0]
    old = _results(loaded, before.run_id)
    with unit_of_work(loaded) as s:
        assert do_import(s, cli, csv_bytes([HRSS, [U2, 2024, "200", "25"]]), "fix.csv",
                         "hrss").ok
    with unit_of_work(loaded) as s:
        after = do_run_policies(s, cli, ["hte"], AS_OF)[0]
    assert after.input_hash != before.input_hash
    assert _results(loaded, before.run_id) == old  # a run's results never change
    assert _results(loaded, after.run_id)[U2][6]["hte.tech_staff_ratio"] == 0.125


def test_cli_policy_run(loaded: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from kechuang.cli import app
    from kechuang.config import get_settings
    from kechuang.db import dispose_engines

    monkeypatch.setenv("KECHUANG_DATABASE_URL", loaded.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    try:
        result = CliRunner().invoke(app, ["policy", "run", "--policy", "tech_sme",
                                          "--as-of", "2025-03-01"])
        assert result.exit_code == 0, result.output
        assert "tech_sme" in result.output and "评价年度 2024" in result.output
        bad = CliRunner().invoke(app, ["policy", "run", "--policy", "nope"])
        assert bad.exit_code == 1 and "未知政策" in bad.output
    finally:
        get_settings.cache_clear()
        dispose_engines()
    with unit_of_work(loaded) as s:
        assert s.scalar(select(func.count()).select_from(PolicyRun)) == 1


@pytest.mark.parametrize("convert_rows", [CONVERT_ROWS, 3])
def test_stored_results_survive_the_block_migration_down_and_up(loaded: Engine, monkeypatch,
                                                                convert_rows: int) -> None:
    """Migration 0009 packs rows into blocks and unpacks them on the way down: a bureau
    upgrading keeps every earlier run's results exactly — also when a run is converted in
    several slices (3 rows here), whose blocks then hold different leaf columns."""
    monkeypatch.setattr(blocks, "CONVERT_ROWS", convert_rows)
    with unit_of_work(loaded) as s:
        runs = do_run_policies(s, Actor.command_line(), ["hte", "tech_sme"], AS_OF)
    before = {r.run_id: _results(loaded, r.run_id) for r in runs}
    assert any(row[4] for rows in before.values() for row in rows.values())  # failed leaves
    downgrade(loaded, "0008")
    with loaded.connect() as conn:
        stored = conn.execute(text(
            "SELECT count(*) FROM policy_result")).scalar_one()
        tables = set(inspect(conn).get_table_names())
    assert stored == sum(len(rows) for rows in before.values())
    assert "policy_result_block" not in tables
    upgrade(loaded)
    with unit_of_work(loaded) as s:
        n_blocks = s.scalar(select(func.count()).select_from(PolicyResultBlock))
    assert n_blocks == (2 if convert_rows > 4 else 4)  # two runs of four enterprises
    assert {run_id: _results(loaded, run_id) for run_id in before} == before


def test_an_enterprise_founded_after_the_evaluation_year_is_not_evaluated_for_it(
        loaded: Engine) -> None:
    """It had no business in the year: no result (before, 数据不足 with nothing missing)."""
    cli = Actor.command_line()
    with unit_of_work(loaded) as s:
        ids = list(s.scalars(select(Enterprise.id).order_by(Enterprise.id)))
        late = s.get_one(Enterprise, ids[0])
        late.founded_on = AS_OF.replace(month=1, day=2)  # the as-of year: after eval year
        run = do_run_policies(s, cli, ["hte"], AS_OF)[0]
        held = set(repo.read_results(s, run.run_id, ["verdict"])["enterprise_id"])
    assert run.enterprises == len(ids) - 1
    assert held == set(ids[1:])
