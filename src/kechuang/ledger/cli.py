"""``kechuang ledger …``: open budgets, pay, receive, reverse, reconcile (XLSX) and pay the
points dividends of a published list. Each command is one unit of work with its audit rows;
the operator acts as the command-line bureau administrator."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.ledger import service

ledger_app = typer.Typer(help="财政资金台账 Append-only ledger.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")


def _fail(exc: KechuangError) -> typer.Exit:
    typer.secho(f"错误：{exc.message_zh}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _show(model: object) -> None:
    typer.echo(json.dumps(model.model_dump(mode="json"), ensure_ascii=False))  # type: ignore[attr-defined]


@ledger_app.command("open-budget")
def open_budget_cmd(
    key: Annotated[str, typer.Option("--key", help="Budget key, e.g. vouchers:320582:2024")],
    title: Annotated[str, typer.Option("--title", help="Budget title")],
    region: Annotated[str, typer.Option("--region", help="Region code")],
    year: Annotated[int, typer.Option("--year", help="Budget year")],
    amount: Annotated[str, typer.Option("--amount", help="Amount in yuan, e.g. 3000000.00")],
    source: Annotated[str, typer.Option("--source", help="Document allocating the money")],
) -> None:
    """Open a budget (the same key with the same numbers again is a no-op)."""
    try:
        with unit_of_work() as s:
            _show(service.do_open_budget(s, Actor.command_line(), key=key, title=title,
                                         region_code=region, year=year,
                                         amount=amount, source=source))  # type: ignore[arg-type]
    except KechuangError as exc:
        raise _fail(exc) from None


@ledger_app.command("pay")
def pay_cmd(
    budget: Annotated[str, typer.Option("--budget", help="Budget key")],
    kind: Annotated[str, typer.Option("--kind", help="grant, tranche, post_subsidy, …")],
    payee_type: Annotated[str, typer.Option("--payee-type", help="enterprise, institute, …")],
    payee_name: Annotated[str, typer.Option("--payee-name", help="Payee name")],
    amount: Annotated[str, typer.Option("--amount", help="Amount in yuan")],
    decision: Annotated[str, typer.Option("--decision", help="Decision reference")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key (a retry pays once)")],
    payee_id: Annotated[int | None, typer.Option("--payee-id", help="Payee id")] = None,
    memo: Annotated[str, typer.Option("--memo", help="Memo")] = "",
) -> None:
    """Pay out of a budget."""
    try:
        with unit_of_work() as s:
            _show(service.do_pay(s, Actor.command_line(), budget_key=budget, kind=kind,
                                 payee_type=payee_type, payee_id=payee_id,
                                 payee_name=payee_name, amount=amount,  # type: ignore[arg-type]
                                 decision_ref=decision, idempotency_key=key, memo=memo))
    except KechuangError as exc:
        raise _fail(exc) from None


@ledger_app.command("receive")
def receive_cmd(
    budget: Annotated[str, typer.Option("--budget", help="Budget key")],
    amount: Annotated[str, typer.Option("--amount", help="Amount in yuan")],
    decision: Annotated[str, typer.Option("--decision", help="Decision reference")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key")],
    kind: Annotated[str, typer.Option("--kind", help="recovery, refund or top_up")] = "recovery",
    memo: Annotated[str, typer.Option("--memo", help="Memo")] = "",
) -> None:
    """Money back into a budget."""
    try:
        with unit_of_work() as s:
            _show(service.do_receive(s, Actor.command_line(), budget_key=budget, kind=kind,
                                     amount=amount, decision_ref=decision,  # type: ignore[arg-type]
                                     idempotency_key=key, memo=memo))
    except KechuangError as exc:
        raise _fail(exc) from None


@ledger_app.command("reverse")
def reverse_cmd(
    entry: Annotated[int, typer.Option("--entry", help="Entry id to reverse")],
    reason: Annotated[str, typer.Option("--reason", help="Why")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key")],
) -> None:
    """Post a reversing entry (a correction)."""
    try:
        with unit_of_work() as s:
            _show(service.do_reverse(s, Actor.command_line(), entry_id=entry, reason=reason,
                                     idempotency_key=key))
    except KechuangError as exc:
        raise _fail(exc) from None


@ledger_app.command("reconcile")
def reconcile_cmd(
    year: Annotated[int, typer.Option("--year", help="Calendar year (Asia/Shanghai)")],
    budget: Annotated[str | None, typer.Option("--budget", help="One budget key")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report as .xlsx")] = None,
) -> None:
    """Reconciliation per budget for a year; exit code 2 when a budget does not balance."""
    try:
        with unit_of_work() as s:
            actor = Actor.command_line()
            report = service.reconcile(s, actor, year, budget)
            if out is not None:
                out.write_bytes(service.do_export_reconciliation(s, actor, year, budget))
    except KechuangError as exc:
        raise _fail(exc) from None
    for r in report.rows:
        typer.echo(f"{r.key}\t期初 {r.opening}\t支付 {r.paid}\t收回 {r.received}\t"
                   f"冲正 {r.reversed_payments}/{r.reversed_receipts}\t期末 {r.closing}\t"
                   f"{'平衡' if r.balanced else '不平衡'}")
    if not report.balanced:
        raise typer.Exit(code=2)


@ledger_app.command("pay-dividends")
def pay_dividends_cmd(
    run: Annotated[int, typer.Option("--run", help="Published scoring run id")],
    scheme: Annotated[str, typer.Option("--scheme", help="Shipped scheme id or YAML file")],
    budget: Annotated[str | None, typer.Option(
        "--budget", help="Budget key (default dividends:<region>:<year>)")] = None,
) -> None:
    """Pay the points dividends of a published list (once per enterprise and list)."""
    try:
        with unit_of_work() as s:
            _show(service.do_pay_dividends(s, Actor.command_line(), run_id=run, scheme=scheme,
                                           budget_key=budget))
    except KechuangError as exc:
        raise _fail(exc) from None


@ledger_app.command("remaining")
def remaining_cmd(budget: Annotated[str, typer.Option("--budget", help="Budget key")]) -> None:
    """What is left of a budget."""
    try:
        with unit_of_work() as s:
            typer.echo(str(service.remaining(s, budget).quantize(Decimal("0.01"))))
    except KechuangError as exc:
        raise _fail(exc) from None
