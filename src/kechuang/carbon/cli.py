"""``kechuang carbon``: carbon-efficiency grading (碳效码).

``grade --data MONTHLY.csv … --out GRADES.csv`` is the file contract (every file read and
checked before any work; GRADES.csv written atomically, nothing on error). ``evaluate``
grades the database's monthly facts and stores the evaluation; ``notify`` sends a month's
alerts to the enterprises' inboxes; ``test`` runs the parameter file's YAML cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kechuang.auth.actor import Actor
from kechuang.carbon import service
from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError

err_console = Console(stderr=True, soft_wrap=True)
carbon_app = typer.Typer(help="碳效码：月度碳效评价 Carbon-efficiency grading (碳效码).",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(carbon_app, name="carbon")


def _fail(exc: KechuangError) -> typer.Exit:
    err_console.print(f"[bold red]错误[/]：{exc.message_zh}")
    if exc.message_en != exc.message_zh:
        err_console.print(f"Error: {exc.message_en}")
    return typer.Exit(code=1)


@carbon_app.command("grade")
def grade(
    data: Annotated[Path, typer.Option(
        "--data", help="MONTHLY.csv uscc,name,industry_code,region_code,period,energy_tce,"
                       "co2_t,value_added_wan")],
    out: Annotated[Path, typer.Option("--out", help="Output GRADES.csv")],
    bands: Annotated[Path | None, typer.Option(
        "--bands", help="BANDS.yaml (bands: [{grade: 1, max: 0.6}, …]); default: the "
                        "built-in parameters (DB33/T 1347-2023)")] = None,
    benchmarks: Annotated[Path | None, typer.Option(
        "--benchmarks", help="BENCHMARKS.csv industry_code,benchmark (published averages; "
                             "class, group, division or section codes)")] = None,
    min_cohort: Annotated[int | None, typer.Option(
        "--min-cohort", min=1, help="Graded enterprises a class needs for its own computed "
                                    "benchmark (default 5)")] = None,
) -> None:
    """Grade a file of monthly enterprise data (碳效码)."""
    try:
        s = service.grade_file(data, out, bands=bands, benchmarks=benchmarks,
                               min_cohort=min_cohort)
    except KechuangError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{s.rows} 行（{s.enterprises} 家企业、{s.periods} 个月）：评级 {s.graded} 行，"
               f"预警 {s.alerts} 条 → {out}")
    typer.echo(f"{s.rows} rows ({s.enterprises} enterprises, {s.periods} months): "
               f"{s.graded} graded, {s.alerts} alerts → {out}")


@carbon_app.command("evaluate")
def evaluate(
    region: Annotated[str | None, typer.Option(
        "--region", help="Region code whose enterprises are graded (default: every region)")
    ] = None,
) -> None:
    """Grade the database's monthly facts (co2_t, value_added_month) and store
    the evaluation for the pages."""
    try:
        with unit_of_work() as session:
            ev = service.do_evaluate(session, Actor.command_line(), region_code=region)
    except KechuangError as exc:
        raise _fail(exc) from exc
    typer.echo(f"评价 #{ev.id}：{ev.enterprises} 家企业、{len(ev.periods)} 个月，"
               f"评级 {ev.graded} 行，预警 {ev.alerts} 条")


@carbon_app.command("notify")
def notify(
    period: Annotated[str, typer.Option("--period", help="Month YYYY-MM whose alerts are sent")],
    region: Annotated[str | None, typer.Option(
        "--region", help="Region code (default: every region)")] = None,
) -> None:
    """Send a month's carbon alerts to the enterprises' inboxes (through kechuang.push)."""
    try:
        with unit_of_work() as session:
            r = service.do_notify_alerts(session, Actor.command_line(), period=period,
                                         region_code=region)
    except KechuangError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{r.period}：新发送 {r.notified} 条，已发送过 {r.already} 条")


@carbon_app.command("test")
def test_cases() -> None:
    """Run the YAML cases of the carbon parameter file (rules/efficiency.cases.yaml)."""
    try:
        results = service.run_cases()
    except KechuangError as exc:
        raise _fail(exc) from exc
    failed = [r for r in results if not r.passed]
    for r in results:
        typer.echo(f"{'通过 ok  ' if r.passed else '失败 FAIL'} {r.name}")
        for line in r.problems:
            typer.echo(f"    {line}")
    typer.echo(f"{len(results) - len(failed)}/{len(results)} 通过 passed")
    if failed:
        raise typer.Exit(code=1)
