"""The models and the Alembic migrations agree, so a deployed database can always be upgraded,
and an upgrade keeps what a database held."""
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from runtime import schema
from runtime.db import Base


def test_migrated_schema_matches_the_models(db):
    # the session database was created by `schema.upgrade` (see conftest), not by create_all
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_the_business_key_upgrade_keeps_instances_tasks_history_and_the_outbox(empty_database):
    """0009 renames appeal_id to business_key and drops the runtime's foreign keys into the
    hotline's tables: rows written before it are all still there, under the same key; versions
    deployed before it get the declarations of the diagram (statuses with labels, milestones),
    past completions the milestones they reached and open tasks the milestones they may reach."""
    db = empty_database
    schema.upgrade(db, "0008")
    with db.engine.begin() as conn:
        _an_appeal_being_handled(conn)
        old_spec = {"spec": {"task_specs": {
            "end_archived": {"bpmn_id": "end_archived", "typename": "EndEvent", "extensions": {}},
            "ut_reply": {"bpmn_id": "ut_reply", "typename": "UserTask",
                         "extensions": {"properties": {"appealStatus": "replying", "candidateRoles": "organizer_staff"}}}}},
            "subprocess_specs": {"revisit": {"task_specs": {"tm_handling_due": {"bpmn_id": "tm_handling_due"}}}}}
        conn.execute(text("INSERT INTO deployment (id, process_key, version, content_hash, files, spec, deployed_at) "
                          "VALUES (1, 'appeal_handling', 1, 'h', '{}', :spec, '2026-12-01 02:00:00')"),
                     {"spec": json.dumps(old_spec)})
        conn.execute(text("INSERT INTO process_instance (id, deployment_id, appeal_id, status, state, "
                          "serializer_version, version, started_at, updated_at) VALUES (5, 1, 41, 'running', '{}', "
                          "'1', 1, '2026-12-01 02:00:00', '2026-12-01 02:00:00')"))
        conn.execute(text("INSERT INTO user_task (id, instance_id, appeal_id, bpmn_id, name, candidate_roles, "
                          "created_at, state) VALUES ('t1', 5, 41, 'ut_return_visit', '回访评价', 'return_visit_staff', "
                          "'2026-12-01 02:00:00', 'open')"))
        conn.execute(text("INSERT INTO history_event (appeal_id, instance_id, at, action) VALUES "
                          "(41, 5, '2026-12-01 02:00:00', 'process_started')"))
        for bpmn_id, detail in (("ut_sign_for", {"sign_decision": "return", "return_reason": "x"}),
                                ("ut_sign_for", {"sign_decision": "sign"}),
                                ("ut_reply", {"reply_method": "phone", "appellant_reached": True}),
                                ("ut_reply", {"reply_method": "sms", "appellant_reached": False})):
            conn.execute(text("INSERT INTO history_event (appeal_id, instance_id, at, action, task_bpmn_id, detail) "
                              "VALUES (41, 5, '2026-12-01 03:00:00', 'task_completed', :t, :d)"),
                         {"t": bpmn_id, "d": json.dumps(detail)})
        conn.execute(text("INSERT INTO notification (appeal_id, channel, recipient, body, created_at, attempts) "
                          "VALUES (41, 'sms', '138', 'hi', '2026-12-01 02:00:00', 0)"))
    schema.upgrade(db)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT business_key FROM process_instance WHERE id = 5")).scalar() == 41
        assert conn.execute(text("SELECT business_key, milestones FROM user_task WHERE id = 't1'")).one() == (
            41, ",appellant_evaluated,")
        assert set(conn.execute(text("SELECT DISTINCT business_key FROM history_event")).scalars()) == {41}
        reached = sorted(json.loads(d)["milestone"] if isinstance(d, str) else d["milestone"]
                         for d in conn.execute(text("SELECT detail FROM history_event "
                                                    "WHERE action = 'milestone_reached'")).scalars())
        assert reached == ["appellant_contacted", "replied", "replied", "returned", "signed_for"]
        spec = conn.execute(text("SELECT spec FROM deployment WHERE id = 1")).scalar()
        spec = json.loads(spec) if isinstance(spec, str) else spec
        tasks = spec["spec"]["task_specs"]
        assert tasks["end_archived"]["extensions"]["properties"]["appealStatus"] == "archived"
        assert tasks["ut_reply"]["extensions"]["properties"] == {
            "appealStatus": "replying", "candidateRoles": "organizer_staff", "appealStatusLabel": "待答复",
            "appealStatusLabelEn": "Awaiting the reply", "milestone:replied": "",
            "milestone:appellant_contacted": "appellant_reached"}
        assert spec["subprocess_specs"]["revisit"]["task_specs"]["tm_handling_due"]["extensions"] == {
            "properties": {"deadline": "handling"}}
        assert conn.execute(text("SELECT business_key FROM notification")).scalar() == 41
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_supervision_upgrade_names_each_instances_process_and_allows_one_live_instance_per_process(
        empty_database):
    """0011: an instance names the process it runs (its deployment's main one, for every instance
    before it); a business key may then have one live instance of each process, no longer one
    instance at all (a supervision item's process beside the appeal's, Art. 24); a supervision
    item keeps every reason it was opened for, its own first."""
    db = empty_database
    schema.upgrade(db, "0010")
    with db.engine.begin() as conn:
        _an_appeal_being_handled(conn, simple="false")
        conn.execute(text("INSERT INTO deployment (id, process_key, version, content_hash, files, spec, deployed_at) "
                          "VALUES (1, 'appeal_handling', 1, 'h', '{}', '{}', '2026-12-01 02:00:00')"))
        conn.execute(text("INSERT INTO process_instance (id, deployment_id, business_key, status, state, "
                          "serializer_version, version, started_at, updated_at) VALUES (5, 1, 41, 'running', '{}', "
                          "'1', 1, '2026-12-01 02:00:00', '2026-12-01 02:00:00')"))
        conn.execute(text("INSERT INTO supervision_item (id, appeal_id, reason, source, status, opened_at) "
                          "VALUES (3, 41, 'long_overdue', 'auto', 'open', '2026-12-01 02:00:00')"))
    schema.upgrade(db)
    insert = text("INSERT INTO process_instance (id, deployment_id, process_key, business_key, status, state, "
                  "serializer_version, version, started_at, updated_at) VALUES (:id, 1, :key, 41, :status, '{}', "
                  "'1', 1, '2026-12-01 02:00:00', '2026-12-01 02:00:00')")
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT process_key FROM process_instance WHERE id = 5")).scalar() == "appeal_handling"
        assert conn.execute(text("SELECT reasons, instance_id, escalation_level FROM supervision_item")).one() == (
            ",long_overdue,", None, None)
        conn.execute(insert, {"id": 6, "key": "supervision", "status": "completed"})
        conn.execute(insert, {"id": 7, "key": "supervision", "status": "running"})
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert, {"id": 8, "key": "supervision", "status": "suspended"})
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert, {"id": 9, "key": "appeal_handling", "status": "running"})


def _an_appeal_being_handled(conn, **later_columns) -> None:
    """Appeal 41 in region 1, with the columns of the schema version at hand (`later_columns`:
    those added after 0008, with their SQL values)."""
    columns = {"id": "41", "number": "'FJ20261201-000001'", "appeal_type": "'complaint'", "channel": "'phone'",
               "status": "'handling'", "title": "'t'", "content": "'c'", "urgent": "false",
               "convenience_list": "false", "confidential": "false", "emergency": "false",
               "accepted_at": "'2026-12-01 02:00:00'", "deadlines_provisional": "false", "extension_days": "0",
               "rehandle_count": "0", "return_count": "0", "updated_at": "'2026-12-01 02:00:00'", **later_columns}
    conn.execute(text("INSERT INTO region (id, code, name, level) VALUES (1, '350000', '福建省', 'province')"))
    conn.execute(text(f"INSERT INTO appeal ({', '.join(columns)}) VALUES ({', '.join(columns.values())})"))


def test_0013_keeps_only_the_final_state_of_instances_that_ended_before_it(db, walk, unit_id, monkeypatch):
    """Issue 14: an instance archived before 0013 kept its whole task tree; the upgrade's data
    step leaves it its final data and what completed, the form the monitor draws from now."""
    import importlib.util
    from pathlib import Path

    from runtime import serializer
    from runtime.models import ProcessInstance
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0013_pages_rough_edges.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    with monkeypatch.context() as old_code:  # what saving an ended instance did before 0013
        old_code.setattr(serializer, "ended_state", serializer.state_to_dict)
        appeal_id = walk.to_signed(unit_id=unit_id)
        walk.to_replied(appeal_id)
        walk.complete(appeal_id, "revisit1", "ut_return_visit",
                      {"visit_method": "phone", "evaluation": "satisfied", "resolved": True})
    with db.read() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == appeal_id,
                                                           ProcessInstance.process_key == "appeal_handling"))
        assert row.status == "completed" and "tasks" in row.state  # the whole tree, as it was
        whole = len(json.dumps(row.state))
    with db.engine.begin() as conn:
        migration.compact_ended_instances(conn)
        migration.compact_ended_instances(conn)  # again: nothing left to do, nothing broken
    with db.read() as session:
        state = session.get(ProcessInstance, row.id).state
    assert serializer.is_ended(state) and len(json.dumps(state)) < whole / 5
    assert serializer.ended_data(state)["appeal_id"] == appeal_id
    counts = {k: v for node in state["ended"]["nodes"] for k, v in node["completed"].items()}
    assert counts["ut_assess"] == 1 and counts["ut_return_visit"] == 1
