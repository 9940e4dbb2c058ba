"""History: an append-only audit log of every state change and every read of personal data.

Rows are only ever inserted, inside the same transaction as the change they describe.
"""
from sqlalchemy import select

from .models import HistoryEvent


def record(session, action: str, *, appeal_id=None, instance_id=None, actor_id=None, task=None,
           detail=None, before=None, after=None) -> HistoryEvent:
    """Append one event. `task` is a UserTask row or None."""
    event = HistoryEvent(action=action, appeal_id=appeal_id, instance_id=instance_id, actor_id=actor_id,
                         task_bpmn_id=getattr(task, "bpmn_id", None), task_name=getattr(task, "name", None),
                         detail=detail, before=before, after=after)
    session.add(event)
    return event


def for_appeal(session, appeal_id: int) -> list[HistoryEvent]:
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.appeal_id == appeal_id)
                                .order_by(HistoryEvent.at, HistoryEvent.id)))
