"""What an extension application asks (Art. 20(6)), for the people who decide it: the unit
leader's consent and the platform's approval show the days asked for, the applicant's reason,
the handling deadline in force and the one the extension would give.

The resulting deadline is computed by the rule an approval applies (hotline.stages.extended_handling,
on the working-day calendar in force), from the deadlines the instance carries. The days and the
reason come from history: the `extension_applied` event the diagram's check recorded, and the
submission that applied (the instance's latest task completion that gave a reason: while the
application waits for its decision, no other step of the instance can give one).
"""
from sqlalchemy import select

from runtime import instances
from runtime.errors import Conflict
from runtime.models import HistoryEvent, UserTask
from workdays import deadlines, store

from .models import Appeal
from .stages import extended_handling

APPLIED = "extension_applied"  # hotline.operators.check_extension_application
REASON_FIELD = "extension_reason"  # the field of the result form that says why (forms/record_result)


def asked(session, task: UserTask) -> dict | None:
    """{"days", "reason", "applied_at", "applicant_id", "current", "resulting", "provisional"} of
    the application an open task decides, or None when its appeal has no application that
    passed the check. `current` and `resulting` are the handling deadlines now and with the days
    granted; `provisional` when the result falls in a year whose holidays are not published."""
    applied = session.scalar(select(HistoryEvent).where(
        HistoryEvent.business_key == task.business_key, HistoryEvent.instance_id == task.instance_id,
        HistoryEvent.action == APPLIED).order_by(HistoryEvent.id.desc()).limit(1))
    if applied is None or not (applied.detail or {}).get("allowed"):
        return None
    cause = session.scalar(select(HistoryEvent).where(
        HistoryEvent.instance_id == applied.instance_id, HistoryEvent.action == "task_completed",
        HistoryEvent.detail[REASON_FIELD].as_string().is_not(None)).order_by(HistoryEvent.id.desc()).limit(1))
    days = int(applied.detail["days"])
    appeal = session.get(Appeal, task.business_key)
    current = _deadlines(session, task)
    result = None
    if current.get("basis", {}).get("handling"):
        result = deadlines.due(store.build(session), *extended_handling(current, days))
    return {"days": days, "reason": (cause.detail or {}).get(REASON_FIELD) if cause else None,
            "applied_at": applied.at, "applicant_id": cause.actor_id if cause else applied.actor_id,
            "current": appeal.handling_due_at, "resulting": result.at if result else None,
            "provisional": bool(result and result.provisional)}


def _deadlines(session, task: UserTask) -> dict:
    """The `deadlines` the open task carries in its instance (read, not locked)."""
    loaded = instances.load(session, task.instance_id, None, lock=False)
    try:
        return instances.ready_task(loaded, task.id).data.get("deadlines") or {}
    except Conflict:
        return {}
