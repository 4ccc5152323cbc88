"""``kechuang robustness run`` and ``kechuang robustness show`` (docs/cli/robustness.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit import rules
from kechuang.kit.cli_output import err_console, fail
from kechuang.kit.errors import KechuangError
from kechuang.robustness.cases import CASES_FILE, run_case_file
from kechuang.robustness.repository import results_page
from kechuang.robustness.schemas import load_config
from kechuang.robustness.service import analysis_dict, do_robustness, get_analysis

robustness_app = typer.Typer(help="名次稳健性分析 Monte Carlo robustness of scoring runs.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(robustness_app, name="robustness")


@robustness_app.command("run")
def run_cmd(
    run: Annotated[int, typer.Option("--run", help="Scoring run id to analyse")],
    replications: Annotated[
        int | None, typer.Option("--replications", help="Monte Carlo replications "
                                 "(default from the configuration: 1000)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (same seed, same results)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file of the uncertain choices "
                                  "(default: the shipped default.yaml)")
    ] = None,
) -> None:
    """Run the Monte Carlo uncertainty and sensitivity analysis of a scoring run and store it."""
    try:
        cfg = load_config(config)
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("稳健性分析 robustness", total=None)

            def progress(label: str, done: int, total: int) -> None:
                bar.update(task, description=f"稳健性分析 {label}", completed=done, total=total)

            with unit_of_work() as session:
                rr = do_robustness(session, Actor.command_line(), run,
                                   replications=replications, seed=seed, config=cfg,
                                   progress=progress)
                info = analysis_dict(session, rr)
    except KechuangError as exc:
        raise fail(exc) from exc
    _print(info)


@robustness_app.command("show")
def show_cmd(
    analysis: Annotated[int, typer.Option("--analysis", help="Analysis id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON")] = False,
) -> None:
    """Show a stored analysis: sensitivity indices and the least robust enterprises."""
    actor = Actor.command_line()
    try:
        with unit_of_work() as session:
            rr = get_analysis(session, actor, analysis)
            info = analysis_dict(session, rr)
            _, rows = results_page(session, actor, rr, only_unstable=True, limit=20)
    except KechuangError as exc:
        raise fail(exc) from exc
    if as_json:
        typer.echo(json.dumps({**info, "least_robust": rows}, ensure_ascii=False, indent=2,
                              default=str))
        return
    _print(info)
    if rows:
        typer.echo("最不稳健的企业 least robust (median rank [p05, p95]):")
        for r in rows:
            typer.echo(f"  {r['uscc']} {r['name']}  名次 {r['rank']}  中位 {r['median_rank']:g}"
                       f" [{r['rank_p05']:g}, {r['rank_p95']:g}]")


@robustness_app.command("test")
def test_cmd(
    path: Annotated[
        Path | None, typer.Argument(help="A cases file (default: default.cases.yaml, the "
                                    "cases of the shipped default.yaml)")
    ] = None,
) -> None:
    """Run the YAML cases of the robustness defaults; exit 1 when one fails."""
    try:
        results = run_case_file(path or CASES_FILE)
    except KechuangError as exc:
        raise fail(exc) from exc
    lines, failed = rules.case_report(results)
    for line in lines:
        typer.echo(line)
    if failed:
        raise typer.Exit(code=1)


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _print(info: dict[str, object]) -> None:
    params = info["parameters"] if isinstance(info["parameters"], dict) else {}
    console = Console()
    console.print(f"稳健性分析 #{info['id']}（评分运行 #{info['scoring_run_id']}）："
                  f"{info['replications']} 次重复，种子 {info['seed']}")
    console.print(f"参与排名 {info['ranked']} 家，名次不稳健 {info['unstable']} 家")
    table = Table("因素 factor", "水平 levels", "S1", "±", "ST", "±")
    sens = info["sensitivity"] if isinstance(info["sensitivity"], dict) else {}
    for key, s in sens.items():
        table.add_row(f"{s['label']} {key}", str(s["levels"] or "—"), _fmt(s["S1"]),
                      _fmt(s["S1_conf"]), _fmt(s["ST"]), _fmt(s["ST_conf"]))
    console.print(table)
    for note in params.get("notes") or []:
        console.print(f"[yellow]注意[/]：{note}")
