"""Issue 12, item 7: a tamper-evident history. Every row is sealed as it is written, chained to
the row before it; `hotline audit verify` names the first row changed, deleted or inserted out
of place (exit 1) and passes an intact chain (exit 0); two transactions appending at once do
not both chain to the same row; rows written before sealing existed are the genesis."""
import threading
import time

import pytest
from sqlalchemy import delete, func, insert, select, update

from hotline import appeals
from runtime import history, schema, tasks
from runtime.models import HistoryEvent, UserTask

from ..conftest import intake_data

TABLE = HistoryEvent.__table__


@pytest.fixture
def chain(db, user) -> list[int]:
    """An appeal registered and assessed: the ids of the history rows it wrote, oldest first."""
    appeal = appeals.register(db, intake_data(), user("intake1"))
    with db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(UserTask.business_key == appeal.id))
    tasks.complete(db, task_id, {"assessment": "dispatch"}, user("intake1"))
    with db.read() as session:
        return list(session.scalars(select(HistoryEvent.id).where(HistoryEvent.business_key == appeal.id)
                                    .order_by(HistoryEvent.id)))


def _row(db, row_id: int) -> dict:
    with db.read() as session:
        return dict(session.execute(select(TABLE).where(TABLE.c.id == row_id)).mappings().one())


def test_every_row_is_sealed_as_written_and_the_chain_verifies(db, chain, hotline):
    with db.read() as session:
        unsealed = session.scalar(select(func.count()).select_from(HistoryEvent).where(HistoryEvent.seal.is_(None)))
        rows = session.execute(select(TABLE).where(TABLE.c.id.in_(chain[-2:])).order_by(TABLE.c.id)).all()
    assert unsealed == 0  # the demo's archive too, written through the ORM
    first, second = rows
    assert second.seal == history.link_hash(first.seal, history.content_hash(second)) + history.content_hash(second)
    verdict = history.verify(db)
    assert verdict.intact and verdict.not_covered == 0 and verdict.tip_id >= chain[-1]
    code, out = hotline(db, "audit", "verify")
    assert code == 0, out
    assert "历史记录完整" in out and "history intact" in out


def test_a_row_changed_in_the_database_is_reported(db, chain, hotline):
    target = chain[1]
    original = _row(db, target)["detail"]
    with db.engine.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id == target).values(detail={"assessment": "not_accepted"}))
    code, out = hotline(db, "audit", "verify")
    assert code == 1
    assert f"第 {target} 条历史记录在写入后被修改" in out and f"history row {target} was changed" in out
    with db.engine.begin() as conn:  # put it back: intact again
        conn.execute(update(TABLE).where(TABLE.c.id == target).values(detail=original))
    assert hotline(db, "audit", "verify")[0] == 0


def test_a_deleted_row_is_reported_at_the_row_after_it(db, chain, hotline):
    previous, target, following = chain[0], chain[1], chain[2]
    assert (previous, following) == (target - 1, target + 1)  # one transaction's rows are consecutive
    original = _row(db, target)
    with db.engine.begin() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.id == target))
    code, out = hotline(db, "audit", "verify")
    assert code == 1
    assert f"history rows were deleted before row {following} (between row {previous} and row {following})" in out
    with db.engine.begin() as conn:
        conn.execute(insert(TABLE).values(**original))
    assert hotline(db, "audit", "verify")[0] == 0


def test_a_row_inserted_out_of_place_is_reported(db, chain, hotline):
    copied = _row(db, chain[1])  # a replay: another row's fields and seal under a new id
    with db.read() as session:
        last = session.scalar(select(func.max(HistoryEvent.id)))
    with db.engine.begin() as conn:
        conn.execute(insert(TABLE).values(**dict(copied, id=last + 1)))
    code, out = hotline(db, "audit", "verify")
    assert code == 1
    assert f"history row {last + 1} was inserted out of place (its seal does not follow row {last})" in out
    assert f"第 {last + 1} 条历史记录不属于此位置" in out
    with db.engine.begin() as conn:  # written by hand, with no seal at all
        conn.execute(update(TABLE).where(TABLE.c.id == last + 1).values(seal=None))
    code, out = hotline(db, "audit", "verify")
    assert code == 1 and f"history row {last + 1} has no seal" in out
    with db.engine.begin() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.id == last + 1))
    assert hotline(db, "audit", "verify")[0] == 0


def test_two_transactions_appending_at_once_do_not_fork(db):
    """The second appender waits for the first one's commit (advisory lock on PostgreSQL, the
    write lock on SQLite) and chains to its row."""
    flushed, may_commit, ids = threading.Event(), threading.Event(), {}

    def append(name, wait_for=None):
        if wait_for is not None:
            wait_for.wait(10)
        with db.transaction() as session:
            row = history.record(session, "test_append", detail={"by": name})
            session.flush()
            ids[name] = row.id
            if name == "first":
                flushed.set()
                may_commit.wait(10)

    first = threading.Thread(target=append, args=("first",))
    second = threading.Thread(target=append, args=("second", flushed))
    first.start()
    second.start()
    time.sleep(0.5)
    assert "second" not in ids  # it waits for the first transaction's commit
    may_commit.set()
    first.join(20)
    second.join(20)
    assert ids["second"] > ids["first"]
    first_row, second_row = _row(db, ids["first"]), _row(db, ids["second"])
    assert second_row["seal"][:32] == history.link_hash(first_row["seal"], second_row["seal"][32:])
    assert history.verify(db).intact


def test_a_burst_of_concurrent_appends_stays_one_chain(db):
    def burst(n):
        for i in range(10):
            with db.transaction() as session:
                history.record(session, "test_burst", detail={"thread": n, "i": i})
                history.record(session, "test_burst", detail={"thread": n, "i": i, "second": True})

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    verdict = history.verify(db)
    assert verdict.intact, verdict.message()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(HistoryEvent)
                              .where(HistoryEvent.action == "test_burst")) == 80


def test_rows_written_before_sealing_are_the_genesis(empty_database):
    """Rows from before migration 0012 keep no seal: the first sealed row chains to "", and
    verify counts them as not covered."""
    other = empty_database
    schema.upgrade(other, "0011")
    with other.engine.begin() as conn:
        for action in ("calendar_loaded", "user_created"):
            conn.exec_driver_sql(f"INSERT INTO history_event (at, action) VALUES ('2026-11-01 02:00:00', '{action}')")
    schema.upgrade(other)
    with other.transaction() as session:
        history.record(session, "unit_created", detail={"code": "gl_new"})
    verdict = history.verify(other)
    assert verdict.intact and (verdict.not_covered, verdict.checked, verdict.tip_id) == (2, 1, 3)
