"""``kechuang programs …``: program types (list, check the YAML cases), programs and calls,
call transitions, payments and the pre-research fund's statistics. Each command is one unit
of work run as the command-line operator (a bureau administrator over every region)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit import rules as rulefiles
from kechuang.kit.errors import KechuangError
from kechuang.programs import engine, service
from kechuang.programs.schemas import (
    PRE_RESEARCH_CASES,
    TYPES_DIR,
    CallIn,
    PreResearchCases,
    ProgramIn,
    WorkflowCases,
    builtin_types,
    pre_research_params,
)

programs_app = typer.Typer(help="科技计划项目 Programs: challenges, horse races, the "
                                "pre-research fund.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(programs_app, name="programs")


def _fail(message: str) -> typer.Exit:
    typer.secho(f"错误：{message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _money(text: str, label: str) -> Decimal:
    try:
        return engine.parse_money(text, label)
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc


@programs_app.command("types")
def types_cmd() -> None:
    """List the built-in program types with their source and valid-from date."""
    for tid, t in builtin_types().items():
        split = " / ".join(f"{format((s * 100).normalize(), 'f')}%" for s in t.tranches)
        typer.echo(f"{tid}\t{t.title}\t{t.kind}\t自 {t.valid_from}\t拨付 {split}")
        typer.echo(f"\t依据：{t.source}")


@programs_app.command("test")
def test_cmd() -> None:
    """Run every YAML case of the workflows and the pre-research fund; non-zero exit when
    one fails."""
    failed = 0
    cases = rulefiles.load(TYPES_DIR / "workflow.cases.yaml", WorkflowCases)
    types = builtin_types()
    for c in cases.cases:
        wf = getattr(types[c.type], f"{c.machine}_workflow")
        try:
            got = engine.check_transition(wf, c.state, c.action, c.role, c.guards)
            ok = c.error is None and got == c.to
            detail = got
        except KechuangError as exc:
            ok = c.error is not None and c.error in exc.message_zh
            detail = exc.message_zh
        failed += not ok
        typer.echo(f"{'通过' if ok else '失败'}  {c.name}：{detail}")
    params = pre_research_params()
    money = rulefiles.load(PRE_RESEARCH_CASES, PreResearchCases)
    for m in money.cases:
        got_front = (engine.front_amount(params, m.day, m.contract)
                     if m.contract is not None else None)
        got_back = (engine.back_amount(params, m.day, m.followup_rd)
                    if m.followup_rd is not None else None)
        ok = got_front == m.front and got_back == m.back
        failed += not ok
        typer.echo(f"{'通过' if ok else '失败'}  {m.name}：前期 {got_front} 后期 {got_back}")
    if failed:
        raise _fail(f"{failed} 个用例未通过")
    typer.echo(f"全部 {len(cases.cases) + len(money.cases)} 个用例通过")


@programs_app.command("create")
def create_cmd(
    code: Annotated[str, typer.Option("--code", help="Program code, e.g. ZJG-JB-2025")],
    title: Annotated[str, typer.Option("--title", help="Program title")],
    type_code: Annotated[str, typer.Option("--type", help="Program type id (see `types`)")],
    year: Annotated[int, typer.Option("--year", help="Budget year")],
    budget: Annotated[str, typer.Option("--budget", help="Yearly budget in CNY")],
    region: Annotated[str, typer.Option("--region", help="Owner region code")],
) -> None:
    """Create a program and open its ledger budget ``program:<code>:<year>``."""
    try:
        data = ProgramIn(code=code, title=title, type_code=type_code, year=year,
                         budget=_money(budget, "--budget"))
    except ValidationError as exc:
        raise _fail(f"--{exc.errors()[0]['loc'][0]}：{exc.errors()[0]['msg']}") from exc
    try:
        with unit_of_work() as session:
            p = service.do_create_program(session, Actor.command_line(), data,
                                          region_code=region)
            typer.echo(f"已创建项目 #{p.id} {p.code}，台账预算 {p.budget_key}")
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc


@programs_app.command("call")
def call_cmd(
    program: Annotated[str, typer.Option("--program", help="The program's code")],
    code: Annotated[str, typer.Option("--code", help="Call code")],
    title: Annotated[str, typer.Option("--title", help="Call title")],
    closes_on: Annotated[str, typer.Option("--closes-on", help="Deadline date (YYYY-MM-DD, "
                                           "end of day Asia/Shanghai)")],
    budget_cap: Annotated[str | None, typer.Option("--budget-cap",
                                                   help="Budget cap in CNY")] = None,
    cofunding: Annotated[str | None, typer.Option(
        "--cofunding", help="The demanding enterprise's co-funding in CNY")] = None,
    problem: Annotated[str, typer.Option("--problem", help="The technical problem")] = "",
    policy: Annotated[str | None, typer.Option(
        "--policy", help="Eligibility policy whose enterprises hear of the call")] = None,
    visibility: Annotated[str, typer.Option("--visibility",
                                            help="public or bureau")] = "public",
) -> None:
    """Create a call (a challenge item for 揭榜挂帅/赛马) in draft."""
    try:
        when = date.fromisoformat(closes_on)
    except ValueError as exc:
        raise _fail(f"--closes-on 应为 YYYY-MM-DD：{closes_on}") from exc
    try:
        data = CallIn(code=code, title=title, closes_on=when, visibility=visibility,
                      policy_id=policy, problem=problem,
                      budget_cap=_money(budget_cap, "--budget-cap") if budget_cap else None,
                      cofunding=_money(cofunding, "--cofunding") if cofunding else None)
    except ValidationError as exc:
        raise _fail(f"--{exc.errors()[0]['loc'][0]}：{exc.errors()[0]['msg']}") from exc
    try:
        with unit_of_work() as session:
            p = service.program_by_code(session, program)
            c = service.do_create_call(session, Actor.command_line(), p.id, data)
            typer.echo(f"已创建 #{c.id} {c.code}（{c.state}）")
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc


@programs_app.command("transition")
def transition_cmd(
    call: Annotated[str, typer.Option("--call", help="The call's code")],
    action: Annotated[str, typer.Option("--action", help="open, close, request_review, "
                                        "open_gate, finish, terminate, approve, reject")],
) -> None:
    """Take one transition of a call; a refused one names the state and what is allowed."""
    try:
        with unit_of_work() as session:
            c = service.call_by_code(session, call)
            out = service.do_call_action(session, Actor.command_line(), c.id, action)
            typer.echo(f"{c.code}：{out.state}" + (f"（{'；'.join(out.notes)}）"
                                                   if out.notes else ""))
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc


@programs_app.command("pay")
def pay_cmd(
    application: Annotated[int, typer.Option("--application", help="Application id")],
    what: Annotated[str, typer.Option("--what", help="tranche, front (pre-payment) or back "
                                      "(post-subsidy)")],
    tranche: Annotated[int, typer.Option("--tranche", help="Tranche number (1-based)")] = 1,
    amount: Annotated[str | None, typer.Option(
        "--amount", help="Amount in CNY (default: the award × the type's split)")] = None,
) -> None:
    """Pay through the ledger: a tranche of a funded bid, or the pre-research fund's
    front-phase pre-payment or back-phase post-subsidy."""
    try:
        with unit_of_work() as session:
            actor = Actor.command_line()
            if what == "tranche":
                p = service.do_pay_tranche(session, actor, application, tranche, amount)
            elif what == "front":
                p = service.do_pay_front(session, actor, application)
            elif what == "back":
                p = service.do_pay_back(session, actor, application)
            else:
                raise _fail(f"--what 应为 tranche、front 或 back，实为 {what}")
            typer.echo(f"已拨付 {p.amount} 元给 {p.payee_name}（台账记录 #{p.ledger_entry_id}）")
    except KechuangError as exc:
        raise _fail(exc.message_zh) from exc


@programs_app.command("stats")
def stats_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the JSON here")] = None,
) -> None:
    """The pre-research fund per year and in total, as the Zhangjiagang report counts it."""
    with unit_of_work() as session:
        rows = service.pre_research_stats(session, Actor.command_line())
    data = [r.model_dump(mode="json") for r in rows]
    if out is not None:
        out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    typer.echo("年度\t申报\t院所\t企业\t前期立项\t后期立项\t拨付（元）\t撬动研发投入（元）")
    for r in rows:
        typer.echo(f"{r.year or '累计'}\t{r.applications}\t{r.institutes}\t{r.enterprises}\t"
                   f"{r.front_approved}\t{r.back_approved}\t{r.disbursed}\t{r.rd_leveraged}")
