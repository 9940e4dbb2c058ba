"""Deadline stages of an appeal (dispatch, sign-for, first contact, handling): computing one
stage's deadline and reminder time into the `deadlines` variable the diagram carries, and
mirroring it on the appeal's columns.

`deadlines` holds, for each stage, its due time and warning time (ISO, what the timer events
read) and, under "basis", the start and limit it was computed from, so that a calendar change
can compute it again (hotline.recompute); "provisional" lists the stages that crossed a year
whose schedule is not published.
"""
import json
from datetime import datetime

from workdays import deadlines

LABELS = {"dispatch": "派单", "sign_for": "签收", "first_contact": "首次联系", "handling": "办理", "co_feedback": "协办反馈",
          "sub_sign_for": "二级签收", "sub_handling": "二级办理答复"}  # the last two: hotline.sub_dispatch


def set_stage(ctx, current: dict | None, stage: str, start: datetime, limit: str | None) -> dict:
    """Compute one stage's deadline and warning into a copy of `current`; mirror it on the appeal."""
    result = json.loads(json.dumps(current or {}))
    basis = result.setdefault("basis", {})
    provisional = set(result.get("provisional", []))
    due = deadlines.due(ctx.calendar, start, limit)
    if due is None:
        for key in (stage, f"{stage}_warning"):
            result.pop(key, None)
        basis.pop(stage, None)
        provisional.discard(stage)
    else:
        result[stage] = due.at.isoformat()
        result[f"{stage}_warning"] = warning_time(ctx.calendar, start, due.at, limit).isoformat()
        basis[stage] = [start.isoformat(), limit]
        (provisional.add if due.provisional else provisional.discard)(stage)
    result["provisional"] = sorted(provisional)
    setattr(ctx.appeal, f"{stage}_due_at", due.at if due else None)
    ctx.appeal.deadlines_provisional = bool(provisional)
    return result


def extended_handling(current: dict, days: int) -> tuple[datetime, str]:
    """Art. 20(6): (start, limit) of the handling stage extended by `days` more working days: it
    keeps its start, and the limit in force (the original plus any extension granted before)
    grows by `days`. What an approval applies (operators.apply_extension) and what the pages
    deciding one show (hotline.extension_requests)."""
    start, limit = current["basis"]["handling"]
    return datetime.fromisoformat(start), f"{deadlines.working_days(limit) + days}wd"


def warning_time(calendar, start: datetime, due: datetime, limit: str | None) -> datetime:
    """Remind half a working day before a working-day limit (DESIGN §2); halfway through a
    shorter one; never before the limit started."""
    if deadlines.working_days(limit):
        return max(start, calendar.half_working_day_before(due))
    return start + (due - start) / 2


def due_after(calendar, start: str, limit: str) -> str:
    """The instant `limit` after the ISO time `start`, as ISO: what a timer expression computes
    for "N working days after the handling deadline" (the long-overdue supervision, Art. 24)."""
    found = deadlines.due(calendar, datetime.fromisoformat(start), limit)
    if found is None:
        raise ValueError(f"limit {limit!r} gives no time")
    return found.at.isoformat()
