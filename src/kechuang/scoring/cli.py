"""``kechuang index compute``: the file-in/file-out composite-index command (scoring.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

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
    """Compute an index from a system file and a data file, without the database."""
    from kechuang.cli import err_console, fail
    from kechuang.kit.errors import KechuangError
    from kechuang.scoring.batch import compute_files
    from kechuang.scoring.system import load

    chosen: Literal["duckdb", "spark"] | None = (
        "duckdb" if engine == "duckdb" else "spark" if engine == "spark" else None
    )
    if chosen is None:
        err_console.print(f"[bold red]错误[/]：未知的引擎 “{engine}”（可选：duckdb、spark）")
        raise typer.Exit(code=2)
    try:
        sys_ = load(system)
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


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index")
