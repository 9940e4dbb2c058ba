"""one platform, many centres (issue 16): the provincial, city and county centres, the centre
each platform user works at, the centre that holds and the one that accepted each appeal, and
the scope (centre) of a task

An existing database gets one provincial centre for its province-level region (if it has one):
every appeal and every platform user belongs to it, as before the split.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 10:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('centre',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['centre.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('region_id')
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_app_user_centre_id'), ['centre_id'], unique=False)
        batch_op.create_foreign_key('fk_app_user_centre', 'centre', ['centre_id'], ['id'])
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('origin_centre_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_appeal_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeal_origin_centre_id'), ['origin_centre_id'], unique=False)
        batch_op.create_foreign_key('fk_appeal_centre', 'centre', ['centre_id'], ['id'])
        batch_op.create_foreign_key('fk_appeal_origin_centre', 'centre', ['origin_centre_id'], ['id'])
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_task_scope_id'), ['scope_id'], unique=False)

    conn = op.get_bind()
    province = conn.execute(sa.text("SELECT id, code, name FROM region WHERE parent_id IS NULL ORDER BY id")).first()
    if province is not None:
        conn.execute(sa.text("INSERT INTO centre (code, name, level, region_id) VALUES (:code, :name, 'province', :region)"),
                     {"code": f"c{province.code}", "name": f"{province.name}12345热线", "region": province.id})
        centre = conn.execute(sa.text("SELECT id FROM centre WHERE region_id = :region"), {"region": province.id}).scalar()
        conn.execute(sa.text("UPDATE appeal SET centre_id = :c, origin_centre_id = :c"), {"c": centre})
        conn.execute(sa.text("UPDATE app_user SET centre_id = :c WHERE unit_id IS NULL AND role IN "
                             "('intake_agent', 'dispatcher', 'return_visit_staff', 'supervisor', 'process_owner')"),
                     {"c": centre})


def downgrade():
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_task_scope_id'))
        batch_op.drop_column('scope_id')
    with op.batch_alter_table('appeal', schema=None) as batch_op:
        batch_op.drop_constraint('fk_appeal_origin_centre', type_='foreignkey')
        batch_op.drop_constraint('fk_appeal_centre', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_appeal_origin_centre_id'))
        batch_op.drop_index(batch_op.f('ix_appeal_centre_id'))
        batch_op.drop_column('origin_centre_id')
        batch_op.drop_column('centre_id')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint('fk_app_user_centre', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_app_user_centre_id'))
        batch_op.drop_column('centre_id')
    op.drop_table('centre')
