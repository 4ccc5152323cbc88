"""``kechuang jobs …``: list jobs, run the queue in the foreground (a separate worker
process in production), and recover jobs left running by a dead worker."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.db import get_engine, unit_of_work
from kechuang.jobs import service as jobs
from kechuang.jobs.service import job_dict, list_jobs, recover_stale, run_pending
from kechuang.kit.errors import KechuangError

jobs_app = typer.Typer(help="后台任务 Jobs (long work with progress).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit", help="How many of the newest jobs")] = 20,
) -> None:
    """Show the newest jobs with their status and progress."""
    with unit_of_work() as session:
        rows = [job_dict(session, j) for j in list_jobs(session, Actor.command_line(), limit)]
    if not rows:
        typer.echo("暂无任务 no jobs")
    for r in rows:
        p = r["progress"]
        prog = f"{p['done']}/{p['total']}" if p["total"] else ""
        extra = r["error"] or (r["result"] if r["status"] == "done" else p["label"])
        typer.echo(f"#{r['id']:<6} {r['kind']:<20} {r['status']:<8} {prog:<8} {extra or ''}")


@jobs_app.command("work")
def work_cmd(
    once: Annotated[bool, typer.Option("--once", help="Run the queued jobs, then exit")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between queue checks")] = 2.0,
) -> None:
    """Run queued jobs in this process (first marking failed the jobs a dead worker left
    running); with ``--once`` exit when the queue is empty. In production the web processes
    run with ``jobs_in_web = false`` and one or more of these run the jobs
    (docs/deployment.md); claiming is atomic, so several may share one database."""
    engine = get_engine()
    if get_settings().jobs_in_web:
        typer.echo("注意：jobs_in_web 为 true，Web 进程也会运行任务 "
                   "note: jobs_in_web is true, web processes run jobs too")
    stale = recover_stale(engine)
    if stale:
        typer.echo(f"已将 {stale} 个中断的任务标记为失败 marked {stale} stale jobs failed")
    while True:
        n = run_pending(engine)
        if n:
            typer.echo(f"已运行 {n} 个任务 ran {n} jobs")
        if once:
            return
        time.sleep(max(poll, 0.1))


@jobs_app.command("recover")
def recover_cmd() -> None:
    """Mark failed the jobs left running by a worker process that no longer exists."""
    n = recover_stale(get_engine())
    typer.echo(f"已将 {n} 个中断的任务标记为失败 marked {n} stale jobs failed")


def run_as_job(kind: str, params: dict[str, object]) -> dict[str, object]:
    """Run a job now in this process and wait for it (a failure leaves a failed job with
    its reason, and nothing of the work); the job's result, or the error raised."""
    db = get_engine()
    jobs.set_background(db, False)
    with unit_of_work() as session:
        job_id = jobs.submit(session, Actor.command_line(), kind, params).id
    job = jobs.execute(db, job_id)
    if job.status != "done":
        raise KechuangError(f"任务 #{job_id} 失败：{job.error}",
                            f"job #{job_id} failed: {job.error}")
    return dict(job.result or {})
