"""Two people complete the same task at the same moment: exactly one wins, the other gets a
conflict, and nothing is lost or duplicated."""
import threading

from sqlalchemy import func, select

from hotline import appeals
from runtime import tasks
from runtime.errors import Conflict
from runtime.models import HistoryEvent, UserTask

from ..conftest import intake_data


def _race(db, task_id, data, actors):
    barrier = threading.Barrier(len(actors))
    outcomes = []

    def run(actor):
        barrier.wait()
        try:
            tasks.complete(db, task_id, data, actor)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


def test_two_concurrent_completions_one_wins_one_conflicts(db, user):
    for _ in range(3):  # a few rounds: the race must hold however the threads interleave
        appeal = appeals.register(db, intake_data(), user("intake1"))
        with db.read() as session:
            task_id = session.scalar(select(UserTask.id).where(UserTask.business_key == appeal.id))
        outcomes = _race(db, task_id, {"assessment": "dispatch"}, [user("intake1"), user("intake2")])
        assert outcomes == ["conflict", "ok"]
        with db.read() as session:
            completed = session.scalar(select(func.count()).select_from(HistoryEvent).where(
                HistoryEvent.business_key == appeal.id, HistoryEvent.action == "task_completed"))
            open_tasks = session.scalars(select(UserTask.bpmn_id).where(
                UserTask.business_key == appeal.id, UserTask.state == "open")).all()
        assert completed == 1
        assert open_tasks == ["ut_dispatch"]  # exactly one next task, not two


def test_same_user_double_submit_is_also_one_completion(db, user):
    appeal = appeals.register(db, intake_data(), user("intake1"))
    with db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(UserTask.business_key == appeal.id))
    me = user("intake1")
    assert _race(db, task_id, {"assessment": "dispatch"}, [me, me]) == ["conflict", "ok"]


def test_a_reader_does_not_wait_for_a_writer(db, user):
    """Reads begin deferred on SQLite (writers take the write lock up front): a page can be read
    while someone's change is half done. On PostgreSQL readers never wait for writers anyway."""
    appeals.register(db, intake_data(), user("intake1"))  # committed: the reader must see its task
    with db.transaction() as writing:
        writing.execute(select(func.count()).select_from(UserTask))
        writing.add(HistoryEvent(action="test_write_in_progress"))
        writing.flush()  # the write lock is held from here to the commit
        seen = {}

        def read():
            with db.read() as reading:
                seen["tasks"] = reading.scalar(select(func.count()).select_from(UserTask))
                seen["in_progress"] = reading.scalar(select(func.count()).select_from(HistoryEvent).where(
                    HistoryEvent.action == "test_write_in_progress"))

        reader = threading.Thread(target=read)
        reader.start()
        reader.join()  # a reader that took the write lock would wait for this transaction: a deadlock
        assert seen["tasks"] > 0 and seen["in_progress"] == 0  # it read, and not the uncommitted row
