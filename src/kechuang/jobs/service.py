"""Jobs: long work runs outside the request, with progress, in its own unit of work
(spec/architecture.md, "Long work runs as jobs"; docs/jobs.md).

- A capability registers a *kind* once: ``register_kind("scoring.run", fn)`` where
  ``fn(session, actor, params, progress) -> dict``; ``progress(label, done, total)``.
- ``submit`` writes a ``queued`` job in the caller's transaction (with its audit row); when
  that transaction commits, the in-process worker of the same database is woken.
- The worker (one daemon thread per database engine) claims a queued job with an atomic
  ``UPDATE … WHERE status = 'queued'``, runs it in a fresh unit of work and records the
  result in a second short transaction. A job that raises ends ``failed`` with its message:
  the work's own transaction rolled back, so nothing of it is left.
- Progress is written in separate short transactions so pages can poll. SQLite has a single
  writer: while the work's own transaction holds the write lock the progress row cannot be
  written, so the progress write does not wait (busy timeout 0) and the latest progress is
  also kept in memory, which the pages of the same process read first.
- Where jobs run is the ``jobs_in_web`` setting, not a code change: true (the default, the
  demo), each web process runs them in its background thread; false, web processes only
  queue them and separate ``kechuang jobs work`` processes run them (docs/deployment.md).
  Claiming is one atomic ``UPDATE``, so several workers may share one PostgreSQL database.
- Start-up recovery: a job left ``running`` by a worker process on this host that no longer
  exists (killed, crashed) is marked ``failed`` ("进程中断") when a worker starts. Jobs
  claimed on another host are left to that host.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.db import unit_of_work
from kechuang.jobs import repository as repo
from kechuang.kit import audit
from kechuang.kit.errors import InvalidInput, KechuangError, NotFound
from kechuang.models.jobs import Job

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
JobFn = Callable[[Session, Actor, dict[str, Any], Progress], dict[str, Any]]

_KINDS: dict[str, JobFn] = {}
#: modules that register job kinds when imported (the worker may start before any page
#: imported them)
KIND_MODULES = ("kechuang.scoring.jobs", "kechuang.robustness.jobs", "kechuang.policy.jobs",
                "kechuang.dispatch.jobs", "kechuang.matching.jobs",
                "kechuang.finance.jobs", "kechuang.jobs.subscribers")
_kinds_loaded = False

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def register_kind(kind: str, fn: JobFn) -> None:
    """Declare what a job of ``kind`` does. Registering the same kind again replaces it."""
    _KINDS[kind] = fn


def kinds() -> list[str]:
    _load_kinds()
    return sorted(_KINDS)


def _load_kinds() -> None:
    global _kinds_loaded
    if _kinds_loaded:
        return
    for name in KIND_MODULES:
        importlib.import_module(name)
    _kinds_loaded = True


def _now() -> datetime:
    return datetime.now(UTC)


def _actor_info(actor: Actor) -> dict[str, Any]:
    info = asdict(actor)
    info.pop("csrf_token", None)
    return info


def _actor_of(job: Job) -> Actor:
    info = dict(job.actor_info or {})
    info.pop("csrf_token", None)
    if not info:
        return Actor(username=job.actor, role="bureau_admin", region_code=None, region_path="/")
    return Actor(**info)


def _json_safe(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(json.loads(json.dumps(params, ensure_ascii=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"任务参数无法保存为 JSON：{exc}",
                           f"job parameters are not JSON: {exc}") from exc


# --------------------------------------------------------------------------- submitting
def submit(session: Session, actor: Actor, kind: str, params: dict[str, Any]) -> Job:
    """Queue a job (in the caller's transaction, with its audit row). The in-process worker
    starts it once the caller commits."""
    _load_kinds()
    if kind not in _KINDS:
        raise InvalidInput(f"未知的任务类型 “{kind}”（可选：{'、'.join(sorted(_KINDS))}）",
                           f"unknown job kind {kind}")
    job = Job(kind=kind, params=_json_safe(params), status="queued", progress_done=0,
              progress_total=0, progress_label="", region_code=actor.region_code,
              created_by=actor.user_id, actor=actor.username, actor_info=_actor_info(actor))
    repo.add_job(session, job)
    audit.record(session, actor, "job.submit", "job", job.id,
                 after={"kind": kind, "params": job.params}, region_code=actor.region_code)
    engine = session.get_bind()
    if isinstance(engine, Engine) and runs_in_process(engine):
        event.listen(session, "after_commit", lambda _s: wake(engine), once=True)
    return job


#: engines whose jobs are not run by a background thread (``kechuang jobs work`` runs them)
_inline_only: dict[Engine, bool] = {}


def set_background(engine: Engine, enabled: bool) -> None:
    """Turn the in-process worker thread of ``engine`` on (default) or off."""
    _inline_only[engine] = not enabled


def runs_in_process(engine: Engine) -> bool:
    """Whether this process runs the queued jobs of ``engine`` in a background thread: the
    ``jobs_in_web`` setting, unless turned off for this engine with ``set_background``."""
    return get_settings().jobs_in_web and not _inline_only.get(engine, False)


# --------------------------------------------------------------------------- progress
_live: dict[tuple[int, int], tuple[str, int, int]] = {}
_live_lock = threading.Lock()


def _progress_writer(engine: Engine, job_id: int) -> Progress:
    def progress(label: str, done: int, total: int) -> None:
        label = str(label)[:200]
        with _live_lock:
            _live[(id(engine), job_id)] = (label, int(done), int(total))
        try:
            with engine.connect() as conn:
                repo.write_progress(conn, job_id, label, done, total)
        except Exception:  # a locked SQLite file: the in-memory value serves the pages
            log.debug("progress of job %s not written", job_id, exc_info=True)

    return progress


def live_progress(session: Session, job: Job) -> tuple[str, int, int]:
    """The job's latest progress: the worker's in-memory value in this process when it is
    newer than the row (SQLite could not write it), else the row."""
    engine = session.get_bind()
    with _live_lock:
        mem = _live.get((id(engine), job.id))
    if job.status == "running" and mem is not None and mem[1] >= job.progress_done:
        return mem
    return job.progress_label, job.progress_done, job.progress_total


# --------------------------------------------------------------------------- running
def _claim(engine: Engine, job_id: int | None = None) -> int | None:
    """Atomically take the oldest queued job (or ``job_id``); None when there is none."""
    with unit_of_work(engine) as session:
        for jid in repo.queued_ids(session, job_id):
            if repo.claim(session, jid, _now(), WORKER_ID):
                return int(jid)
    return None


def _finish(engine: Engine, job_id: int, *, result: dict[str, Any] | None = None,
            error: str | None = None) -> None:
    with unit_of_work(engine) as session:
        values: dict[str, Any] = {"finished_at": _now(),
                                  "status": "failed" if error is not None else "done"}
        if error is not None:
            values["error"] = error[:4000]
        else:
            values["result"] = result or {}
            job = repo.get(session, job_id)
            if job is not None and job.progress_total:
                values["progress_done"] = job.progress_total
        repo.set_values(session, job_id, values)
    with _live_lock:
        _live.pop((id(engine), job_id), None)


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, KechuangError):
        return exc.message_zh
    return f"内部错误 internal error: {type(exc).__name__}: {exc}"


def execute(engine: Engine, job_id: int) -> Job:
    """Run one claimed job: its work in its own unit of work, then the outcome."""
    _load_kinds()
    with unit_of_work(engine) as session:
        job = repo.get(session, job_id)
        if job is None:
            raise NotFound(f"任务 {job_id} 不存在", f"job {job_id} not found")
        kind, params, actor = job.kind, dict(job.params or {}), _actor_of(job)
    fn = _KINDS.get(kind)
    progress = _progress_writer(engine, job_id)
    try:
        if fn is None:
            raise InvalidInput(f"未知的任务类型 “{kind}”", f"unknown job kind {kind}")
        with unit_of_work(engine) as session:
            result = fn(session, actor, {**params, "_job_id": job_id}, progress)
    except Exception as exc:  # the work rolled back; record why
        if not isinstance(exc, KechuangError):
            log.error("job %s (%s) crashed\n%s", job_id, kind, traceback.format_exc())
        _finish(engine, job_id, error=_error_message(exc))
    else:
        _finish(engine, job_id, result=dict(result or {}))
    with unit_of_work(engine) as session:
        done = repo.get(session, job_id)
        assert done is not None
        session.expunge(done)
        return done


def run_pending(engine: Engine, limit: int | None = None) -> int:
    """Run queued jobs in the calling thread until none is left (or ``limit``)."""
    count = 0
    while limit is None or count < limit:
        jid = _claim(engine)
        if jid is None:
            break
        execute(engine, jid)
        count += 1
    return count


def run_inline(session: Session, actor: Actor, kind: str, params: dict[str, Any],
               progress: Progress | None = None) -> dict[str, Any]:
    """Run a job's work now, in the caller's unit of work (the CLI and tests): no job row,
    the caller commits. Errors propagate."""
    _load_kinds()
    fn = _KINDS.get(kind)
    if fn is None:
        raise InvalidInput(f"未知的任务类型 “{kind}”", f"unknown job kind {kind}")
    return dict(fn(session, actor, dict(params), progress or (lambda _l, _d, _t: None)))


# --------------------------------------------------------------------------- recovery
def _alive(worker: str | None) -> bool:
    """Whether the worker that claimed a job may still be running it."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's worker: not ours to judge
    try:
        pid_i = int(pid)
    except ValueError:
        return False
    if pid_i == os.getpid():
        return True
    try:
        os.kill(pid_i, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale(engine: Engine) -> int:
    """Mark ``failed`` the jobs left ``running`` by a dead worker process on this host."""
    with unit_of_work(engine) as session:
        dead = [jid for jid, worker in repo.running(session) if not _alive(worker)]
        if dead:
            repo.fail_running(session, dead, _now(),
                              "任务进程中断（服务重启或崩溃），未留下部分结果；请重新提交 "
                              "the worker process died; nothing was kept, submit again")
    return len(dead)


# --------------------------------------------------------------------------- the worker
@dataclass
class _Worker:
    engine: Engine
    wake: threading.Event
    stop: threading.Event
    thread: threading.Thread


_workers: dict[int, _Worker] = {}
_workers_lock = threading.Lock()


def _loop(engine: Engine, wake_event: threading.Event, stop_event: threading.Event) -> None:
    try:
        recover_stale(engine)
    except Exception:
        log.exception("job recovery failed")
    while not stop_event.is_set():
        try:
            run_pending(engine)
        except OperationalError as exc:  # the database is unreachable: try again later
            log.warning("job worker: database unavailable: %s", exc)
        except Exception:
            log.exception("job worker error")
        wake_event.wait(timeout=30)
        wake_event.clear()


def wake(engine: Engine) -> None:
    """Start (once) or wake the in-process worker of ``engine`` (not when jobs run in
    separate ``kechuang jobs work`` processes)."""
    if not runs_in_process(engine):
        return
    with _workers_lock:
        w = _workers.get(id(engine))
        if w is None or not w.thread.is_alive() or w.engine is not engine:
            ev, stop = threading.Event(), threading.Event()
            th = threading.Thread(target=_loop, args=(engine, ev, stop), daemon=True,
                                  name=f"kechuang-jobs-{id(engine)}")
            w = _Worker(engine, ev, stop, th)
            _workers[id(engine)] = w
            th.start()
    w.wake.set()


def stop_workers(engine: Engine | None = None, timeout: float = 10.0) -> None:
    """Stop the in-process worker of ``engine`` (every worker when None) after its current
    job, so that its database connections can be released (shutdown, tests)."""
    with _workers_lock:
        stopping = [w for w in _workers.values() if engine is None or w.engine is engine]
        for w in stopping:
            _workers.pop(id(w.engine), None)
    for w in stopping:
        w.stop.set()
        w.wake.set()
        w.thread.join(timeout)


# --------------------------------------------------------------------------- reading
def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = repo.visible_job(session, actor, job_id)
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在或不在您的管辖范围内", f"job {job_id} not found")
    return job


def list_jobs(session: Session, actor: Actor, limit: int = 50) -> list[Job]:
    return repo.visible_jobs(session, actor, limit)


def job_dict(session: Session, job: Job) -> dict[str, Any]:
    label, done, total = live_progress(session, job)
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "params": job.params,
        "progress": {"label": label, "done": done, "total": total,
                     "percent": round(100.0 * done / total, 1) if total else None},
        "result": job.result, "error": job.error, "actor": job.actor,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


__all__ = ["Progress", "execute", "get_job", "job_dict", "list_jobs", "live_progress",
           "recover_stale", "register_kind", "run_inline", "run_pending", "runs_in_process",
           "set_background", "submit", "wake"]
