"""Timer events of an instance as job rows: what is waiting, and keeping the rows in step."""
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, insert, update

from . import tree
from .models import Job

RETRIES = 3


def waiting_timers(workflow) -> dict[str, tuple[datetime, str]]:
    """{task id: (due, name)} of the workflow's reached, unfired timer events."""
    return waiting_in(tree.all_tasks(workflow))


def waiting_in(tasks) -> dict[str, tuple[datetime, str]]:
    """waiting_timers among these tasks (tree.all_tasks of a workflow)."""
    found = {}
    for task in tree.in_state(tasks, TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task._get_internal_data("event_value")
        if isinstance(definition, TimerEventDefinition) and isinstance(value, str):
            found[str(task.id)] = (TimerEventDefinition.get_datetime(value), task.task_spec.bpmn_name or "")
    return found


def write_changes(session, instance_id: int, before: dict, after: dict) -> None:
    """Bring the instance's job rows from `before` (the waiting timers as it was read, which its
    rows mirror) to `after`, in set-based statements and only for what changed. Core statements
    on the session's connection: they need nothing flushed first, so the unit of work's own
    changes are written together when it commits."""
    connection, table = session.connection(), Job.__table__
    gone = before.keys() - after.keys()
    if gone:
        connection.execute(delete(table).where(table.c.instance_id == instance_id, table.c.task_id.in_(gone)))
    for task_id in before.keys() & after.keys():
        if before[task_id][0] != after[task_id][0]:  # moved (a recomputed limit)
            connection.execute(update(table).where(table.c.instance_id == instance_id, table.c.task_id == task_id)
                               .values(due_at=after[task_id][0]))
    new = [{"instance_id": instance_id, "task_id": task_id, "name": name[:200], "due_at": due,
            "retries": RETRIES, "status": "pending"} for task_id, (due, name) in after.items() if task_id not in before]
    if new:
        connection.execute(insert(table), new)
