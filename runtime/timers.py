"""Timer events of an instance as job rows: what is waiting, and keeping the rows in step."""
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .models import Job

RETRIES = 3


def waiting_timers(workflow) -> dict[str, tuple[datetime, str]]:
    """{task id: (due, name)} of the workflow's reached, unfired timer events."""
    found = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task._get_internal_data("event_value")
        if isinstance(definition, TimerEventDefinition) and isinstance(value, str):
            found[str(task.id)] = (TimerEventDefinition.get_datetime(value), task.task_spec.bpmn_name or "")
    return found


def sync(session, instance_id: int, workflow) -> None:
    """Make the instance's job rows match its waiting timers."""
    timers = waiting_timers(workflow) if workflow is not None else {}
    rows = {j.task_id: j for j in session.scalars(select(Job).where(Job.instance_id == instance_id))}
    for task_id, job in rows.items():
        if task_id not in timers:
            session.delete(job)
        elif job.due_at != timers[task_id][0]:
            job.due_at = timers[task_id][0]
    for task_id, (due, name) in timers.items():
        if task_id not in rows:
            session.add(Job(instance_id=instance_id, task_id=task_id, name=name[:200], due_at=due,
                            retries=RETRIES, status="pending"))


