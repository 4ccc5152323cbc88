"""The migrations build exactly the schema the models declare, and go down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from kechuang.migrate import downgrade, upgrade
from kechuang.models import Base


def test_upgrade_matches_the_models(empty_engine):
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_up_again(empty_engine):
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert {"enterprise", "fact", "import_batch", "app_user", "audit_event"} <= set(
        inspect(empty_engine).get_table_names())
