"""A workflow's tasks, flat: the top workflow's and every subprocess's, read from their task
mappings (cheaper than SpiffWorkflow's tree iterator, which the hot path would run several
times per unit of work)."""
from SpiffWorkflow.util.task import TaskState


def all_tasks(workflow) -> list:
    return [task for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()]


def in_state(tasks, state: TaskState, manual: bool | None = None) -> list:
    """The tasks in `state` (and, if `manual` is given, whose spec is or is not a user task)."""
    return [t for t in tasks if t.state == state and (manual is None or t.task_spec.manual == manual)]
