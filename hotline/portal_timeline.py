"""What the public portal tells an appellant about their appeal (issue 15): what they gave,
where it stands and a plain-language timeline read from the appeal's history.

Only what is the appellant's business is read: the names of the units it went to (public
bodies), the reply once given, the answer or the guidance given at intake, the days and the
reason of an approved extension (the appellant is told of it by SMS too), the evaluation.
Never the people who worked it, comments, the unit's handling report, refused extensions,
supervision, or another appeal (the main appeal of a merged one is not named). Events are
the domain's own history actions, so no element of the diagram is named here.
"""
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from runtime.models import HistoryEvent

from .extension_requests import REASON_FIELD
from .models import Appeal, OrganizerUnit

KINDS = {  # history action -> what the timeline says
    "appeal_registered": "received", "not_accepted": "not_accepted", "answered_on_spot": "answered",
    "dispatched": "dispatched", "extension_decided": "extended", "replied": "replied",
    "rehandle_started": "rehandled", "merged": "merged", "evaluation_link_sent": "evaluation_requested",
    "evaluated": "evaluated", "withdrawn": "withdrawn", "archived": "closed",
}


@dataclass
class Entry:
    at: datetime
    kind: str  # a value of KINDS, or "redispatched" (dispatched again)
    units: list[str] = field(default_factory=list)  # dispatched: the lead unit first, then co-organizers
    co_units: list[str] = field(default_factory=list)
    days: int | None = None  # extended
    reason: str | None = None  # extended
    evaluation: str | None = None  # evaluated


def view(session, appeal_id: int) -> dict:
    """{"appeal", "entries" (oldest first), "replied" (the reply may be shown)} of an appeal."""
    appeal = session.get(Appeal, appeal_id)
    events = list(session.scalars(select(HistoryEvent).where(
        HistoryEvent.business_key == appeal_id,
        HistoryEvent.action.in_(tuple(KINDS)) | (HistoryEvent.action == "task_completed")
        & HistoryEvent.detail[REASON_FIELD].as_string().is_not(None)).order_by(HistoryEvent.id)))
    unit_ids = {u for e in events if e.action == "dispatched"
                for u in [(e.detail or {}).get("lead_unit_id"), *(e.detail or {}).get("co_unit_ids", [])] if u}
    names = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)
                                 .where(OrganizerUnit.id.in_(unit_ids))).all()) if unit_ids else {}
    entries, reason, dispatched = [], None, False
    for event in events:
        detail = event.detail or {}
        if event.action == "task_completed":  # an extension application: its reason, for the decision
            reason = detail.get(REASON_FIELD)
            continue
        entry = Entry(event.at, KINDS[event.action])
        if event.action == "dispatched":
            entry.kind = "redispatched" if dispatched else "dispatched"
            entry.units = [names.get(detail.get("lead_unit_id"), "")]
            entry.co_units = [names.get(u, "") for u in detail.get("co_unit_ids", [])]
            dispatched = True
        elif event.action == "extension_decided":
            if not detail.get("approved"):
                continue  # refused: nothing changed for the appellant
            entry.days, entry.reason = detail.get("days"), reason
        elif event.action == "evaluated":
            entry.evaluation = detail.get("evaluation")
        entries.append(entry)
    return {"appeal": appeal, "entries": entries, "replied": any(e.kind == "replied" for e in entries)}
