"""Working days and office hours: pure functions over dates, no database.

Rules (DESIGN §2, regulation Art. 14, 17, 20):
- A working day follows the State Council's yearly schedule: statutory holidays are off,
  make-up working days (调休) on weekends are on. Where a day is defined, the sources win in
  this order: an administrator's override (a typhoon day off), a year-schedule file, the
  `chinese_calendar` package.
- A year that is not published is never silently guessed: its days count Monday–Friday minus
  the public holidays the national holiday measures fix by law (workdays.statutory: New Year's
  Day, Spring Festival eve + 3 days, Qingming, May 1–2, Dragon Boat, Mid-Autumn, October 1–3),
  with no make-up working days (调休 cannot be derived), and every deadline that crosses such a
  day is marked provisional. Once the year's schedule is loaded it alone decides.
- "N working days" after an instant: the start day is not counted; the limit ends at the
  close of office hours on the N-th working day after it.
- Office hours default to 08:30–12:00 and 14:30–17:30 Asia/Shanghai; a season (e.g. summer)
  may set other hours for a date range.
- Half a working day is half of that day's office time, counted back in office time
  (default 3 h 15 min: a 17:30 deadline has its half-day cut-off at 11:45).

Cases (Asia/Shanghai), see tests/unit/test_calendar.py:
  Mon 2026-03-02 10:00 + 1  -> Tue 2026-03-03 17:30
  Wed 2026-09-30 09:00 + 1  -> Thu 2026-10-08 17:30  (National Day 10-01..10-07)
  Fri 2026-02-13 09:00 + 1  -> Sat 2026-02-14 17:30  (make-up working day)
  Thu 2027-02-04 10:00 + 3  -> Thu 2027-02-11 17:30  provisional (2027 not published: Spring
                                                      Festival eve 02-05 to 02-08 off by law)
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar

from . import statutory

TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS = ((time(8, 30), time(12, 0)), (time(14, 30), time(17, 30)))


@dataclass(frozen=True)
class Deadline:
    at: datetime
    provisional: bool  # crossed a day of a year whose schedule is not published


@dataclass(frozen=True)
class Season:
    """Office hours for a recurring date range, e.g. summer from 06-01 to 09-30."""
    name: str
    start: tuple[int, int]  # (month, day)
    end: tuple[int, int]
    hours: tuple[tuple[time, time], ...]

    def covers(self, day: date) -> bool:
        return self.start <= (day.month, day.day) <= self.end


@cache
def library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


@dataclass
class WorkingCalendar:
    """`days` maps a date to True (working) or False (day off), overriding the library;
    `years` are the years published through files or the database."""
    days: dict[date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()
    hours: tuple[tuple[time, time], ...] = DEFAULT_HOURS
    seasons: tuple[Season, ...] = ()
    tz: ZoneInfo = TZ
    # office time of the working days before each day of a range, in seconds (built as needed):
    # a countdown is two partial days and one subtraction, not a walk day by day
    # (first day, [seconds before each day]); replaced whole, so threads sharing it never see half
    _index: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _status: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # day -> day_status

    def is_published(self, year: int) -> bool:
        return year in self.years or library_covers(year)

    def day_status(self, day: date) -> tuple[bool, bool]:
        """(is it a working day, does a published schedule say so). A loaded year is its
        file's days and otherwise Monday–Friday; an unpublished one is the statutory guess."""
        found = self._status.get(day)
        if found is None:
            found = self._status[day] = self._day_status(day)
        return found

    def _day_status(self, day: date) -> tuple[bool, bool]:
        if day in self.days:
            return self.days[day], True
        if library_covers(day.year):
            return chinese_calendar.is_workday(day), True
        if day.year in self.years:
            return day.weekday() < 5, True
        # Unpublished: weekdays minus the holidays fixed by law; no make-up working weekends,
        # since 调休 is decided by each year's notice and cannot be guessed.
        return day.weekday() < 5 and not statutory.is_holiday(day), False

    def is_working_day(self, day: date) -> bool:
        return self.day_status(day)[0]

    def office_hours(self, day: date) -> tuple[tuple[time, time], ...]:
        for season in self.seasons:
            if season.covers(day):
                return season.hours
        return self.hours

    def office_time(self, day: date) -> timedelta:
        return sum((_span(day, a, b) for a, b in self.office_hours(day)), timedelta())

    def close_of(self, day: date) -> datetime:
        return datetime.combine(day, self.office_hours(day)[-1][1], self.tz)

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        """Close of office hours on the `days`-th working day after `start`'s date."""
        _aware(start)
        day, provisional, counted = start.astimezone(self.tz).date(), False, 0
        while counted < days:
            day += timedelta(days=1)
            working, known = self.day_status(day)
            provisional = provisional or not known
            counted += working
        return Deadline(self.close_of(day), provisional)

    def end_of_day(self, start: datetime) -> Deadline:
        """The same calendar day (urgent matters, Art. 20(5))."""
        day = _aware(start).astimezone(self.tz).date()
        return Deadline(datetime.combine(day, time(23, 59, 59), self.tz), False)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time on working days between two instants (negative if end < start)."""
        if _aware(end) < _aware(start):
            return -self.working_time_between(end, start)
        start, end = start.astimezone(self.tz), end.astimezone(self.tz)
        first, last = start.date(), end.date()
        if first == last:
            return self._within(first, start, end)
        whole_days = timedelta(seconds=self._before(last) - self._before(first + timedelta(days=1)))
        return self._within(first, start, end) + whole_days + self._within(last, start, end)

    def _within(self, day: date, start: datetime, end: datetime) -> timedelta:
        """Office time of `day` (if it is a working day) between two instants."""
        total = timedelta()
        if self.is_working_day(day):
            for a, b in self.office_hours(day):
                lo = max(start, datetime.combine(day, a, self.tz))
                hi = min(end, datetime.combine(day, b, self.tz))
                total += max(hi - lo, timedelta())
        return total

    def _before(self, day: date) -> int:
        """Seconds of office time on the working days from the index's first day up to `day`."""
        index = self._index
        if index is None or not 0 <= (day - index[0]).days < len(index[1]):
            start = day if index is None else index[0]
            low = min(day, start) - timedelta(days=400)
            high = max(day, start + timedelta(days=len(index[1]) if index else 0)) + timedelta(days=400)
            totals, total, current = [], 0, low
            while current <= high:
                totals.append(total)
                total += int(self.office_time(current).total_seconds()) if self.is_working_day(current) else 0
                current += timedelta(days=1)
            index = self._index = (low, totals)
        return index[1][(day - index[0]).days]

    def subtract_office_time(self, instant: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of office time (on working days) before `instant`."""
        instant = _aware(instant).astimezone(self.tz)
        day = instant.date()
        for _ in range(3660):  # at most ten years back
            if self.is_working_day(day):
                for a, b in reversed(self.office_hours(day)):
                    hi = min(instant, datetime.combine(day, b, self.tz))
                    lo = datetime.combine(day, a, self.tz)
                    if hi <= lo:
                        continue
                    if hi - lo >= amount:
                        return hi - amount
                    amount -= hi - lo
            day -= timedelta(days=1)
        raise ValueError("not enough office time before this instant")

    def half_working_day_before(self, instant: datetime) -> datetime:
        """Art. 20(6): the cut-off half a working day of office time before a deadline."""
        day = _aware(instant).astimezone(self.tz).date()
        return self.subtract_office_time(instant, self.office_time(day) / 2)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """For countdowns ("剩余 1.5 个工作日"): office time in units of a standard day."""
        standard = sum((_span(date(2000, 1, 3), a, b) for a, b in self.hours), timedelta())
        return self.working_time_between(start, end) / standard


def _span(day: date, a: time, b: time) -> timedelta:
    return datetime.combine(day, b) - datetime.combine(day, a)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value
