"""pages' rough edges (issue 13): units ask for contact access, phone numbers in E.164,
English names for knowledge categories

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:45:00
"""
from alembic import op
import sqlalchemy as sa
import runtime.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # -- contact access requests --
    pending = sa.text("state = 'pending'")
    op.create_table('contact_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', runtime.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('refusal_reason', sa.String(length=500), nullable=True),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ),
    sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['grant_id'], ['contact_grant.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['organizer_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('contact_request', schema=None) as batch_op:
        batch_op.create_index('ix_contact_request_appeal_unit', ['appeal_id', 'unit_id'], unique=False)
        batch_op.create_index('uq_contact_request_pending', ['appeal_id', 'unit_id'], unique=True,
                              postgresql_where=pending, sqlite_where=pending)
        batch_op.create_index('ix_contact_request_pending_at', ['requested_at'], unique=False,
                              postgresql_where=pending, sqlite_where=pending)
    # -- phone numbers in E.164 --
    # Stored numbers the app's own rule (hotline.phones) can read become E.164; the rest stay as
    # they were (shown and masked as stored). The SMS outbox follows, so retention still finds
    # the messages sent to an anonymised number.
    _numbers_to_e164('appellant_contact', 'phone', "anonymized_at IS NULL")
    _numbers_to_e164('notification', 'recipient', "channel = 'sms'")
    # -- English names --
    # a knowledge category's English name, kept on the articles of that category (hotline.knowledge)
    with op.batch_alter_table('knowledge_article', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_en', sa.String(length=50), nullable=True))
    # -- task drafts --
    op.create_table('task_draft',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('updated_at', runtime.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['user_task.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('task_id', 'user_id')
    )
    # -- appeal title bigrams (issue 14) --
    op.create_table('appeal_gram',
    sa.Column('gram', sa.String(length=2), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('gram', 'appeal_id')
    )
    _index_titles()
    # -- ended instances keep their final state (issue 14) --
    compact_ended_instances(op.get_bind())
    # -- API paging indexes --
    # GET /api/v1/tasks reads a unit's open tasks in (due_at, id) order from a cursor on
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.create_index('ix_user_task_open_unit_due', ['unit_id', 'due_at', 'id'], unique=False,
                              postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'"))


def _index_titles(batch=5000):
    from hotline.title_search import rows as grams
    bind, last = op.get_bind(), 0
    while True:
        found = bind.execute(sa.text("SELECT id, title FROM appeal WHERE id > :last ORDER BY id LIMIT :batch"),
                             {"last": last, "batch": batch}).all()
        if not found:
            return
        pieces = [g for appeal_id, title in found for g in grams(appeal_id, title)]
        if pieces:
            bind.execute(sa.text("INSERT INTO appeal_gram (gram, appeal_id) VALUES (:gram, :appeal_id)"), pieces)
        last = found[-1][0]


def compact_ended_instances(bind, batch=200):
    """Ended instances keep their final data and what completed, not the task tree
    (runtime.serializer.ended_state); one that cannot be read back is left as it is.
    (tests/integration/test_migrations.py calls it on a tree stored the old way.)"""
    import json
    from runtime import serializer
    last, specs = 0, {}

    def as_dict(value):
        return json.loads(value) if isinstance(value, str) else value
    while True:
        found = bind.execute(sa.text(
            "SELECT id, deployment_id, process_key, state FROM process_instance "
            "WHERE status IN ('completed', 'terminated') AND id > :last ORDER BY id LIMIT :batch"),
            {"last": last, "batch": batch}).all()
        if not found:
            return
        changed = []
        for instance_id, deployment_id, process_key, state in found:
            state = as_dict(state)
            if serializer.is_ended(state):
                continue
            if deployment_id not in specs:
                key, spec = bind.execute(sa.text("SELECT process_key, spec FROM deployment WHERE id = :id"),
                                         {"id": deployment_id}).one()
                specs[deployment_id] = (key, *serializer.specs_from_dict(as_dict(spec)))
            main, spec, subs = specs[deployment_id]
            try:
                top = spec if process_key == main else subs[process_key]
                workflow = serializer.state_from_dict(state, top, subs, None)
                changed.append({"id": instance_id, "state": json.dumps(serializer.ended_state(workflow))})
            except Exception:  # noqa: BLE001 -- an unreadable tree stays whole rather than fail the upgrade
                continue
        if changed:
            cast = "CAST(:state AS JSON)" if bind.dialect.name == "postgresql" else ":state"
            bind.execute(sa.text(f"UPDATE process_instance SET state = {cast} WHERE id = :id"), changed)
        last = found[-1][0]


def _numbers_to_e164(table, column, where, batch=1000):
    from hotline.phones import e164
    bind, last = op.get_bind(), 0
    while True:
        rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {where} AND id > :last "
                                    "ORDER BY id LIMIT :batch"), {"last": last, "batch": batch}).all()
        if not rows:
            return
        changed = [{"id": i, "value": new} for i, value in rows if (new := e164(value)) not in (None, value)]
        if changed:
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"), changed)
        last = rows[-1][0]


def downgrade():
    # -- API paging indexes --
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index('ix_user_task_open_unit_due', postgresql_where=sa.text("state = 'open'"),
                            sqlite_where=sa.text("state = 'open'"))
    # -- ended instances keep their final state (issue 14) --
    # nothing to undo: an ended instance is never run again, and the monitor reads both forms
    # -- appeal title bigrams (issue 14) --
    op.drop_table('appeal_gram')
    # -- task drafts --
    op.drop_table('task_draft')
    # -- English names --
    with op.batch_alter_table('knowledge_article', schema=None) as batch_op:
        batch_op.drop_column('category_en')
    # -- phone numbers in E.164 --
    # nothing to undo: an E.164 number is a valid value before 0013 too (how it was typed is gone)
    # -- contact access requests --
    with op.batch_alter_table('contact_request', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_request_pending_at', postgresql_where=sa.text("state = 'pending'"),
                            sqlite_where=sa.text("state = 'pending'"))
        batch_op.drop_index('uq_contact_request_pending', postgresql_where=sa.text("state = 'pending'"),
                            sqlite_where=sa.text("state = 'pending'"))
        batch_op.drop_index('ix_contact_request_appeal_unit')

    op.drop_table('contact_request')
