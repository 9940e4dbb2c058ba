"""Moving running instances to a new version (runtime/migration.py): preview, migrate, run to the
end on both versions, revert.

The test database is shared and new appeals start on the newest version, so every version
deployed here behaves like the one before it for new appeals, and the one test that deploys a
version without a step deploys a harmless variant after it."""
import re

import pytest
from sqlalchemy import select

from hotline.models import Appeal
from runtime import migration, validation
from runtime import repository as definitions
from runtime.errors import Conflict
from runtime.models import HistoryEvent, InstanceMigration, ProcessInstance

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}


def variant(files: dict, end_label: str, **replace) -> dict:
    """The bundle with the archive end event relabelled and text replaced in appeal_handling.bpmn."""
    changed = dict(files)
    text = re.sub(r'(<bpmn:endEvent id="end_archived" name=")[^"]*"', rf'\g<1>{end_label}"',
                  files["appeal_handling.bpmn"])
    for old, new in replace.items():
        assert old in text, old  # a variant that changes nothing would test nothing
        text = text.replace(old, new)
    changed["appeal_handling.bpmn"] = text
    assert validation.check(changed) == []
    return changed


def deploy(db, files):
    with db.transaction() as session:
        deployment, created = definitions.deploy(session, files, deployed_by="test")
        assert created
        return deployment.id


def latest_files(db):
    with db.read() as session:
        return dict(definitions.latest(session).files)


def instance(db, appeal_id) -> ProcessInstance:
    with db.read() as session:
        return session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == appeal_id))


def at_dispatch(walk):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    return appeal["id"]


def finish_from_dispatch(walk, appeal_id, unit_id):
    walk.complete(appeal_id, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban"), "co_unit_ids": []})
    walk.complete(appeal_id, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_assign_handler", walk.assignment())
    finish_from_record(walk, appeal_id)


def finish_from_record(walk, appeal_id):
    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit", SATISFIED)
    assert walk.detail(appeal_id)["appeal"]["status"] == "archived"


def test_label_change_every_instance_moves_and_both_versions_run_to_the_end(db, walk, unit_id, user):
    assessing = walk.register()["id"]
    dispatching = at_dispatch(walk)
    handling = walk.to_signed(unit_id=unit_id)
    appeals = [assessing, dispatching, handling]
    old = {a: instance(db, a) for a in appeals}
    v2 = deploy(db, variant(latest_files(db), "办结（标签调整）"))

    with db.read() as session:
        found = {c.instance_id: c for c in migration.preview(session, v2, [i.id for i in old.values()])}
    assert set(found) == {i.id for i in old.values()} and all(c.eligible for c in found.values())
    assert found[old[handling].id].current == ["填报办理结果"]
    assert found[old[assessing].id].current == ["受理研判"]

    moved, refused = migration.migrate(db, v2, [old[assessing].id, old[handling].id], user("owner1"))
    assert sorted(moved) == sorted([old[assessing].id, old[handling].id]) and refused == {}
    assert instance(db, assessing).deployment_id == v2 and instance(db, handling).deployment_id == v2
    assert instance(db, dispatching).deployment_id == old[dispatching].deployment_id != v2
    assert walk.open_tasks(handling) == ["ut_record_result"]  # the inbox still shows the same step

    walk.complete(assessing, "intake1", "ut_assess", {"assessment": "dispatch"})
    finish_from_dispatch(walk, assessing, unit_id)
    finish_from_dispatch(walk, dispatching, unit_id)
    finish_from_record(walk, handling)
    for appeal_id, expected in ((assessing, v2), (handling, v2), (dispatching, old[dispatching].deployment_id)):
        row = instance(db, appeal_id)
        assert (row.status, row.deployment_id) == ("completed", expected)
    with db.read() as session:
        events = session.scalars(select(HistoryEvent).where(HistoryEvent.action == "process_migrated",
                                                            HistoryEvent.business_key == handling)).all()
    assert len(events) == 1 and events[0].detail["to_version"] > events[0].detail["from_version"]


def test_a_removed_step_blocks_the_move_and_a_migration_can_be_reverted(db, walk, unit_id, user):
    co_handling = walk.to_signed(unit_id=unit_id, co=("gl_gov",))
    assert "ut_co_sign_for" in walk.open_tasks(co_handling)  # inside the co-organizers' call activity
    back, moves_on = at_dispatch(walk), at_dispatch(walk)
    ids = {a: instance(db, a).id for a in (co_handling, back, moves_on)}
    v1 = instance(db, back).deployment_id
    base = latest_files(db)
    v3 = deploy(db, variant(base, "办结（协办改名）", call_co_handling="call_co_feedback"))
    try:
        with db.read() as session:
            found = {c.instance_id: c for c in migration.preview(session, v3, list(ids.values()))}
        assert not found[ids[co_handling]].eligible
        assert "协办单位办理" in found[ids[co_handling]].reason and "新版本中" in found[ids[co_handling]].reason
        assert found[ids[back]].eligible and found[ids[moves_on]].eligible

        moved, refused = migration.migrate(db, v3, list(ids.values()), user("owner1"))
        assert sorted(moved) == sorted([ids[back], ids[moves_on]])
        assert "协办单位办理" in refused[ids[co_handling]]
        assert instance(db, co_handling).deployment_id == v1
    finally:  # new appeals must not start on the version without call_co_handling
        deploy(db, variant(base, "办结（恢复）"))

    with db.read() as session:
        done = {m.instance_id: m.id for m in session.scalars(
            select(InstanceMigration).where(InstanceMigration.instance_id.in_([ids[back], ids[moves_on]])))}
    migration.revert(db, done[ids[back]], user("owner1"))
    assert instance(db, back).deployment_id == v1
    with pytest.raises(Conflict):
        migration.revert(db, done[ids[back]], user("owner1"))  # already reverted
    finish_from_dispatch(walk, back, unit_id)
    assert (instance(db, back).status, instance(db, back).deployment_id) == ("completed", v1)

    walk.complete(moves_on, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban"), "co_unit_ids": []})
    with pytest.raises(Conflict):
        migration.revert(db, done[ids[moves_on]], user("owner1"))
    assert instance(db, moves_on).deployment_id == v3
    with db.read() as session:
        actions = [e.action for e in session.scalars(select(HistoryEvent).where(
            HistoryEvent.business_key == back).order_by(HistoryEvent.id))]
        assert session.get(Appeal, back).status == "archived"
    assert actions.count("process_migrated") == 1 and actions.count("process_migration_reverted") == 1


def with_a_first_step(files: dict) -> dict:
    """A version with a script step right after the start event (as an analyst would draw it)."""
    return variant(files, "办结（加登记备注）", **{
        '<bpmn:sequenceFlow id="f_start" sourceRef="start_registered" targetRef="script_init" />':
            '<bpmn:sequenceFlow id="f_start" sourceRef="start_registered" targetRef="script_noted" />'
            '<bpmn:scriptTask id="script_noted" name="登记备注" scriptFormat="python">'
            '<bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_noted</bpmn:outgoing>'
            '<bpmn:script>noted = True</bpmn:script></bpmn:scriptTask>'
            '<bpmn:sequenceFlow id="f_noted" sourceRef="script_noted" targetRef="script_init" />',
        "<bpmn:incoming>f_start</bpmn:incoming>": "<bpmn:incoming>f_noted</bpmn:incoming>",
        "<bpmn:flowNodeRef>start_registered</bpmn:flowNodeRef>":
            "<bpmn:flowNodeRef>start_registered</bpmn:flowNodeRef><bpmn:flowNodeRef>script_noted</bpmn:flowNodeRef>",
        '<bpmndi:BPMNShape id="start_registered_di" bpmnElement="start_registered">':
            '<bpmndi:BPMNShape id="script_noted_di" bpmnElement="script_noted"><dc:Bounds x="280" y="20" '
            'width="60" height="40" /></bpmndi:BPMNShape><bpmndi:BPMNEdge id="f_noted_di" bpmnElement="f_noted">'
            '<di:waypoint x="340" y="40" /><di:waypoint x="350" y="110" /></bpmndi:BPMNEdge>'
            '<bpmndi:BPMNShape id="start_registered_di" bpmnElement="start_registered">'})


def test_a_step_already_done_that_the_new_version_removes_blocks_the_move(db, walk, user):
    """The instance's tree keeps the steps it passed; were their specs gone it could not be
    loaded again, so it stays where it is (and keeps running there)."""
    base = latest_files(db)
    deploy(db, with_a_first_step(base))
    try:
        dispatching = at_dispatch(walk)  # passed 登记备注
    finally:
        without = deploy(db, variant(base, "办结（去掉登记备注）"))
    old = instance(db, dispatching)
    with db.read() as session:
        (candidate,) = migration.preview(session, without, [old.id])
    assert not candidate.eligible and candidate.problems == [("history_removed", "登记备注")]
    assert candidate.reason == "已办理的环节「登记备注」在新版本中已删除"
    moved, refused = migration.migrate(db, without, [old.id], user("owner1"))
    assert not moved and refused == {old.id: candidate.reason}
    assert instance(db, dispatching).deployment_id == old.deployment_id
    walk.complete(dispatching, "dispatcher1", "ut_dispatch", {"co_unit_ids": []}, expect=400)
    assert walk.open_tasks(dispatching) == ["ut_dispatch"]
