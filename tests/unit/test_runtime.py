"""The generic runtime on its own: a small diagram of its own (tests/data/runtime), its own
registry, a throw-away SQLite file, no web layer and no hotline hooks. It starts an instance by
business key, runs a registered operator, projects the user task, completes it with its form,
records the milestones the diagram declares, and the status the diagram declares follows each
step (hotline.statuses.current, read by an extension of the test's own)."""
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

import hotline
from hotline import statuses
from runtime import history, instances, milestones, registry, repository, tasks
from runtime.db import Base, Database
from runtime.errors import Conflict, Forbidden, InvalidInput
from runtime.models import HistoryEvent, ProcessInstance, UserTask

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime"


@dataclass
class Person:
    id: int
    role: str
    unit_id: int | None = None


class Recorder(registry.Extension):
    """Keeps, per business key, the status the diagram declares after each saved step."""

    def __init__(self):
        self.status = {}

    def saved(self, ctx, loaded):
        self.status[loaded.row.business_key] = statuses.current(loaded.workflow)

    def snapshot(self, ctx):
        return {"status": self.status.get(ctx.business_key)}


@pytest.fixture
def runtime_db(tmp_path):
    recorder, noted = Recorder(), []
    config = registry.Registry(processes_dir=DATA, forms_dir=DATA / "forms", main_process="review",
                               extension=recorder)

    @config.operator
    def note(ctx, text):
        noted.append((ctx.business_key, text))
        return f"noted {text}"

    registry.configure(config)
    db = Database(f"sqlite:///{tmp_path / 'runtime.db'}")
    Base.metadata.create_all(db.engine)
    repository.deploy_bundle(db, deployed_by="test")
    yield db, recorder, noted
    db.dispose()
    hotline.configure()  # the rest of the suite runs the hotline


def _open_task(db, key):
    with db.read() as session:
        return session.scalar(select(UserTask).where(UserTask.business_key == key, UserTask.state == "open"))


def test_start_runs_the_operator_and_projects_the_user_task_with_its_declared_status(runtime_db):
    db, recorder, noted = runtime_db
    with db.transaction() as session:
        row = instances.start(session, 7, None, {"title": "lamp"})
    assert noted == [(7, "lamp")]
    task = _open_task(db, 7)
    assert (task.bpmn_id, task.candidate_roles, task.form) == ("check", "reviewer", "review.schema.json")
    assert task.reaches("checked") and task.reaches("approved") and not task.reaches("assessed")
    assert recorder.status[7] == "checking"
    with db.read() as session:
        assert session.get(ProcessInstance, row.id).business_key == 7
        assert [e.action for e in history.for_key(session, 7)] == ["process_started"]


def test_complete_checks_the_form_and_the_role_and_records_the_milestones_reached(runtime_db):
    db, recorder, _noted = runtime_db
    with db.transaction() as session:
        instances.start(session, 8, None, {"title": "bench"})
    task = _open_task(db, 8)
    with pytest.raises(Forbidden):
        tasks.complete(db, task.id, {"decision": "again"}, Person(1, "clerk"))
    with pytest.raises(InvalidInput) as err:
        tasks.complete(db, task.id, {"decision": "maybe"}, Person(1, "reviewer"))
    assert "decision" in err.value.fields
    tasks.complete(db, task.id, {"decision": "again"}, Person(1, "reviewer"))  # back round the loop
    with pytest.raises(Conflict) as err:
        tasks.complete(db, task.id, {"decision": "approve"}, Person(1, "reviewer"))
    assert err.value.reason == "task_done"
    second = _open_task(db, 8)
    assert second.id != task.id and recorder.status[8] == "checking"
    done = tasks.complete(db, second.id, {"decision": "approve"}, Person(2, "reviewer"))
    assert done.state == "completed" and recorder.status[8] == "approved"  # the end event's status
    with db.read() as session:
        reached = [(e.task_bpmn_id, e.detail["milestone"]) for e in session.scalars(select(HistoryEvent).where(
            HistoryEvent.business_key == 8, HistoryEvent.action == milestones.ACTION).order_by(HistoryEvent.id))]
        completion = session.scalar(select(HistoryEvent).where(
            HistoryEvent.business_key == 8, HistoryEvent.action == "task_completed").order_by(HistoryEvent.id.desc()))
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == 8))
    assert reached == [("check", "checked"), ("check", "approved"), ("check", "checked")]  # in name order per step
    assert (completion.before, completion.after) == ({"status": "checking"}, {"status": "approved"})
    assert row.status == "completed"


def test_the_appellant_completes_the_step_that_reaches_a_milestone_without_a_role(runtime_db):
    db, recorder, _noted = runtime_db
    with db.transaction() as session:
        instances.start(session, 9, None, {"title": "bin"})
    tasks.complete_reaching(db, 9, "approved", {"decision": "approve"})
    assert recorder.status[9] == "approved"
    with pytest.raises(Conflict):
        tasks.complete_reaching(db, 9, "approved", {"decision": "approve"})


def test_terminate_cancels_the_open_task(runtime_db):
    db, _recorder, _noted = runtime_db
    with db.transaction() as session:
        row = instances.start(session, 10, None, {"title": "x"})
    instances.terminate(db, row.id, "registered twice", Person(3, "owner"))
    with db.read() as session:
        states = list(session.scalars(select(UserTask.state).where(UserTask.business_key == 10)))
        assert session.get(ProcessInstance, row.id).status == "terminated"
    assert states == ["cancelled"]
