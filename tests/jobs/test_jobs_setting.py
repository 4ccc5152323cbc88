"""Where jobs run is a setting (issue 11 item 9): with ``jobs_in_web`` on (the demo's
default) the web process runs a queued job in its background thread; with it off the job
waits in the queue — no thread starts — until ``kechuang jobs work`` runs it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kechuang.auth.actor import Actor
from kechuang.cli import app as cli_app
from kechuang.config import get_settings
from kechuang.db import dispose_engines, unit_of_work
from kechuang.jobs import service as jobs
from kechuang.models.jobs import Job
from tests.ingest.helpers import user_actor


def _add(session: Session, actor: Actor, params: dict[str, Any], progress: Any
         ) -> dict[str, Any]:
    progress("adding", 1, 1)
    return {"sum": params["a"] + params["b"], "pid_worker": jobs.WORKER_ID}


jobs.register_kind("test.setting_add", _add)


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def put(on: bool) -> None:
        monkeypatch.setenv("KECHUANG_JOBS_IN_WEB", "true" if on else "false")
        get_settings.cache_clear()

    yield put
    get_settings.cache_clear()


def _submit(engine: Engine, actor: Actor) -> int:
    with unit_of_work(engine) as s:
        return jobs.submit(s, actor, "test.setting_add", {"a": 40, "b": 2}).id


def _status(engine: Engine, job_id: int) -> tuple[str, Any]:
    with unit_of_work(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job.status, job.result


def _worker_threads(engine: Engine) -> list[Any]:
    return [w for w in jobs._workers.values() if w.engine is engine]


def test_the_default_runs_jobs_in_the_web_process(engine: Engine, setting: Any) -> None:
    setting(True)
    assert get_settings().jobs_in_web is True and jobs.runs_in_process(engine)
    jid = _submit(engine, user_actor(engine, "staff"))
    deadline = time.monotonic() + 120
    while _status(engine, jid)[0] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    status, result = _status(engine, jid)
    assert status == "done" and result["sum"] == 42
    assert _worker_threads(engine), "the web process's worker thread ran it"


def test_with_the_setting_off_jobs_wait_for_kechuang_jobs_work(
        engine: Engine, setting: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    setting(False)
    monkeypatch.setenv("KECHUANG_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    dispose_engines()
    assert not jobs.runs_in_process(engine)
    jid = _submit(engine, user_actor(engine, "staff"))
    jobs.wake(engine)  # even an explicit wake starts no thread in a web process
    assert _worker_threads(engine) == []
    assert _status(engine, jid) == ("queued", None)
    out = CliRunner().invoke(cli_app, ["jobs", "work", "--once"])
    assert out.exit_code == 0, out.output
    assert "ran 1 jobs" in out.output and "jobs_in_web is true" not in out.output
    status, result = _status(engine, jid)
    assert status == "done" and result["sum"] == 42
    dispose_engines()

