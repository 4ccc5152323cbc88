"""CLI commands of the ingest package (placeholder until the importer lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
