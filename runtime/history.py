"""The history service: an append-only audit log of every state change and every read of
personal data.

Rows are only ever inserted, inside the same transaction as the change they describe. A row
names the business key it is about (None for changes of the platform itself: users, units,
the calendar), the instance and the task when there is one.
"""
from sqlalchemy import select

from .models import HistoryEvent


def record(session, action: str, *, business_key=None, instance_id=None, actor_id=None, task=None,
           detail=None, before=None, after=None) -> HistoryEvent:
    """Append one event. `task` is a UserTask row or None."""
    event = HistoryEvent(action=action, business_key=business_key, instance_id=instance_id, actor_id=actor_id,
                         task_bpmn_id=getattr(task, "bpmn_id", None), task_name=getattr(task, "name", None),
                         detail=detail, before=before, after=after)
    session.add(event)
    return event


def for_key(session, business_key: int) -> list[HistoryEvent]:
    """Every event of a business key, oldest first."""
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.business_key == business_key)
                                .order_by(HistoryEvent.at, HistoryEvent.id)))
