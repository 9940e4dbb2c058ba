"""Recomputing deadlines after the calendar or the time-limit table changed.

Calendar: every running appeal whose deadlines are provisional, or fall on or after the first
changed day, gets each stage computed again from the start and limit it was computed from (kept
in `deadlines["basis"]`), in the transaction of the calendar change itself (hotline.calendar_changes).
Table: an instance migrated to a version with a new time-limit table may take the new limits
for the stages still ahead of it or in progress, from the same starts (runtime/migration.py calls
migration_changes and apply_migration_changes through the hotline's extension).
Either way the appeal's columns, the open tasks' due times and the waiting timers follow.
Which steps a stage governs is what the diagram declares: the `deadline` property of its user
tasks and timer events.
"""
from datetime import date, datetime, time

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select, update

from runtime import history, instances
from runtime.models import ProcessInstance, UserTask
from runtime.timers import waiting_timers
from workdays import calendar, deadlines

from . import time_limits
from .models import Appeal
from .stages import set_stage

ACTIVE = TaskState.NOT_FINISHED_MASK
STAGES = time_limits.STAGES


def affected(session, since: date | None) -> list[int]:
    """Running instances whose deadlines are provisional or fall on/after `since`."""
    conditions = [Appeal.deadlines_provisional]
    if since is not None:
        start = datetime.combine(since, time(0), calendar.TZ)
        conditions += [Appeal.dispatch_due_at >= start, Appeal.sign_for_due_at >= start,
                       Appeal.first_contact_due_at >= start, Appeal.handling_due_at >= start]
    return list(session.scalars(select(ProcessInstance.id).join(Appeal, Appeal.id == ProcessInstance.business_key)
                                .where(ProcessInstance.status == "running", or_(*conditions))
                                .order_by(ProcessInstance.id)))


def recompute_in(session, instance_id: int, actor=None) -> bool:
    """Recompute one instance's deadlines in the caller's transaction; True if any moved."""
    loaded = instances.load(session, instance_id, actor)
    before = current_deadlines(loaded.workflow)
    if not before.get("basis"):
        return False
    after = before
    for stage, (start, limit) in before["basis"].items():
        after = set_stage(loaded.ctx, after, stage, datetime.fromisoformat(start), limit)
    if after == before:
        return False
    put_in_force(session, loaded, after)
    instances.save(session, loaded)
    history.record(session, "deadlines_recomputed", business_key=loaded.row.business_key, instance_id=instance_id,
                   actor_id=getattr(actor, "id", None),
                   before={k: before.get(k) for k in before["basis"]},
                   after={k: after.get(k) for k in after["basis"]})
    return True


def recompute_all_in(session, since: date | None, actor=None) -> int:
    """recompute_all in the caller's transaction (a calendar change and what it moves, as one)."""
    return sum(recompute_in(session, instance_id, actor) for instance_id in affected(session, since))


def put_in_force(session, loaded, after: dict) -> None:
    """Make `after` the instance's deadlines: in the workflow's data, the waiting timers, the
    open user tasks' due times and the appeal's columns. Done steps get them too: a step that
    is reset (a later migration) takes its data from the step before it again."""
    for task in loaded.workflow.get_tasks():
        if "deadlines" in task.data:
            task.data["deadlines"] = after
    _rearm_timers(loaded.workflow)
    for stage in STAGES:  # a stage left without a limit ("none") loses its due times too
        due = datetime.fromisoformat(after[stage]) if stage in after else None
        setattr(loaded.ctx.appeal, f"{stage}_due_at", due)
        session.execute(update(UserTask).where(
            UserTask.instance_id == loaded.row.id, UserTask.state == "open", UserTask.deadline_stage == stage)
            .values(due_at=due))
    loaded.ctx.appeal.deadlines_provisional = bool(after.get("provisional"))


def pending_stages(workflow) -> set[str]:
    """Stages in progress or still ahead: those no task refers to yet (the handling limit runs
    from dispatch, before the handling steps exist) or that an unfinished task refers to (the
    `deadline` property its element declares: user tasks and timer events). A stage whose every
    such task is done or cancelled is over."""
    unfinished, seen = set(), set()
    for task in workflow.get_tasks():
        stage = getattr(task.task_spec, "extensions", {}).get("properties", {}).get("deadline")
        if not stage:
            continue
        seen.add(stage)
        if task.has_state(ACTIVE):
            unfinished.add(stage)
    return unfinished | (set(STAGES) - seen)


def limit_changes(workflow, appeal, table: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{stage: (limit in force, limit from `table`)} for each pending stage whose limit the
    table changes. Extension days already granted stay on top of a new handling limit."""
    basis = current_deadlines(workflow).get("basis", {})
    changes = {}
    for stage in sorted(pending_stages(workflow) & basis.keys()):
        limit = table.get(stage, "none")
        if stage == "handling" and appeal.extension_days and deadlines.working_days(limit):
            limit = f"{deadlines.working_days(limit) + appeal.extension_days}wd"
        if limit != basis[stage][1]:
            changes[stage] = (basis[stage][1], limit)
    return changes


def apply_limits(session, loaded, table: dict[str, str], changes: dict[str, tuple[str, str]]) -> dict:
    """Recompute the changed stages from their starts; the table's limits also replace the
    `<stage>_limit` variables later steps read (extensions, re-handling). Returns the deadlines."""
    before = current_deadlines(loaded.workflow)
    after = before
    for stage, (_old, limit) in changes.items():
        start = datetime.fromisoformat(before["basis"][stage][0])
        after = set_stage(loaded.ctx, after, stage, start, limit)
    for task in loaded.workflow.get_tasks():  # done steps too, as in put_in_force
        for stage in STAGES:
            if f"{stage}_limit" in task.data:
                task.data[f"{stage}_limit"] = table[stage]
    put_in_force(session, loaded, after)
    return after


def _seed_grading(loaded) -> None:
    """An instance started before the assessment graded appeals (Art. 15, 20(5)) lacks the
    variables the table and the forms of later versions read: give them the appeal's facts."""
    appeal = loaded.ctx.appeal
    facts = {"emergency": bool(appeal.emergency), "simple": bool(appeal.simple), "on_site": False, "urgency": None}
    for task in loaded.workflow.get_tasks(state=ACTIVE):
        for name, value in facts.items():
            task.data.setdefault(name, value)


def current_deadlines(workflow) -> dict:
    for task in workflow.get_tasks(state=ACTIVE):
        if task.data.get("deadlines"):
            return task.data["deadlines"]
    return {}


def _rearm_timers(workflow) -> None:
    """A reached timer keeps the due time it evaluated when reached. When the calendar under
    it changes, evaluate its expression again: the one place the engine touches a timer's
    cached value (extensions and re-handles re-enter the stage in the diagram instead)."""
    waiting = waiting_timers(workflow)
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if str(task.id) in waiting:
            value = task.workflow.script_engine.evaluate(task, task.task_spec.event_definition.expression)
            task._set_internal_data(event_value=value)


def _table(target) -> str | None:
    return (target.files or {}).get(time_limits.TABLE.name)


def _limits(table: str, appeal) -> dict[str, str]:
    return time_limits.for_appeal(table, appeal)


def migration_changes(session, items, target) -> dict[int, dict]:
    """{instance id: limit_changes} for [(instance row, workflow)] if they moved to `target`
    with its time-limit table applied (one query for their appeals)."""
    table = _table(target)
    if table is None or not items:
        return {}
    appeals = {a.id: a for a in session.scalars(select(Appeal).where(
        Appeal.id.in_([row.business_key for row, _w in items])))}
    return {row.id: changes for row, workflow in items
            if (changes := limit_changes(workflow, appeals[row.business_key],
                                         _limits(table, appeals[row.business_key])))}


def apply_migration_changes(session, loaded, target) -> dict:
    """Apply the target's time-limit table to an instance just moved to it (on the re-reached
    steps' data); returns {stage: (limit before, limit applied)}."""
    table = _table(target)
    if table is None:
        return {}
    _seed_grading(loaded)
    limits = _limits(table, loaded.ctx.appeal)
    changes = limit_changes(loaded.workflow, loaded.ctx.appeal, limits)
    if changes:
        apply_limits(session, loaded, limits, changes)
    return changes
