"""one committed batch per file content and template (issue 17, item 4)

The same file uploaded twice at once made two batches: each request checked for a
committed batch of the same content before either had written one. A unique index over
(content hash, template) of the *committed* batches lets the database decide: the second
insert waits for the first and then fails, and the import answers "already imported".
Rolled-back batches stay out of it, so a file can be imported again after a rollback.
Duplicates committed before this revision (none are expected) cannot be resolved
automatically — facts point to both — so the upgrade stops with a message naming them, for
an administrator to roll the extra batch back first.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_WHERE = "status = 'committed'"


def upgrade() -> None:
    dup = op.get_bind().execute(sa.text(
        "SELECT content_hash, template, count(*) FROM import_batch WHERE " + _WHERE +
        " AND content_hash IS NOT NULL GROUP BY content_hash, template HAVING count(*) > 1"
    )).first()
    if dup is not None:
        raise RuntimeError(
            f"导入批次中同一文件（模板 {dup[1]}，内容哈希 {dup[0][:12]}…）已提交 {dup[2]} 次；"
            "请先回滚多余的批次（kechuang batches rollback）再升级 / the same file was committed "
            "more than once: roll back the extra batches, then upgrade")
    op.create_index("uq_import_batch_committed_content", "import_batch",
                    ["content_hash", "template"], unique=True,
                    sqlite_where=sa.text(_WHERE), postgresql_where=sa.text(_WHERE))


def downgrade() -> None:
    op.drop_index("uq_import_batch_committed_content", table_name="import_batch")
