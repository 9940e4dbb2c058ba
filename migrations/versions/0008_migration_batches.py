"""migration batches: "migrate every eligible instance" as a worker job

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 16:20:00
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('migration_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to_deployment_id', sa.Integer(), nullable=False),
    sa.Column('apply_limits', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('moved', sa.Integer(), nullable=False),
    sa.Column('refused', sa.JSON(), nullable=False),
    sa.Column('requested_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('heartbeat_at', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['to_deployment_id'], ['deployment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_migration_batch_status'), 'migration_batch', ['status'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_migration_batch_status'), table_name='migration_batch')
    op.drop_table('migration_batch')
