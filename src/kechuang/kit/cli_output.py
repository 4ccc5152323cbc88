"""Console output shared by every command-line module: the two Rich consoles and ``fail``,
which prints a business error in Chinese on stderr and gives the ``typer.Exit`` to raise.

It sits in the kit so a package's ``cli.py`` can use it without importing ``kechuang.cli``
(which imports every package's ``cli.py``: that would be a loop)."""

from __future__ import annotations

import typer
from rich.console import Console

from kechuang.kit.errors import KechuangError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def fail(exc: KechuangError) -> typer.Exit:
    """Print ``exc`` (Chinese message) on stderr; return the exit (code 1) to raise."""
    err_console.print(f"[bold red]错误[/]：{exc.message_zh}")
    return typer.Exit(code=1)
