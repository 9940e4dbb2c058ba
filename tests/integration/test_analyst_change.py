"""An analyst changes the complaint handling limit in the time-limit table, deploys, and
migrates a running appeal: new appeals and the migrated one (when it is re-handled) follow
the new limit; an appeal left on the old version keeps the old one."""
from datetime import datetime

from sqlalchemy import delete, select

from engine import clock, definitions, drafts, migration
from engine.calendar import TZ
from engine.models import Appeal, Job, ProcessInstance

DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _rehandle(walk, appeal_id):
    walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal_id, "supervisor1", "ut_find_responsibility", {"organizer_fault": True, "reason": "敷衍"})


def _due(db, appeal_id):
    with db.read() as session:
        return session.get(Appeal, appeal_id).handling_due_at


def test_a_new_complaint_limit_reaches_new_and_migrated_appeals(walk, unit_id, db, user):
    with db.transaction() as session:
        session.execute(delete(Job))
    clock.set_now(at("2026-03-02 10:00"))  # Monday
    files = definitions.read_bundle()
    try:
        migrated, untouched = (walk.to_signed(unit_id=unit_id) for _ in range(2))
        for appeal_id in (migrated, untouched):
            walk.to_replied(appeal_id)

        analyst = user("analyst1")
        table = files["time_limits.dmn"].replace('<outputEntry id="rule_complaint_handling"><text>"10wd"</text>',
                                                 '<outputEntry id="rule_complaint_handling"><text>"12wd"</text>')
        assert table != files["time_limits.dmn"]
        drafts.save_draft(db, "time_limits.dmn", table, analyst)
        deployment, created = drafts.deploy(db, analyst)
        assert created

        with db.read() as session:
            instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.appeal_id == migrated))
            plan = {c.instance_id: c for c in migration.preview(session, deployment.id, [instance_id])}
        assert plan[instance_id].eligible
        moved, refused = migration.migrate(db, deployment.id, [instance_id], user("owner1"))
        assert moved == [instance_id] and not refused

        fresh = walk.to_signed(unit_id=unit_id)  # dispatched now: 12 working days
        assert _due(db, fresh) == at("2026-03-18 17:30")
        _rehandle(walk, migrated)  # the migrated appeal's new handling limit follows the new table
        assert _due(db, migrated) == at("2026-03-18 17:30")
        _rehandle(walk, untouched)  # the one left on its version keeps the old rule
        assert _due(db, untouched) == at("2026-03-16 17:30")
    finally:
        clock.set_now(None)
        with db.transaction() as session:  # later tests expect the repository's rules
            restored = dict(files)
            restored["appeal_handling.bpmn"] = files["appeal_handling.bpmn"].replace('name="办结"', 'name="办结 "', 1)
            definitions.deploy(session, restored, deployed_by="test")
