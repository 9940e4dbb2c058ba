"""the 12345 network channel (issue 15): the public portal's one-time SMS codes and
submission limits, Open311 client systems and their API keys

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 18:35:00
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # -- public portal --
    op.create_table('portal_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('phone', sa.String(length=24), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('used_at', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('portal_code', schema=None) as batch_op:
        batch_op.create_index('ix_portal_code_address_created', ['address', 'created_at'], unique=False)
        batch_op.create_index('ix_portal_code_phone_created', ['phone', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_code_created_at'), ['created_at'], unique=False)
    # knowledge articles shown on the portal's FAQ
    with op.batch_alter_table('knowledge_article', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), server_default=sa.false(), nullable=False))
    # -- Open311 --
    active = sa.text("revoked_at IS NULL")
    op.create_table('open311_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_prefix', sa.String(length=12), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('open311_client', schema=None) as batch_op:
        batch_op.create_index('uq_open311_client_active_name', ['name'], unique=True,
                              postgresql_where=active, sqlite_where=active)
    op.create_table('open311_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ),
    sa.ForeignKeyConstraint(['client_id'], ['open311_client.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('appeal_id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('open311_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open311_request_client_id'), ['client_id'], unique=False)


def downgrade():
    # -- Open311 --
    with op.batch_alter_table('open311_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open311_request_client_id'))
    op.drop_table('open311_request')
    with op.batch_alter_table('open311_client', schema=None) as batch_op:
        batch_op.drop_index('uq_open311_client_active_name', postgresql_where=sa.text("revoked_at IS NULL"),
                            sqlite_where=sa.text("revoked_at IS NULL"))
    op.drop_table('open311_client')
    # -- public portal --
    with op.batch_alter_table('knowledge_article', schema=None) as batch_op:
        batch_op.drop_column('public')
    with op.batch_alter_table('portal_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_code_created_at'))
        batch_op.drop_index('ix_portal_code_phone_created')
        batch_op.drop_index('ix_portal_code_address_created')
    op.drop_table('portal_code')
