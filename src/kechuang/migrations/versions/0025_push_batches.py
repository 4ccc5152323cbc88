"""pushes reviewed before they go out: draft batches (issue 11, item 2)

A policy or scoring run writes its messages as a draft batch; a bureau account previews,
drops or edits items and sends the batch in one audited action. Messages written before
this revision were already in inboxes: they become ``sent`` (the column's server default),
with ``sent_at`` = ``created_at``.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa

import kechuang.models.base
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'push_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('source_run_id', sa.Integer(), nullable=True),
        sa.Column('policy_id', sa.String(length=64), nullable=False),
        sa.Column('period', sa.Integer(), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('created_at', kechuang.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('decided_at', kechuang.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decision', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_batch')),
    )
    op.create_index('ix_push_batch_status', 'push_batch', ['status', 'id'])
    with op.batch_alter_table('push_message') as batch:
        batch.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('status', sa.String(length=10), nullable=False,
                                   server_default=sa.text("'sent'")))
        batch.add_column(sa.Column('benefit', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('sent_at', kechuang.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f('fk_push_message_batch_id_push_batch'), 'push_batch',
                                 ['batch_id'], ['id'])
        batch.create_index('ix_push_message_batch', ['batch_id'])
    op.execute("UPDATE push_message SET sent_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table('push_message') as batch:
        batch.drop_index('ix_push_message_batch')
        batch.drop_constraint(op.f('fk_push_message_batch_id_push_batch'), type_='foreignkey')
        batch.drop_column('sent_at')
        batch.drop_column('benefit')
        batch.drop_column('status')
        batch.drop_column('batch_id')
    op.drop_index('ix_push_batch_status', table_name='push_batch')
    op.drop_table('push_batch')
