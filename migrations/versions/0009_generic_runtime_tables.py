"""generic runtime tables: instances, tasks, history and the outbox carry a business key, and the
runtime's tables keep actors and units as plain ids (no foreign keys into the hotline's tables);
user tasks keep the milestones they may reach

Data: versions deployed before this revision declared statuses without labels and no milestones
or deadline stages on timers; their specs get the declarations the diagram of this revision
makes (by the element ids those versions had), so appeals still running on them keep their
statuses, milestones and recomputable timers. History gets the milestone rows past completions
reached (evaluation's response rate, the dispatch page's return reason read them now), and open
task rows the milestones they may reach.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""
import json

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


# What processes/appeal_handling.bpmn, revisit.bpmn and extension_request.bpmn declare as of
# this revision, by the ids of the versions before it.
STATUSES = {
    "start_registered": ("registered", "已登记", "Registered"),
    "ut_assess": ("assessing", "待研判", "Awaiting assessment"),
    "ut_dispatch": ("dispatching", "待派单", "Awaiting dispatch"),
    "ut_sign_for": ("signing", "待签收", "Awaiting sign-for"),
    "ut_handle_return": ("returned", "退回待审核", "Returned, under review"),
    "ut_assign_handler": ("handling", "办理中", "Being handled"),
    "ut_co_handle": ("handling", "办理中", "Being handled"),
    "ut_first_contact": ("handling", "办理中", "Being handled"),
    "ut_record_result": ("handling", "办理中", "Being handled"),
    "ut_leader_review": ("reviewing", "待领导审核", "Awaiting the leader's review"),
    "ut_reply": ("replying", "待答复", "Awaiting the reply"),
    "end_not_accepted": ("not_accepted", "不予受理", "Not accepted"),
    "end_archived": ("archived", "已办结", "Closed"),
    "ut_leader_consent": ("extension_pending", "延期审批中", "Extension pending"),
    "ut_platform_approval": ("extension_pending", "延期审批中", "Extension pending"),
    "ut_return_visit": ("verifying", "待回访核实", "Awaiting verification"),
    "ut_find_responsibility": ("verifying", "待回访核实", "Awaiting verification"),
}
MILESTONES = {
    "ut_assess": {"assessed": ""},
    "ut_dispatch": {"dispatched": ""},
    "ut_sign_for": {"signed_for": 'sign_decision == "sign"', "returned": 'sign_decision == "return"'},
    "ut_handle_return": {"return_reviewed": ""},
    "ut_reply": {"replied": "", "appellant_contacted": "appellant_reached"},
    "ut_return_visit": {"appellant_evaluated": ""},
}
TIMERS = {"tm_dispatch_warn": "dispatch", "tm_dispatch_due": "dispatch", "tm_sign_for_warn": "sign_for",
          "tm_sign_for_due": "sign_for", "tm_first_contact_warn": "first_contact",
          "tm_first_contact_due": "first_contact", "tm_handling_warn": "handling", "tm_handling_due": "handling"}
# past completions -> (milestone, SQLite condition on detail, PostgreSQL condition on detail)
PAST = [("ut_assess", "assessed", "1", "true"), ("ut_dispatch", "dispatched", "1", "true"),
        ("ut_sign_for", "signed_for", "json_extract(detail, '$.sign_decision') = 'sign'",
         "detail->>'sign_decision' = 'sign'"),
        ("ut_sign_for", "returned", "json_extract(detail, '$.sign_decision') = 'return'",
         "detail->>'sign_decision' = 'return'"),
        ("ut_handle_return", "return_reviewed", "1", "true"), ("ut_reply", "replied", "1", "true"),
        ("ut_reply", "appellant_contacted", "json_extract(detail, '$.appellant_reached') = 1",
         "detail->>'appellant_reached' = 'true'"),
        ("ut_return_visit", "appellant_evaluated", "1", "true")]


def _declare(spec: dict) -> bool:
    """Add this revision's declarations to one serialized process spec; True if it changed."""
    changed = False
    for task in spec.get("task_specs", {}).values():
        bpmn_id = task.get("bpmn_id")
        props = dict(task.get("extensions", {}).get("properties", {}))
        before = dict(props)
        if bpmn_id in STATUSES:
            status, zh, en = STATUSES[bpmn_id]
            props.setdefault("appealStatus", status)
            if props["appealStatus"] == status:
                props.setdefault("appealStatusLabel", zh)
                props.setdefault("appealStatusLabelEn", en)
        for name, condition in MILESTONES.get(bpmn_id, {}).items():
            props.setdefault(f"milestone:{name}", condition)
        if bpmn_id in TIMERS:
            props.setdefault("deadline", TIMERS[bpmn_id])
        if props != before:
            task.setdefault("extensions", {})["properties"] = props
            changed = True
    return changed


def _declare_old_versions(bind):
    rows = bind.execute(sa.text("SELECT id, spec FROM deployment")).all()
    for deployment_id, spec in rows:
        spec = json.loads(spec) if isinstance(spec, str) else spec
        if not spec:
            continue
        changed = _declare(spec.get("spec", {}))
        for sub in spec.get("subprocess_specs", {}).values():
            changed = _declare(sub) or changed
        if changed:
            bind.execute(sa.text("UPDATE deployment SET spec = :spec WHERE id = :id").bindparams(
                sa.bindparam("spec", type_=sa.JSON)), {"spec": spec, "id": deployment_id})


def _backfill_milestones(bind):
    sqlite = bind.dialect.name == "sqlite"
    for bpmn_id, milestone, sqlite_condition, pg_condition in PAST:
        detail = json.dumps({"milestone": milestone})
        value = f"'{detail}'" if sqlite else f"CAST('{detail}' AS JSON)"
        bind.execute(sa.text(
            "INSERT INTO history_event (business_key, instance_id, actor_id, at, action, task_bpmn_id, task_name, "
            f"detail) SELECT business_key, instance_id, actor_id, at, 'milestone_reached', task_bpmn_id, task_name, "
            f"{value} FROM history_event WHERE action = 'task_completed' AND task_bpmn_id = :bpmn_id "
            f"AND {sqlite_condition if sqlite else pg_condition}"), {"bpmn_id": bpmn_id})
    for bpmn_id, names in MILESTONES.items():
        bind.execute(sa.text("UPDATE user_task SET milestones = :m WHERE bpmn_id = :bpmn_id"),
                     {"m": f",{','.join(sorted(names))},", "bpmn_id": bpmn_id})


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
    bind = op.get_bind()
    _declare_old_versions(bind)
    _backfill_milestones(bind)


def downgrade():
    op.execute("DELETE FROM history_event WHERE action = 'milestone_reached'")
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
