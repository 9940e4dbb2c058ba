"""Urges (催办, Art. 17, 30(2)): a caller rings again about an appeal still open. The agent links
the call to it: the units holding it now (those with an open step, or the platform when no unit
has one) are urged, the urge is on the appeal's record, and evaluation counts the lead unit's
urged appeals. An urge changes no step: who holds the appeal is what the diagram made of it.
"""
from sqlalchemy import func, select

from runtime import history
from runtime.errors import Conflict
from runtime.models import HistoryEvent, Notification, UserTask

from . import appeals, texts
from .access import require

MAX_NOTE = 500


def urge(db, appeal_id: int, note: str, actor) -> dict:
    """Record the urge and tell the holders, in one transaction. Returns {"holders": [...],
    "count": urges so far}. Raises Forbidden, NotFound, InvalidInput (no note, too long),
    Conflict (the appeal is closed: reason `appeal_closed`)."""
    require(actor, "urge")
    note = texts.required(note, "note", "请填写来电催办的内容", MAX_NOTE)
    with db.transaction() as session:
        appeal = appeals.get_visible(session, appeal_id, actor)
        session.refresh(appeal, with_for_update=True)  # urges of the same appeal are counted one after another
        if appeal.closed_at is not None:
            raise Conflict("the appeal is closed; register the call as a new appeal", "appeal_closed")
        open_units = sorted({u for u in session.scalars(select(UserTask.unit_id).where(
            UserTask.business_key == appeal.id, UserTask.state == "open")) if u is not None})
        holders = [f"unit:{u}" for u in open_units] or ["platform:dispatcher"]
        count = 1 + session.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.business_key == appeal.id, HistoryEvent.action == "urged"))
        text = f"催办：诉求 {appeal.number}（{appeal.title}）诉求人再次来电，第 {count} 次催办：{note}"
        for holder in holders:
            session.add(Notification(business_key=appeal.id, channel="in_app", recipient=holder, body=text))
            if holder.startswith("unit:"):
                session.add(Notification(business_key=appeal.id, channel="sms", recipient=f"{holder}:leader",
                                         body=text))
        history.record(session, "urged", business_key=appeal.id, actor_id=actor.id,
                       detail={"note": note, "unit_ids": open_units, "count": count})
        return {"holders": holders, "count": count}
