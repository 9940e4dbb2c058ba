"""Process instances: start, load (row-locked), advance, save, and project READY user tasks.

These functions take the caller's session: the caller's unit of work owns the transaction.
Saving checks the optimistic version column, so a concurrent change is a StaleDataError
(turned into Conflict by the caller), never a silent overwrite.
"""
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from . import clock, definitions, history, serializer, status, timers
from .errors import Conflict, NotFound, ProcessError
from .models import Appeal, ProcessInstance, UserTask
from .services import ScriptEngine, ServiceContext

# Lane -> roles, for user tasks that do not name `candidateRoles` themselves.
LANE_ROLES = {
    "12345平台": "intake_agent,dispatcher,return_visit_staff,supervisor",
    "承办单位": "organizer_staff,organizer_leader",
    "承办单位领导": "organizer_leader",
}


@dataclass
class Loaded:
    row: ProcessInstance
    workflow: BpmnWorkflow
    ctx: ServiceContext

    @property
    def appeal(self) -> Appeal:
        return self.ctx.appeal


def start(session, appeal: Appeal, actor, data: dict) -> ProcessInstance:
    """Start the latest deployed appeal process for `appeal`. Raises NotFound, ProcessError."""
    deployment = definitions.latest(session)
    spec, subs = definitions.specs_for(deployment)
    ctx = ServiceContext(session, appeal, None, actor, clock.now())
    workflow = BpmnWorkflow(spec, subs, script_engine=ScriptEngine(ctx))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    row = ProcessInstance(deployment_id=deployment.id, appeal_id=appeal.id, status="running", state={},
                          serializer_version=serializer.VERSION, started_at=ctx.now)
    session.add(row)
    session.flush()
    ctx.instance_id = row.id
    history.record(session, "process_started", appeal_id=appeal.id, instance_id=row.id,
                   actor_id=getattr(actor, "id", None), detail={"deployment_version": deployment.version})
    loaded = Loaded(row, workflow, ctx)
    advance(loaded)
    save(session, loaded)
    return row


def load(session, instance_id: int, actor, lock: bool = True) -> Loaded:
    """Load an instance on its pinned spec version, locking its row for this transaction."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    spec, subs = definitions.specs_for(row.deployment)
    ctx = ServiceContext(session, session.get(Appeal, row.appeal_id), row.id, actor, clock.now())
    workflow = serializer.state_from_dict(row.state, spec, subs, ScriptEngine(ctx))
    return Loaded(row, workflow, ctx)


def ready_task(loaded: Loaded, task_id: str):
    """The READY SpiffWorkflow task with this id. Raises Conflict if it is no longer READY."""
    try:
        task = loaded.workflow.get_task_from_id(UUID(task_id))
    except (KeyError, ValueError, SpiffWorkflowException):
        task = None
    if task is None or task.state != TaskState.READY:
        raise Conflict("this task has already been completed or is no longer active")
    return task


def advance(loaded: Loaded) -> None:
    """Run automatic steps until only user tasks and waiting events remain. Raises ProcessError."""
    try:
        loaded.workflow.refresh_timers()
        loaded.workflow.do_engine_steps()
    except SpiffWorkflowException as err:
        raise ProcessError(f"the process failed: {err}") from err


def save(session, loaded: Loaded) -> None:
    """Write the state (version-checked on flush) and re-project the user tasks."""
    row, workflow = loaded.row, loaded.workflow
    row.state = serializer.state_to_dict(workflow)
    row.serializer_version = serializer.VERSION
    row.updated_at = loaded.ctx.now
    if workflow.is_completed() and row.status == "running":
        row.status, row.ended_at = "completed", loaded.ctx.now
        history.record(session, "process_completed", appeal_id=row.appeal_id, instance_id=row.id)
    _project_tasks(session, loaded)
    timers.sync(session, row.id, workflow)


def _project_tasks(session, loaded: Loaded) -> None:
    existing = {t.id: t for t in session.scalars(
        select(UserTask).where(UserTask.instance_id == loaded.row.id, UserTask.state == "open"))}
    ready = loaded.workflow.get_tasks(state=TaskState.READY, manual=True)
    for task in ready:
        if str(task.id) in existing:
            existing.pop(str(task.id))
        else:
            session.add(_task_row(loaded, task))
    for gone in existing.values():  # left READY without a user completing it
        gone.state = "cancelled"
    statuses = [t.task_spec.extensions.get("properties", {}).get("appealStatus") for t in ready]
    new_status = next((s for s in statuses if s), None)
    if new_status:
        status.change_status(loaded.appeal, new_status)


def _task_row(loaded: Loaded, task) -> UserTask:
    spec = task.task_spec
    props = spec.extensions.get("properties", {})
    unit_var = props.get("unitVariable")
    return UserTask(
        id=str(task.id), instance_id=loaded.row.id, appeal_id=loaded.row.appeal_id, bpmn_id=spec.bpmn_id,
        name=spec.bpmn_name or spec.bpmn_id, lane=spec.lane, form=props.get("formJsonSchemaFilename"),
        candidate_roles=props.get("candidateRoles") or LANE_ROLES.get(spec.lane, "admin"),
        unit_id=task.data.get(unit_var) if unit_var else None,
        due_at=_due(task.data.get("deadlines") or {}, props.get("deadline")), deadline_stage=props.get("deadline"),
        state="open", created_at=loaded.ctx.now)


def _due(deadlines: dict, key: str | None) -> datetime | None:
    value = deadlines.get(key) if key else None
    return datetime.fromisoformat(value) if value else None


def suspend(db, instance_id: int, reason: str, actor) -> ProcessInstance:
    """Hold an instance: its tasks cannot be completed and its timers do not fire until it is
    resumed. Raises NotFound, Conflict (not running)."""
    return _change_state(db, instance_id, reason, actor, "running", "suspended", "process_suspended")


def resume(db, instance_id: int, reason: str, actor) -> ProcessInstance:
    """Raises NotFound, Conflict (not suspended)."""
    return _change_state(db, instance_id, reason, actor, "suspended", "running", "process_resumed")


def terminate(db, instance_id: int, reason: str, actor) -> ProcessInstance:
    """End an instance for good (e.g. registered twice): open tasks are cancelled, timers
    dropped, the appeal is closed as terminated. Raises NotFound, Conflict (already ended)."""
    with db.transaction() as session:
        loaded = load(session, instance_id, actor)
        if loaded.row.status not in ("running", "suspended"):
            raise Conflict(f"the process has already {loaded.row.status}")
        loaded.workflow.cancel()
        before = {"status": loaded.row.status, "appeal_status": loaded.appeal.status}
        loaded.row.status, loaded.row.ended_at = "terminated", loaded.ctx.now
        status.change_status(loaded.appeal, "terminated")
        loaded.appeal.closed_at = loaded.ctx.now
        save(session, loaded)
        history.record(session, "process_terminated", appeal_id=loaded.appeal.id, instance_id=instance_id,
                       actor_id=actor.id, detail={"reason": reason}, before=before,
                       after={"status": "terminated", "appeal_status": "terminated"})
        return loaded.row


def _change_state(db, instance_id, reason, actor, expected, new, action) -> ProcessInstance:
    with db.transaction() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update())
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        if row.status != expected:
            raise Conflict(f"the process is {row.status}, not {expected}")
        row.status, row.updated_at = new, clock.now()
        history.record(session, action, appeal_id=row.appeal_id, instance_id=row.id, actor_id=actor.id,
                       detail={"reason": reason}, before={"status": expected}, after={"status": new})
        return row
