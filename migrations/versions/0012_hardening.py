"""hardening: sessions that end (app_user.auth_version), sign-in throttles per account and per
address, a sealed history (history_event.seal), idempotency keys, anonymised contacts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:15:00
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('auth_version', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('sign_in_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_failure_at', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('blocked_until', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'key', name='uq_sign_in_throttle_kind_key')
    )
    with op.batch_alter_table('history_event') as batch:
        batch.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=True),
    sa.Column('created_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'key', name='uq_idempotency_scope_key')
    )
    op.create_index('ix_idempotency_key_created_at', 'idempotency_key', ['created_at'], unique=False)
    with op.batch_alter_table('appellant_contact') as batch:
        batch.add_column(sa.Column('anonymized_at', runtime.db.UtcDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('appellant_contact') as batch:
        batch.drop_column('anonymized_at')
    op.drop_index('ix_idempotency_key_created_at', table_name='idempotency_key')
    op.drop_table('idempotency_key')
    with op.batch_alter_table('history_event') as batch:
        batch.drop_column('seal')
    op.drop_table('sign_in_throttle')
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('auth_version')
