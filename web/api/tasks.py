"""The inbox over HTTP: list my tasks, read one with its form, claim, unclaim, complete."""
from flask import g, request

from hotline import inbox
from runtime import idempotency, tasks

from .. import get_db
from . import bp, check_storable, idempotency_key, replayable
from .auth import json_body, login_required
from .schemas import TASKS, CompleteTaskSchema, TaskDetailSchema, TaskListQuery, TaskSchema


@bp.get("/tasks")
@login_required
def list_tasks():
    """My open tasks by due time (web.api.paging)."""
    query = TaskListQuery().load(request.args)
    with get_db().read() as session:
        found = inbox.page(session, g.user, query["scope"], query.get("cursor"), query["limit"] + 1)
    items, next_cursor = TASKS.page(found, query["limit"], lambda task: (task.due_at, task.id))
    return {"items": TaskSchema(many=True).dump(items), "next_cursor": next_cursor}


@bp.get("/tasks/<task_id>")
@login_required
def get_task(task_id):
    with get_db().read() as session:
        task = tasks.get(session, task_id, g.user)
        schema, ui = tasks.form_of(session, task)
    return TaskDetailSchema().dump({"task": task, "form_schema": schema, "ui_schema": ui})


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim_task(task_id):
    return TaskSchema().dump(tasks.claim(get_db(), task_id, g.user))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim_task(task_id):
    return TaskSchema().dump(tasks.unclaim(get_db(), task_id, g.user))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete_task(task_id):
    body = json_body(CompleteTaskSchema())
    data = check_storable(body["data"])

    def perform(remember):
        def after(session, task):
            answers.append(idempotency.Answer(200, {**TaskSchema().dump(task), "notices": task.notices}))
            remember(session, answers[0])
        answers = []
        tasks.complete(get_db(), task_id, data, g.user, after)
        return answers[0]
    return replayable(idempotency.once(get_db(), f"api:complete:{g.user.id}:{task_id}", idempotency_key(), data,
                                       perform))
