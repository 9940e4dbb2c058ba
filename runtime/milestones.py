"""Milestones: what a diagram says has happened when one of its user tasks is completed.

A user task declares `milestone:<name>` properties; the value is a Python expression over the
task's data saying when the milestone counts as reached (empty: always). The engine records
each one reached as a `milestone_reached` history row (detail {"milestone": name}) in the
completion's transaction, so code that must know "the appellant was reached" asks history for
that milestone instead of for a task id or a form field. The task rows also keep the names a
task may reach, so a page can find "the open task that assesses this appeal".
"""
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .errors import ProcessError

PREFIX = "milestone:"
ACTION = "milestone_reached"


def declared(task_spec) -> dict[str, str]:
    """{milestone: condition} a task spec declares."""
    props = getattr(task_spec, "extensions", {}).get("properties", {})
    return {name[len(PREFIX):]: (value or "").strip() for name, value in props.items() if name.startswith(PREFIX)}


def column(task_spec) -> str:
    """The names as stored on a task row: ",a,b," (empty when none)."""
    names = sorted(declared(task_spec))
    return f",{','.join(names)}," if names else ""


def reached(task) -> list[str]:
    """The milestones a just-completed SpiffWorkflow task reached, by its data.
    Raises ProcessError when a condition cannot be evaluated."""
    found = []
    for name, condition in declared(task.task_spec).items():
        if not condition:
            found.append(name)
            continue
        try:
            if task.workflow.script_engine.evaluate(task, condition):
                found.append(name)
        except SpiffWorkflowException as err:
            raise ProcessError(f"milestone '{name}' of {task.task_spec.bpmn_id}: {err}") from err
    return sorted(found)
