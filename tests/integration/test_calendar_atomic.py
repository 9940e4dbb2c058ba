"""Issue 12 item 5: a calendar change and the recompute it causes are one transaction: when the
recompute of any appeal fails, the day is not saved either, and the caller sees a clear error,
not a half-done change."""
from datetime import date

import pytest
from sqlalchemy import func, select

from hotline import calendar_changes, recompute
from runtime.errors import ProcessError
from runtime.models import HistoryEvent
from workdays.models import CalendarDay

from ..conftest import intake_data


def test_a_day_off_is_refused_whole_when_an_appeal_cannot_be_recomputed(db, user, api, monkeypatch):
    appeal = api.as_("intake1").post("/appeals", json=intake_data()).get_json()
    due = api.as_("supervisor1").get(f"/appeals/{appeal['id']}").get_json()["appeal"]["dispatch_due_at"]
    day = date.fromisoformat(due[:10])  # the day its dispatch deadline falls on: it must be recomputed
    with db.read() as session:
        events = session.scalar(select(func.count()).select_from(HistoryEvent))
        row = session.get(CalendarDay, day)
        before = None if row is None else (row.working, row.name)

    def broken(session, instance_id, actor=None):
        raise ProcessError("the diagram's timer expression cannot be evaluated")
    monkeypatch.setattr(recompute, "recompute_in", broken)
    with pytest.raises(ProcessError):
        calendar_changes.override_day(db, day, False, "台风停工", user("admin"))
    with db.read() as session:
        row = session.get(CalendarDay, day)
        assert (None if row is None else (row.working, row.name)) == before  # nothing saved
        assert session.scalar(select(func.count()).select_from(HistoryEvent)) == events


def test_a_day_off_and_the_deadlines_it_moves_are_saved_together(db, user, api):
    appeal = api.as_("intake1").post("/appeals", json=intake_data()).get_json()
    due = api.as_("supervisor1").get(f"/appeals/{appeal['id']}").get_json()["appeal"]["dispatch_due_at"]
    day = date.fromisoformat(due[:10])
    moved = calendar_changes.override_day(db, day, False, "台风停工", user("admin"))
    assert moved >= 1
    with db.read() as session:
        assert session.get(CalendarDay, day).working is False
    after = api.as_("supervisor1").get(f"/appeals/{appeal['id']}").get_json()["appeal"]["dispatch_due_at"]
    assert after > due
    calendar_changes.override_day(db, day, True, "恢复", user("admin"))  # leave the calendar as it was


def test_another_process_sees_a_calendar_change_within_a_second(db, user, monkeypatch):
    """Issue 14: each process keeps the calendar it built and asks the database for a fingerprint
    at most once a second. Two Database objects on one database stand for two processes (a
    web process and a worker): one changes a day, the other sees it once its second is up."""
    from runtime.db import Database
    from workdays import store

    monkeypatch.setattr(store, "CHECK_SECONDS", 1.0)
    seconds = [1000.0]
    monkeypatch.setattr(store.monotonic, "monotonic", lambda: seconds[0])
    worker = Database(db.url)
    try:
        day = date(2031, 3, 12)  # a Wednesday nobody else touches
        with worker.read() as session:
            cached = store.build(session)
            assert cached.is_working_day(day)
        calendar_changes.override_day(db, day, False, "台风停工", user("admin"))  # in "the web process"
        with db.read() as session:
            assert not store.build(session).is_working_day(day)  # its own change: at once
        seconds[0] += 0.5
        with worker.read() as session:
            assert store.build(session) is cached  # within its second: no query, the calendar it had
        seconds[0] += 0.6
        with worker.read() as session:
            assert not store.build(session).is_working_day(day)  # the fingerprint moved: rebuilt
    finally:
        worker.dispose()
        calendar_changes.override_day(db, day, True, "恢复", user("admin"))
