"""Messages into running instances (Camunda's correlateMessage): an application action that a
diagram waits for, as a message catch event, a receive task or a boundary message event.

The diagram decides what an action may do and when: delivering a message the instance is not
waiting for right now is a Conflict, so the caller's whole transaction (its own rows and the
history row it wrote) rolls back. Like runtime.instances, these functions take the caller's
session: the caller's unit of work owns the transaction.
"""
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import history, instances
from .errors import Conflict

ACTION = "message_received"


def waiting_for(workflow) -> dict[str, object]:
    """{message name: the waiting task that catches it} of a workflow."""
    found = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition):
            found.setdefault(definition.name, task)
    return found


def deliver(session, instance_id: int, message: str, actor, payload: dict | None = None) -> instances.Loaded:
    """Deliver `message` to an instance, run what follows, save it and record it in history.
    Raises NotFound, Conflict (not running, or not waiting for this message now: reason
    `not_waiting`), ProcessError."""
    loaded = instances.load(session, instance_id, actor)
    if loaded.row.status != "running":
        raise Conflict(f"the process is {loaded.row.status}", "process_not_running")
    task = waiting_for(loaded.workflow).get(message)
    if task is None:
        raise Conflict(f"the process is not waiting for {message} now", "not_waiting")
    spec = task.task_spec
    loaded.workflow.catch(BpmnEvent(spec.event_definition, payload or {}))
    with history.consequences(session) as caused:  # the message is recorded before what it caused
        instances.advance(loaded)
        instances.save(session, loaded)
    history.record(session, ACTION, business_key=loaded.row.business_key, instance_id=instance_id,
                   actor_id=getattr(actor, "id", None), task=_Element(spec.bpmn_id, spec.bpmn_name),
                   detail={"message": message, "process": loaded.row.process_key})
    history.release(session, caused)
    return loaded


class _Element:
    """What history.record reads of a task: the catching element's id and name."""

    def __init__(self, bpmn_id, name):
        self.bpmn_id, self.name = bpmn_id, name or bpmn_id
