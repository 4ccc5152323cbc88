"""``kechuang policy test [PATH]`` and ``kechuang policy eval`` (batch eligibility)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.jobs.cli import run_as_job
from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.kit.safe_export import write_csv
from kechuang.policy.cases import case_files, run_case_file
from kechuang.policy.engine import evaluate
from kechuang.policy.loader import get_policy
from kechuang.policy.service import VERDICT_LABELS, do_run_policies, run_summaries
from kechuang.spark.cli import (
    LakeOption,
    SparkConfOption,
    SparkMasterOption,
    SparkRemoteOption,
    cluster_params,
)

policy_app = typer.Typer(help="政策计算 Policies as code.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"错误：{message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@policy_app.command("test")
def test_cmd(
    path: Annotated[
        Path | None, typer.Argument(help="A cases file or a folder (default: built-in policies)")
    ] = None,
) -> None:
    """Run the YAML test cases of policies; exit 1 when any case fails."""
    if path is not None and not path.exists():
        raise _fail(f"找不到 {path}")
    files = case_files(path)
    if not files:
        raise _fail(f"{path} 下没有 *.cases.yaml 测试用例文件")
    total = failed = 0
    for file in files:
        for res in run_case_file(file):
            total += 1
            if res.ok:
                continue
            failed += 1
            typer.secho(f"失败 FAIL  {res.file} · {res.name}", fg=typer.colors.RED)
            for problem in res.problems:
                typer.echo(f"    {problem}")
    typer.echo(f"{len(files)} 个文件，{total} 个用例，{total - failed} 个通过，{failed} 个失败")
    if failed:
        raise typer.Exit(code=1)


def read_table(path: Path) -> pd.DataFrame:
    """Read the enterprise × year input (CSV in UTF-8/GB18030, or XLSX) as text columns."""
    if not path.exists():
        raise InvalidInput(f"找不到数据文件 {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InvalidInput(f"{path}：无法识别文件编码（应为 UTF-8 或 GB18030）")
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                           na_values=[""])
    if suffix == ".xlsx":
        return pd.read_excel(path, dtype=str, engine="openpyxl")
    raise InvalidInput(f"{path}：只支持 .csv 或 .xlsx 文件")


def _as_of_date(as_of: str | None) -> date:
    try:
        return date.fromisoformat(as_of) if as_of else date.today()
    except ValueError as exc:
        raise _fail(f"--as-of 应为 YYYY-MM-DD 格式的日期：{as_of}") from exc


@policy_app.command("eval")
def eval_cmd(
    policy: Annotated[str, typer.Option("--policy", help="Policy id or policy YAML file")],
    data: Annotated[Path, typer.Option("--data", help="Input CSV/XLSX: uscc, year, metrics")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV, one row per enterprise")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default today)")
    ] = None,
) -> None:
    """Evaluate one policy for every enterprise of a file and write the verdicts."""
    when = _as_of_date(as_of)
    try:
        lp = get_policy(policy)
        table = evaluate(lp, read_table(data), when).table()
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    try:
        write_csv(out, list(table.columns), table.itertuples(index=False), encoding="utf-8-sig")
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    counts = table["verdict"].value_counts().to_dict()
    summary = "，".join(f"{k} {v}" for k, v in sorted(counts.items()))
    typer.echo(f"{lp.id}：{len(table)} 家企业（评价年度 {when.year - 1}）— {summary} → {out}")


@policy_app.command("run")
def run_cmd(
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", help="Built-in policy id (repeat; default: all built-ins)"),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default today)")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="in-process (default) or spark (a cluster: "
                          "--spark-master or --spark-remote)")
    ] = "in-process",
    spark_master: SparkMasterOption = None,
    spark_remote: SparkRemoteOption = None,
    spark_conf: SparkConfOption = None,
    lake: LakeOption = None,
) -> None:
    """Evaluate policies over every enterprise in the database and store immutable runs."""
    when = _as_of_date(as_of)
    try:
        if engine not in ("in-process", "duckdb", "spark"):
            raise InvalidInput(f"未知的引擎 “{engine}”（可选：in-process、spark）",
                               f"unknown engine {engine}")
        if engine == "spark":
            result = run_as_job("policy.run", {
                "as_of": when.isoformat(), "policy_ids": policy or None,
                **cluster_params(spark_master, spark_remote, spark_conf, lake)})
            runs = result.get("runs")
            ids = [int(r["run_id"]) for r in runs] if isinstance(runs, list) else []
            with unit_of_work() as session:
                summaries = run_summaries(session, ids)
        else:
            with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                          transient=True) as bar:
                task = bar.add_task("政策计算 policy run", total=None)

                def progress(label: str, done: int, total: int) -> None:
                    bar.update(task, description=f"政策计算 {label}", completed=done,
                               total=total)

                with unit_of_work() as session:
                    summaries = do_run_policies(session, Actor.command_line(),
                                                policy or None, when, progress=progress)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    for s in summaries:
        counts = "，".join(f"{VERDICT_LABELS.get(k, k)} {v:,}"
                          for k, v in sorted(s.counts.items())) or "没有可评价的企业"
        typer.echo(f"{s.policy_id}（{s.policy_name}）运行 #{s.run_id}：{s.enterprises:,} 家企业，"
                   f"评价年度 {s.eval_year} — {counts}")
