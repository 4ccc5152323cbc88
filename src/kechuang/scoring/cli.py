"""``kechuang index compute``: the file-in/file-out composite-index command (scoring.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.jobs.cli import run_as_job
from kechuang.kit import rules
from kechuang.kit.cli_output import err_console, fail
from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.scoring.batch import compute_files, data_columns
from kechuang.scoring.cases import case_files, run_case_file
from kechuang.scoring.catalogue import register_file
from kechuang.scoring.service import do_score_run, get_run
from kechuang.scoring.system import load
from kechuang.spark.cli import (
    LakeOption,
    SparkConfOption,
    SparkMasterOption,
    SparkRemoteOption,
    cluster_params,
)

index_app = typer.Typer(help="综合指数计算 Composite indices (file in, file out).",
                        no_args_is_help=True)


@index_app.command("compute")
def compute(
    system: Annotated[Path, typer.Option("--system", help="Indicator-system YAML file")],
    data: Annotated[Path, typer.Option("--data", help="Data file (.csv or .xlsx)")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV of scores and ranks")],
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Output CSV of per-stage values")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="Execution engine: duckdb (default) or spark")
    ] = "duckdb",
    year: Annotated[
        int | None, typer.Option("--year", help="Year to score (panel data; default latest)")
    ] = None,
) -> None:
    """Compute an index from a system file and a data file, without the database. A formula
    may name the data file's own columns without declaring them under ``columns``."""
    chosen: Literal["duckdb", "spark"] | None = (
        "duckdb" if engine == "duckdb" else "spark" if engine == "spark" else None
    )
    if chosen is None:
        err_console.print(f"[bold red]错误[/]：未知的引擎 “{engine}”（可选：duckdb、spark）")
        raise typer.Exit(code=2)
    try:
        sys_ = load(system, data_columns=data_columns(data))
        outcome = compute_files(sys_, data, out, trace, year, engine_name=chosen)
    except KechuangError as exc:
        raise fail(exc) from exc
    except ImportError as exc:  # the optional "spark" extra is not installed
        err_console.print(f"[bold red]错误[/]：Spark 引擎需要安装 pyspark（pip install "
                          f"'kechuang[spark]'）：{exc}")
        raise typer.Exit(code=1) from exc
    for note in outcome.notes:
        err_console.print(f"[yellow]注意[/]：{note}")
    period = f"，{outcome.year} 年" if outcome.year is not None else ""
    typer.echo(f"已计算 {outcome.units} 个单位{period}（{sys_.spec.name} {sys_.version}）→ {out}")


@index_app.command("test")
def test_cmd(
    path: Annotated[
        Path | None, typer.Argument(help="A <system>.cases.yaml file or a folder "
                                    "(default: the shipped systems' cases)")
    ] = None,
) -> None:
    """Run the YAML cases of indicator systems through the engine; exit 1 when one fails."""
    if path is not None and not path.exists():
        err_console.print(f"[bold red]错误[/]：找不到 {path}")
        raise typer.Exit(code=1)
    files = case_files(path)
    if not files:
        err_console.print(f"[bold red]错误[/]：{path} 下没有 *.cases.yaml 用例文件")
        raise typer.Exit(code=1)
    try:
        results = [r for f in files for r in run_case_file(f)]
    except KechuangError as exc:
        raise fail(exc) from exc
    lines, failed = rules.case_report(results)
    for line in lines:
        typer.echo(line)
    if failed:
        raise typer.Exit(code=1)


def _system_file(path: Path | None) -> None:
    if path is not None:
        register_file(path)


def score(
    system: Annotated[str, typer.Option("--system", help="System id or file stem, e.g. "
                                        "torch-points, zjg-points, zjg-2.0")],
    year: Annotated[
        int | None, typer.Option("--year", help="Year to score (default: latest with data)")
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="System version (default: latest in force)")
    ] = None,
    system_file: Annotated[
        Path | None, typer.Option("--system-file",
                                  help="Also make this system YAML file available by its id")
    ] = None,
    lists: Annotated[
        str | None, typer.Option("--lists", help="List cut-offs as JSON, e.g. "
                                 '\'{"by": "count", "tiers": [{"code": "lead", "upto": 10}]}\'')
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (in process, default) or spark (a cluster: "
                          "--spark-master or --spark-remote)")
    ] = "duckdb",
    spark_master: SparkMasterOption = None,
    spark_remote: SparkRemoteOption = None,
    spark_conf: SparkConfOption = None,
    lake: LakeOption = None,
) -> None:
    """Score every enterprise in the database with a system version and store the run."""
    try:
        _system_file(system_file)
        params = None
        if lists:
            try:
                params = {"lists": json.loads(lists)}
            except ValueError as exc:
                raise InvalidInput(f"--lists 不是有效的 JSON：{exc}") from exc
        if engine not in ("duckdb", "spark"):
            raise InvalidInput(f"未知的引擎 “{engine}”（可选：duckdb、spark）",
                               f"unknown engine {engine}")
        if engine == "spark":
            out = _score_on_cluster(system, year, version, params, spark_master, spark_remote,
                                    spark_conf, lake)
            _report(out)
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("评分 scoring", total=None)

            def progress(label: str, done: int, total: int) -> None:
                bar.update(task, description=f"评分 {label}", completed=done, total=total)

            with unit_of_work() as session:
                run = do_score_run(session, Actor.command_line(), system, year,
                                   version=version, progress=progress, parameters=params)
                out = (run.id, run.system_id, run.system_version, run.system_name, run.year,
                       run.enterprises, run.vetoed, run.input_hash, list(run.notes))
    except KechuangError as exc:
        raise fail(exc) from exc
    _report(out)


def _score_on_cluster(system: str, year: int | None, version: str | None,
                      params: dict[str, object] | None, spark_master: str | None,
                      spark_remote: str | None, spark_conf: list[str] | None,
                      lake: Path | None) -> tuple[object, ...]:
    job = {"system_id": system, "year": year, "version": version, "parameters": params,
           **cluster_params(spark_master, spark_remote, spark_conf, lake)}
    result = run_as_job("scoring.run", job)
    with unit_of_work() as session:
        run = get_run(session, Actor.command_line(), int(str(result["run_id"])))
        return (run.id, run.system_id, run.system_version, run.system_name, run.year,
                run.enterprises, run.vetoed, run.input_hash, list(run.notes))


def _report(out: tuple[object, ...]) -> None:
    run_id, sid, ver, name, yr, n, vetoed, digest, notes = out
    for note in notes:  # type: ignore[attr-defined]
        err_console.print(f"[yellow]注意[/]：{note}")
    typer.echo(f"评分运行 #{run_id}：{name}（{sid} {ver}），{yr} 年")
    typer.echo(f"企业 {n:,} 家，一票否决 {vetoed:,} 家")
    typer.echo(f"输入哈希 input hash {digest}")


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
    app.command("score")(score)
