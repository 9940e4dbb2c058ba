"""The provisional guess for a year whose schedule is not published (Art. 14/17 working days;
national holiday measures): Monday–Friday less the public holidays the law fixes, still marked
provisional, until the year's schedule is loaded and wins. Dated cases, Asia/Shanghai."""
from datetime import date, datetime
from pathlib import Path

import pytest
from lunar_python import Solar

from workdays import calendar, deadlines, statutory, store
from workdays.calendar import TZ, WorkingCalendar

DATA = Path(__file__).resolve().parents[1] / "data"
CAL = WorkingCalendar()


@pytest.fixture(autouse=True)
def unpublished_from_2027(monkeypatch):
    """These cases are about years chinese_calendar does not cover: keep 2027 on as such even
    after an upgrade of the package brings the real schedule."""
    covers = calendar.library_covers
    monkeypatch.setattr(calendar, "library_covers", lambda year: year < 2027 and covers(year))


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_the_statutory_holidays_of_2027():
    assert dict(statutory.holidays(2027)) == {
        date(2027, 1, 1): "元旦",
        date(2027, 2, 5): "除夕", date(2027, 2, 6): "春节", date(2027, 2, 7): "春节", date(2027, 2, 8): "春节",
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节", date(2027, 5, 2): "劳动节",
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        date(2027, 10, 1): "国庆节", date(2027, 10, 2): "国庆节", date(2027, 10, 3): "国庆节",
    }


@pytest.mark.parametrize("day", ["2027-01-01", "2027-02-05", "2027-02-08", "2027-04-05", "2027-06-09",
                                 "2027-09-15", "2027-10-01", "2029-05-01", "2029-05-02", "2029-10-01",
                                 "2029-10-02", "2029-10-03"])
def test_a_statutory_holiday_on_a_weekday_is_not_a_working_day_while_unpublished(day):
    day = date.fromisoformat(day)
    assert day.weekday() < 5 and CAL.day_status(day) == (False, False)


def test_spring_festival_2027_eve_to_third_day_and_the_days_around_it():
    assert [CAL.day_status(date(2027, 2, d)) for d in range(4, 10)] == [
        (True, False),                                  # Thu 02-04
        (False, False), (False, False), (False, False),  # eve (Fri), 初一 (Sat), 初二 (Sun)
        (False, False),                                 # 初三 (Mon)
        (True, False)]                                  # Tue 02-09: no bridging day is guessed


def test_no_make_up_working_weekend_is_guessed():
    assert CAL.day_status(date(2027, 1, 30)) == (False, False)  # a Saturday stays off
    assert CAL.day_status(date(2027, 2, 20)) == (False, False)


@pytest.mark.parametrize("start, days, expected", [
    ("2027-02-04 10:00", 3, "2027-02-11 17:30"),   # Spring Festival: eve Fri 02-05 .. 初三 Mon 02-08
    ("2026-12-31 10:00", 1, "2027-01-04 17:30"),   # New Year's Day Fri 2027-01-01
    ("2027-04-02 10:00", 1, "2027-04-06 17:30"),   # Qingming Mon 04-05
    ("2027-06-08 10:00", 1, "2027-06-10 17:30"),   # Dragon Boat Wed 06-09
    ("2027-09-14 10:00", 1, "2027-09-16 17:30"),   # Mid-Autumn Wed 09-15
    ("2027-09-30 10:00", 1, "2027-10-04 17:30"),   # National Day Fri 10-01 (10-02, 10-03 a weekend)
    ("2029-04-30 10:00", 1, "2029-05-03 17:30"),   # Labour Day Tue 05-01, Wed 05-02
    ("2029-09-28 10:00", 1, "2029-10-04 17:30"),   # National Day Mon 10-01 .. Wed 10-03
])
def test_deadlines_across_a_statutory_holiday_skip_it_and_are_provisional(start, days, expected):
    due = CAL.add_working_days(at(start), days)
    assert due.provisional and due.at == at(expected)


def test_a_3wd_limit_from_the_day_before_spring_festival_eve_2027():
    due = deadlines.due(CAL, at("2027-02-04 10:00"), "3wd")
    assert due.provisional and due.at == at("2027-02-11 17:30")  # Mon–Fri alone would say 02-09


@pytest.mark.parametrize("year, eve, lunar_day", [
    (2027, date(2027, 2, 5), 29),   # the 12th lunar month of 2026 is short: no 大年三十
    (2028, date(2028, 1, 25), 29),
    (2030, date(2030, 2, 2), 30),   # a long 12th month: the eve is the 30th
])
def test_spring_festival_eve_is_the_last_day_of_the_12th_lunar_month(year, eve, lunar_day):
    lunar = Solar.fromYmd(eve.year, eve.month, eve.day).getLunar()
    assert (lunar.getMonth(), lunar.getDay()) == (12, lunar_day)  # as the library has it
    assert statutory.holidays(year)[eve] == "除夕"
    assert date.fromordinal(eve.toordinal() - 1) not in statutory.holidays(year)
    assert [CAL.is_working_day(date.fromordinal(eve.toordinal() + i)) for i in range(4)] == [False] * 4


def test_mid_autumn_on_national_day_counts_once():
    assert statutory.holidays(2028)[date(2028, 10, 3)] == "国庆节"  # Mid-Autumn 2028 is 10-03
    assert len(statutory.holidays(2028)) == 12


def test_a_year_is_computed_once():
    statutory.holidays.cache_clear()
    for ordinal in range(date(2031, 1, 1).toordinal(), date(2032, 1, 1).toordinal()):
        CAL.is_working_day(date.fromordinal(ordinal))
    info = statutory.holidays.cache_info()
    assert info.misses == 1 and info.hits >= 250  # every weekday of 2031 looked up, one computation


def test_the_loaded_2027_schedule_wins_over_the_guess(tmp_path):
    (tmp_path / "2027.yaml").write_text((DATA / "calendar_2027.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    loaded = store.build(None, tmp_path)  # the test file lists only 01-01..01-03 off and Sat 01-09 on
    assert loaded.is_published(2027) and not CAL.is_published(2027)
    due = loaded.add_working_days(at("2027-02-04 10:00"), 3)
    assert not due.provisional and due.at == at("2027-02-09 17:30")  # the file keeps Spring Festival on
    assert loaded.day_status(date(2027, 1, 9)) == (True, True) and CAL.day_status(date(2027, 1, 9)) == (False, False)


def test_a_loaded_schedule_with_make_up_days_wins_over_the_guess():
    _, _, days = store.parse_year("year: 2027\nholidays:\n  - {name: 春节, from: 2027-02-05, to: 2027-02-12}\n"
                                  "workdays:\n  - {name: 春节调休, date: 2027-02-20}\n")
    loaded = WorkingCalendar(days={d: working for d, (working, _) in days.items()}, years=frozenset({2027}))
    due = loaded.add_working_days(at("2027-02-04 10:00"), 3)  # 02-15, 02-16, 02-17
    assert not due.provisional and due.at == at("2027-02-17 17:30")
    assert loaded.add_working_days(at("2027-02-19 10:00"), 1).at == at("2027-02-20 17:30")  # Sat 02-20 on
    assert loaded.is_working_day(date(2027, 6, 9))  # not in the schedule: the guess no longer applies
