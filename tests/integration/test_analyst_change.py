"""An analyst changes the complaint handling limit in the time-limit table, deploys, and
migrates a running appeal: new appeals and the migrated one (when it is re-handled) follow
the new limit; an appeal left on the old version keeps the old one. A migration may also apply
the new limit to the stage in progress, and a revert takes it back."""
from datetime import datetime

from sqlalchemy import delete, func, select

from hotline.models import Appeal
from runtime import clock, drafts, migration
from runtime import repository as definitions
from runtime.models import Job, ProcessInstance, UserTask
from workdays.calendar import TZ

from ..conftest import redeploy_repository

DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _rehandle(walk, appeal_id):
    walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal_id, "supervisor1", "ut_find_responsibility", {"organizer_fault": True, "reason": "敷衍"})


def _due(db, appeal_id):
    with db.read() as session:
        return session.get(Appeal, appeal_id).handling_due_at


def _deploy_twelve_days(db, files, analyst):
    table = files["time_limits.dmn"].replace('<outputEntry id="rule_complaint_handling"><text>"10wd"</text>',
                                             '<outputEntry id="rule_complaint_handling"><text>"12wd"</text>')
    assert table != files["time_limits.dmn"]
    drafts.save_draft(db, "time_limits.dmn", table, analyst)
    deployment, created = drafts.deploy(db, analyst)
    assert created
    return deployment


def _instance(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal_id))


def test_a_new_complaint_limit_reaches_new_and_migrated_appeals(walk, unit_id, db, user):
    with db.transaction() as session:
        session.execute(delete(Job))
    clock.set_now(at("2026-03-02 10:00"))  # Monday
    files = definitions.read_bundle()
    try:
        migrated, untouched = (walk.to_signed(unit_id=unit_id) for _ in range(2))
        for appeal_id in (migrated, untouched):
            walk.to_replied(appeal_id)

        deployment = _deploy_twelve_days(db, files, user("analyst1"))

        instance_id = _instance(db, migrated)
        with db.read() as session:
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
        redeploy_repository(db, files)


def _handling_due(db, appeal_id):
    """(the appeal's handling deadline, its open task's due time, its latest timer: overdue)"""
    instance_id = _instance(db, appeal_id)
    with db.read() as session:
        task_due = session.scalar(select(UserTask.due_at).where(UserTask.business_key == appeal_id,
                                                                UserTask.state == "open"))
        timer_due = session.scalar(select(func.max(Job.due_at)).where(Job.instance_id == instance_id,
                                                                      Job.name == "办理超期"))
    return _due(db, appeal_id), task_due, timer_due


def test_a_migration_can_apply_the_new_limit_to_the_stage_in_progress_and_a_revert_takes_it_back(
        walk, unit_id, db, user):
    with db.transaction() as session:
        session.execute(delete(Job))
    clock.set_now(at("2026-03-02 10:00"))  # Monday
    files = definitions.read_bundle()
    try:
        handling = walk.to_signed(unit_id=unit_id)  # handling from today: 10 working days
        signing = walk.register()["id"]  # dispatched: the handling limit already runs
        walk.complete(signing, "intake1", "ut_assess", {"assessment": "dispatch"})
        walk.complete(signing, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban"), "co_unit_ids": []})
        visiting = walk.to_signed(unit_id=unit_id)
        walk.to_replied(visiting)  # handled already: waits for the return visit
        old_due = at("2026-03-16 17:30")
        assert _handling_due(db, handling) == (old_due, old_due, old_due)

        deployment = _deploy_twelve_days(db, files, user("analyst1"))
        ids = [_instance(db, handling), _instance(db, visiting), _instance(db, signing)]
        with db.read() as session:
            plan = {c.business_key: c for c in migration.preview(session, deployment.id, ids)}
        assert plan[handling].changes == {"handling": ("10wd", "12wd")}
        assert plan[signing].changes == {"handling": ("10wd", "12wd")}
        assert plan[visiting].changes == {}  # its handling stage is over

        moved, refused = migration.migrate(db, deployment.id, ids, user("owner1"), apply_limits=True)
        assert moved == ids and not refused
        new_due = at("2026-03-18 17:30")
        assert _handling_due(db, handling) == (new_due, new_due, new_due)
        redeploy_repository(db, deployment.files)  # the same rules, another label: a newer version
        with db.read() as session:
            latest = definitions.latest(session).id
        assert migration.migrate(db, latest, [ids[2]], user("owner1")) == ([ids[2]], {})  # moved again
        with db.read() as session:  # the deadlines it was given stay with it
            assert session.scalar(select(UserTask.due_at).where(UserTask.business_key == signing,
                                                                UserTask.state == "open")) == at("2026-03-03 17:30")
        walk.complete(signing, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
        assert _handling_due(db, signing) == (new_due, new_due, new_due)  # its timers start from it
        with db.read() as session:
            assert session.get(Appeal, visiting).handling_due_at == old_due

        with db.read() as session:
            records = {m.instance_id: m for m in migration.list_migrations(session) if m.instance_id in ids}
        assert records[ids[0]].limits == {"handling": ["10wd", "12wd"]} and records[ids[1]].limits == {}
        assert records[ids[2]].limits == {"handling": ["10wd", "12wd"]}
        migration.revert(db, records[ids[0]].id, user("owner1"))
        assert _handling_due(db, handling) == (old_due, old_due, old_due)
    finally:
        clock.set_now(None)
        redeploy_repository(db, files)
