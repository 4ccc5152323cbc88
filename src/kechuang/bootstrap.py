"""Creating a working database: migrations, reference data, and optionally a demo county."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from kechuang.db import unit_of_work
from kechuang.demo.generator import generate_demo
from kechuang.kit.errors import Conflict
from kechuang.migrate import upgrade
from kechuang.models import Base, Enterprise, Fact, ImportBatch, User
from kechuang.registry.reference import load_reference_data


def reset_database(engine: Engine) -> None:
    """Drop every table of the schema (and Alembic's version table)."""
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def initialise(
    engine: Engine,
    *,
    demo: int | None = None,
    seed: int = 20240601,
    reset: bool = False,
    if_empty: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    console = console or Console(quiet=True)
    if reset:
        reset_database(engine)
    upgrade(engine)
    with unit_of_work(engine) as session:
        has_data = (session.scalar(select(func.count()).select_from(Enterprise)) or 0) > 0 or (
            session.scalar(select(func.count()).select_from(User)) or 0
        ) > 0
        if if_empty and has_data:
            return {"skipped": "database already holds data", **database_stats(session)}
        added = load_reference_data(session)
    summary: dict[str, Any] = {"reference_added": added}
    if demo:
        if has_data:
            raise Conflict("数据库中已有数据；如需重建演示数据请加 --reset",
                           "The database already holds data; add --reset to rebuild the demo")
        summary["demo"] = generate_demo(engine, n=demo, seed=seed, console=console)
        analyse(engine)
    with unit_of_work(engine) as session:
        summary.update(database_stats(session))
    return summary


def analyse(engine: Engine) -> None:
    """Refresh the query planner's statistics after a bulk load (SQLite's planner picks poor
    plans for the enterprise list without them)."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def database_stats(session: Session) -> dict[str, int]:
    def count(model: Any, *where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return {
        "enterprises": count(Enterprise),
        "facts": count(Fact, Fact.is_current),
        "facts_history": count(Fact, Fact.is_current.is_(False)),
        "batches": count(ImportBatch),
        "users": count(User),
    }
