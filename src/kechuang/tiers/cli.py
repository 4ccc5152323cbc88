"""``kechuang tiers snapshot`` and ``kechuang tiers show``."""

from __future__ import annotations

from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.tiers.schemas import rules
from kechuang.tiers.service import do_snapshot, snapshot_overview, transitions

tiers_app = typer.Typer(help="梯次培育 Tiered cultivation.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(tiers_app, name="tiers")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"错误：{message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@tiers_app.command("snapshot")
def snapshot_cmd(
    year: Annotated[int | None, typer.Option("--year", help="Evaluation year (default: the "
                                                           "latest with policy runs)")] = None,
) -> None:
    """Store every enterprise's tier for an evaluation year (all regions)."""
    try:
        with unit_of_work() as session:
            s = do_snapshot(session, Actor.command_line(), year)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
    rs = rules()
    parts = "，".join(f"{rs.label(lv)} {s.counts.get(rs.tier_id(lv), 0)}"
                     for lv in range(len(rs.tiers) + 1))
    typer.echo(f"快照 #{s.run_id}：{s.year} 年度，{s.enterprises} 家企业（{parts}）")


@tiers_app.command("show")
def show_cmd(
    year_from: Annotated[int | None, typer.Option("--from", help="Transitions from this year "
                                                  "(default: the second-latest snapshot)")] = None,
    year_to: Annotated[int | None, typer.Option("--to", help="… to this year (default: the "
                                                "latest snapshot)")] = None,
) -> None:
    """Print the tier counts of every snapshot year and the transitions between two."""
    rs = rules()
    actor = Actor.command_line()
    try:
        with unit_of_work() as session:
            overview = snapshot_overview(session, actor)
            if not overview:
                raise _fail("尚无梯队快照；请先运行 kechuang tiers snapshot")
            header = ["年度"] + [rs.label(lv) for lv in range(len(rs.tiers) + 1)]
            typer.echo("\t".join(header))
            for o in overview:
                typer.echo("\t".join([str(o["year"])] + [str(v) for v in o["counts"].values()]))
            years = [o["year"] for o in overview]
            a = year_from or (years[-2] if len(years) > 1 else None)
            b = year_to or years[-1]
            if a is None or a == b:
                return
            typer.echo(f"\n梯队迁移 {a} → {b}：")
            for t in transitions(session, actor, a, b):
                typer.echo(f"  {rs.label(t.from_level)} → {rs.label(t.to_level)}\t{t.count}")
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc
