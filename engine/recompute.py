"""Recomputing deadlines after the calendar changed (a year loaded, a day overridden).

Every running appeal whose deadlines are provisional, or fall on or after the first changed
day, gets each stage computed again from the start and limit it was computed from (kept in
`deadlines["basis"]`), one instance per transaction. The appeal's columns, the open tasks'
due times and the waiting timers follow.
"""
from datetime import date, datetime, time

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select, update

from . import calendar, history, instances, services
from .models import Appeal, ProcessInstance, UserTask
from .timers import waiting_timers

ACTIVE = TaskState.NOT_FINISHED_MASK


def affected(session, since: date | None) -> list[int]:
    """Running instances whose deadlines are provisional or fall on/after `since`."""
    conditions = [Appeal.deadlines_provisional]
    if since is not None:
        start = datetime.combine(since, time(0), calendar.TZ)
        conditions += [Appeal.dispatch_due_at >= start, Appeal.sign_for_due_at >= start,
                       Appeal.first_contact_due_at >= start, Appeal.handling_due_at >= start]
    return list(session.scalars(select(ProcessInstance.id).join(Appeal, Appeal.id == ProcessInstance.appeal_id)
                                .where(ProcessInstance.status == "running", or_(*conditions))
                                .order_by(ProcessInstance.id)))


def recompute_instance(db, instance_id: int, actor=None) -> bool:
    """Recompute one instance's deadlines; returns True if any moved."""
    with db.transaction() as session:
        loaded = instances.load(session, instance_id, actor)
        before = _current(loaded.workflow)
        if not before or not before.get("basis"):
            return False
        after = before
        for stage, (start, limit) in before["basis"].items():
            after = services.set_stage(loaded.ctx, after, stage, datetime.fromisoformat(start), limit)
        if after == before:
            return False
        for task in loaded.workflow.get_tasks(state=ACTIVE):
            if "deadlines" in task.data:
                task.data["deadlines"] = after
        _rearm_timers(loaded.workflow)
        for stage in ("dispatch", "sign_for", "first_contact", "handling"):
            if stage in after:
                session.execute(update(UserTask).where(
                    UserTask.instance_id == instance_id, UserTask.state == "open", UserTask.deadline_stage == stage)
                    .values(due_at=datetime.fromisoformat(after[stage])))
        instances.save(session, loaded)
        history.record(session, "deadlines_recomputed", appeal_id=loaded.appeal.id, instance_id=instance_id,
                       actor_id=getattr(actor, "id", None),
                       before={k: before.get(k) for k in before["basis"]},
                       after={k: after.get(k) for k in after["basis"]})
        return True


def recompute_all(db, since: date | None, actor=None) -> int:
    with db.read() as session:
        ids = affected(session, since)
    return sum(recompute_instance(db, instance_id, actor) for instance_id in ids)


def _current(workflow) -> dict | None:
    for task in workflow.get_tasks(state=ACTIVE):
        if task.data.get("deadlines"):
            return task.data["deadlines"]
    return None


def _rearm_timers(workflow) -> None:
    """A reached timer keeps the due time it evaluated when reached. When the calendar under
    it changes, evaluate its expression again: the one place the engine touches a timer's
    cached value (extensions and re-handles re-enter the stage in the diagram instead)."""
    waiting = waiting_timers(workflow)
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if str(task.id) in waiting:
            value = task.workflow.script_engine.evaluate(task, task.task_spec.event_definition.expression)
            task._set_internal_data(event_value=value)
