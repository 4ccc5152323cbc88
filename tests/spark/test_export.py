"""``kechuang export facts`` (issue 15, item 1): the Parquet read back equals the facts the
platform reads; incremental by batch with the latest-export rule; a rolled-back batch
rewrites everything; a bad --out fails in Chinese with nothing half-written."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.bootstrap import initialise
from kechuang.cli import app
from kechuang.config import get_settings
from kechuang.db import dispose_engines, unit_of_work
from kechuang.facts.service import (
    absent_coverage,
    fact_columns,
    frame_from_export,
    inferred_mask,
    read_facts,
)
from kechuang.models import AuditEvent, Enterprise, Fact, ImportBatch, Region
from kechuang.policy.runs import enterprise_hashes, input_codes, input_years
from kechuang.spark import engine as spark_engine
from kechuang.spark import lake, service
from tests.registry.factdata import add_batch, add_facts
from tests.support.seed import uscc

# the module-scoped fixtures are built once: one worker runs the module (-n 2 --dist loadgroup)
pytestmark = pytest.mark.xdist_group("spark-test_export")

CLI = Actor.command_line()


def _export(engine: Engine, out: Path, **kw: Any) -> service.ExportResult:
    with unit_of_work(engine) as s:
        return service.export_facts(s, CLI, out, **kw)


def _value(out: Path, code: str, period: int, enterprise_uscc: str) -> Any:
    rows = [r for r in lake.read_current(out).to_pylist()
            if r["metric"] == code and r["period"] == period and r["uscc"] == enterprise_uscc]
    assert len(rows) <= 1
    return rows[0] if rows else None


# ------------------------------------------------------------------ equals read_facts
@pytest.fixture(scope="module")
def demo(db_factory: Any) -> Engine:
    engine = db_factory.engine(seeded=False)
    initialise(engine, demo=40, seed=7)
    return engine


def test_export_read_back_equals_read_facts(demo: Engine, tmp_path: Path) -> None:
    out = tmp_path / "lake"
    result = _export(demo, out, chunk=997)  # many chunks, many row groups
    assert result.mode == "full" and result.facts > 997 and result.enterprises == 40
    facts = lake.read_current(out).to_pandas()
    assert facts["export_seq"].eq(1).all()
    assert not facts.duplicated(["enterprise_id", "metric", "period"]).any()
    yearly = facts[(facts["period"] >= 1900) & (facts["period"] <= 2999)]
    years = sorted(yearly["period"].unique().tolist())
    assert len(years) >= 3
    # monthly facts land in their year's partition
    monthly = facts[facts["period"] >= 100000]
    assert (monthly["year"] == monthly["period"] // 100).all()
    with unit_of_work(demo) as s:
        frame = read_facts(s, CLI, years)
        ent_count = s.scalar(select(Enterprise.id).order_by(Enterprise.id.desc()).limit(1))
    assert ent_count is not None
    cols = fact_columns()
    compared = 0
    for m in cols.yearly:
        if m.code not in frame.columns:
            continue
        got = yearly[yearly["metric"] == m.code].set_index(["enterprise_id", "period"])["value"]
        want = frame[["enterprise_id", "year", m.code]].set_index(["enterprise_id", "year"])[
            m.code]
        inferred = inferred_mask(frame, m.code)
        aligned = got.reindex(want.index).to_numpy(dtype=np.float64)
        real = ~inferred
        # the values the database holds: identical floats, missing where missing
        np.testing.assert_array_equal(aligned[real], want.to_numpy(dtype=np.float64)[real])
        # an inferred zero (rules/absent.yaml) is not a fact: absent from the export
        assert np.isnan(aligned[inferred]).all()
        compared += int(np.isfinite(aligned).sum())
    assert compared == len(yearly[yearly["value"].notna()
                                  & yearly["metric"].isin(frame.columns)])
    # numeric attributes and master fields
    attrs = lake.read_current(out, "attributes").to_pandas()
    assert (attrs["period"] == 0).all() and len(attrs) == result.attributes
    first = frame.drop_duplicates("enterprise_id").set_index("enterprise_id")
    for m in cols.attributes:
        if m.value_type not in ("number", "integer") or m.code not in first.columns:
            continue
        got = attrs[attrs["metric"] == m.code].set_index("enterprise_id")["value"]
        want = first[m.code].astype(float)
        np.testing.assert_array_equal(got.reindex(want.index).to_numpy(dtype=float)[
            want.notna().to_numpy()], want.dropna().to_numpy())
    ents = pq.read_table(out / "enterprises.parquet").to_pandas().set_index("enterprise_id")
    assert list(ents.index) == sorted(first.index)
    assert (ents["region_code"] == first["region_code"]).all()
    assert (ents["industry_code"].fillna("") == first["industry_code"].fillna("")).all()
    assert ([None if v is None else v.isoformat() for v in ents["founded_on"]]
            == list(first["founded_on"]))
    assert (ents["county_code"] == "320582").all()
    assert ents["industry_section"].notna().all()


def test_the_export_rebuilds_the_table_read_facts_reads(demo: Engine, tmp_path: Path) -> None:
    """What a policy run on a cluster does on each executor
    (``facts.service.frame_from_export`` over the export's rows) gives the table
    ``read_facts`` gives from the database: every column, dtype, value, inferred zero and
    "none" — so the per-enterprise input hashes of both engines agree."""
    out = tmp_path / "lake"
    _export(demo, out)
    years = input_years(date(2026, 6, 1))
    codes = input_codes()
    with unit_of_work(demo) as s:
        want = read_facts(s, CLI, years, codes=codes)
        coverage = absent_coverage(s, codes, years)
    rows = pa.concat_tables([lake.read_current(out, "facts"), lake.read_current(
        out, "attributes")]).to_pandas()
    enterprises = pq.read_table(out / "enterprises.parquet").to_pandas()
    got = frame_from_export(enterprises, rows, years, codes, coverage)
    assert list(got.columns) == list(want.columns)
    assert any(inferred_mask(want, c).any() for c in want.columns)  # zeros were inferred
    for col in want.columns:
        assert got[col].dtype == want[col].dtype, col
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_series_equal(enterprise_hashes(got), enterprise_hashes(want))


def test_exact_decimals_match_the_database(demo: Engine, tmp_path: Path) -> None:
    out = tmp_path / "lake"
    _export(demo, out)
    exported = {r["fact_id"]: r for r in lake.read_current(out).to_pylist()}
    with unit_of_work(demo) as s:
        rows = s.execute(select(Fact.id, Fact.value_num).where(
            Fact.is_current.is_(True), Fact.period != 0, Fact.value_num.is_not(None))
            .order_by(Fact.id).limit(500)).all()
    assert rows
    for fid, value in rows:
        assert exported[fid]["value_exact"] == Decimal(value)
        assert exported[fid]["value"] == float(Decimal(value))


# ------------------------------------------------------------------ incremental by batch
def _seed_facts(engine: Engine) -> tuple[int, int]:
    with unit_of_work(engine) as s:
        tax = add_batch(s, "tax", "税务数据2022.csv", at=datetime(2024, 3, 1, tzinfo=UTC))
        add_facts(s, tax, uscc(1), {"revenue": {2021: Decimal("1200.5"), 2022: Decimal("1500")},
                                    "rd_expense": {2022: Decimal("-0.000001")}})
        add_facts(s, tax, uscc(2), {"revenue": {2022: Decimal("987654321.123456")}})
        stats = add_batch(s, "stats", "统计年报2022.csv", at=datetime(2024, 4, 1, tzinfo=UTC))
        add_facts(s, stats, uscc(2), {"employees": {2022: 35}})
        return tax.id, stats.id


def test_incremental_export_writes_only_the_new_batch(engine: Engine, tmp_path: Path) -> None:
    tax_id, _ = _seed_facts(engine)
    out = tmp_path / "lake"
    first = _export(engine, out)
    assert first.mode == "full" and first.facts == 5
    assert _value(out, "rd_expense", 2022, uscc(1))["value_exact"] == Decimal("-0.000001")
    before = {p: p.read_bytes() for p in out.rglob("*.parquet") if p.parent.name != "lake"}
    with unit_of_work(engine) as s:
        later = add_batch(s, "stats", "统计年报2023.xlsx", at=datetime(2024, 6, 30, tzinfo=UTC))
        add_facts(s, later, uscc(1), {"revenue": {2022: Decimal("1510.75"),
                                                  2023: Decimal("1800")}})
        later_id = later.id
    second = _export(engine, out)
    assert second.mode == "incremental" and second.export_seq == 2
    assert second.batches == [later_id] and second.facts == 2
    assert second.supersedes == {str(later_id): {str(tax_id): 1}}
    new_files = [f for f in second.files]
    assert new_files and all(f"part-00002-b{later_id}-b{later_id}" in f for f in new_files)
    # the earlier parts are untouched; the new ones hold only the new batch's facts
    for path, data in before.items():
        assert path.read_bytes() == data
    for f in new_files:
        rows = pq.ParquetFile(out / f).read().to_pylist()
        assert {r["batch_id"] for r in rows} == {later_id}
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["last_batch_id"] == later_id and manifest["last_seq"] == 2
    assert set(new_files) <= set(manifest["files"]["facts"])
    assert [e["seq"] for e in manifest["exports"]] == [1, 2]
    # the superseded value is in both exports; the reader's rule keeps the newer
    assert _value(out, "revenue", 2022, uscc(1))["value"] == 1510.75
    assert _value(out, "revenue", 2021, uscc(1))["value"] == 1200.5
    assert _value(out, "revenue", 2023, uscc(1))["export_seq"] == 2
    assert len(lake.read_current(out)) == 6
    # nothing new: nothing written
    third = _export(engine, out)
    assert third.mode == "unchanged" and third.files == []
    assert json.loads((out / "_manifest.json").read_text(encoding="utf-8")) == manifest
    # a staging directory never survives
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_rolled_back_batch_rewrites_the_export(engine: Engine, tmp_path: Path) -> None:
    tax_id, _ = _seed_facts(engine)
    out = tmp_path / "lake"
    with unit_of_work(engine) as s:
        later = add_batch(s, "stats", "统计年报2023.xlsx", at=datetime(2024, 6, 30, tzinfo=UTC))
        add_facts(s, later, uscc(1), {"revenue": {2022: Decimal("1510.75")}})
        later_id = later.id
    _export(engine, out)
    assert _value(out, "revenue", 2022, uscc(1))["value"] == 1510.75
    # roll the batch back the way ingest does: its facts go, the superseded come back
    with unit_of_work(engine) as s:
        s.execute(delete(Fact).where(Fact.batch_id == later_id))
        s.execute(update(Fact).where(Fact.superseded_by == later_id)
                  .values(is_current=True, superseded_by=None))
        s.execute(update(ImportBatch).where(ImportBatch.id == later_id)
                  .values(status="rolled_back"))
    again = _export(engine, out)
    assert again.mode == "full" and str(later_id) in again.reason
    assert again.export_seq == 1 and later_id not in again.batches
    assert _value(out, "revenue", 2022, uscc(1))["value"] == 1500.0
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    assert later_id not in manifest["batches"] and len(manifest["exports"]) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_failure_mid_way_leaves_nothing(engine: Engine, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_facts(engine)
    out = tmp_path / "lake"
    calls = {"n": 0}
    real = spark_engine.facts_table

    def failing(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(*args)

    monkeypatch.setattr(spark_engine, "facts_table", failing)
    with pytest.raises(RuntimeError):
        _export(engine, out, chunk=2)
    assert list(tmp_path.iterdir()) == []
    # and an incremental export that fails keeps the previous export as it was
    monkeypatch.setattr(spark_engine, "facts_table", real)
    _export(engine, out)
    manifest = (out / "_manifest.json").read_bytes()
    files = sorted(p.relative_to(out) for p in out.rglob("*"))
    with unit_of_work(engine) as s:
        later = add_batch(s, "stats", "统计年报2023.xlsx", at=datetime(2024, 6, 30, tzinfo=UTC))
        add_facts(s, later, uscc(1), {"revenue": {2023: Decimal("1")}})
    calls["n"] = 1
    monkeypatch.setattr(spark_engine, "facts_table", failing)
    with pytest.raises(RuntimeError):
        _export(engine, out)
    assert (out / "_manifest.json").read_bytes() == manifest
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == files
    # a staging directory a killed export left behind is cleared by the next export
    (out / ".export.tmp-killed" / "facts").mkdir(parents=True)
    monkeypatch.setattr(spark_engine, "facts_table", real)
    assert _export(engine, out).mode == "incremental"
    assert not (out / ".export.tmp-killed").exists()


def test_only_facts_in_the_actors_scope(engine: Engine, tmp_path: Path) -> None:
    _seed_facts(engine)
    with unit_of_work(engine) as s:
        other = add_batch(s, "tax", "其他县.csv", at=datetime(2024, 5, 1, tzinfo=UTC))
        theirs = s.scalars(select(Enterprise.uscc).where(
            Enterprise.region_code.not_like("320582%"))).first()
        assert theirs is not None
        add_facts(s, other, theirs, {"revenue": {2022: Decimal("5")}})
        path = s.scalar(select(Region.path).where(Region.code == "320582"))
    assert path is not None
    county = Actor.command_line("320582", path)
    out = tmp_path / "county"
    with unit_of_work(engine) as s:
        result = service.export_facts(s, county, out)
    assert result.facts == 5
    assert theirs not in set(lake.read_current(out).column("uscc").to_pylist())
    ents = pq.read_table(out / "enterprises.parquet").column("county_code").to_pylist()
    assert set(ents) == {"320582"}


# ------------------------------------------------------------------ the command
@pytest.fixture
def cli_db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    yield engine
    get_settings.cache_clear()
    dispose_engines()


def test_the_command_exports_and_is_audited(cli_db: Engine, tmp_path: Path) -> None:
    _seed_facts(cli_db)
    out = tmp_path / "lake"
    done = CliRunner().invoke(app, ["export", "facts", "--out", str(out), "--chunk-rows", "2"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output.strip().splitlines()[-1])
    assert summary["mode"] == "full" and summary["facts"] == 5
    assert "已导出" in done.output
    assert (out / "_manifest.json").exists()
    with unit_of_work(cli_db) as s:
        assert s.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "spark.export_facts")) is not None


@pytest.mark.parametrize("kind", ["file", "missing_parent", "foreign_dir"])
def test_a_bad_out_fails_in_chinese_with_nothing_written(cli_db: Engine, tmp_path: Path,
                                                         kind: str) -> None:
    _seed_facts(cli_db)
    if kind == "file":
        out = tmp_path / "facts.parquet"
        out.write_text("not a directory", encoding="utf-8")
        expected = "这是一个文件，不是目录"
    elif kind == "missing_parent":
        out = tmp_path / "no" / "such" / "lake"
        expected = "不存在"
    else:
        out = tmp_path / "mine"
        out.mkdir()
        (out / "notes.txt").write_text("keep me", encoding="utf-8")
        expected = "目录不为空"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    failed = CliRunner().invoke(app, ["export", "facts", "--out", str(out)])
    assert failed.exit_code == 1
    assert "错误" in failed.output and expected in failed.output and "--out" in failed.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    with unit_of_work(cli_db) as s:
        assert s.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "spark.export_facts")) is None


def test_year_of_and_exact_decimals() -> None:
    assert spark_engine.year_of(np.array([2023, 202305, 0])).tolist() == [2023, 2023, 0]
    arr = spark_engine.exact_decimals(np.array([-1, 1_500_500_000, 0], dtype=np.int64),
                                      np.array([True, True, False]), 6)
    assert arr.to_pylist() == [Decimal("-0.000001"), Decimal("1500.500000"), None]


def test_an_import_committed_during_the_export_waits_for_the_next(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One snapshot: a batch committed while the export streams is wholly absent from it
    (neither its new values nor the loss of the values it superseded), and the next export
    adds it."""
    _seed_facts(engine)
    out = tmp_path / "lake"
    real = spark_engine.facts_table
    state: dict[str, int] = {}

    def import_meanwhile(*args: Any) -> Any:
        if not state:
            with unit_of_work(engine) as s:
                b = add_batch(s, "stats", "统计年报2023.xlsx",
                              at=datetime(2024, 6, 30, tzinfo=UTC))
                add_facts(s, b, uscc(2), {"revenue": {2022: Decimal("1")},
                                          "employees": {2023: 40},
                                          "srdi_level": {0: "provincial"}})
                state["batch"] = b.id
        return real(*args)

    monkeypatch.setattr(spark_engine, "facts_table", import_meanwhile)
    first = _export(engine, out, chunk=2)
    assert state and state["batch"] not in first.batches and first.facts == 5
    assert _value(out, "revenue", 2022, uscc(2))["value"] == 987654321.123456
    for kind in ("facts", "attributes"):
        exported = lake.read_current(out, kind)
        assert state["batch"] not in set(exported.column("batch_id").to_pylist())
    monkeypatch.setattr(spark_engine, "facts_table", real)
    second = _export(engine, out)
    assert second.mode == "incremental" and second.batches == [state["batch"]]
    assert _value(out, "revenue", 2022, uscc(2))["value"] == 1.0
    assert len(lake.read_current(out)) == 6
    assert lake.read_current(out, "attributes").column("value_text").to_pylist() == [
        "provincial"]


def test_the_full_export_streams_without_sorting_the_facts(engine: Engine) -> None:
    """SQLite's plan of the export statement reads the index in its own order: no temporary
    B-tree for ORDER BY (which held the whole result in memory before the first row)."""
    if engine.url.get_backend_name() != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    from kechuang.spark import repository as spark_repo

    with unit_of_work(engine) as s:
        for batch_ids in (None, [1, 2]):
            stmt = spark_repo.facts_statement(s, CLI, batch_ids, attributes=False)
            compiled = stmt.compile(dialect=s.get_bind().dialect,
                                    compile_kwargs={"literal_binds": True})
            plan = " | ".join(str(r[-1]) for r in s.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}"))
            assert "TEMP B-TREE" not in plan, plan
