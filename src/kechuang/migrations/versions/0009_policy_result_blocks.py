# ruff: noqa: E501  (alembic style)
"""policy results in columnar blocks (policy_result → policy_result_block)

Existing results are converted, both ways: upgrading packs each run's rows into blocks
(:mod:`kechuang.policy.blocks`), downgrading unpacks them into rows again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 05:20:00
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_ROW_TABLE = sa.table(
    'policy_result', sa.column('run_id', sa.Integer), sa.column('enterprise_id', sa.Integer),
    sa.column('verdict', sa.String), sa.column('score', sa.Float),
    sa.column('score_min', sa.Float), sa.column('score_max', sa.Float),
    sa.column('failed', sa.JSON), sa.column('missing', sa.JSON), sa.column('values', sa.JSON),
    sa.column('input_hash', sa.BigInteger))
_BLOCK_TABLE = sa.table(
    'policy_result_block', sa.column('run_id', sa.Integer),
    sa.column('first_enterprise_id', sa.Integer), sa.column('last_enterprise_id', sa.Integer),
    sa.column('rows', sa.Integer), sa.column('data', sa.LargeBinary))


def _bound(v: Any) -> float:
    if v is None:
        return math.nan
    if v in ("inf", "-inf"):
        return math.inf if v == "inf" else -math.inf
    return float(v)


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    """Old rows of one run → the block columns."""
    cols: dict[str, Any] = {
        "enterprise_id": [r.enterprise_id for r in rows],
        "verdict": [r.verdict for r in rows],
        "n_failed": [len(r.failed or []) for r in rows],
        "score": [math.nan if r.score is None else r.score for r in rows],
        "score_min": [math.nan if r.score_min is None else r.score_min for r in rows],
        "score_max": [math.nan if r.score_max is None else r.score_max for r in rows],
        "input_hash": [int(r.input_hash) for r in rows],
        "missing": [";".join(r.missing or []) for r in rows],
    }
    keys = list(dict.fromkeys(k for r in rows for k in (r.values or {})))
    failed = set(leaf for r in rows for leaf in (r.failed or []))
    # in the policy's leaf order (that of the values), so failed lists read back the same
    leaves = [k for k in keys if k in failed] + sorted(failed - set(keys))
    for leaf in leaves:
        cols[f"failed:{leaf}"] = [leaf in (r.failed or []) for r in rows]
    for key in keys:
        pairs = [(r.values or {}).get(key) for r in rows]
        bounds = [(v[0], v[1]) if isinstance(v, list) else (v, v) for v in pairs]
        cols[f"lo:{key}"] = [_bound(lo) for lo, _ in bounds]
        cols[f"hi:{key}"] = [_bound(hi) for _, hi in bounds]
    frame = pd.DataFrame(cols)
    return frame.astype({"enterprise_id": np.int64, "n_failed": np.int16,
                         "input_hash": np.int64})


def upgrade() -> None:
    from kechuang.policy import blocks

    op.create_table('policy_result_block',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('first_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('last_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['policy_run.id'], name=op.f('fk_policy_result_block_run_id_policy_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_result_block'))
    )
    with op.batch_alter_table('policy_result_block', schema=None) as batch_op:
        batch_op.create_index('ix_policy_result_block_range', ['first_enterprise_id', 'last_enterprise_id', 'run_id'], unique=False)
        batch_op.create_index('ix_policy_result_block_run', ['run_id', 'first_enterprise_id'], unique=True)

    bind = op.get_bind()
    run_ids = bind.execute(sa.select(_ROW_TABLE.c.run_id).distinct()
                           .order_by(_ROW_TABLE.c.run_id)).scalars().all()
    for run_id in run_ids:  # a slice of one run at a time: bounded memory
        after = -1
        while True:
            rows = bind.execute(sa.select(_ROW_TABLE)
                                .where(_ROW_TABLE.c.run_id == run_id,
                                       _ROW_TABLE.c.enterprise_id > after)
                                .order_by(_ROW_TABLE.c.enterprise_id)
                                .limit(blocks.CONVERT_ROWS)).all()
            if not rows:
                break
            bind.execute(_BLOCK_TABLE.insert(), blocks.split(run_id, _frame(rows)))
            after = rows[-1].enterprise_id

    with op.batch_alter_table('policy_result', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_result_run_enterprise')
        batch_op.drop_index('ix_policy_result_enterprise')
    op.drop_table('policy_result')


def downgrade() -> None:
    from kechuang.policy.blocks import decode, stored_result

    op.create_table('policy_result',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('score_min', sa.Float(), nullable=True),
    sa.Column('score_max', sa.Float(), nullable=True),
    sa.Column('failed', sa.JSON(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('input_hash', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_policy_result_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['run_id'], ['policy_run.id'], name=op.f('fk_policy_result_run_id_policy_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_result'))
    )
    with op.batch_alter_table('policy_result', schema=None) as batch_op:
        batch_op.create_index('ix_policy_result_enterprise', ['enterprise_id'], unique=False)
        batch_op.create_index('ix_policy_result_run_enterprise', ['run_id', 'enterprise_id'], unique=True)

    bind = op.get_bind()
    block_ids = bind.execute(sa.text("SELECT id FROM policy_result_block ORDER BY run_id, "
                                     "first_enterprise_id")).scalars().all()
    for block_id in block_ids:
        run_id, data = bind.execute(sa.text("SELECT run_id, data FROM policy_result_block "
                                            "WHERE id = :id"), {"id": block_id}).one()
        rows = []
        for row in decode(bytes(data)).to_pylist():
            r = stored_result(row)
            rows.append({"run_id": run_id, "enterprise_id": r.enterprise_id,
                         "verdict": r.verdict, "score": r.score, "score_min": r.score_min,
                         "score_max": r.score_max, "failed": r.failed, "missing": r.missing,
                         "values": r.values, "input_hash": r.input_hash})
        if rows:
            bind.execute(_ROW_TABLE.insert(), rows)

    with op.batch_alter_table('policy_result_block', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_result_block_run')
        batch_op.drop_index('ix_policy_result_block_range')
    op.drop_table('policy_result_block')
