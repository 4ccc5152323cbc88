"""``kechuang monitoring``: regional indicators (table, uploads of values and targets), key
tasks (import, dispatch report as XLSX or PDF) and the rule cases."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.kit.safe_export import write_csv
from kechuang.monitoring import reports, service

err_console = Console(stderr=True, soft_wrap=True)
monitoring_app = typer.Typer(help="指标监测与重点任务调度 Regional indicators and key tasks.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(monitoring_app, name="monitoring")


def _fail(exc: KechuangError) -> typer.Exit:
    err_console.print(f"[bold red]错误[/]：{exc.message_zh}")
    if exc.message_en != exc.message_zh:
        err_console.print(f"Error: {exc.message_en}")
    return typer.Exit(code=1)


@monitoring_app.command("indicators")
def indicators(
    region: Annotated[str, typer.Option("--region", help="Region code (county, town or park)")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV region_code,region_name,"
                                                    "indicator_id,year,value,source")],
    year_from: Annotated[int | None, typer.Option("--from", help="First year")] = None,
    year_to: Annotated[int | None, typer.Option("--to", help="Last year")] = None,
) -> None:
    """Every indicator of a region and its towns and parks, per year (default: the last five
    years), computed from the enterprise facts or uploaded."""
    years = service.default_years()
    lo, hi = year_from or years[0], year_to or years[-1]
    try:
        with unit_of_work() as session:
            table = service.indicator_table(session, Actor.command_line(), region,
                                            list(range(min(lo, hi), max(lo, hi) + 1)))
            names = service.region_names(session, sorted(set(table["region_code"])))
    except KechuangError as exc:
        raise _fail(exc) from exc
    rows = [(r.region_code, names.get(r.region_code, ""), r.indicator_id, int(r.year),
             "" if r.value != r.value else repr(float(r.value)), r.source)
            for r in table.sort_values(["region_code", "indicator_id", "year"]).itertuples()]
    n = write_csv(out, ("region_code", "region_name", "indicator_id", "year", "value", "source"),
                  rows)
    typer.echo(f"{n} 行 rows → {out}")


@monitoring_app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="CSV region_code,indicator_id,year,value "
                                              "(or …,target with --targets)")],
    targets: Annotated[bool, typer.Option("--targets", help="The file holds targets")] = False,
) -> None:
    """Upload indicator values (GDP, R&D intensity…) or yearly targets; all or nothing."""
    try:
        with unit_of_work() as session:
            s = service.do_upload(session, Actor.command_line(), file,
                                  kind="targets" if targets else "values")
    except KechuangError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{s.rows} 行：新增 {s.inserted}，更新 {s.updated}")


@monitoring_app.command("tasks-import")
def tasks_import(
    file: Annotated[Path, typer.Argument(help="CSV code,title,department,deadline"
                                              "[,description,milestones]")],
    region: Annotated[str, typer.Option("--region", help="Region code the tasks belong to")],
) -> None:
    """Import key tasks; milestones as 'title@YYYY-MM-DD;title@YYYY-MM-DD'. All or nothing."""
    try:
        with unit_of_work() as session:
            items = service.read_task_file(file)
            for item in items:
                service.do_create_task(session, Actor.command_line(), item, region_code=region)
    except KechuangError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{len(items)} 项任务已导入 tasks imported")


@monitoring_app.command("dispatch-report")
def dispatch_report(
    region: Annotated[str, typer.Option("--region", help="Region code whose tasks are listed")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .xlsx or .pdf")],
    department: Annotated[str | None, typer.Option("--department",
                                                   help="Only this department")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Report date YYYY-MM-DD "
                                                          "(default: today)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
) -> None:
    """The dispatch report (调度报告): per-department summary and every task with flags."""
    if out.suffix.lower() not in (".xlsx", ".pdf") or lang not in ("zh", "en"):
        err_console.print("错误：--out 须为 .xlsx 或 .pdf，--lang 为 zh 或 en")
        raise typer.Exit(code=1)
    try:
        day = date.fromisoformat(on) if on else service.today()
    except ValueError:
        err_console.print(f"错误：--date “{on}”不是日期 YYYY-MM-DD")
        raise typer.Exit(code=1) from None
    try:
        with unit_of_work() as session:
            actor = service.region_actor(session, region)
            items = service.tasks(session, actor, department=department, on=day, locale=lang)
            service.do_record_export(session, actor, fmt=out.suffix[1:], department=department,
                                     tasks=len(items))
    except KechuangError as exc:
        raise _fail(exc) from exc
    summary = service.dispatch_summary(items)
    title = (f"重点任务调度报告（{day.isoformat()}）" if lang == "zh"
             else f"Key-task dispatch report ({day.isoformat()})")
    maker = reports.dispatch_pdf if out.suffix.lower() == ".pdf" else reports.dispatch_xlsx
    out.write_bytes(maker(title, day, summary, items, lang))
    typer.echo(f"{len(items)} 项任务 tasks → {out}")


@monitoring_app.command("test")
def test_cases() -> None:
    """Run the YAML cases of the indicator system and the task rules."""
    try:
        results = service.run_cases()
    except KechuangError as exc:
        raise _fail(exc) from exc
    for name, problems in results:
        typer.echo(f"{'通过 ok  ' if not problems else '失败 FAIL'} {name}")
        for p in problems:
            typer.echo(f"    {p}")
    failed = sum(1 for _, p in results if p)
    typer.echo(f"{len(results) - failed}/{len(results)} 通过 passed")
    if failed:
        raise typer.Exit(code=1)


