"""Where the working-day calendar's data comes from: the year files and office hours in a
folder (the hotline's processes/calendar/), and the loaded years and administrator overrides in
the database.

`build(session, folder)` gives the WorkingCalendar in force; `load_year` and `set_day` change it
in the caller's transaction (workdays.admin records why; the application recomputes what
depended on it).

Building it reads every year and day row and parses the YAML files, so each process keeps the
calendar it built per database and reuses it. At most every CHECK_SECONDS it asks the database
for a fingerprint of the rows (one small query) and rebuilds if another process changed them;
a change made through this process is seen at once (the cache is dropped when it commits), and
the transaction making it always builds afresh.
"""
import threading
import time as monotonic
import weakref
from datetime import date, time, timedelta
from pathlib import Path

import yaml
from sqlalchemy import case, event, func, select

from runtime import clock
from runtime.errors import InvalidInput

from .calendar import Season, WorkingCalendar
from .models import CalendarDay, CalendarYear

# The default folder of year files and office hours: this repository's processes/calendar/.
CALENDAR_DIR = Path(__file__).resolve().parent.parent / "processes" / "calendar"


def parse_year(text: str) -> tuple[int, str, dict[date, tuple[bool, str]]]:
    """(year, source, {day: (working, name)}) from a year file. Raises InvalidInput."""
    try:
        data = yaml.safe_load(text)
        year, source = int(data["year"]), str(data.get("source", ""))
        days = {}
        for block in data.get("holidays") or []:
            day, end = _date(block["from"]), _date(block.get("to", block["from"]))
            while day <= end:
                days[day] = (False, str(block.get("name", "")))
                day += timedelta(days=1)
        for entry in data.get("workdays") or []:
            entry = entry if isinstance(entry, dict) else {"date": entry}
            days[_date(entry["date"])] = (True, str(entry.get("name", "调休")))
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"not a year schedule: {err}", {"file": [f"年度节假日安排格式错误：{err}"]}) from err
    wrong = sorted(str(d) for d in days if d.year != year)
    if wrong:
        raise InvalidInput("dates outside the year", {"file": [f"日期不属于 {year} 年：{', '.join(wrong)}"]})
    return year, source, days


def office_hours(folder: Path = CALENDAR_DIR) -> tuple[tuple, tuple[Season, ...]]:
    path = folder / "office_hours.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    default = tuple(_period(p) for p in data.get("default") or ["08:30-12:00", "14:30-17:30"])
    seasons = tuple(Season(s["name"], _month_day(s["from"]), _month_day(s["to"]),
                           tuple(_period(p) for p in s["hours"])) for s in data.get("seasons") or [])
    return default, seasons


CHECK_SECONDS = 1.0  # how stale another process's calendar change may be seen here
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # engine -> {folder: _Cached}
_lock = threading.Lock()


class _Cached:
    def __init__(self, calendar, fingerprint, checked):
        self.calendar, self.fingerprint, self.checked = calendar, fingerprint, checked


def build(session, folder: Path = CALENDAR_DIR) -> WorkingCalendar:
    """The calendar in force: database rows win over repo files, which win over chinese_calendar.
    With no session, the files and chinese_calendar alone."""
    if session is None or session.info.get(_CHANGED):
        return _build(session, folder)
    engine, now = session.get_bind(), monotonic.monotonic()
    with _lock:
        cached = _cache.get(engine, {}).get(folder)
    if cached is not None and now - cached.checked < CHECK_SECONDS:
        return cached.calendar
    fingerprint = _fingerprint(session, folder)
    if cached is None or cached.fingerprint != fingerprint:
        cached = _Cached(_build(session, folder), fingerprint, now)
    cached.checked = now
    with _lock:
        _cache.setdefault(engine, {})[folder] = cached
    return cached.calendar


def forget(engine=None) -> None:
    """Drop the calendars cached for `engine` (every one by default: a database replaced under
    this process, as tests do)."""
    with _lock:
        if engine is None:
            _cache.clear()
        else:
            _cache.pop(engine, None)


def _fingerprint(session, folder: Path) -> tuple:
    """What changes whenever a row or file the calendar is built from changes."""
    days = select(func.count(), func.sum(case((CalendarDay.working, 1), else_=0)), func.max(CalendarDay.updated_at))
    years = select(func.count(), func.max(CalendarYear.loaded_at))
    files = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.yaml")))
    return tuple(session.execute(days).one()) + tuple(session.execute(years).one()) + files


def _build(session, folder: Path) -> WorkingCalendar:
    days, years = {}, set()
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9].yaml")):
        year, _, file_days = parse_year(path.read_text(encoding="utf-8"))
        years.add(year)
        days.update({d: working for d, (working, _) in file_days.items()})
    if session is not None:
        years.update(session.scalars(select(CalendarYear.year)))
        days.update(dict(session.execute(select(CalendarDay.day, CalendarDay.working)).all()))
    hours, seasons = office_hours(folder)
    return WorkingCalendar(days=days, years=frozenset(years), hours=hours, seasons=seasons)


_CHANGED = "workdays.calendar_changed"


def _changing(session) -> None:
    """This transaction changes the calendar: it builds its own afresh, and once it commits this
    process's cached calendars are dropped."""
    if not session.info.get(_CHANGED):
        session.info[_CHANGED] = True
        event.listen(session, "after_commit", _committed, once=True)
        event.listen(session, "after_rollback", _committed, once=True)


def _committed(session) -> None:
    session.info.pop(_CHANGED, None)
    forget(session.get_bind())


def load_year(session, text: str, by: str | None = None) -> dict:
    """Store a year's schedule (administrator overrides of that year are kept)."""
    year, source, days = parse_year(text)
    _changing(session)
    admin_days = set(session.scalars(select(CalendarDay.day).where(CalendarDay.source == "admin")))
    for row in session.scalars(select(CalendarDay).where(
            CalendarDay.source == "file", CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))):
        session.delete(row)
    session.flush()
    for day, (working, name) in days.items():
        if day not in admin_days:
            session.add(CalendarDay(day=day, working=working, name=name, source="file", updated_by=by))
    row = session.get(CalendarYear, year) or CalendarYear(year=year)
    row.source, row.loaded_at, row.loaded_by = source or f"{year}", clock.now(), by
    session.add(row)
    return {"year": year, "days": len(days), "kept_admin_overrides": len(admin_days & set(days))}


def set_day(session, day: date, working: bool, name: str, by: str | None) -> CalendarDay:
    """An administrator's override, e.g. a typhoon day off."""
    _changing(session)
    row = session.get(CalendarDay, day) or CalendarDay(day=day)
    row.working, row.name, row.source, row.updated_at, row.updated_by = working, name, "admin", clock.now(), by
    session.add(row)
    return row


def _date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _period(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def _month_day(text: str) -> tuple[int, int]:
    month, day = str(text).split("-")
    return int(month), int(day)
