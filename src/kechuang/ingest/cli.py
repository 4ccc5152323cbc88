"""CLI of the intake: ``kechuang import``, ``kechuang batches …``, ``kechuang templates …``.

Every command runs as the operator at the shell (``Actor.command_line()``) in one unit of
work: an import that fails or is killed leaves the database as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table

from kechuang.auth.actor import Actor
from kechuang.config import get_settings
from kechuang.db import unit_of_work
from kechuang.ingest.readers import FileRefused
from kechuang.ingest.schemas import BatchOut
from kechuang.ingest.service import (
    do_import,
    do_recover_imports,
    do_rollback_batch,
    list_batches,
    problems_xlsx,
    visible_batch,
)
from kechuang.ingest.template_store import all_templates, get_template
from kechuang.kit.errors import KechuangError
from kechuang.kit.timefmt import local

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
SHOWN_PROBLEMS = 50
STATUS_ZH = {"committed": "已导入", "rolled_back": "已回滚", "loading": "导入中",
             "publishing": "生效中", "failed": "导入中断，已撤销"}
SOURCE_LABELS = {"builtin": "内置", "folder": "设置目录", "database": "已编辑（第{version}版）"}

batches_app = typer.Typer(help="导入批次 Import batches.", no_args_is_help=True)
templates_app = typer.Typer(help="导入模板 Import templates.", no_args_is_help=True)


def _fail(exc: KechuangError) -> typer.Exit:
    err_console.print(f"[bold red]错误[/]：{exc.message_zh}")
    return typer.Exit(code=1)


def import_file(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file to import", exists=True,
                                         dir_okay=False, readable=True)],
    template: Annotated[str, typer.Option("--template", "-t",
                                          help="Template name, or path to a YAML template")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would change; write nothing")] = False,
    valid_rows_only: Annotated[bool, typer.Option(
        "--valid-rows-only", help="Import the valid rows, skip rows with problems")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the full problem report to this XLSX file")] = None,
) -> None:
    """Import a departmental file (数据归集). Exit 0 on success, 1 with the problem report."""
    size, limit = file.stat().st_size, get_settings().import_max_bytes
    if size > limit:  # refused before a byte is read (issue 17)
        raise _fail(FileRefused(f"文件“{file.name}”过大：{size:,} 字节，上限 {limit:,} 字节",
                                f"File {file.name} is too large: {size:,} bytes, limit {limit:,}"))
    data = file.read_bytes()
    interactive = console.is_terminal

    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, disable=not interactive) as bar:
        task = bar.add_task("准备", total=1)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=max(total, 1))
            if not interactive:
                err_console.print(f"阶段：{stage}", highlight=False, markup=False)

        try:
            with unit_of_work() as session:
                result = do_import(session, Actor.command_line(), data, file.name, template,
                                   dry_run=dry_run, valid_rows_only=valid_rows_only,
                                   progress=progress, checkpoint=session.commit)
        except KechuangError as exc:
            raise _fail(exc) from exc

    for note in result.notes:
        console.print(f"[yellow]提示[/]：{note}")
    if result.problems:
        table = Table(title=f"问题清单（共 {len(result.problems):,} 个）", show_lines=False)
        for head in ("工作表", "行", "列", "值", "原因"):
            table.add_column(head, overflow="fold")
        for p in result.problems[:SHOWN_PROBLEMS]:
            table.add_row(p.sheet, "" if p.row is None else str(p.row), p.column_label,
                          p.value, p.reason)
        console.print(table)
        target = report
        if target is None and len(result.problems) > SHOWN_PROBLEMS:
            target = Path.cwd() / f"{file.stem}.problems.xlsx"
        if target is not None:
            target.write_bytes(problems_xlsx(result.problems))
            extra = (f"此处仅列出前 {SHOWN_PROBLEMS} 个；" if len(result.problems) > SHOWN_PROBLEMS
                     else "")
            console.print(f"{extra}完整问题清单已写入 {target}")
    if not result.ok:
        err_console.print(f"[bold red]导入失败[/]：{result.message}")
        raise typer.Exit(code=1)
    colour = "yellow" if result.already_imported or result.problems else "green"
    console.print(f"[bold {colour}]{result.message}[/]")
    if dry_run and result.changes:
        table = Table(title="将修改的数据（旧值 → 新值）")
        for head in ("统一社会信用代码", "企业", "指标", "期间", "旧值", "新值"):
            table.add_column(head)
        for c in result.changes[:SHOWN_PROBLEMS]:
            table.add_row(c.uscc, c.name, c.metric_name, str(c.period), c.old, c.new)
        console.print(table)


@batches_app.command("list")
def batches_list(
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """List import batches, newest first."""
    with unit_of_work() as session:
        rows = list_batches(session, Actor.command_line(), limit=limit)
        if as_json:
            console.print_json(json.dumps(
                [BatchOut.model_validate(b).model_dump(mode="json") for b in rows],
                ensure_ascii=False))
            return
        table = Table(title="导入批次")
        for head in ("批次", "时间", "模板", "文件", "状态", "行", "新增", "修改", "不变",
                     "新建企业"):
            table.add_column(head)
        for b in rows:
            table.add_row(str(b.id), local(b.created_at), b.template, b.filename,
                          STATUS_ZH.get(b.status, b.status),
                          f"{b.rows_imported:,}/{b.rows_total:,}", f"{b.facts_new:,}",
                          f"{b.facts_changed:,}", f"{b.facts_unchanged:,}",
                          f"{b.enterprises_created:,}")
        console.print(table)


@batches_app.command("rollback")
def batches_rollback(batch_id: Annotated[int, typer.Argument(help="Batch number")]) -> None:
    """Roll back a batch: delete its values and restore those it superseded."""
    try:
        with unit_of_work() as session:
            summary = do_rollback_batch(session, Actor.command_line(), batch_id)
    except KechuangError as exc:
        raise _fail(exc) from exc
    console.print(f"[green]已回滚批次 {batch_id}[/]：删除数据 {summary['facts_deleted']:,} 项，"
                  f"恢复 {summary['facts_restored']:,} 项，"
                  f"删除企业 {summary['enterprises_removed']:,} 家")


@batches_app.command("recover")
def batches_recover() -> None:
    """Undo (loading) or finish (publishing) the long imports whose process died."""
    try:
        with unit_of_work() as session:
            done = do_recover_imports(session, Actor.command_line(), session.commit)
            actor = Actor.command_line()
            lines = [f"批次 {b}：{STATUS_ZH.get(s, s)}"
                     for b in done for s in [visible_batch(session, actor, b).status]]
    except KechuangError as exc:
        raise _fail(exc) from exc
    if not lines:
        console.print("没有中断的导入 no interrupted import")
    for line in lines:
        console.print(line, highlight=False)


@templates_app.command("list")
def templates_list() -> None:
    """List the import templates (built-in, settings folder, bureau-edited)."""
    try:
        with unit_of_work() as session:
            entries = all_templates(session)
    except KechuangError as exc:
        raise _fail(exc) from exc
    table = Table(title="导入模板")
    for head in ("名称", "标题", "部门", "格式", "可新建企业", "来源"):
        table.add_column(head)
    for e in entries.values():
        t = e.template
        table.add_row(t.name, t.title, t.department_name, "宽表" if t.layout == "wide" else "长表",
                      "是" if t.create_enterprises else "否",
                      SOURCE_LABELS.get(e.source, e.source).format(version=e.version))
    console.print(table)


@templates_app.command("show")
def templates_show(name: Annotated[str, typer.Argument(help="Template name")]) -> None:
    """Print a template's YAML."""
    try:
        with unit_of_work() as session:
            entry = get_template(session, name)
    except KechuangError as exc:
        raise _fail(exc) from exc
    console.print(Syntax(entry.yaml_text, "yaml", word_wrap=True))


def register(app: typer.Typer) -> None:
    app.command("import")(import_file)
    app.add_typer(batches_app, name="batches")
    app.add_typer(templates_app, name="templates")
