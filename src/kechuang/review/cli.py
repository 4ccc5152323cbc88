"""``kechuang review``: reviewer assignment from files, and the review rounds in the database.

``review assign`` is the file contract of issue 12 (docs/cli/review.md): it reads and checks
every file before any work, prints a JSON summary on stdout and writes ASSIGNMENT.csv
atomically. Exit codes, as for every command (docs/cli.md): 0 assigned (JSON summary on
stdout); 1 not assigned — infeasible (the applications that cannot get ``k`` reviewers and
the binding constraint, in Chinese on stderr, and the JSON with ``status: "infeasible"`` on
stdout) or bad input (file, row and column or the option named on stderr, nothing on
stdout, nothing written). Typer's own usage errors (an option missing) exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import InvalidInput, KechuangError
from kechuang.review import files, service
from kechuang.review.engine import assign as solve_assignment

review_app = typer.Typer(help="专家评审 Expert review: reviewer assignment, reviews, decisions.",
                         no_args_is_help=True)

EXIT_INFEASIBLE = 1
#: invalid input is exit 1 like every command (docs/cli.md); stdout stays empty, which
#: tells it apart from an infeasible instance (JSON on stdout)
EXIT_BAD_INPUT = 1


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


def _fail(exc: KechuangError, code: int) -> typer.Exit:
    typer.echo(f"错误：{exc.message_zh}", err=True)
    typer.echo(f"Error: {exc.message_en}", err=True)
    return typer.Exit(code=code)


@review_app.command("assign")
def assign(
    affinity: Annotated[Path, typer.Option(
        "--affinity", help="AFFINITY.csv: application_id,expert_id,affinity")],
    k: Annotated[int, typer.Option("--k", help="Reviewers per application")],
    max_load: Annotated[int, typer.Option(
        "--max-load", help="Most applications one expert reviews")],
    out: Annotated[Path, typer.Option("--out", help="ASSIGNMENT.csv to write")],
    conflicts: Annotated[Path | None, typer.Option(
        "--conflicts", help="CONFLICTS.csv: application_id,expert_id")] = None,
    fair: Annotated[bool, typer.Option(
        "--fair", help="Maximise the worst-served application first, then the total")] = False,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Fair mode: seconds the solver may spend (status 'feasible' "
                             "with bounds when reached)")] = 50.0,
) -> None:
    """Assign k reviewers per application, each expert at most L, maximising total affinity
    (provably optimal), or fairly (--fair)."""
    try:
        aff = files.read_affinity(affinity)
        files.check_options(k, max_load, len(aff.expert_ids), affinity)
        banned = (files.read_conflicts(conflicts, set(aff.app_ids), set(aff.expert_ids))
                  if conflicts is not None else set())
        if time_limit <= 0:
            raise InvalidInput(f"选项 --time-limit：必须为正数，实为 {time_limit}。",
                               f"option --time-limit: must be positive, got {time_limit}.")
        problem = files.build_problem(aff, banned, k, max_load)
    except KechuangError as exc:
        raise _fail(exc, EXIT_BAD_INPUT) from exc
    try:
        outcome = solve_assignment(problem, fair=fair, time_limit=time_limit)
    except KechuangError as exc:
        raise _fail(exc, EXIT_INFEASIBLE) from exc
    summary = files.summary(aff, outcome, k=k, max_load=max_load, fair=fair,
                            n_conflicts=len(banned))
    if outcome.status == "infeasible":
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        short = summary["unserved_applications"]
        typer.echo(f"无可行分配：{len(short)} 个申请无法得到 {k} 名评审专家"  # type: ignore[arg-type]
                   f"（未写出 {out}）", err=True)
        for u in outcome.unserved:
            typer.echo(f"  [{files.constraint_zh(u.constraint)}] {u.message_zh}", err=True)
        typer.echo(f"No feasible assignment: {len(short)} application(s) cannot get {k} "  # type: ignore[arg-type]
                   "reviewers", err=True)
        raise typer.Exit(code=EXIT_INFEASIBLE)
    try:
        files.write_assignment(out, aff, outcome)
    except KechuangError as exc:
        raise _fail(exc, EXIT_BAD_INPUT) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


@review_app.command("rounds")
def rounds(region: Annotated[str | None, typer.Option(
        "--region", help="Only rounds of this region and below")] = None) -> None:
    """List review rounds."""
    with unit_of_work() as session:
        for c in service.list_rounds(session, Actor.command_line()):
            r = c.round
            if region and not r.region_code.startswith(region):
                continue
            typer.echo(f"#{r.id}\t{r.call_code}\t{r.stage}\t{r.status}\t申请 {c.subjects}\t"
                       f"分配 {c.assignments}\t已评 {c.reviews}\t{r.call_title}")


@review_app.command("assign-round")
def assign_round(
    round_id: Annotated[int, typer.Option("--round", help="Review round id")],
    fair: Annotated[bool, typer.Option("--fair", help="Fair mode")] = False,
) -> None:
    """Assign reviewers to a round in the database (one audited action)."""
    try:
        with unit_of_work() as session:
            summary = service.do_assign_round(session, Actor.command_line(), round_id,
                                              fair=fair)
    except KechuangError as exc:
        raise _fail(exc, EXIT_BAD_INPUT) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    if summary["status"] == "infeasible":
        raise typer.Exit(code=EXIT_INFEASIBLE)


@review_app.command("overdue")
def overdue(round_id: Annotated[int | None, typer.Option(
        "--round", help="Only this round")] = None) -> None:
    """Reviews past their round's due date (the reminder list)."""
    with unit_of_work() as session:
        rows = service.overdue(session, Actor.command_line(), round_id)
        for a, s, r, name in rows:
            typer.echo(f"轮次 #{r.id} {r.call_title}\t申请 #{s.subject_id}\t专家 {name}"
                       f"（#{a.expert_id}）\t截止 {r.due:%Y-%m-%d %H:%M} UTC")
        typer.echo(f"逾期未评 {len(rows)} 份 / {len(rows)} overdue")


__all__ = ["register", "review_app"]
