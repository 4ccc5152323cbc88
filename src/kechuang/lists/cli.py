"""``kechuang lists publish | withdraw | show | dividends | stats``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.lists import repository as repo
from kechuang.lists.schemes import load_scheme_file, shipped_scheme
from kechuang.lists.service import (
    do_export_payments,
    do_publish_run,
    do_withdraw_run,
    list_view,
    list_xlsx,
    payment_list,
)
from kechuang.lists.stats import yearly_stats

lists_app = typer.Typer(help="积分榜、积分红利与年度统计 Lists, dividends and statistics.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")


def _fail(exc: KechuangError) -> typer.Exit:
    typer.secho(f"错误：{exc.message_zh}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _write_atomically(path: Path, body: bytes) -> None:
    """Nobody sees a half-written file: a temporary file in the same folder, renamed."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise InvalidInput(f"输出目录 {directory} 不存在", f"Output folder {directory} missing")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@lists_app.command("publish")
def publish_cmd(run: Annotated[int, typer.Option("--run", help="Scoring run id")]) -> None:
    """Publish a scoring run's lists (it becomes current for its system, year and scope)."""
    try:
        with unit_of_work() as session:
            r = do_publish_run(session, Actor.command_line(), run)
            typer.echo(f"已发布评分批次 {r.id}（{r.system_name} {r.system_version}，{r.year} 年）")
    except KechuangError as exc:
        raise _fail(exc) from exc


@lists_app.command("withdraw")
def withdraw_cmd(run: Annotated[int, typer.Option("--run", help="Scoring run id")]) -> None:
    """Take a published run's lists off the public page."""
    try:
        with unit_of_work() as session:
            r = do_withdraw_run(session, Actor.command_line(), run)
            typer.echo(f"已撤回评分批次 {r.id}")
    except KechuangError as exc:
        raise _fail(exc) from exc


@lists_app.command("export")
def export_cmd(
    run: Annotated[int, typer.Option("--run", help="Scoring run id")],
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write")],
    public: Annotated[bool, typer.Option("--public", help="Public layout (no credit codes)")
                      ] = False,
) -> None:
    """Write a run's lists (veto applied) to an XLSX file."""
    try:
        with unit_of_work() as session:
            actor = Actor.command_line()
            r = repo.get_run(session, run)
            view = list_view(session, actor, r, public=public)
            body = list_xlsx(view, include_uscc=not public)
        _write_atomically(out, body)
        typer.echo(f"已写入 {out}：{view.listed} 家上榜企业")
    except KechuangError as exc:
        raise _fail(exc) from exc


@lists_app.command("dividends")
def dividends_cmd(
    run: Annotated[int, typer.Option("--run", help="Scoring run id")],
    scheme: Annotated[str, typer.Option("--scheme",
                                        help="Scheme YAML file, or the id of a shipped scheme")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the payment list (.xlsx)")
                   ] = None,
) -> None:
    """Compute the payment list of a reward scheme over a run; print totals, write XLSX."""
    try:
        path = Path(scheme)
        loaded = load_scheme_file(path) if path.suffix in (".yaml", ".yml") or path.exists() \
            else shipped_scheme(scheme)
        with unit_of_work() as session:
            plist = payment_list(session, Actor.command_line(), run, loaded)
            body = do_export_payments(session, Actor.command_line(), plist) if out else None
            if out is not None and body is not None:
                _write_atomically(out, body)
        budget = f"{plist.budget} 元" if plist.budget is not None else "不设预算"
        typer.echo(f"方案 {loaded.id}（sha256 {loaded.sha256[:12]}…）· 批次 {run} · "
                   f"获奖 {len(plist.rows)} 家 / 符合条件 {plist.eligible} 家 · "
                   f"合计 {plist.total} 元 · 预算 {budget}"
                   + (f" · 未分配 {plist.unallocated} 元" if plist.unallocated is not None else ""))
        if out is not None:
            typer.echo(f"已写入 {out}")
    except KechuangError as exc:
        raise _fail(exc) from exc


@lists_app.command("stats")
def stats_cmd(
    system: Annotated[str, typer.Option("--system", help="Indicator system id")],
    year: Annotated[int | None, typer.Option("--year", help="Last year of the series")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region code of the run scope")
                      ] = None,
    unpublished: Annotated[bool, typer.Option("--unpublished",
                                              help="Use the latest run of each year, "
                                                   "published or not")] = False,
) -> None:
    """The yearly statistics (participants, growth of points, the "四个90%" shares) as JSON."""
    try:
        with unit_of_work() as session:
            report = yearly_stats(session, Actor.command_line(), system, year=year,
                                  region_code=region, published_only=not unpublished)
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    except KechuangError as exc:
        raise _fail(exc) from exc
