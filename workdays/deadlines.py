"""Limits and deadlines: pure functions over datetimes and the working-day calendar.

A limit is text an analyst writes in a decision table:
- "Nwd": N working days after the start day (Art. 14, 17, 20);
- "PT1H" (any ISO 8601 clock duration): "immediately" for urgent matters (Art. 14);
- "same_day": by the end of the same calendar day (Art. 20(5));
- "none": no such limit.
"""
import re
from datetime import datetime, timedelta

from .calendar import Deadline, WorkingCalendar

_WORKING_DAYS = re.compile(r"^(\d+)wd$")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


class LimitError(ValueError):
    """A limit in the table is not in the grammar above."""


def working_days(limit: str | None) -> int:
    """The number of working days in a "Nwd" limit, else 0 (same day, hours, none)."""
    match = _WORKING_DAYS.match(limit or "")
    return int(match.group(1)) if match else 0


def is_limit(text: str) -> bool:
    """Whether `text` is in the grammar above."""
    return text in ("none", "same_day") or bool(_WORKING_DAYS.match(text)) \
        or bool((match := _DURATION.match(text)) and any(match.groups()))


def due(calendar: WorkingCalendar, start: datetime, limit: str | None) -> Deadline | None:
    """When a limit that starts at `start` runs out; None for "none"."""
    if limit in (None, "", "none"):
        return None
    if limit == "same_day":
        return calendar.end_of_day(start)
    if match := _WORKING_DAYS.match(limit):
        return calendar.add_working_days(start, int(match.group(1)))
    if (match := _DURATION.match(limit)) and any(match.groups()):
        hours, minutes = (int(g or 0) for g in match.groups())
        return Deadline(start + timedelta(hours=hours, minutes=minutes), False)
    raise LimitError(f"time limit '{limit}' is not 'Nwd', 'PTnHnM', 'same_day' or 'none'")
