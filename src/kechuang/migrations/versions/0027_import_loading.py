"""long SQLite imports in short transactions: a batch is loading, then publishing (issue 17)

A large import on SQLite held the one write lock from its first write to its commit, and
short writes (a login's audit row) timed out behind it. The import now writes its facts in
short transactions as *pending* rows (not current, not superseded) under a batch whose
status is ``loading``; one short transaction turns the batch to ``publishing`` (the point of
no return) and short transactions then make the pending rows current, enterprise range by
range. ``loader`` (host:pid) and ``heartbeat_at`` tell a later import whether the process
that wrote a ``loading`` or ``publishing`` batch is gone: a dead loading batch is undone,
a dead publishing batch is finished. The unique index of migration 0021 now also covers
batches in progress, so the same file uploaded twice at once still makes one batch.

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-04 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa

import kechuang.models.base
from alembic import op

revision = '0027'
down_revision = '0025'
branch_labels = None
depends_on = None

_OLD = "status = 'committed'"
_NEW = "status IN ('committed', 'loading', 'publishing')"


def upgrade() -> None:
    # plain ADD / DROP COLUMN (SQLite ≥ 3.35 has both): a batch-mode table copy would drop
    # import_batch, which the facts reference (as in 0020)
    op.add_column('import_batch', sa.Column('loader', sa.String(length=128), nullable=True))
    op.add_column('import_batch', sa.Column(
        'heartbeat_at', kechuang.models.base.UTCDateTime(timezone=True), nullable=True))
    op.drop_index("uq_import_batch_committed_content", table_name="import_batch")
    op.create_index("uq_import_batch_committed_content", "import_batch",
                    ["content_hash", "template"], unique=True,
                    sqlite_where=sa.text(_NEW), postgresql_where=sa.text(_NEW))


def downgrade() -> None:
    op.drop_index("uq_import_batch_committed_content", table_name="import_batch")
    op.create_index("uq_import_batch_committed_content", "import_batch",
                    ["content_hash", "template"], unique=True,
                    sqlite_where=sa.text(_OLD), postgresql_where=sa.text(_OLD))
    op.execute("ALTER TABLE import_batch DROP COLUMN heartbeat_at")
    op.execute("ALTER TABLE import_batch DROP COLUMN loader")
