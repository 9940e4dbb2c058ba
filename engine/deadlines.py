"""Time limits of an appeal (Art. 14, 17, 20) as pure functions over datetimes.

- Dispatch by the platform within 1 working day of acceptance; urgent matters that endanger
  life or property immediately (we allow one hour) with a phone notice (Art. 14).
- Sign for, or return with reasons, within 1 working day of dispatch; urgent: immediately (Art. 17).
- Handling limits from dispatch (Art. 20): consultation 2 working days; complaint 10, or 3
  when on the convenience-service list; suggestion 5; help 3 with first contact within 1;
  urgent or simple matters the same day.
"""
from datetime import datetime, timedelta

from . import calendar

HANDLING_DAYS = {"consultation": 2, "complaint": 10, "suggestion": 5, "help": 3}
CONVENIENCE_LIST_DAYS = {"complaint": 3}
IMMEDIATELY = timedelta(hours=1)


def handling_days(appeal_type: str, convenience_list: bool = False) -> int:
    if convenience_list and appeal_type in CONVENIENCE_LIST_DAYS:
        return CONVENIENCE_LIST_DAYS[appeal_type]
    return HANDLING_DAYS[appeal_type]


def dispatch_deadline(accepted_at: datetime, urgent: bool) -> calendar.Deadline:
    if urgent:
        return calendar.Deadline(accepted_at + IMMEDIATELY, False)
    return calendar.add_working_days(accepted_at, 1)


def organizer_deadlines(dispatched_at: datetime, appeal_type: str, convenience_list: bool,
                        urgent: bool, extension_days: int = 0) -> dict[str, calendar.Deadline]:
    """Sign-for, handling (plus granted extension days) and, for help, first contact."""
    if urgent:
        result = {"sign_for": calendar.Deadline(dispatched_at + IMMEDIATELY, False),
                  "handling": calendar.end_of_day(dispatched_at)}
    else:
        days = handling_days(appeal_type, convenience_list) + extension_days
        result = {"sign_for": calendar.add_working_days(dispatched_at, 1),
                  "handling": calendar.add_working_days(dispatched_at, days)}
    if appeal_type == "help":
        result["first_contact"] = (calendar.Deadline(dispatched_at + IMMEDIATELY, False) if urgent
                                   else calendar.add_working_days(dispatched_at, 1))
    return result


def all_deadlines(accepted_at: datetime, appeal_type: str, convenience_list: bool = False,
                  urgent: bool = False, dispatched_at: datetime | None = None) -> dict[str, calendar.Deadline]:
    """What `hotline deadline` prints: dispatch from acceptance, the rest from dispatch
    (assumed to happen at acceptance when not given)."""
    result = {"dispatch": dispatch_deadline(accepted_at, urgent)}
    result.update(organizer_deadlines(dispatched_at or accepted_at, appeal_type, convenience_list, urgent))
    return result
