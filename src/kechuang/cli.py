"""The command line: ``kechuang init | import | stats | serve | users create | batches …``.

Commands are thin: they open one unit of work, call services and print with Rich. Every
command and option is listed in ``docs/cli.md`` (a test keeps them in step).
"""

from __future__ import annotations

import importlib
import json
from typing import Annotated

import typer
import uvicorn

from kechuang.auth.actor import Actor
from kechuang.auth.service import do_create_user, enterprise_id_of
from kechuang.bootstrap import database_stats, initialise
from kechuang.config import get_settings
from kechuang.db import get_engine, unit_of_work
from kechuang.kit.cli_output import console, err_console, fail
from kechuang.kit.errors import KechuangError

app = typer.Typer(
    name="kechuang",
    help="科创 — 区域科技创新治理平台 (regional innovation-governance platform).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="账号管理 Accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")

#: ``console``, ``err_console`` and ``fail`` live in kechuang.kit.cli_output (re-exported here)
__all__ = ["app", "console", "err_console", "fail"]


@app.command()
def init(
    demo: Annotated[int | None, typer.Option(help="Build a demo county with N enterprises")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the demo generator")] = 20240601,
    reset: Annotated[bool, typer.Option(help="Delete all data first (asks no question)")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already holds data")
    ] = False,
) -> None:
    """Create or upgrade the database, load reference data and, with --demo, a demo county."""
    try:
        summary = initialise(get_engine(), demo=demo, seed=seed, reset=reset, if_empty=if_empty,
                             console=console)
    except KechuangError as exc:
        raise fail(exc) from exc
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))


@app.command()
def stats() -> None:
    """Counts of enterprises, facts and batches, as JSON."""
    with unit_of_work() as session:
        typer.echo(json.dumps(database_stats(session), ensure_ascii=False, indent=2))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the web pages and the API (Uvicorn)."""
    settings = get_settings()
    uvicorn.run(
        "kechuang.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=False,
    )


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="One of the eight roles")],
    region: Annotated[str, typer.Option(help="Region code of the account's scope")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Password")
    ],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    department: Annotated[
        str | None, typer.Option(help="Department code (role department)")
    ] = None,
    enterprise: Annotated[str | None, typer.Option(help="Credit code (role enterprise)")] = None,
) -> None:
    """Create an account (as the operator at the shell: a bureau administrator)."""
    try:
        with unit_of_work() as session:
            party: dict[str, object] = {"department_code": department}
            if enterprise:
                party["enterprise_id"] = enterprise_id_of(session, enterprise)
            user = do_create_user(session, Actor.command_line(), username=username,
                                  password=password, role=role, region_code=region,
                                  display_name=name, **party)
            console.print(f"已创建账号 [bold]{user.username}[/]（{user.role}，{user.region_code}）")
    except KechuangError as exc:
        raise fail(exc) from exc


#: domain packages whose ``cli.register(app)`` adds their commands, in help order
DOMAIN_CLIS = ("ingest", "jobs", "scoring", "robustness", "lists", "policy", "push", "tiers",
               "matching", "dispatch", "ledger", "vouchers", "programs", "review", "finance",
               "monitoring", "carbon", "auth", "spark")


def _register_domain_commands() -> None:
    for package in DOMAIN_CLIS:
        name = f"kechuang.{package}.cli"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(app)


_register_domain_commands()

if __name__ == "__main__":  # pragma: no cover
    app()
