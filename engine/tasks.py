"""The inbox: list, claim, unclaim and complete user tasks. Each change is one transaction.

Who may work a task: a user whose role is among the task's candidate roles and, for an
organizer unit's task, who belongs to that unit. A task claimed by someone else is theirs.
"""
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from . import attachments, clock, definitions, forms, history, instances
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .models import Appeal, Deployment, OrganizerUnit, ProcessInstance, UserTask

# Appeal columns a form may write through `x-appeal-fields`.
WRITABLE_APPEAL_FIELDS = {"not_accepted_reason", "guidance", "answer", "handling_result", "reply_content"}
UNIT_FIELDS = ("lead_unit_id", "suggested_unit_id")


def may_work(user, task: UserTask) -> bool:
    if user.role == "admin":
        return True
    if user.role not in task.candidate_roles.split(","):
        return False
    return task.unit_id is None or task.unit_id == user.unit_id


def list_open(session, user, scope: str = "mine") -> list[UserTask]:
    """Open tasks `user` may work. scope: "mine" (claimed by me or unclaimed), "claimed"."""
    query = select(UserTask).where(UserTask.state == "open")
    if user.role != "admin":
        query = query.where(UserTask.candidate_roles.contains(user.role))
        query = query.where(UserTask.unit_id == user.unit_id if user.unit_id else UserTask.unit_id.is_(None))
    if scope == "claimed":
        query = query.where(UserTask.claimed_by_id == user.id)
    else:
        query = query.where(or_(UserTask.claimed_by_id.is_(None), UserTask.claimed_by_id == user.id))
    rows = session.scalars(query.order_by(UserTask.due_at.is_(None), UserTask.due_at, UserTask.created_at))
    return [t for t in rows if may_work(user, t)]  # exact role match, not substring


def get(session, task_id: str, user) -> UserTask:
    """Raises NotFound, or Forbidden when the task belongs to someone else's role or unit."""
    task = session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if not may_work(user, task):
        raise Forbidden("this task belongs to another role or organizer unit")
    return task


def form_bundle(session, task: UserTask) -> dict[str, str]:
    """The forms of the version the task's instance runs on."""
    return definitions.forms_of(session.scalar(select(Deployment).join(ProcessInstance)
                                               .where(ProcessInstance.id == task.instance_id)))


def form_of(session, task: UserTask) -> tuple[dict, dict]:
    """(schema, ui schema) of the task's form as deployed with its instance's version."""
    return forms.load(task.form, form_bundle(session, task)) if task.form else ({}, {})


def validate_form(session, task: UserTask, data) -> dict:
    """forms.validate against the task's form as deployed with its version. Raises InvalidInput."""
    return forms.validate(task.form, data, form_bundle(session, task)) if task.form else data


def claim(db, task_id: str, user) -> UserTask:
    """Raises NotFound, Forbidden, Conflict (closed, or claimed by someone else)."""
    with db.transaction() as session:
        task = _open_for_update(session, task_id, user)
        if task.claimed_by_id not in (None, user.id):
            raise Conflict("this task is claimed by another user")
        if task.claimed_by_id is None:
            task.claimed_by_id, task.claimed_at = user.id, clock.now()
            history.record(session, "task_claimed", appeal_id=task.appeal_id, instance_id=task.instance_id,
                           actor_id=user.id, task=task)
        return task


def unclaim(db, task_id: str, user) -> UserTask:
    """Only the claimer, an admin, or the leader of the task's unit (even for a staff-only task,
    so a claim left by someone absent can be freed) may release it."""
    unit_leader = user.role == "organizer_leader" and user.unit_id is not None
    with db.transaction() as session:
        task = _open_for_update(session, task_id, user, unit_leader)
        if task.claimed_by_id is None:
            return task
        if task.claimed_by_id != user.id and user.role not in ("organizer_leader", "admin"):
            raise Conflict("this task is claimed by another user")
        history.record(session, "task_unclaimed", appeal_id=task.appeal_id, instance_id=task.instance_id,
                       actor_id=user.id, task=task, before={"claimed_by_id": task.claimed_by_id})
        task.claimed_by_id = task.claimed_at = None
        return task


def complete(db, task_id: str, data, user) -> UserTask:
    """Validate the form, run the task and everything automatic after it, save, re-project,
    append history: one transaction.

    Raises NotFound, Forbidden, InvalidInput (per-field), Conflict (completed, claimed by another,
    or changed concurrently), ProcessError.
    """
    def find(session):
        task = _open_for_update(session, task_id, user)
        if task.claimed_by_id not in (None, user.id):
            raise Conflict("this task is claimed by another user")
        return task
    return _complete(db, find, data, user)


def complete_for_appellant(db, appeal_id: int, bpmn_id: str, data) -> UserTask:
    """The appellant completes their own task (the evaluation through a one-time link,
    Art. 21), as no staff member; a staff claim does not stop them.

    Raises Conflict (no such open task any more), InvalidInput, ProcessError.
    """
    def find(session):
        task = session.scalar(select(UserTask).where(
            UserTask.appeal_id == appeal_id, UserTask.bpmn_id == bpmn_id, UserTask.state == "open").with_for_update())
        if task is None:
            raise Conflict("this evaluation is no longer open")
        return task
    return _complete(db, find, data, None)


def _complete(db, find, data, user) -> UserTask:
    actor_id = getattr(user, "id", None)
    try:
        with db.transaction() as session:
            task = find(session)
            loaded = instances.load(session, task.instance_id, user)
            bundle = definitions.forms_of(loaded.row.deployment)  # the forms of its version
            if task.form:
                forms.validate(task.form, data, bundle)
            if loaded.row.status != "running":
                raise Conflict(f"the process is {loaded.row.status}; nothing can be completed now")
            spiff_task = instances.ready_task(loaded, task.id)
            appeal = loaded.appeal
            _check_references(session, appeal, data)
            variables, fields = forms.split(task.form, data, spiff_task.data, bundle) if task.form else ({}, {})
            before = {"status": appeal.status}
            spiff_task.data.update(variables)
            for column, value in fields.items():
                if column in WRITABLE_APPEAL_FIELDS:
                    setattr(appeal, column, value)
            spiff_task.run()
            instances.advance(loaded)
            task.state, task.completed_at, task.completed_by_id = "completed", loaded.ctx.now, actor_id
            instances.save(session, loaded)
            history.record(session, "task_completed", appeal_id=appeal.id, instance_id=task.instance_id,
                           actor_id=actor_id, task=task, detail=data, before=before,
                           after={"status": appeal.status})
            return task
    except StaleDataError as err:
        raise Conflict("the appeal was changed at the same time; reload and try again") from err


def _open_for_update(session, task_id: str, user, unit_leader: bool = False) -> UserTask:
    task = session.scalar(select(UserTask).where(UserTask.id == task_id).with_for_update())
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if not (may_work(user, task) or (unit_leader and task.unit_id == user.unit_id)):
        raise Forbidden("this task belongs to another role or organizer unit")
    if task.state != "open":
        raise Conflict(f"this task is already {task.state}")
    return task


def _check_references(session, appeal: Appeal, data: dict) -> None:
    """Ids in a submission must name things that exist: units (active) and this appeal's files."""
    errors = {}
    for field in UNIT_FIELDS:
        if data.get(field) is not None and not _active_unit(session, data[field]):
            errors[field] = ["承办单位不存在或已停用"]
    co_ids = data.get("co_unit_ids") or []
    if any(not _active_unit(session, i) for i in co_ids):
        errors["co_unit_ids"] = ["协办单位不存在或已停用"]
    if data.get("lead_unit_id") is not None and data["lead_unit_id"] in co_ids:
        errors.setdefault("co_unit_ids", []).append("牵头单位不能同时为协办单位")
    if not attachments.all_belong(session, appeal.id, data.get("attachment_ids")):
        errors["attachment_ids"] = ["附件不存在或不属于本诉求"]
    if errors:
        raise InvalidInput("submitted ids do not exist", errors)


def _active_unit(session, unit_id) -> bool:
    unit = session.get(OrganizerUnit, unit_id)
    return unit is not None and unit.active
