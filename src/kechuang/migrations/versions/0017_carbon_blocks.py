# ruff: noqa: E501  (table definitions as alembic writes them)
"""carbon grades stored as per-month columnar blocks (carbon_grade → carbon_grade_block)

The 1.2 million grade rows of a 100,000-enterprise year cost more to insert than the whole
evaluation (kechuang.carbon.blocks explains the format). Existing grade rows are converted,
one evaluation at a time; the downgrade converts back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:30:00
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_GRADE_COLUMNS = ['enterprise_id', 'period', 'class_code', 'region_code', 'intensity',
                  'carbon_level', 'benchmark', 'benchmark_level', 'ratio', 'grade',
                  'industry_rank', 'industry_count', 'region_rank', 'region_count', 'alert']
_NULLABLE_INTS = ['grade', 'industry_rank', 'industry_count', 'region_rank', 'region_count']

_BLOCK_TABLE = sa.table(
    'carbon_grade_block', sa.column('evaluation_id', sa.Integer), sa.column('period', sa.Integer),
    sa.column('first_enterprise_id', sa.Integer), sa.column('last_enterprise_id', sa.Integer),
    sa.column('rows', sa.Integer), sa.column('graded', sa.Integer),
    sa.column('data', sa.LargeBinary))
_ROW_TABLE = sa.table('carbon_grade', sa.column('evaluation_id', sa.Integer),
                      *[sa.column(c) for c in _GRADE_COLUMNS])


def _create_row_table() -> None:
    op.create_table('carbon_grade',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('class_code', sa.String(length=8), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('intensity', sa.Float(), nullable=True),
    sa.Column('carbon_level', sa.String(length=16), nullable=True),
    sa.Column('benchmark', sa.Float(), nullable=True),
    sa.Column('benchmark_level', sa.String(length=24), nullable=True),
    sa.Column('ratio', sa.Float(), nullable=True),
    sa.Column('grade', sa.SmallInteger(), nullable=True),
    sa.Column('industry_rank', sa.Integer(), nullable=True),
    sa.Column('industry_count', sa.Integer(), nullable=True),
    sa.Column('region_rank', sa.Integer(), nullable=True),
    sa.Column('region_count', sa.Integer(), nullable=True),
    sa.Column('alert', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_carbon_grade_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['carbon_evaluation.id'], name=op.f('fk_carbon_grade_evaluation_id_carbon_evaluation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_grade'))
    )
    op.create_index('ix_carbon_grade_enterprise', 'carbon_grade', ['enterprise_id', 'period'], unique=False)
    op.create_index('ix_carbon_grade_eval_period', 'carbon_grade', ['evaluation_id', 'period'], unique=False)


def upgrade() -> None:
    from kechuang.carbon import blocks

    op.create_table('carbon_grade_block',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('first_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('last_enterprise_id', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('graded', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['carbon_evaluation.id'], name=op.f('fk_carbon_grade_block_evaluation_id_carbon_evaluation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carbon_grade_block'))
    )
    with op.batch_alter_table('carbon_grade_block', schema=None) as batch_op:
        batch_op.create_index('ix_carbon_grade_block_eval', ['evaluation_id', 'period', 'first_enterprise_id'], unique=True)
        batch_op.create_index('ix_carbon_grade_block_range', ['first_enterprise_id', 'last_enterprise_id', 'evaluation_id'], unique=False)

    bind = op.get_bind()
    evaluation_ids = bind.execute(sa.select(_ROW_TABLE.c.evaluation_id).distinct()
                                  .order_by(_ROW_TABLE.c.evaluation_id)).scalars().all()
    for evaluation_id in evaluation_ids:
        rows = bind.execute(sa.select(*[_ROW_TABLE.c[c] for c in _GRADE_COLUMNS])
                            .where(_ROW_TABLE.c.evaluation_id == evaluation_id)).all()
        frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=_GRADE_COLUMNS)
        for c in _NULLABLE_INTS:
            frame[c] = frame[c].astype('Int64')
        for c in ('intensity', 'benchmark', 'ratio'):
            frame[c] = frame[c].astype('float64')
        bind.execute(_BLOCK_TABLE.insert(), blocks.split(int(evaluation_id), frame))
    op.drop_index('ix_carbon_grade_eval_period', table_name='carbon_grade')
    op.drop_index('ix_carbon_grade_enterprise', table_name='carbon_grade')
    op.drop_table('carbon_grade')


def downgrade() -> None:
    from kechuang.carbon import blocks

    _create_row_table()
    bind = op.get_bind()
    evaluation_ids = bind.execute(sa.select(_BLOCK_TABLE.c.evaluation_id).distinct()).scalars().all()
    for evaluation_id in evaluation_ids:
        blobs = bind.execute(sa.select(_BLOCK_TABLE.c.period, _BLOCK_TABLE.c.data)
                             .where(_BLOCK_TABLE.c.evaluation_id == evaluation_id)).all()
        frame = blocks.decode([(int(p), bytes(d)) for p, d in blobs])
        frame = frame.astype(object).where(frame.notna(), None)
        frame['evaluation_id'] = int(evaluation_id)
        frame['alert'] = frame['alert'].map(lambda a: a or '')
        records = frame[['evaluation_id', *_GRADE_COLUMNS]].to_dict('records')
        if records:
            bind.execute(_ROW_TABLE.insert(), records)
    with op.batch_alter_table('carbon_grade_block', schema=None) as batch_op:
        batch_op.drop_index('ix_carbon_grade_block_range')
        batch_op.drop_index('ix_carbon_grade_block_eval')
    op.drop_table('carbon_grade_block')
