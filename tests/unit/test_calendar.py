"""The working-day calendar, as a table of dated cases (Asia/Shanghai)."""
from datetime import date, datetime, time, timedelta

import pytest

from workdays.calendar import TZ, Season, WorkingCalendar

CAL = WorkingCalendar()


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize("start, days, expected", [
    ("2026-03-02 10:00", 1, "2026-03-03 17:30"),   # Mon -> Tue, close of office hours
    ("2026-03-06 16:00", 1, "2026-03-09 17:30"),   # Fri -> Mon
    ("2026-03-07 11:00", 1, "2026-03-09 17:30"),   # accepted on a Saturday
    ("2026-03-02 23:59", 1, "2026-03-03 17:30"),   # after hours: the start day is still not counted
    ("2026-03-02 10:00", 10, "2026-03-16 17:30"),
    ("2025-09-26 10:00", 1, "2025-09-28 17:30"),   # Sun 2025-09-28 is a make-up working day
    ("2025-09-26 10:00", 10, "2025-10-16 17:30"),  # National Day 2025: 10-01..10-08 off, Sat 10-11 on
    ("2026-09-30 09:00", 1, "2026-10-08 17:30"),   # National Day 2026: 10-01..10-07 off
    ("2026-10-03 21:00", 1, "2026-10-08 17:30"),   # after hours on a holiday
    ("2026-10-09 09:00", 1, "2026-10-10 17:30"),   # Sat 2026-10-10 is a make-up working day
    ("2026-09-24 09:00", 3, "2026-09-30 17:30"),   # Mid-Autumn: Fri 09-25 off
    ("2026-02-13 09:00", 1, "2026-02-14 17:30"),   # Sat 2026-02-14 is a make-up working day
    ("2026-02-14 09:00", 1, "2026-02-24 17:30"),   # Spring Festival 02-15..02-23
    ("2026-04-30 16:00", 1, "2026-05-06 17:30"),   # Labour Day 05-01..05-05
])
def test_add_working_days(start, days, expected):
    due = CAL.add_working_days(at(start), days)
    assert due.at == at(expected) and not due.provisional


def test_an_unpublished_year_counts_weekdays_less_statutory_holidays_and_says_so():
    due = CAL.add_working_days(at("2026-12-30 10:00"), 5)  # Fri 2027-01-01 is New Year's Day by law
    assert due.provisional and due.at == at("2027-01-07 17:30")
    within = CAL.add_working_days(at("2026-12-28 10:00"), 2)
    assert not within.provisional and within.at == at("2026-12-30 17:30")


def test_a_loaded_year_and_overrides_win():
    loaded = WorkingCalendar(days={date(2027, 1, 1): False, date(2027, 1, 4): False, date(2027, 1, 9): True},
                             years=frozenset({2027}))
    due = loaded.add_working_days(at("2026-12-31 10:00"), 3)  # 01-01 off, weekend, 01-04 off (a typhoon)
    assert not due.provisional and due.at == at("2027-01-07 17:30")
    assert loaded.add_working_days(at("2027-01-07 10:00"), 2).at == at("2027-01-09 17:30")  # Sat 01-09 on
    typhoon = WorkingCalendar(days={date(2026, 3, 3): False})
    assert typhoon.add_working_days(at("2026-03-02 10:00"), 1).at == at("2026-03-04 17:30")


def test_half_a_working_day_is_counted_back_in_office_time():
    assert CAL.office_time(date(2026, 3, 3)) == timedelta(hours=6, minutes=30)
    assert CAL.half_working_day_before(at("2026-03-03 17:30")) == at("2026-03-03 11:45")
    assert CAL.half_working_day_before(at("2026-03-09 10:00")) == at("2026-03-06 15:45")  # back across a weekend


def test_working_time_between_counts_office_hours_on_working_days_only():
    assert CAL.working_time_between(at("2026-03-02 10:00"), at("2026-03-02 15:00")) == timedelta(hours=2, minutes=30)
    assert CAL.working_time_between(at("2026-03-06 16:00"), at("2026-03-09 09:00")) == timedelta(hours=2)
    assert CAL.working_time_between(at("2026-10-01 09:00"), at("2026-10-07 18:00")) == timedelta()
    assert CAL.working_days_between(at("2026-03-02 08:30"), at("2026-03-03 17:30")) == 2.0
    assert CAL.working_days_between(at("2026-03-03 17:30"), at("2026-03-02 08:30")) == -2.0


def test_summer_hours_move_the_close_of_office():
    summer = WorkingCalendar(seasons=(Season("夏季作息", (6, 1), (9, 30), ((time(8), time(12)), (time(15), time(18)))),))
    assert summer.add_working_days(at("2026-06-01 09:00"), 1).at == at("2026-06-02 18:00")
    assert summer.add_working_days(at("2026-03-02 09:00"), 1).at == at("2026-03-03 17:30")
    assert summer.half_working_day_before(at("2026-06-02 18:00")) == at("2026-06-02 11:30")  # 7 h day


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        CAL.add_working_days(datetime(2026, 3, 2, 10), 1)


def test_working_time_between_agrees_with_counting_day_by_day():
    """The countdown's prefix-sum index (issue 14) gives what walking the days gives, across
    holidays, make-up days, an override, summer hours and an unpublished year."""
    import random
    cal = WorkingCalendar(days={date(2026, 7, 15): False}, seasons=(
        Season("summer", (6, 1), (9, 30), ((time(8, 0), time(12, 0)), (time(15, 0), time(18, 0)))),))

    def walked(start, end):
        total, day = timedelta(), start.date()
        while day <= end.date():
            if cal.is_working_day(day):
                for a, b in cal.office_hours(day):
                    lo, hi = max(start, datetime.combine(day, a, TZ)), min(end, datetime.combine(day, b, TZ))
                    total += max(hi - lo, timedelta())
            day += timedelta(days=1)
        return total

    rng = random.Random(14)
    base = datetime(2025, 12, 1, tzinfo=TZ)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 800))
        end = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 90))
        assert cal.working_time_between(start, end) == walked(start, end), (start, end)
        assert cal.working_time_between(end, start) == -walked(start, end)
