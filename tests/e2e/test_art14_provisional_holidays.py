"""An appeal accepted just before Spring Festival 2027, a year whose schedule is not published,
through the JSON API (Art. 14/17 working days; national holiday measures): its deadlines skip
the Spring Festival days the law fixes and are provisional; loading the year's schedule makes
that schedule decide and the deadlines final."""
from datetime import datetime
from pathlib import Path

import pytest

from runtime import clock
from workdays import calendar
from workdays.calendar import TZ

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def before_spring_festival_2027(monkeypatch):
    """Thu 2027-02-04 10:00, the day before Spring Festival eve; 2027 stays unpublished even
    after an upgrade of chinese_calendar brings its real schedule."""
    covers = calendar.library_covers
    monkeypatch.setattr(calendar, "library_covers", lambda year: year < 2027 and covers(year))
    clock.set_now(at("2027-02-04 10:00"))
    yield
    clock.set_now(None)


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _due(text):
    return datetime.fromisoformat(text).astimezone(TZ)


def _alert(api):
    """(years waiting for a schedule, open appeals with provisional deadlines): how the API marks
    provisional deadlines (GET /calendar/alerts)."""
    items = api.as_("admin").get("/calendar/alerts").get_json()["items"]
    return {y for a in items for y in a["years"]}, sum(a["provisional_appeals"] for a in items)


def test_deadlines_skip_spring_festival_2027_until_the_schedule_is_loaded(before_spring_festival_2027,
                                                                        walk, api, unit_id):
    _, provisional_before = _alert(api)
    appeal = walk.register()
    # Dispatch within 1 working day (Art. 14): eve Fri 02-05, the weekend and 初三 Mon 02-08 are off.
    assert _due(appeal["dispatch_due_at"]) == at("2027-02-09 17:30")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    detail = walk.detail(appeal["id"])["appeal"]
    assert _due(detail["sign_for_due_at"]) == at("2027-02-09 17:30")  # Art. 17: sign for in 1 working day
    assert _due(detail["handling_due_at"]) == at("2027-02-22 17:30")  # 10 working days from 02-09
    assert _due(walk.task(appeal["id"], "gl_urban_staff", "ut_sign_for")["due_at"]) == at("2027-02-09 17:30")
    years, provisional = _alert(api)
    assert 2027 in years and provisional == provisional_before + 1  # provisional: load 2027, they are told

    schedule = (DATA / "calendar_2027.yaml").read_text(encoding="utf-8")  # made up: only 01-01..01-03 off
    resp = api.as_("admin").post("/calendar/years", json={"schedule": schedule})
    assert resp.status_code == 201 and resp.get_json()["recomputed_appeals"] >= 1
    detail = walk.detail(appeal["id"])
    years, provisional = _alert(api)
    assert 2027 not in years and provisional < provisional_before + 1  # no longer provisional
    # The loaded schedule decides, even where it differs from the law's guess.
    assert _due(detail["appeal"]["sign_for_due_at"]) == at("2027-02-05 17:30")
    assert _due(detail["appeal"]["handling_due_at"]) == at("2027-02-18 17:30")
    assert _due(walk.task(appeal["id"], "gl_urban_staff", "ut_sign_for")["due_at"]) == at("2027-02-05 17:30")
    recomputed = [e for e in detail["history"] if e["action"] == "deadlines_recomputed"]
    assert len(recomputed) == 1
    assert _due(recomputed[0]["before"]["handling"]) == at("2027-02-22 17:30")
    assert _due(recomputed[0]["after"]["handling"]) == at("2027-02-18 17:30")
