"""The runtime service: start, load (row-locked), advance and save process instances, project
their READY user tasks into rows, and suspend, resume or terminate them.

These functions take the caller's session (the caller's unit of work owns the transaction),
except suspend, resume and terminate, which are whole commands. Saving checks the optimistic
version column, so a concurrent change is a StaleDataError (turned into Conflict by the caller),
never a silent overwrite. An instance carries a business key, nothing else of the application:
the registry's extension sees each saved step and keeps its own records in step.
"""
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from . import clock, history, milestones, registry, repository, serializer, timers, tree
from .candidates import may_work
from .errors import Conflict, NotFound, ProcessError
from .models import ProcessInstance, UserTask
from .registry import Step
from .scripting import ScriptEngine


@dataclass
class Loaded:
    row: ProcessInstance
    workflow: BpmnWorkflow
    step: Step
    ctx: object  # the extension's context for this unit of work
    # what the rows say as the instance was read (its open task rows and job rows mirror them),
    # so saving writes only the difference, without reading the rows back
    ready_at_load: frozenset = frozenset()
    timers_at_load: dict = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return self.step.now


def _context(session, business_key: int, instance_id, actor, now):
    step = Step(session, business_key, instance_id, actor, now)
    return step, registry.current().extension.context(step)


def start(session, business_key: int, actor, data: dict, process_key: str | None = None) -> ProcessInstance:
    """Start the latest deployed version of a process (the registry's main process by default, or
    another process of its bundle: repository.latest_with) for a business key, with `data` as its
    start variables. A business key has at most one live instance of each process (the database
    refuses a second). Raises NotFound (nothing deployed), ProcessError."""
    deployment = repository.latest_with(session, process_key)
    process_key = process_key or deployment.process_key
    spec, subs = repository.process_specs(deployment, process_key)
    now = clock.now()
    row = ProcessInstance(deployment_id=deployment.id, deployment=deployment, process_key=process_key,
                          business_key=business_key, status="running", state={},
                          serializer_version=serializer.VERSION, started_at=now)
    session.add(row)
    session.flush()
    step, ctx = _context(session, business_key, row.id, actor, now)
    workflow = BpmnWorkflow(spec, subs, script_engine=ScriptEngine(ctx))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    history.record(session, "process_started", business_key=business_key, instance_id=row.id,
                   actor_id=getattr(actor, "id", None),
                   detail={"deployment_version": deployment.version, "process": process_key})
    loaded = Loaded(row, workflow, step, ctx)
    advance(loaded)
    save(session, loaded)
    return row


def load(session, instance_id: int, actor, lock: bool = True) -> Loaded:
    """Load an instance on its pinned spec version, locking its row for this transaction.
    Raises NotFound."""
    # its deployment in the same query (the instance row alone is locked)
    query = (select(ProcessInstance).options(joinedload(ProcessInstance.deployment, innerjoin=True))
             .where(ProcessInstance.id == instance_id))
    row = session.scalar(query.with_for_update(of=ProcessInstance) if lock else query)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return restore(session, row, actor)


def restore(session, row: ProcessInstance, actor) -> Loaded:
    """The workflow of an instance row as it stands (its state on its deployment's specs).
    Raises Conflict for an instance that has ended (it keeps no tree to run)."""
    if serializer.is_ended(row.state):
        raise Conflict(f"the process has {row.status}; only its final data and history are kept", "process_ended")
    spec, subs = repository.process_specs(row.deployment, row.process_key)
    step, ctx = _context(session, row.business_key, row.id, actor, clock.now())
    workflow = serializer.state_from_dict(row.state, spec, subs, ScriptEngine(ctx))
    ready, waiting = _scan(workflow)
    return Loaded(row, workflow, step, ctx, frozenset(ready), waiting)


def replace_state(session, loaded: Loaded, state: dict, deployment) -> Loaded:
    """The instance on another state and version (a migration undone); saving it writes the
    difference from what its rows mirror now."""
    row = loaded.row
    row.state, row.deployment = state, deployment
    again = restore(session, row, loaded.step.actor)
    again.ready_at_load, again.timers_at_load = loaded.ready_at_load, loaded.timers_at_load
    return again


def for_business_key(session, business_key: int, process_key: str | None = None) -> ProcessInstance | None:
    """The newest instance of a process (the registry's main process by default) for a business key."""
    process_key = process_key or registry.current().main_process
    return session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == business_key,
                                                        ProcessInstance.process_key == process_key)
                          .order_by(ProcessInstance.id.desc()).limit(1))


def ready_task(loaded: Loaded, task_id: str):
    """The READY SpiffWorkflow task with this id. Raises Conflict if it is no longer READY."""
    try:
        task = loaded.workflow.get_task_from_id(UUID(task_id))
    except (KeyError, ValueError, SpiffWorkflowException):
        task = None
    if task is None or task.state != TaskState.READY:
        raise Conflict("this task has already been completed or is no longer active", "task_done")
    return task


def advance(loaded: Loaded) -> None:
    """Run automatic steps until only user tasks and waiting events remain. Raises ProcessError."""
    try:
        loaded.workflow.refresh_timers()
        loaded.workflow.do_engine_steps()
    except SpiffWorkflowException as err:
        raise ProcessError(f"the process failed: {err}") from err


def save(session, loaded: Loaded) -> None:
    """Write the state (version-checked on flush), re-project the user tasks and timer jobs, and
    let the extension follow."""
    row, workflow = loaded.row, loaded.workflow
    if workflow.is_completed() and row.status == "running":
        row.status, row.ended_at = "completed", loaded.now
        history.record(session, "process_completed", business_key=row.business_key, instance_id=row.id,
                       detail={"process": row.process_key})
    # an ended instance keeps its final data, not its tree (serializer.ended_state)
    ended = row.status in ("completed", "terminated")
    row.state = serializer.ended_state(workflow) if ended else serializer.state_to_dict(workflow)
    row.serializer_version = serializer.VERSION
    row.updated_at = loaded.now
    ready, waiting = _scan(workflow)
    _project_tasks(session, loaded, ready)
    timers.write_changes(session, row.id, loaded.timers_at_load, waiting)
    loaded.ready_at_load, loaded.timers_at_load = frozenset(ready), waiting
    registry.current().extension.saved(loaded.ctx, loaded)


def _scan(workflow) -> tuple[dict, dict]:
    """({task id: task} of the READY user tasks, the waiting timers) in one pass over the tasks."""
    tasks = tree.all_tasks(workflow)
    return {str(t.id): t for t in tree.in_state(tasks, TaskState.READY, manual=True)}, timers.waiting_in(tasks)


def _project_tasks(session, loaded: Loaded, ready: dict) -> None:
    """Open task rows for the READY user tasks: rows for the new ones; the ones no longer READY
    that no user completed in this unit of work are cancelled, in one statement."""
    for task_id, task in ready.items():
        if task_id not in loaded.ready_at_load:
            row = _task_row(loaded, task)
            session.add(row)
            _assign(session, loaded, task, row)
    done_here = {obj.id for obj in session.identity_map.values() if isinstance(obj, UserTask) and obj.state != "open"}
    gone = loaded.ready_at_load - ready.keys() - done_here
    if gone:  # left READY without a user completing it (a boundary event, a withdrawal)
        table = UserTask.__table__
        session.connection().execute(update(table).where(table.c.id.in_(gone), table.c.state == "open")
                                     .values(state="cancelled"))


def _task_row(loaded: Loaded, task) -> UserTask:
    spec = task.task_spec
    props = spec.extensions.get("properties", {})
    unit_var, scope_var = props.get("unitVariable"), props.get("scopeVariable")
    lane_roles = registry.current().lane_roles
    due_at = _due(task.data.get("deadlines") or {}, props.get("deadline"))
    return UserTask(
        id=str(task.id), instance_id=loaded.row.id, business_key=loaded.row.business_key, bpmn_id=spec.bpmn_id,
        name=spec.bpmn_name or spec.bpmn_id, lane=spec.lane, form=props.get("formJsonSchemaFilename"),
        candidate_roles=props.get("candidateRoles") or lane_roles.get(spec.lane, "admin"),
        unit_id=task.data.get(unit_var) if unit_var else None,
        scope_id=task.data.get(scope_var) if scope_var else None, milestones=milestones.column(spec),
        due_at=due_at, deadline_stage=props.get("deadline"), state="open", created_at=loaded.now,
        # a step reached again after its stage ran out (a reply sent back) is overdue from the start
        overdue_at=loaded.now if due_at is not None and due_at <= loaded.now else None)


def _assign(session, loaded: Loaded, task, row: UserTask) -> None:
    """A task whose `assigneeVariable` names a user who may work it is theirs from the start
    (claimed in their name, as if they had claimed it); anyone else leaves it to the group."""
    variable = task.task_spec.extensions.get("properties", {}).get("assigneeVariable")
    user_id = task.data.get(variable) if variable else None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return
    with session.no_autoflush:  # the new row is written with its claim, in one INSERT
        user = registry.current().extension.actor(session, user_id)
    if user is None or not getattr(user, "active", True) or not may_work(user, row):
        return
    row.claimed_by_id, row.claimed_at = user_id, loaded.now
    history.record(session, "task_assigned", business_key=row.business_key, instance_id=row.instance_id,
                   actor_id=getattr(loaded.step.actor, "id", None), task=row, detail={"assignee_id": user_id})


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
    """End an instance for good (e.g. registered twice): open tasks are cancelled and timers
    dropped; the extension closes its business record. Raises NotFound, Conflict (already ended)."""
    with db.transaction() as session:
        loaded = load(session, instance_id, actor)
        if loaded.row.status not in ("running", "suspended"):
            raise Conflict(f"the process has already {loaded.row.status}", "process_ended")
        loaded.workflow.cancel()
        before = {"status": loaded.row.status}
        loaded.row.status, loaded.row.ended_at = "terminated", loaded.now
        save(session, loaded)
        registry.current().extension.terminated(loaded.ctx, loaded)
        history.record(session, "process_terminated", business_key=loaded.row.business_key, instance_id=instance_id,
                       actor_id=actor.id, detail={"reason": reason}, before=before, after={"status": "terminated"})
        return loaded.row


def _change_state(db, instance_id, reason, actor, expected, new, action) -> ProcessInstance:
    with db.transaction() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update())
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        if row.status != expected:
            raise Conflict(f"the process is {row.status}, not {expected}", "process_state")
        row.status, row.updated_at = new, clock.now()
        history.record(session, action, business_key=row.business_key, instance_id=row.id, actor_id=actor.id,
                       detail={"reason": reason}, before={"status": expected}, after={"status": new})
        return row
