"""``kechuang finance``: run the rule cases, match open needs, open a collection month,
remind, export a quarter's consultation list and the annual assessment. Each command is
one unit of work (nothing written on error)."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.finance import service
from kechuang.finance.parameters import CASES_PATH
from kechuang.finance.schemas import MonthIn
from kechuang.kit.errors import KechuangError
from kechuang.kit.xlsx import write_xlsx

finance_app = typer.Typer(help="科技金融 Technology finance.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(finance_app, name="finance")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"错误：{message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _actor(session: object, region: str | None) -> Actor:
    cli = Actor.command_line()
    if region is None:
        return cli
    path = service.region_path(session, region)
    if path is None:
        raise _fail(f"地区代码不存在：{region}")
    return Actor(
        username=cli.username,
        role="bureau_admin",
        region_code=region,
        region_path=path,
        display_name=cli.display_name,
    )


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@finance_app.command("test")
def test_cases(
    cases: Annotated[
        Path | None,
        typer.Option("--cases", help="Cases file (default: the shipped finance.cases.yaml)"),
    ] = None,
) -> None:
    """Run the YAML cases of the finance rules; a failing case prints its name."""
    try:
        failures, total = service.run_cases(cases or CASES_PATH)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    for name in failures:
        typer.secho(f"不通过：{name}", err=True, fg=typer.colors.RED)
    typer.echo(f"{total - len(failures)}/{total} 个用例通过")
    if failures:
        raise typer.Exit(code=1)


@finance_app.command("match")
def match(
    region: Annotated[
        str | None,
        typer.Option("--region", help="Region code whose open needs are matched (default: all)"),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Match every open need against every published product in one pass."""
    try:
        with unit_of_work() as s:
            summary = service.do_match(
                s, _actor(s, region), as_of=date.fromisoformat(as_of) if as_of else None
            )
    except (KechuangError, ValueError) as exc:
        raise _fail(getattr(exc, "message_zh", str(exc))) from exc
    typer.echo(
        f"匹配运行 #{summary.run_id}：{summary.needs:,} 项需求 × {summary.products} 个产品，"
        f"{summary.pairs:,} 条推荐"
    )


@finance_app.command("open-month")
def open_month(
    region: Annotated[str, typer.Option("--region", help="County region code")],
    month: Annotated[int, typer.Option("--month", help="Month YYYYMM")],
    closes_on: Annotated[str, typer.Option("--closes-on", help="Last day to submit, YYYY-MM-DD")],
) -> None:
    """Open a monthly collection (月份征集) of financing needs."""
    try:
        with unit_of_work() as s:
            m = service.do_open_month(
                s, _actor(s, region), MonthIn(month=month, closes_on=date.fromisoformat(closes_on))
            )
            typer.echo(f"{m.month} 月征集已开启，截止 {m.closes_on}（#{m.id}）")
    except (KechuangError, ValueError) as exc:
        raise _fail(getattr(exc, "message_zh", str(exc))) from exc


@finance_app.command("remind")
def remind(
    month_id: Annotated[int, typer.Option("--month-id", help="Collection month id")],
) -> None:
    """Remind the technology enterprises that have not answered an open month."""
    try:
        with unit_of_work() as s:
            n = service.do_remind(s, Actor.command_line(), month_id)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    typer.echo(f"已提醒 {n} 家企业")


@finance_app.command("export-quarter")
def export_quarter(
    quarter: Annotated[int, typer.Option("--quarter", help="Quarter YYYYQ")],
    out: Annotated[Path, typer.Option("--out", help="Output .xlsx")],
    region: Annotated[
        str | None, typer.Option("--region", help="Region code (default: all)")
    ] = None,
) -> None:
    """The quarter's needs, matched products, outcomes and meeting records as XLSX."""
    try:
        with unit_of_work() as s:
            data = service.quarter_xlsx(s, _actor(s, region), quarter)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    _write_atomic(out, data)
    typer.echo(f"已写出 {out}")


@finance_app.command("assess")
def assess(
    year: Annotated[int, typer.Option("--year", help="Assessment year")],
    out: Annotated[Path | None, typer.Option("--out", help="Output .xlsx")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region code (default: all)")
    ] = None,
) -> None:
    """The annual assessment (年度评估) of banks and products, with the bureau's ranking."""
    try:
        with unit_of_work() as s:
            a = service.assessment(s, _actor(s, region), year)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    header = [
        "排名",
        "金融机构",
        "笔数",
        "金额（万元）",
        "同比增长",
        "信用贷款占比",
        "首贷占比",
        "加权平均利率（%）",
        "得分",
    ]
    rows = [
        (
            b.rank,
            b.key,
            b.loans,
            b.amount_wan,
            b.growth,
            b.credit_share,
            b.first_time_share,
            b.avg_rate_pct,
            b.score,
        )
        for b in a["banks"]
    ]
    for r in rows:
        typer.echo("  ".join("—" if v is None else str(v) for v in r))
    if out:
        _write_atomic(out, write_xlsx([("金融机构排名", header, rows)]))
        typer.echo(f"已写出 {out}")
