"""The task service: get, claim, unclaim and complete user tasks. Each change is one transaction.

Who may work a task: a user whose role is among the task's candidate roles and, for a unit's
task, who belongs to that unit; the registry's administrator role may work any. A task claimed
by someone else is theirs; the unit's leader (the registry's unit leader role) may release it. Listing and searching tasks is the application's (its inbox joins its own records).
"""
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from . import clock, forms, history, instances, milestones, registry, repository
from .candidates import may_work
from .errors import Conflict, Forbidden, NotFound
from .models import Deployment, ProcessInstance, UserTask


def get(session, task_id: str, user) -> UserTask:
    """Raises NotFound, or Forbidden when the task belongs to someone else's role or unit."""
    task = session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if not may_work(user, task):
        raise Forbidden("this task belongs to another role or organizer unit")
    return task


def open_reaching(session, business_key: int, milestone: str) -> UserTask | None:
    """The open task of a business key whose completion may reach `milestone` (as declared)."""
    return session.scalar(select(UserTask).where(
        UserTask.business_key == business_key, UserTask.state == "open",
        UserTask.milestones.contains(f",{milestone},")).order_by(UserTask.created_at).limit(1))


def form_bundle(session, task: UserTask) -> dict[str, str]:
    """The forms of the version the task's instance runs on."""
    return repository.forms_of(session.scalar(select(Deployment).join(ProcessInstance)
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
            raise Conflict("this task is claimed by another user", "task_claimed")
        if task.claimed_by_id is None:
            task.claimed_by_id, task.claimed_at = user.id, clock.now()
            history.record(session, "task_claimed", business_key=task.business_key, instance_id=task.instance_id,
                           actor_id=user.id, task=task)
        return task


def unclaim(db, task_id: str, user) -> UserTask:
    """Only the claimer, an admin, or the leader of the task's unit (even for a staff-only task,
    so a claim left by someone absent can be freed) may release it."""
    config = registry.current()
    unit_leader = user.role == config.unit_leader_role and user.unit_id is not None
    with db.transaction() as session:
        task = _open_for_update(session, task_id, user, unit_leader)
        if task.claimed_by_id is None:
            return task
        if task.claimed_by_id != user.id and user.role not in (config.unit_leader_role, config.admin_role):
            raise Conflict("this task is claimed by another user", "task_claimed")
        history.record(session, "task_unclaimed", business_key=task.business_key, instance_id=task.instance_id,
                       actor_id=user.id, task=task, before={"claimed_by_id": task.claimed_by_id})
        task.claimed_by_id = task.claimed_at = None
        return task


def complete(db, task_id: str, data, user, after=None) -> UserTask:
    """Validate the form, run the task and everything automatic after it, save, re-project,
    append history and the milestones reached: one transaction. `after(session, task)` runs
    last in the same transaction (e.g. marking the link it came through used). The returned
    task's `notices` are what the steps run told the user ({"zh", "en"}).

    Raises NotFound, Forbidden, InvalidInput (per-field), Conflict (completed, claimed by another,
    or changed concurrently), ProcessError.
    """
    def find(session):
        task, row = _open_for_update(session, task_id, user, with_instance=True)
        if task.claimed_by_id not in (None, user.id):
            raise Conflict("this task is claimed by another user", "task_claimed")
        return task, row
    return _complete(db, find, data, user, after)


def complete_reaching(db, business_key: int, milestone: str, data, after=None) -> UserTask:
    """Someone outside the staff (the appellant, through a one-time link) completes the open
    task that reaches `milestone`; a staff claim does not stop them.

    Raises Conflict (no such open task any more), InvalidInput, ProcessError.
    """
    def find(session):
        found = session.execute(_with_instance(select(UserTask).where(
            UserTask.business_key == business_key, UserTask.state == "open",
            UserTask.milestones.contains(f",{milestone},")))).first()
        if found is None:
            raise Conflict("this step is no longer open", "task_done")
        return tuple(found)
    return _complete(db, find, data, None, after)


def _complete(db, find, data, user, after) -> UserTask:
    actor_id = getattr(user, "id", None)
    extension = registry.current().extension
    try:
        with db.transaction() as session:
            task, row = find(session)  # both locked, read in one query
            loaded = instances.restore(session, row, user)
            bundle = repository.forms_of(loaded.row.deployment)  # the forms of its version
            if loaded.row.status != "running":
                raise Conflict(f"the process is {loaded.row.status}; nothing can be completed now",
                               "process_not_running")
            spiff_task = instances.ready_task(loaded, task.id)
            if task.form:  # with the workflow data, for the rules that read it (x-process-rules)
                forms.validate(task.form, data, bundle, spiff_task.data)
            variables, fields = forms.split(task.form, data, spiff_task.data, bundle) if task.form else ({}, {})
            before = extension.snapshot(loaded.ctx)
            extension.before_complete(loaded.ctx, task, data, fields)
            spiff_task.data.update(variables)
            spiff_task.run()
            reached = milestones.reached(spiff_task)
            with history.consequences(session) as caused:  # what the steps record comes after the completion
                instances.advance(loaded)
                task.state, task.completed_at, task.completed_by_id = "completed", loaded.now, actor_id
                instances.save(session, loaded)
            history.record(session, "task_completed", business_key=task.business_key, instance_id=task.instance_id,
                           actor_id=actor_id, task=task, detail=data, before=before,
                           after=extension.snapshot(loaded.ctx))
            for name in reached:
                history.record(session, milestones.ACTION, business_key=task.business_key,
                               instance_id=task.instance_id, actor_id=actor_id, task=task,
                               detail={"milestone": name})
            history.release(session, caused)
            task.notices = list(loaded.step.notices)
            if after is not None:
                after(session, task)
            return task
    except StaleDataError as err:
        raise Conflict("the appeal was changed at the same time; reload and try again", "concurrent_change") from err


def _with_instance(query):
    """`query` on UserTask with its instance (and that one's deployment) beside it, both rows
    locked for this transaction."""
    return (query.add_columns(ProcessInstance).join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
            .options(joinedload(ProcessInstance.deployment, innerjoin=True))
            .with_for_update(of=[UserTask, ProcessInstance]))


def _open_for_update(session, task_id: str, user, unit_leader: bool = False, with_instance: bool = False):
    """The open task (and, with_instance, its instance row: (task, row)), locked."""
    if with_instance:
        found = session.execute(_with_instance(select(UserTask).where(UserTask.id == task_id))).first()
        task, row = found if found is not None else (None, None)
    else:
        task = session.scalar(select(UserTask).where(UserTask.id == task_id).with_for_update())
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if not (may_work(user, task) or (unit_leader and task.unit_id == user.unit_id)):
        raise Forbidden("this task belongs to another role or organizer unit")
    if task.state != "open":
        raise Conflict(f"this task is already {task.state}", "task_done")
    return (task, row) if with_instance else task
