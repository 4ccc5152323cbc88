"""uploads waiting for their import job (issue 11, item 6)

A file uploaded through a page or the API is imported by a job; the worker may be another
process, so the uploaded bytes wait in ``import_upload`` until the job has run (the job
deletes the row).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 04:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("valid_rows_only", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"],
                                name=op.f("fk_import_upload_created_by_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_upload")),
    )


def downgrade() -> None:
    op.drop_table("import_upload")
