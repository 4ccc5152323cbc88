"""facts: metrics zero when absent, inferred values (kechuang.facts, kechuang.registry)

``import_batch.periods``: the periods a batch holds facts for, so that reading facts can
tell which (department, year) a batch covered without scanning the fact table; filled by
every import and by the demo, and backfilled here from the facts.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD / DROP COLUMN (SQLite ≥ 3.35 has both): a batch-mode table copy would drop
    # import_batch, which the facts reference
    op.add_column("import_batch", sa.Column("periods", sa.JSON(), nullable=True))
    bind = op.get_bind()
    found: dict[int, list[int]] = {}
    for batch_id, period in bind.execute(sa.text(
            "SELECT DISTINCT batch_id, period FROM fact ORDER BY batch_id, period")):
        found.setdefault(int(batch_id), []).append(int(period))
    update = sa.text("UPDATE import_batch SET periods = :p WHERE id = :id")
    for batch_id, periods in found.items():
        bind.execute(update, {"p": json.dumps(periods), "id": batch_id})


def downgrade() -> None:
    op.execute("ALTER TABLE import_batch DROP COLUMN periods")
