"""the assessment's grading and the co-organizers' own limit: appeal.simple (a simple matter,
Art. 20(5), which the time-limit table reads when deadlines are recomputed or an appeal moves to
another version), appeal.co_feedback_due_at (Art. 16) and appeal.merged_into_id (并单); an
overdue record per unit, so two
co-organizers late on the same deadline are both recorded

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:00:00
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# 0002 left the unique constraint unnamed: name it the way each database did
UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
OLD_PG = "overdue_record_appeal_id_stage_due_at_key"


def upgrade():
    with op.batch_alter_table('appeal') as batch:
        batch.add_column(sa.Column('simple', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('co_feedback_due_at', runtime.db.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_appeal_merged_into_id_appeal', 'appeal', ['merged_into_id'], ['id'])
        batch.create_index('ix_appeal_merged_into_id', ['merged_into_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(OLD_PG, 'overdue_record', type_='unique')
        op.create_unique_constraint('uq_overdue_record_unit_due', 'overdue_record',
                                    ['appeal_id', 'stage', 'unit_id', 'due_at'])
    else:
        with op.batch_alter_table('overdue_record', naming_convention=UNNAMED) as batch:
            batch.drop_constraint('uq_overdue_record_appeal_id_stage_due_at', type_='unique')
            batch.create_unique_constraint('uq_overdue_record_unit_due', ['appeal_id', 'stage', 'unit_id', 'due_at'])


def downgrade():
    with op.batch_alter_table('overdue_record') as batch:
        batch.drop_constraint('uq_overdue_record_unit_due', type_='unique')
        batch.create_unique_constraint(OLD_PG, ['appeal_id', 'stage', 'due_at'])
    with op.batch_alter_table('appeal') as batch:
        batch.drop_index('ix_appeal_merged_into_id')
        batch.drop_constraint('fk_appeal_merged_into_id_appeal', type_='foreignkey')
        batch.drop_column('merged_into_id')
        batch.drop_column('co_feedback_due_at')
        batch.drop_column('simple')
