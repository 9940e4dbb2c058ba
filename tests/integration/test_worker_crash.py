"""Timers after a worker crash, on the engine clock (no sleeping): a dead worker's short lock
lapses and another worker fires its timer within 15 s of the due time; a live worker's
heartbeat keeps its claim; a worker whose lock lapsed mid-fire cannot make a timer fire twice."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from runtime import clock, jobs
from runtime.models import HistoryEvent, Job

from .test_timers import _dispatched, _events, at

BOUND = timedelta(seconds=15)  # issue 12: a killed worker's timers fire within 15 s of their due time


@pytest.fixture
def due(db, user, unit_id):
    """Two dispatched appeals whose sign-for reminders are due at Tue 11:45; the clock stands
    one second past that instant. Returns the appeal ids."""
    with db.transaction() as session:
        session.execute(delete(Job))
    clock.set_now(at("2026-03-02 10:00"))
    ids = [_dispatched(db, user, unit_id) for _ in range(2)]
    clock.set_now(at("2026-03-03 11:45:01"))
    yield ids
    clock.set_now(None)


def _later(seconds):
    clock.set_now(clock.now() + timedelta(seconds=seconds))


def _fired_late(db, appeal_id) -> timedelta:
    with db.read() as session:
        [fired] = [e.at for e in session.scalars(select(HistoryEvent).where(
            HistoryEvent.business_key == appeal_id, HistoryEvent.action == "timer_fired"))
            if e.detail["timer"] == "签收提醒"]
    return fired - at("2026-03-03 11:45")


def test_a_dead_workers_claim_lapses_and_another_worker_fires_within_the_bound(db, due):
    claimed = jobs.claim_due(db, "dead-worker")  # claims, then dies: never fires, never renews
    assert len(claimed) == 2
    assert jobs.LOCK_FOR < BOUND - timedelta(seconds=2)  # room for the next poll and the firing
    _later(jobs.LOCK_FOR.total_seconds() - 1)
    assert jobs.run_due(db, "worker-2") == 0  # still locked
    _later(2)  # the short lock has lapsed
    assert jobs.run_due(db, "worker-2") == 2
    for appeal_id in due:
        assert len(_events(db, appeal_id, "reminded")) == 1
        assert _fired_late(db, appeal_id) <= BOUND
    assert not any(jobs.fire(db, job_id, "dead-worker") for job_id in claimed)  # a late wake-up does nothing
    assert all(len(_events(db, appeal_id, "reminded")) == 1 for appeal_id in due)


def test_a_renewed_lock_keeps_the_claim_past_its_first_expiry(db, due):
    claimed = jobs.claim_due(db, "live-worker")
    _later(jobs.BEAT_SECONDS)
    assert jobs.renew(db, "live-worker", claimed) == 2
    assert jobs.renew(db, "someone-else", claimed) == 0  # only the owner renews
    _later(jobs.LOCK_FOR.total_seconds() - 1)  # past the first lock, within the renewed one
    assert jobs.run_due(db, "worker-2") == 0
    assert all(jobs.fire(db, job_id, "live-worker") for job_id in claimed)
    assert all(len(_events(db, appeal_id, "reminded")) == 1 for appeal_id in due)


def test_the_heartbeat_renews_what_a_running_loop_holds_and_nothing_after(db, due, monkeypatch):
    real_fire, seen = jobs.fire, []

    def fire_after_a_slow_start(db_, job_id, owner):
        if not seen:  # the first firing starts late: the loop's other claim outlives its first lock
            _later(jobs.LOCK_FOR.total_seconds() - 2)
            seen.append(jobs.heartbeat(db))
            _later(jobs.LOCK_FOR.total_seconds() - 2)
            seen.append(jobs.run_due(db, "worker-2"))
        return real_fire(db_, job_id, owner)

    monkeypatch.setattr(jobs, "fire", fire_after_a_slow_start)
    assert jobs.run_due(db, "live-worker") == 2
    assert seen == [2, 0]  # both claims renewed; the other worker took neither
    assert jobs.heartbeat(db) == 0  # the loop holds nothing once it has fired its batch
    assert all(len(_events(db, appeal_id, "reminded")) == 1 for appeal_id in due)


def test_a_lock_lapsing_mid_fire_does_not_fire_the_timer_twice(db, due, monkeypatch):
    real_advance, inside, release = jobs.instances.advance, threading.Event(), threading.Event()

    def slow_advance(loaded):
        if not inside.is_set():  # the slow worker's firing: it holds the job row meanwhile
            inside.set()
            assert release.wait(60)
        return real_advance(loaded)

    monkeypatch.setattr(jobs.instances, "advance", slow_advance)
    claimed = jobs.claim_due(db, "slow-worker", limit=1)
    results = {}
    slow = threading.Thread(target=lambda: results.update(slow=jobs.fire(db, claimed[0], "slow-worker")))
    slow.start()
    assert inside.wait(60)
    _later(jobs.LOCK_FOR.total_seconds() + 1)  # its lock lapses while it still fires
    fast = threading.Thread(target=lambda: results.update(fast=jobs.run_due(db, "fast-worker")))
    fast.start()
    if db.is_postgres:  # SKIP LOCKED: the row being fired is passed over at once
        fast.join(60)
        assert not fast.is_alive()
    release.set()  # on SQLite the fast worker waits for the one writer, then finds the row gone
    slow.join(60)
    fast.join(60)
    assert results["slow"] is True
    assert results["fast"] == 1  # the other appeal's reminder; never the one being fired
    assert all(len(_events(db, appeal_id, "reminded")) == 1 for appeal_id in due)
