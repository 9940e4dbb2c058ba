"""Working-day deadlines (Art. 14, 17, 20), as a table of dated cases in Asia/Shanghai."""
from datetime import datetime

import pytest

from engine import calendar, deadlines

TZ = calendar.TZ


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize("start, days, expected", [
    ("2026-03-02 10:00", 1, "2026-03-03 17:30"),   # Mon -> Tue close of office hours
    ("2026-03-06 16:00", 1, "2026-03-09 17:30"),   # Fri -> Mon
    ("2026-03-07 11:00", 1, "2026-03-09 17:30"),   # accepted on Saturday: next working day
    ("2026-03-02 10:00", 10, "2026-03-16 17:30"),  # complaint: two weeks
    ("2026-09-30 09:00", 1, "2026-10-08 17:30"),   # National Day holiday 10-01..10-07
    ("2026-10-09 09:00", 1, "2026-10-10 17:30"),   # Sat 10-10 is a make-up working day (调休)
    ("2026-09-24 09:00", 3, "2026-09-30 17:30"),   # Mid-Autumn Fri 09-25 off: 09-28, 29, 30
    ("2026-02-13 09:00", 1, "2026-02-14 17:30"),   # Sat 02-14 is a make-up working day
    ("2026-02-14 09:00", 1, "2026-02-24 17:30"),   # Spring Festival 02-15..02-23
    ("2026-03-02 23:59", 1, "2026-03-03 17:30"),   # late at night: the start day is still not counted
])
def test_add_working_days(start, days, expected):
    due = calendar.add_working_days(at(start), days)
    assert due.at == at(expected) and not due.provisional


def test_a_year_without_a_published_schedule_is_provisional():
    due = calendar.add_working_days(at("2026-12-30 10:00"), 5)
    assert due.provisional  # 2027 is not published in chinese_calendar yet
    assert due.at == at("2027-01-06 17:30")  # counted Monday-Friday meanwhile


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        calendar.add_working_days(datetime(2026, 3, 2, 10), 1)


@pytest.mark.parametrize("appeal_type, convenience, days", [
    ("consultation", False, 2), ("complaint", False, 10), ("complaint", True, 3),
    ("suggestion", False, 5), ("help", False, 3), ("suggestion", True, 5),
])
def test_handling_limits_by_type(appeal_type, convenience, days):
    assert deadlines.handling_days(appeal_type, convenience) == days


def test_all_deadlines_for_a_complaint_on_monday():
    due = deadlines.all_deadlines(at("2026-03-02 10:00"), "complaint")
    assert {k: v.at for k, v in due.items()} == {
        "dispatch": at("2026-03-03 17:30"), "sign_for": at("2026-03-03 17:30"), "handling": at("2026-03-16 17:30")}


def test_help_has_a_first_contact_limit_of_one_working_day():
    due = deadlines.organizer_deadlines(at("2026-03-06 15:00"), "help", False, False)
    assert due["first_contact"].at == at("2026-03-09 17:30")
    assert due["handling"].at == at("2026-03-11 17:30")


def test_urgent_matters_are_immediate_and_same_day():
    due = deadlines.all_deadlines(at("2026-03-02 10:00"), "complaint", urgent=True)
    assert due["dispatch"].at == at("2026-03-02 11:00")
    assert due["sign_for"].at == at("2026-03-02 11:00")
    assert due["handling"].at == at("2026-03-02 23:59:59")
