"""``kechuang dispatch``: optimal dispatch of commissioners to service requests.

File mode (``--requests R.csv --commissioners C.csv [--conflicts X.csv] --out A.csv``) reads
and checks every file before any work and writes A.csv atomically. Database mode (no
``--requests``) dispatches the open requests of a region scope in one transaction: the
run, its assignments and alternates, the requests' new status and the audit rows are saved
together or not at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.dispatch import files
from kechuang.dispatch.fit import FitWeights
from kechuang.dispatch.service import dispatch_files, do_dispatch
from kechuang.kit.errors import KechuangError

err_console = Console(stderr=True, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("dispatch", help="特派员最优分派 Optimal commissioner dispatch.")(dispatch)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]错误[/]：{message}")
    return typer.Exit(code=1)


def dispatch(
    requests: Annotated[Path | None, typer.Option(
        "--requests", help="File mode: REQUESTS.csv id,title[,description,region_code,"
                           "industry,team_size]")] = None,
    commissioners: Annotated[Path | None, typer.Option(
        "--commissioners", help="File mode: COMMISSIONERS.csv id,expertise,capacity"
                                "[,name,affiliation,region_code]")] = None,
    conflicts: Annotated[Path | None, typer.Option(
        "--conflicts", help="File mode: CONFLICTS.csv request_id,commissioner_id")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="File mode: output CSV request_id,kind,rank,commissioner_id,fit,note")
    ] = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="Database mode: region code whose open requests are dispatched "
                         "(default: all)")] = None,
    weights: Annotated[Path | None, typer.Option(
        "--weights", help="JSON object of fit weights (see docs/dispatch.md)")] = None,
    alternates: Annotated[int, typer.Option(
        "--alternates", min=0, max=20, help="Alternates kept per request")] = 3,
) -> None:
    """Assign commissioners to service requests, maximising total fit (provably optimal)."""
    try:
        w = FitWeights.load(weights) if weights else FitWeights()
        if requests is not None or commissioners is not None or out is not None:
            _file_mode(requests, commissioners, conflicts, out, w, alternates)
        else:
            if conflicts is not None:
                raise _fail("--conflicts 只用于文件模式；数据库模式读取已登记的利益冲突声明")
            _db_mode(region, w, alternates)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc


def _file_mode(requests: Path | None, commissioners: Path | None, conflicts: Path | None,
               out: Path | None, weights: FitWeights, alternates: int) -> None:
    missing = [name for name, v in (("--requests", requests), ("--commissioners", commissioners),
                                    ("--out", out)) if v is None]
    if missing:
        raise _fail(f"文件模式需要 {'、'.join(missing)}")
    assert requests and commissioners and out
    reqs = files.read_requests(requests)
    people = files.read_commissioners(commissioners)
    banned = (files.read_conflicts(conflicts, {r.text.id for r in reqs},
                                   {c.text.id for c in people}) if conflicts else set())
    result = dispatch_files(reqs, people, banned, weights, alternates)
    files.write_result(out, [r.text.id for r in reqs], result)
    _report(len(reqs), len(people), result.seats_needed, result.seats_filled, result.total_fit,
            [e.message_zh for e in result.explanations])
    p = result.proof
    typer.echo(f"最优性证明：{p.method}；对偶上界 {p.dual_bound:.6f}，间隙 {p.gap:.2e} → {out}")


def _db_mode(region: str | None, weights: FitWeights, alternates: int) -> None:
    with unit_of_work() as session:
        s = do_dispatch(session, Actor.command_line(), region_code=region, weights=weights,
                        alternates=alternates)
    typer.echo(f"分派运行 #{s.run_id} 已保存")
    _report(s.requests, s.commissioners, s.seats_needed, s.seats_filled, s.total_fit,
            s.explanations)


def _report(n_req: int, n_people: int, needed: int, filled: int, total: float,
            explanations: list[str]) -> None:
    typer.echo(f"{n_req:,} 个需求、{n_people:,} 名特派员：填补 {filled:,}/{needed:,} 个名额，"
               f"总匹配度 {total:.4f}")
    for line in explanations:
        typer.echo(f"  未满足：{line}")
