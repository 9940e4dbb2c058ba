"""published evaluation periods (issue 16, Art. 26, 27): the figures of a period frozen when a
process owner published them, once per period and centre (no centre: the whole province)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_publication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=True),
    sa.Column('published_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centre.id'], ),
    sa.ForeignKeyConstraint(['published_by_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period', 'centre_id', name='uq_evaluation_publication_period_centre')
    )
    with op.batch_alter_table('evaluation_publication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_publication_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index('uq_evaluation_publication_province', ['period'], unique=True,
                              postgresql_where=sa.text('centre_id IS NULL'), sqlite_where=sa.text('centre_id IS NULL'))


def downgrade():
    with op.batch_alter_table('evaluation_publication', schema=None) as batch_op:
        batch_op.drop_index('uq_evaluation_publication_province', postgresql_where=sa.text('centre_id IS NULL'),
                            sqlite_where=sa.text('centre_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_evaluation_publication_centre_id'))
    op.drop_table('evaluation_publication')
