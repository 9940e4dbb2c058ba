"""a supervision item runs a process of its own (processes/supervision.bpmn, Art. 24): an
instance names the process of its bundle it runs (process_instance.process_key), and a business
key may have one live instance of each process instead of one instance at all; a supervision
item keeps its instance, the escalation levels it was given and every reason it was opened for
(one open item per appeal, Art. 22)

Data: every instance runs its deployment's main process; every item's reasons are its reason.
Items opened before this revision have no instance and keep the register's rules without
escalation.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# 0001 left the unique constraint unnamed: name it the way each database did (0009 renamed
# its column, PostgreSQL kept the name)
UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}
OLD_PG = "process_instance_appeal_id_key"
OLD_SQLITE = "uq_process_instance_business_key"
LIVE = sa.text("status IN ('running', 'suspended')")
FK = "fk_supervision_item_instance_id_process_instance"


def upgrade():
    with op.batch_alter_table('process_instance') as batch:
        batch.add_column(sa.Column('process_key', sa.String(length=100), nullable=True))
    op.execute("UPDATE process_instance SET process_key = "
               "(SELECT d.process_key FROM deployment d WHERE d.id = process_instance.deployment_id)")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(OLD_PG, 'process_instance', type_='unique')
    with op.batch_alter_table('process_instance', naming_convention=UNNAMED) as batch:
        if op.get_bind().dialect.name != "postgresql":
            batch.drop_constraint(OLD_SQLITE, type_='unique')
        batch.alter_column('process_key', existing_type=sa.String(length=100), nullable=False)
        batch.create_index('ix_process_instance_business_key', ['business_key', 'process_key'], unique=False)
        batch.create_index('uq_process_instance_live', ['process_key', 'business_key'], unique=True,
                           postgresql_where=LIVE, sqlite_where=LIVE)

    with op.batch_alter_table('supervision_item') as batch:
        batch.add_column(sa.Column('reasons', sa.String(length=300), server_default='', nullable=False))
        batch.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('escalation_level', sa.String(length=30), nullable=True))
        batch.add_column(sa.Column('escalations', sa.JSON(), nullable=True))
        batch.create_foreign_key(FK, 'process_instance', ['instance_id'], ['id'])
    op.execute("UPDATE supervision_item SET reasons = ',' || reason || ','")


def downgrade():
    with op.batch_alter_table('supervision_item') as batch:
        batch.drop_constraint(FK, type_='foreignkey')
        batch.drop_column('escalations')
        batch.drop_column('escalation_level')
        batch.drop_column('instance_id')
        batch.drop_column('reasons')
    # one instance per business key again: the instances of processes started on their own go
    others = ("SELECT p.id FROM process_instance p JOIN deployment d ON d.id = p.deployment_id "
              "WHERE p.process_key <> d.process_key")
    for table in ("job", "user_task", "instance_migration"):
        op.execute(f"DELETE FROM {table} WHERE instance_id IN ({others})")
    op.execute(f"UPDATE history_event SET instance_id = NULL WHERE instance_id IN ({others})")
    op.execute(f"DELETE FROM process_instance WHERE id IN ({others})")
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_index('uq_process_instance_live', postgresql_where=LIVE, sqlite_where=LIVE)
        batch.drop_index('ix_process_instance_business_key')
        batch.drop_column('process_key')
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint(OLD_PG, 'process_instance', ['business_key'])
    else:
        with op.batch_alter_table('process_instance') as batch:
            batch.create_unique_constraint(OLD_SQLITE, ['business_key'])
