"""The working-day calendar as administrators see and change it: a month with every day's
kind and holiday name, the years loaded and their own overrides; overriding a day or loading a
year, checked and recorded in history in the caller's transaction (the application then
recomputes what depended on the calendar, see hotline.calendar_changes)."""
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select

from runtime import clock, history
from runtime.errors import InvalidInput

from . import statutory, store
from .calendar import TZ, library_covers
from .models import CalendarDay, CalendarYear

NAME_MAX = 100
_CHINESE = {h.value: h.chinese for h in chinese_calendar.Holiday}


def month(session, first: date) -> dict:
    """The month starting at `first`: weeks (Monday first) of day cells, None outside the
    month. A cell: day, working, known (a published schedule says so), mark (班 working,
    休 day off, 调 make-up working day, ? unpublished year), name, source (admin | file |
    library | law: a holiday the national holiday measures fix, in an unpublished year | None),
    today."""
    cal = store.build(session)
    names = _file_names(first.year)
    rows = {r.day: r for r in session.scalars(select(CalendarDay).where(
        CalendarDay.day.between(first, _next_month(first) - timedelta(days=1))))}
    today = clock.now().astimezone(TZ).date()
    cells = [None] * first.weekday()
    day = first
    while day.month == first.month:
        working, known = cal.day_status(day)
        row = rows.get(day)
        name, source = _name(day, working, row, names, cal.is_published(day.year))
        mark = "?" if not known else ("调" if working and day.weekday() >= 5 else "班" if working else "休")
        cells.append({"day": day, "working": working, "known": known, "mark": mark, "name": name,
                      "source": source, "today": day == today, "weekend": day.weekday() >= 5})
        day += timedelta(days=1)
    cells += [None] * (-len(cells) % 7)
    return {"first": first, "published": cal.is_published(first.year),
            "weeks": [cells[i:i + 7] for i in range(0, len(cells), 7)],
            "prev": _prev_month(first), "next": _next_month(first)}


def overview(session) -> dict:
    """The years loaded into the database, the years of the repository's files, the last year
    chinese_calendar covers, and administrator overrides."""
    this_year = clock.now().astimezone(TZ).year
    library = [y for y in range(this_year - 1, this_year + 4) if library_covers(y)]
    return {"years": list(session.scalars(select(CalendarYear).order_by(CalendarYear.year.desc()))),
            "file_years": sorted(int(p.stem) for p in store.CALENDAR_DIR.glob("[0-9][0-9][0-9][0-9].yaml")),
            "library_until": max(library) if library else None,
            "overrides": list(session.scalars(select(CalendarDay).where(CalendarDay.source == "admin")
                                              .order_by(CalendarDay.day.desc()).limit(200)))}


def set_day(session, day: date, working: bool, reason: str, actor) -> None:
    """An administrator's override of one day (a typhoon day off, a local holiday), with its
    history row. Raises InvalidInput (name: the reason is required; day: out of range)."""
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= NAME_MAX:
        raise InvalidInput("reason required", {"name": ["请填写原因（不超过 100 个字符），如 台风停工"]})
    check_day(day)
    old = session.get(CalendarDay, day)
    before = {"working": old.working, "name": old.name, "source": old.source} if old else None
    store.set_day(session, day, working, reason, getattr(actor, "username", None))
    history.record(session, "calendar_day_set", actor_id=getattr(actor, "id", None),
                   detail={"day": day.isoformat()}, before=before, after={"working": working, "name": reason})


def load_year(session, text: str, actor) -> dict:
    """Load a year's schedule (YAML) with its history row; the summary of store.load_year.
    Raises InvalidInput (file: not a schedule)."""
    if not (text or "").strip():
        raise InvalidInput("empty schedule", {"file": ["请上传或粘贴年度节假日安排（YAML）"]})
    summary = store.load_year(session, text, getattr(actor, "username", None))
    check_day(date(summary["year"], 1, 1), "file")
    history.record(session, "calendar_year_loaded", actor_id=getattr(actor, "id", None), detail=dict(summary))
    return summary


FIRST_YEAR, LAST_YEAR = 2000, 2100


def check_day(day: date, field: str = "day") -> None:
    """Days the calendar keeps: from FIRST_YEAR to LAST_YEAR. Raises InvalidInput."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput("day out of range", {field: [f"日期应在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间"]})


def _name(day: date, working: bool, row, file_names: dict, published: bool) -> tuple[str, str | None]:
    if row is not None:
        return row.name or "", row.source
    if day in file_names:
        return file_names[day], "file"
    if library_covers(day.year):
        _, name = chinese_calendar.get_holiday_detail(day)
        if name and (not working or day.weekday() >= 5):
            return _CHINESE.get(name, name) + ("调休" if working else ""), "library"
    if not published and day in statutory.holidays(day.year):
        return statutory.holidays(day.year)[day], "law"
    return "", None


def _file_names(year: int) -> dict[date, str]:
    path = store.CALENDAR_DIR / f"{year}.yaml"
    if not path.is_file():
        return {}
    _, _, days = store.parse_year(path.read_text(encoding="utf-8"))
    return {d: name for d, (_, name) in days.items()}


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _prev_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
