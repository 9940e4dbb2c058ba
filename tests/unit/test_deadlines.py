"""Deadlines from the time-limit table (evaluated by SpiffWorkflow's DMN engine) and the
statutory calendar: the dated scenarios of Art. 14, 17 and 20."""
from datetime import datetime

import pytest

from hotline import time_limits
from workdays import deadlines
from workdays.calendar import TZ, WorkingCalendar

CAL = WorkingCalendar()


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def compute(appeal_type, accepted, convenience=False, urgent=False):
    limits = time_limits.evaluate_table(appeal_type, convenience, urgent)
    return {k: v.at for k, v in time_limits.all_deadlines(CAL, limits, at(accepted)).items()}


@pytest.mark.parametrize("appeal_type, convenience, urgent, expected", [
    ("consultation", False, False, {"dispatch": "1wd", "sign_for": "1wd", "first_contact": "none", "handling": "2wd", "co_feedback": "1wd"}),
    ("complaint", False, False, {"dispatch": "1wd", "sign_for": "1wd", "first_contact": "none", "handling": "10wd", "co_feedback": "5wd"}),
    ("complaint", True, False, {"dispatch": "1wd", "sign_for": "1wd", "first_contact": "none", "handling": "3wd", "co_feedback": "2wd"}),
    ("suggestion", True, False, {"dispatch": "1wd", "sign_for": "1wd", "first_contact": "none", "handling": "5wd", "co_feedback": "3wd"}),
    ("help", False, False, {"dispatch": "1wd", "sign_for": "1wd", "first_contact": "1wd", "handling": "3wd", "co_feedback": "2wd"}),
    ("complaint", False, True, {"dispatch": "PT1H", "sign_for": "PT1H", "first_contact": "none",
                                "handling": "PT24H", "co_feedback": "PT12H"}),
    ("help", False, True, {"dispatch": "PT1H", "sign_for": "PT1H", "first_contact": "PT1H", "handling": "PT24H", "co_feedback": "PT12H"}),
])
def test_the_time_limit_table(appeal_type, convenience, urgent, expected):
    assert time_limits.evaluate_table(appeal_type, convenience, urgent) == expected


def test_complaint_accepted_the_friday_before_national_day_2025():
    assert compute("complaint", "2025-09-26 10:00") == {
        "dispatch": at("2025-09-28 17:30"), "sign_for": at("2025-09-28 17:30"), "handling": at("2025-10-16 17:30")}


def test_consultation_across_the_2026_spring_festival_with_its_saturday_make_up_day():
    assert compute("consultation", "2026-02-13 10:00") == {
        "dispatch": at("2026-02-14 17:30"), "sign_for": at("2026-02-14 17:30"), "handling": at("2026-02-24 17:30")}


def test_help_request_just_before_labour_day_2026():
    assert compute("help", "2026-04-30 16:00") == {
        "dispatch": at("2026-05-06 17:30"), "sign_for": at("2026-05-06 17:30"),
        "first_contact": at("2026-05-06 17:30"), "handling": at("2026-05-08 17:30")}


def test_after_hours_acceptance_on_a_holiday():
    assert compute("suggestion", "2026-10-03 21:00") == {
        "dispatch": at("2026-10-08 17:30"), "sign_for": at("2026-10-08 17:30"), "handling": at("2026-10-13 17:30")}  # Sat 10-10 counts


def test_urgent_appeal_counts_clock_hours():
    assert compute("complaint", "2026-03-02 10:00", urgent=True) == {
        "dispatch": at("2026-03-02 11:00"), "sign_for": at("2026-03-02 11:00"), "handling": at("2026-03-03 10:00")}


def test_urgent_appeal_accepted_before_midnight_is_never_due_before_its_dispatch():
    """Art. 14, 20(5): 24 clock hours from dispatch, not "the same day" (which at 23:30 would end
    before the one-hour dispatch limit)."""
    limits = compute("complaint", "2026-03-02 23:30", urgent=True)
    assert limits["dispatch"] == at("2026-03-03 00:30") and limits["handling"] == at("2026-03-03 23:30")
    assert limits["handling"] > limits["dispatch"]


@pytest.mark.parametrize("facts, expected_handling", [
    ({"emergency": True}, "PT24H"), ({"simple": True}, "same_day"), ({"simple": True, "urgent": True}, "PT24H")])
def test_emergencies_take_urgent_limits_and_simple_matters_the_same_day(facts, expected_handling):
    """Art. 15 and Art. 20(5), rows of the table asked again after the assessment."""
    urgent = facts.pop("urgent", False)
    assert time_limits.evaluate_table("complaint", False, urgent, **facts)["handling"] == expected_handling


def test_convenience_list_complaint():
    assert compute("complaint", "2026-03-02 10:00", convenience=True)["handling"] == at("2026-03-05 17:30")


@pytest.mark.parametrize("limit", ["ten days", "10", "P1D", "PT", "wd"])
def test_a_limit_outside_the_grammar_is_refused(limit):
    with pytest.raises(deadlines.LimitError):
        deadlines.due(CAL, at("2026-03-02 10:00"), limit)
