"""Drafts of task forms: what a user typed into an open task's form and has not submitted.

The task page goes to the server without submitting when a file is uploaded; it then sends the
browser back to the task's own address (post/redirect/get, so a reload does not upload again),
and the page shows the draft: nothing typed is lost, the new file is ticked, and the task
reopened later looks as it was left. A draft belongs to one task and one user; it is only
shown while the task is open, and dropped when that user submits the task.
"""
from sqlalchemy import delete

from runtime import clock

from .models import TaskDraft

MAX_VALUES = 200  # fields a draft keeps (a task form has a few dozen at most)
MAX_CHARS = 20_000  # per value: the longest form field is 5,000 characters


def keep(session, task_id: str, user_id: int, values: dict[str, list[str]]) -> None:
    """Keep `values` (field name -> the strings the form sent) as the user's draft of the task,
    in the caller's transaction, replacing the one before."""
    cleaned = {str(name)[:200]: [str(v)[:MAX_CHARS] for v in vs][:MAX_VALUES]
               for name, vs in list(values.items())[:MAX_VALUES]}
    draft = session.get(TaskDraft, (task_id, user_id))
    if draft is None:
        session.add(TaskDraft(task_id=task_id, user_id=user_id, values=cleaned, updated_at=clock.now()))
    else:
        draft.values, draft.updated_at = cleaned, clock.now()


def read(session, task, user_id: int) -> dict[str, list[str]] | None:
    """The user's draft of `task` (a UserTask row), or None; none for a task that is closed."""
    if task.state != "open":
        return None
    draft = session.get(TaskDraft, (task.id, user_id))
    return dict(draft.values) if draft is not None else None


def drop(session, task_id: str, user_id: int) -> None:
    """Forget the user's draft of the task, in the caller's transaction (the submission's:
    runtime.tasks.complete's `after`)."""
    session.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id, TaskDraft.user_id == user_id))
