"""Comments: remarks on an appeal (optionally on one of its tasks) by the people working it.

Whoever may see the appeal may read and add comments; each addition is in history. Comments
are never edited or deleted, like the rest of the record.
"""
from sqlalchemy import select

from runtime import clock, history
from runtime.errors import InvalidInput
from runtime.models import UserTask

from . import appeals, texts
from .models import Comment, User

MAX_LENGTH = 2000


def add(db, appeal_id: int, body: str, user, task_id: str | None = None) -> Comment:
    """Add a comment in one transaction.

    Raises NotFound, Forbidden (the appeal is not visible to the user), InvalidInput (empty or
    too long, or the task is not one of this appeal's).
    """
    body = texts.required(body, "body", "请填写意见内容", MAX_LENGTH)
    with db.transaction() as session:
        appeals.get_visible(session, appeal_id, user)
        task = session.get(UserTask, task_id) if task_id else None
        if task_id and (task is None or task.business_key != appeal_id):
            raise InvalidInput("the task is not one of this appeal's", {"task_id": ["任务不属于本诉求"]})
        comment = Comment(appeal_id=appeal_id, task_id=task_id, author_id=user.id, body=body,
                          created_at=clock.now())
        session.add(comment)
        session.flush()
        history.record(session, "comment_added", business_key=appeal_id, instance_id=getattr(task, "instance_id", None),
                       actor_id=user.id, task=task, detail={"comment_id": comment.id})
        return comment


def list_for(session, appeal_id: int, user) -> list[dict]:
    """The appeal's comments, oldest first, each with its author's name and the task's name.
    Raises NotFound, Forbidden."""
    appeals.get_visible(session, appeal_id, user)
    rows = session.execute(select(Comment, User.display_name, UserTask.name)
                           .join(User, User.id == Comment.author_id)
                           .outerjoin(UserTask, UserTask.id == Comment.task_id)
                           .where(Comment.appeal_id == appeal_id)
                           .order_by(Comment.created_at, Comment.id))
    return [{"comment": c, "author": author, "task_name": task_name} for c, author, task_name in rows]
