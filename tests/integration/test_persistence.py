"""Nothing lives only in memory: a process killed between steps continues from the database,
and running instances stay on the diagram version they started with."""
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from hotline import appeals
from hotline.models import Appeal
from runtime import repository as definitions
from runtime import tasks
from runtime.db import Database
from runtime.models import ProcessInstance, UserTask

from ..conftest import intake_data


def _open_task(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(UserTask).where(UserTask.business_key == appeal_id, UserTask.state == "open"))


def test_a_killed_process_continues_where_it_was(db, user, unit_id, monkeypatch):
    appeal = appeals.register(db, intake_data(), user("intake1"))
    tasks.complete(db, _open_task(db, appeal.id).id, {"assessment": "dispatch"}, user("intake1"))

    # "kill": drop every in-memory object, including the parsed-spec cache and the connection pool
    monkeypatch.setattr(definitions, "_spec_cache", {})
    fresh = Database(db.url)
    try:
        task = _open_task(fresh, appeal.id)
        assert task.bpmn_id == "ut_dispatch"
        tasks.complete(fresh, task.id, {"lead_unit_id": unit_id("gl_urban")}, user("dispatcher1"))
        task = _open_task(fresh, appeal.id)
        assert (task.bpmn_id, task.unit_id) == ("ut_sign_for", unit_id("gl_urban"))
        with fresh.read() as session:
            assert session.get(Appeal, appeal.id).status == "signing"
    finally:
        fresh.dispose()


def test_instances_stay_on_their_version_after_a_new_deployment(db, user):
    old = appeals.register(db, intake_data(), user("intake1"))
    files = definitions.read_bundle()
    changed = dict(files)
    changed["appeal_handling.bpmn"] = files["appeal_handling.bpmn"].replace('name="受理研判"', 'name="受理研判（新）"')
    with db.transaction() as session:
        first = definitions.latest(session)
        second, created = definitions.deploy(session, changed, deployed_by="test")
    assert created and second.version == first.version + 1
    # the changed version stays the latest; it differs from the original only in one label
    new = appeals.register(db, intake_data(), user("intake1"))
    assert _open_task(db, old.id).name == "受理研判"
    assert _open_task(db, new.id).name == "受理研判（新）"
    with db.read() as session:
        pinned = dict(session.execute(select(ProcessInstance.business_key, ProcessInstance.deployment_id)
                                      .where(ProcessInstance.business_key.in_([old.id, new.id]))).all())
    assert pinned == {old.id: first.id, new.id: second.id}
    tasks.complete(db, _open_task(db, old.id).id, {"assessment": "dispatch"}, user("intake1"))
    assert _open_task(db, old.id).bpmn_id == "ut_dispatch"
    with db.transaction() as session:  # deploying unchanged files again is a no-op
        again, created = definitions.deploy(session, changed)
    assert (again.id, created) == (second.id, False)


def test_restoring_a_state_leaves_it_as_it_was_read(db, walk, unit_id):
    """The state read from the database is restored without a deep copy (issue 14): restoring
    it twice gives the same workflow, and the dict itself is unchanged (subprocesses included)."""
    import json

    from runtime import repository, serializer
    appeal_id = walk.to_signed(unit_id=unit_id)  # waiting inside the handling subprocess
    with db.read() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == appeal_id))
        state, (spec, subs) = row.state, repository.process_specs(row.deployment, row.process_key)
        assert state["subprocesses"], "the appeal should be waiting in a subprocess"
        before = json.dumps(state, sort_keys=True)
        first = serializer.state_from_dict(state, spec, subs, None)
        second = serializer.state_from_dict(state, spec, subs, None)
    assert json.dumps(state, sort_keys=True) == before
    ready = [sorted(t.task_spec.bpmn_id for t in w.get_tasks(state=TaskState.READY, manual=True))
             for w in (first, second)]
    assert ready[0] == ready[1] and "ut_record_result" in ready[0]
    assert serializer.state_to_dict(first) == serializer.state_to_dict(second) == json.loads(before)
