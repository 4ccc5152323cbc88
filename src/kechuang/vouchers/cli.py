"""``kechuang vouchers …``: issue, register providers and services, redeem, settle."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.errors import KechuangError
from kechuang.vouchers import service

vouchers_app = typer.Typer(help="科技创新券 Innovation vouchers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(vouchers_app, name="vouchers")


def _fail(exc: KechuangError) -> typer.Exit:
    typer.secho(f"错误：{exc.message_zh}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _show(model: object) -> None:
    typer.echo(json.dumps(model.model_dump(mode="json"), ensure_ascii=False))  # type: ignore[attr-defined]


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{text}") from None


@vouchers_app.command("issue")
def issue_cmd(
    region: Annotated[str, typer.Option("--region", help="Region code")],
    year: Annotated[int, typer.Option("--year", help="Voucher year")],
    on: Annotated[str | None, typer.Option("--on", help="Issue date (default today)")] = None,
) -> None:
    """Issue vouchers to the enterprises the innovation_voucher policy selects."""
    try:
        with unit_of_work() as s:
            _show(service.do_issue(s, Actor.command_line(), region_code=region, year=year,
                                   on=_day(on)))
    except KechuangError as exc:
        raise _fail(exc) from None


@vouchers_app.command("add-provider")
def add_provider_cmd(
    kind: Annotated[str, typer.Option("--kind", help="institute or enterprise")],
    org_id: Annotated[int, typer.Option("--org-id", help="Institute or enterprise id")],
    contact: Annotated[str, typer.Option("--contact", help="Contact")] = "",
) -> None:
    """Register a service provider."""
    try:
        with unit_of_work() as s:
            _show(service.do_register_provider(s, Actor.command_line(), kind=kind,
                                               org_id=org_id, contact=contact))
    except KechuangError as exc:
        raise _fail(exc) from None


@vouchers_app.command("add-service")
def add_service_cmd(
    provider: Annotated[int, typer.Option("--provider", help="Provider id")],
    category: Annotated[str, typer.Option("--category", help="testing, rd, design, …")],
    name: Annotated[str, typer.Option("--name", help="Service name")],
    description: Annotated[str, typer.Option("--description", help="Description")] = "",
) -> None:
    """Add a service to a provider."""
    try:
        with unit_of_work() as s:
            _show(service.do_add_service(s, Actor.command_line(), provider_id=provider,
                                         category=category, name=name,
                                         description=description))
    except KechuangError as exc:
        raise _fail(exc) from None


@vouchers_app.command("redeem")
def redeem_cmd(
    code: Annotated[str, typer.Option("--code", help="Voucher code")],
    uscc: Annotated[str, typer.Option("--uscc", help="Holder's credit code")],
    provider: Annotated[int, typer.Option("--provider", help="Provider id")],
    invoice: Annotated[str, typer.Option("--invoice", help="Invoice number")],
    amount: Annotated[str, typer.Option("--amount", help="Invoice amount in yuan")],
    service_id: Annotated[int | None, typer.Option("--service", help="Service id")] = None,
) -> None:
    """Redeem a voucher against a provider's invoice (at the bureau's window)."""
    try:
        with unit_of_work() as s:
            _show(service.do_redeem(s, Actor.command_line(), voucher_code=code, uscc=uscc,
                                    provider_id=provider, invoice_no=invoice,
                                    invoice_amount=amount, service_id=service_id))
    except KechuangError as exc:
        raise _fail(exc) from None


@vouchers_app.command("settle")
def settle_cmd(
    provider: Annotated[int, typer.Option("--provider", help="Provider id")],
    reference: Annotated[str, typer.Option("--reference", help="Transfer reference")] = "",
) -> None:
    """A settlement statement of a provider's unsettled redemptions."""
    try:
        with unit_of_work() as s:
            _show(service.do_settle(s, Actor.command_line(), provider_id=provider,
                                    reference=reference))
    except KechuangError as exc:
        raise _fail(exc) from None
