"""Long imports on SQLite in short transactions (issue 17, item 1; kechuang.ingest.loading):
the same result as one transaction, the write lock free between slices, nothing visible
before the batch takes effect, and an import that fails half-way undone or finished."""

from __future__ import annotations

import csv
import io
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from kechuang.app import create_app
from kechuang.db import unit_of_work
from kechuang.ingest.service import do_import, do_rollback_batch
from kechuang.kit.uscc import make_uscc
from kechuang.models import ImportBatch, utcnow
from tests.conftest import BACKEND
from tests.ingest.helpers import CLI, fact_state

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL imports stay one "
                                "transaction: its writers do not block each other")

MARKET = ["统一社会信用代码", "企业名称", "所属区域代码", "行业代码", "成立日期",
          "列入经营异常名录"]
TAX = ["统一社会信用代码", "年度", "营业收入（万元）", "研发费用（元）", "职工人数"]
N = 120


def _code(i: int) -> str:
    return make_uscc(f"91320582{i + 2_000_000:09d}")


def _csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def _market() -> bytes:
    return _csv([MARKET, *[[_code(i), f"长导入测试企业{i}", "320582100", "3973", "2015-01-02",
                            "是" if i % 7 == 0 else "否"] for i in range(N)]])


def _tax(version: int) -> bytes:
    rows: list[list[Any]] = [TAX]
    for i in range(N):
        revenue = 100 + i + (5 if version == 2 and i % 3 == 0 else 0)  # a third changed
        staff = "" if version == 1 and i % 4 == 0 else 10 + i % 9  # v2 adds a quarter's staff
        rows.append([_code(i), 2023, revenue, 1000 * i, staff])
    return _csv(rows)


def _import(engine: Engine, data: bytes, template: str, *, chunked: bool,
            progress: Callable[[str, int, int], None] | None = None) -> Any:
    with unit_of_work(engine) as s:
        return do_import(s, CLI, data, f"{template}.csv", template, progress=progress,
                         checkpoint=s.commit if chunked else None)


def _current(engine: Engine) -> list[tuple[Any, ...]]:
    with unit_of_work(engine) as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT e.uscc, f.metric_id, f.period, f.value_num, f.value_text FROM fact f "
            "JOIN enterprise e ON e.id = f.enterprise_id WHERE f.is_current = 1 "
            "ORDER BY 1, 2, 3"))]


def _abnormal(engine: Engine) -> list[tuple[Any, ...]]:
    with unit_of_work(engine) as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT uscc, abnormal_operation FROM enterprise WHERE name LIKE '长导入%' "
            "ORDER BY uscc"))]


def _db_path(engine: Engine) -> str:
    assert engine.url.database
    return engine.url.database


@pytest.fixture
def small_slices(settings_env: Callable[..., None]) -> None:
    settings_env(import_chunk_facts=100)


def test_a_long_import_in_slices_equals_one_transaction(engine, small_slices):
    market = _import(engine, _market(), "market", chunked=True)
    assert market.ok and market.enterprises_created == N, market.message
    abnormal = _abnormal(engine)
    assert sum(1 for _, flag in abnormal if flag) == len(range(0, N, 7))  # derived refreshed
    assert _import(engine, _tax(1), "tax", chunked=False).ok
    sliced = _import(engine, _tax(2), "tax", chunked=True)
    assert sliced.ok, sliced.message
    state_sliced = _current(engine)
    counts = (sliced.facts_new, sliced.facts_changed, sliced.facts_unchanged)
    assert counts == (N // 4, N // 3, N * 3 - N // 4 - N // 3)  # three metrics a row

    with unit_of_work(engine) as s:
        do_rollback_batch(s, CLI, sliced.batch_id)
        assert s.get(ImportBatch, sliced.batch_id).status == "rolled_back"
    whole = _import(engine, _tax(2), "tax", chunked=False)
    assert whole.ok, whole.message
    assert (whole.facts_new, whole.facts_changed, whole.facts_unchanged) == counts
    assert _current(engine) == state_sliced
    assert _abnormal(engine) == abnormal


def test_the_lock_is_free_between_slices_and_nothing_shows_before_it_takes_effect(
        engine, small_slices):
    assert _import(engine, _market(), "market", chunked=False).ok
    before = _current(engine)
    seen: list[tuple[str, str, int, bool]] = []
    path = _db_path(engine)

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in ("写入", "生效") or done == 0:
            return
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" at once if it is held
            other.execute("ROLLBACK")
            status, = other.execute(
                "SELECT status FROM import_batch ORDER BY id DESC LIMIT 1").fetchone()
            current_new, = other.execute(
                "SELECT count(*) FROM fact f JOIN import_batch b ON b.id = f.batch_id "
                "WHERE f.is_current = 1 AND b.id = (SELECT max(id) FROM import_batch)"
            ).fetchone()
        finally:
            other.close()
        seen.append((stage, status, current_new, True))

    result = _import(engine, _tax(1), "tax", chunked=True, progress=progress)
    assert result.ok, result.message
    loading = [s for s in seen if s[0] == "写入"]
    publishing = [s for s in seen if s[0] == "生效"]
    assert len(loading) >= 3 and len(publishing) >= 3
    # while loading, the batch is "loading" and none of its values is current
    assert all(status == "loading" and n == 0 for _, status, n, _ in loading)
    assert all(status == "publishing" for _, status, _, _ in publishing)
    assert publishing[-1][2] == result.facts_new  # all current once published
    assert len(_current(engine)) == len(before) + result.facts_new


def _failing_at(stage: str, call: int) -> Callable[[str, int, int], None]:
    calls = {"n": 0}

    def progress(label: str, done: int, total: int) -> None:
        if label == stage and done:
            calls["n"] += 1
            if calls["n"] == call:
                raise RuntimeError(f"stopped during {stage}")
    return progress


def test_a_failure_while_loading_undoes_the_batch(engine, small_slices):
    before = fact_state(engine)
    with pytest.raises(RuntimeError, match="写入"):
        _import(engine, _market(), "market", chunked=True, progress=_failing_at("写入", 2))
    after = fact_state(engine)
    assert after[:4] == before[:4]  # facts and enterprises exactly as before
    with unit_of_work(engine) as s:
        batch = s.execute(text("SELECT id, status, loader FROM import_batch ORDER BY id DESC "
                               "LIMIT 1")).one()
        assert batch.status == "failed" and batch.loader is None
        assert s.scalar(text("SELECT count(*) FROM audit_event WHERE action = 'import.undone' "
                             "AND object_id = :b"), {"b": str(batch.id)}) == 1
    again = _import(engine, _market(), "market", chunked=True)  # the same file imports again
    assert again.ok and again.enterprises_created == N, again.message


def test_a_failure_while_publishing_finishes_the_batch(engine, small_slices):
    assert _import(engine, _market(), "market", chunked=False).ok
    with pytest.raises(RuntimeError, match="生效"):
        _import(engine, _tax(1), "tax", chunked=True, progress=_failing_at("生效", 1))
    with unit_of_work(engine) as s:
        status, new = s.execute(text("SELECT status, facts_new FROM import_batch "
                                     "ORDER BY id DESC LIMIT 1")).one()
        pending = s.scalar(text("SELECT count(*) FROM fact WHERE is_current = 0 AND "
                                "superseded_by IS NULL"))
    assert status == "committed" and pending == 0
    reference = _current(engine)
    assert len(reference) == N * 5 + new
    dup = _import(engine, _tax(1), "tax", chunked=True)
    assert dup.already_imported  # the finished batch counts as the file's import


def test_the_same_file_while_it_loads_is_not_imported_twice(engine, small_slices):
    assert _import(engine, _market(), "market", chunked=False).ok
    answers: list[Any] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "写入" and done and not answers:
            answers.append(_import(engine, _tax(1), "tax", chunked=True))

    first = _import(engine, _tax(1), "tax", chunked=True, progress=progress)
    assert first.ok and not first.already_imported
    second = answers[0]
    assert second.already_imported and second.batch_id == first.batch_id
    assert "正在以模板" in second.message
    with unit_of_work(engine) as s:
        assert s.scalar(text("SELECT count(*) FROM import_batch WHERE template = 'tax'")) == 1


def test_the_server_start_undoes_an_import_whose_process_died(engine, small_slices):
    assert _import(engine, _market(), "market", chunked=False).ok
    before = _current(engine)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with unit_of_work(engine) as s:
        batch = ImportBatch(template="tax", department_code="tax", filename="dead.csv",
                            content_hash="d" * 64, layout="wide", status="loading",
                            loader=f"{socket.gethostname()}:{dead.pid}", heartbeat_at=utcnow())
        s.add(batch)
        s.flush()
        s.execute(text("INSERT INTO fact (enterprise_id, metric_id, period, value_num, batch_id, "
                       "is_current) SELECT e.id, m.id, 2023, 1, :b, 0 FROM enterprise e, metric m "
                       "WHERE m.code = 'revenue' AND e.name LIKE '长导入%'"), {"b": batch.id})
        batch_id = batch.id
    with TestClient(create_app(engine)) as client:
        assert client.get("/healthz").status_code == 200
    with unit_of_work(engine) as s:
        assert s.get(ImportBatch, batch_id).status == "failed"
        assert s.scalar(text("SELECT count(*) FROM fact WHERE batch_id = :b"),
                        {"b": batch_id}) == 0
    assert _current(engine) == before
