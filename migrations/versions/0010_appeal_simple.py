"""appeal.simple: a simple matter (Art. 20(5)) decided at assessment, which the time-limit
table reads when deadlines are recomputed or an appeal moves to another version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appeal') as batch:
        batch.add_column(sa.Column('simple', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('appeal') as batch:
        batch.drop_column('simple')
