"""generic runtime tables: instances, tasks, history and the outbox carry a business key, and the
runtime's tables keep actors and units as plain ids (no foreign keys into the hotline's tables);
user tasks keep the milestones they may reach

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# SQLite keeps foreign keys unnamed: batch mode names the reflected ones by this convention.
CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
DROPPED = {  # table -> [(column, referred table)]
    "process_instance": [("appeal_id", "appeal")],
    "user_task": [("appeal_id", "appeal"), ("unit_id", "organizer_unit"), ("claimed_by_id", "app_user"),
                  ("completed_by_id", "app_user")],
    "history_event": [("appeal_id", "appeal"), ("actor_id", "app_user")],
    "notification": [("appeal_id", "appeal")],
    "process_draft": [("updated_by_id", "app_user")],
    "instance_migration": [("migrated_by_id", "app_user"), ("reverted_by_id", "app_user")],
    "migration_batch": [("requested_by_id", "app_user")],
}
RENAMED = ("process_instance", "user_task", "history_event", "notification")
OLD_INDEXES = {"user_task": ("ix_user_task_appeal_id", ["appeal_id"]),
               "history_event": ("ix_history_appeal_at", ["appeal_id", "at"]),
               "notification": ("ix_notification_appeal_id", ["appeal_id"])}
NEW_INDEXES = {"user_task": ("ix_user_task_business_key", ["business_key"]),
               "history_event": ("ix_history_key_at", ["business_key", "at"]),
               "notification": ("ix_notification_business_key", ["business_key"])}


def _fk_name(table, column, referred):
    if op.get_bind().dialect.name == "sqlite":
        return CONVENTION["fk"] % {"table_name": table, "column_0_name": column, "referred_table_name": referred}
    return f"{table}_{column}_fkey"


def upgrade():
    for table, foreign_keys in DROPPED.items():
        with op.batch_alter_table(table, naming_convention=CONVENTION) as batch_op:
            if table in OLD_INDEXES:
                batch_op.drop_index(OLD_INDEXES[table][0])
            for column, referred in foreign_keys:
                batch_op.drop_constraint(_fk_name(table, column, referred), type_="foreignkey")
            if table in RENAMED:
                batch_op.alter_column("appeal_id", new_column_name="business_key")
    for table, (name, columns) in NEW_INDEXES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("user_task") as batch_op:
        batch_op.add_column(sa.Column("milestones", sa.String(length=300), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("user_task") as batch_op:
        batch_op.drop_column("milestones")
    for table, (name, _columns) in NEW_INDEXES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(name)
    for table, foreign_keys in DROPPED.items():
        with op.batch_alter_table(table) as batch_op:
            if table in RENAMED:
                batch_op.alter_column("business_key", new_column_name="appeal_id")
            for column, referred in foreign_keys:
                batch_op.create_foreign_key(_fk_name(table, column, referred), referred, [column], ["id"])
            if table in OLD_INDEXES:
                batch_op.create_index(OLD_INDEXES[table][0], OLD_INDEXES[table][1], unique=False)
