"""Working days (Chinese statutory calendar) and office hours.

Rules (DESIGN §2):
- A working day follows the State Council's yearly schedule: statutory holidays are off,
  make-up working days (调休) on weekends are on. `chinese_calendar` supplies the published
  years.
- A year that is not published is never guessed: its days count Monday–Friday and every
  deadline computed through it is marked provisional.
- "N working days" after an instant: the start day is not counted; the limit ends at the
  close of office hours (17:30 Asia/Shanghai by default) on the N-th working day after it.

Cases (Asia/Shanghai):
  Mon 2026-03-02 10:00 + 1  -> Tue 2026-03-03 17:30
  Fri 2026-03-06 16:00 + 1  -> Mon 2026-03-09 17:30
  Wed 2026-09-30 09:00 + 1  -> Fri 2026-10-09 17:30  (National Day holiday 10-01..10-08)
  Sat 2026-12-26 + 5        -> lands in 2027: provisional
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

TZ = ZoneInfo("Asia/Shanghai")
OFFICE_CLOSE = time(17, 30)


@dataclass(frozen=True)
class Deadline:
    at: datetime
    provisional: bool  # True when it crossed a year whose schedule is not published


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is it a working day, is the answer from a published schedule)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: datetime, days: int) -> Deadline:
    """Close of office hours on the `days`-th working day after `start`'s date (start day not counted)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    day = start.astimezone(TZ).date()
    provisional = False
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        working, known = is_working_day(day)
        provisional = provisional or not known
        counted += working
    return Deadline(datetime.combine(day, OFFICE_CLOSE, TZ), provisional)


def end_of_day(start: datetime) -> Deadline:
    """The same calendar day (urgent matters, Art. 20(5))."""
    day = start.astimezone(TZ).date()
    return Deadline(datetime.combine(day, time(23, 59, 59), TZ), False)
