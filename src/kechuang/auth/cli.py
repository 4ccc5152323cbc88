"""``kechuang users token create | list | revoke``: API tokens of department systems from
the server's shell (issue 11 item 9). The operator acts as a bureau administrator over every
region, or of one region with ``--region``."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from kechuang.auth import tokens
from kechuang.auth.actor import Actor
from kechuang.db import unit_of_work
from kechuang.kit.cli_output import console, fail
from kechuang.kit.errors import KechuangError
from kechuang.kit.timefmt import local

token_app = typer.Typer(help="API 令牌 API tokens of department systems.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``token`` under ``kechuang users`` (or at the top level if that group is gone)."""
    for group in app.registered_groups:
        if group.name == "users" and group.typer_instance is not None:
            group.typer_instance.add_typer(token_app, name="token")
            return
    app.add_typer(token_app, name="token")


def _operator(session: Session, region: str | None) -> Actor:
    return tokens.command_line_admin(session, region)


RegionOpt = Annotated[str | None, typer.Option(
    "--region", help="Act as an administrator of this region (GB/T 2260 code) only")]


@token_app.command("create")
def create_cmd(
    username: Annotated[str, typer.Argument(help="The account the token acts as")],
    name: Annotated[str, typer.Option("--name", help="What the token is for")],
    days: Annotated[int, typer.Option("--days", help="Days until it expires (required; at "
                                      "most api_token_max_days)")],
    region: RegionOpt = None,
) -> None:
    """Make a token and print its secret — the only time it is shown."""
    try:
        with unit_of_work() as session:
            out = tokens.do_create_token(session, _operator(session, region),
                                         username=username, name=name, days=days)
    except KechuangError as exc:
        raise fail(exc) from exc
    console.print(f"已创建令牌 created token #{out.id} {out.prefix}… for {out.username}, "
                  f"expires {local(out.expires_at)}")
    console.print("令牌只显示这一次 the secret is shown this once:")
    typer.echo(out.secret)


@token_app.command("list")
def list_cmd(region: RegionOpt = None) -> None:
    """List the tokens (never their secrets), newest first."""
    try:
        with unit_of_work() as session:
            rows = tokens.list_tokens(session, _operator(session, region))
    except KechuangError as exc:
        raise fail(exc) from exc
    if not rows:
        typer.echo("暂无令牌 no tokens")
    for t in rows:
        used = local(t.last_used_at) if t.last_used_at else "never"
        typer.echo(f"#{t.id:<5} {t.prefix}…  {t.username:<16} {t.state:<8} "
                   f"expires {local(t.expires_at)}  last used {used}  {t.name}")


@token_app.command("revoke")
def revoke_cmd(
    token_id: Annotated[int, typer.Argument(help="The token's number (see `list`)")],
    region: RegionOpt = None,
) -> None:
    """Revoke a token: its next request is refused."""
    try:
        with unit_of_work() as session:
            out = tokens.do_revoke_token(session, _operator(session, region), token_id)
    except KechuangError as exc:
        raise fail(exc) from exc
    console.print(f"已撤销令牌 revoked token #{out.id} {out.prefix}… of {out.username}")
