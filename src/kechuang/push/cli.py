"""``kechuang push export`` (pending messages for SMS/WeChat), ``kechuang push generate``
(messages for runs, e.g. runs made before push existed) and ``kechuang push program-open``
(a call for applications has opened)."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.policy.service import latest_run_ids
from kechuang.push.schemas import OpenProgram
from kechuang.push.service import do_export, do_push_after_runs, do_push_program_open

push_app = typer.Typer(help="精准推送 Precise push.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(push_app, name="push")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"错误：{message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _write_atomic(path: Path, data: bytes) -> None:
    directory = path.resolve().parent
    if not directory.is_dir():
        raise _fail(f"输出目录 {directory} 不存在")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@push_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file, .xlsx or .csv")],
    since: Annotated[str | None, typer.Option(
        "--since", help="Only messages created on or after this date (YYYY-MM-DD)")] = None,
) -> None:
    """Export the pending (never exported) messages and mark them exported."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        raise _fail(f"{out}：只支持 .xlsx 或 .csv")
    try:
        when = date.fromisoformat(since) if since else None
    except ValueError as exc:
        raise _fail(f"--since 应为 YYYY-MM-DD 格式的日期：{since}") from exc
    try:
        # the file is written before the unit of work commits: a failed write rolls back
        # the exported marks, so nothing is marked exported without a file
        with unit_of_work() as session:
            data, count = do_export(session, Actor.command_line(), fmt, when)
            _write_atomic(out, data)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    typer.echo(f"已导出 {count} 条待发送消息到 {out}")


@push_app.command("generate")
def generate_cmd(
    run: Annotated[list[int] | None, typer.Option("--run", help="A policy run id; repeat for "
                                                  "several (default: the latest run of "
                                                  "each policy)")] = None,
) -> None:
    """Write the inbox messages of policy runs (idempotent: existing messages stay)."""
    try:
        with unit_of_work() as session:
            ids = list(run or latest_run_ids(session).values())
            if not ids:
                raise _fail("尚无政策计算结果；请先运行 kechuang policy run")
            summaries = do_push_after_runs(session, Actor.command_line(), ids)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    for s in summaries:
        kinds = "，".join(f"{k} {v}" for k, v in sorted(s.counts.items())) or "无"
        typer.echo(f"运行 #{s.run_id} {s.policy_id}（{s.period} 年度）：新增 {s.inserted} 条"
                   f"（候选：{kinds}；屏蔽 {s.muted}）")


@push_app.command("program-open")
def program_open_cmd(
    program: Annotated[str, typer.Option("--program", help="The call's id")],
    title: Annotated[str, typer.Option("--title", help="The call's title")],
    policy: Annotated[str, typer.Option("--policy", help="The policy whose eligible "
                                        "enterprises the call fits")],
    period: Annotated[int, typer.Option("--period", help="The call's year")],
    link: Annotated[str, typer.Option("--link", help="The call's page, a path such as "
                                      "/programs/voucher-2025")],
    closes_on: Annotated[str | None, typer.Option(
        "--closes-on", help="Application deadline (YYYY-MM-DD)")] = None,
) -> None:
    """Announce a call for applications that has opened: program_open messages to every
    enterprise the call's policy finds eligible (idempotent)."""
    try:
        call = OpenProgram(program_id=program, title=title, policy_id=policy, period=period,
                           link=link, closes_on=closes_on or None)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise _fail(f"--{field.replace('_id', '').replace('_', '-')} 不合格：{first['msg']}"
                    f"（输入：{first.get('input')!r}）") from exc
    try:
        with unit_of_work() as session:
            s = do_push_program_open(session, Actor.command_line(), call)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    fit = s.counts["program_open"] + s.muted
    typer.echo(f"项目 {s.policy_id}（{s.period} 年）：按政策计算 #{s.run_id} 符合条件 {fit} 家，"
               f"新增消息 {s.inserted} 条，屏蔽 {s.muted} 家")
