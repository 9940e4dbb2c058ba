"""The history service: an append-only audit log of every state change and every read of
personal data, sealed so that tampering shows.

Rows are only ever inserted, inside the same transaction as the change they describe. A row
names the business key it is about (None for changes of the platform itself: users, units,
the calendar), the instance and the task when there is one.

The seal (issue 12, item 7). Every row is sealed as it is inserted, in its transaction (a
`before_insert` hook, so rows added directly through the ORM are sealed too):
`seal = link + content`, where `content` is sha256 of the row's canonical JSON (id,
business_key, instance_id, actor_id, at as UTC ISO, action, task id and name, detail, before,
after) and `link` is sha256 of the previous row's seal + `content` (each 32 hex digits).
The previous row is the one with the highest id; ids are handed out under the append lock,
so the chain follows id order. The append is serialized: on PostgreSQL the first row of a
transaction takes `pg_advisory_xact_lock(SEAL_LOCK)` (held to commit) before reading the last
seal (READ COMMITTED, PostgreSQL's default, so that read sees the last holder's rows) and
reserves the ids of the rows it is flushing; on SQLite writers are serialized already
(BEGIN IMMEDIATE, runtime/db.py).

Rows written before sealing existed (migration 0012 left them NULL) stay as they are: the first
sealed row chains to "" (its predecessor counts as the genesis) and `verify` counts them as not
covered. Only raw SQL escapes the seal, and `verify` reports such a row after the chain began.
The chain shows a changed, deleted or inserted row, not the loss of the newest rows, and not
a forger who recomputes every later seal: keep the chain tip `verify` prints somewhere else.
"""
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, object_session

from . import clock
from .models import HistoryEvent

SEAL_LOCK = 1234500007  # pg_advisory_xact_lock key: one transaction appends sealed history at a time
_TIP = "runtime.history.tip"
_HELD = "runtime.history.held"
_FIELDS = ("id", "business_key", "instance_id", "actor_id", "action", "task_bpmn_id", "task_name")


def record(session, action: str, *, business_key=None, instance_id=None, actor_id=None, task=None,
           detail=None, before=None, after=None) -> HistoryEvent:
    """Append one event (sealed when it is flushed). `task` is a UserTask row or None."""
    event = HistoryEvent(action=action, business_key=business_key, instance_id=instance_id, actor_id=actor_id,
                         task_bpmn_id=getattr(task, "bpmn_id", None), task_name=getattr(task, "name", None),
                         detail=detail, before=before, after=after)
    held = session.info.get(_HELD)
    if held is not None:
        held.append(event)
    else:
        session.add(event)
    return event


@contextmanager
def consequences(session):
    """Hold back the events recorded inside the block (what a step causes) until `release`:
    the event of the cause, known only once the step has run (a task's completion, with the
    status it led to), is then recorded first, so history reads cause before effect in id
    order and in time. Yields the held list; events still held when the block fails are dropped
    with its transaction."""
    outer = session.info.get(_HELD)
    held = session.info[_HELD] = []
    try:
        yield held
    finally:
        if outer is None:
            session.info.pop(_HELD, None)
        else:
            session.info[_HELD] = outer


def release(session, held: list) -> None:
    """Record the events `consequences` held back, in the order they were recorded."""
    target = session.info.get(_HELD)
    if target is not None:  # inside an outer block: still held there
        target.extend(held)
    else:
        session.add_all(held)
    held.clear()


def for_key(session, business_key: int) -> list[HistoryEvent]:
    """Every event of a business key, oldest first."""
    return list(session.scalars(select(HistoryEvent).where(HistoryEvent.business_key == business_key)
                                .order_by(HistoryEvent.at, HistoryEvent.id)))


def content_hash(row) -> str:
    """sha256 (32 hex digits) of a row's canonical JSON; `row` is a HistoryEvent or a result row."""
    fields = {name: getattr(row, name) for name in _FIELDS}
    fields["at"] = row.at.astimezone(UTC).isoformat(timespec="microseconds")
    for name in ("detail", "before", "after"):  # as the database gives it back (tuples as lists, keys as text)
        value = getattr(row, name)
        fields[name] = None if value is None else json.loads(json.dumps(value))
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def link_hash(previous_seal: str | None, content: str) -> str:
    return hashlib.sha256(((previous_seal or "") + content).encode()).hexdigest()[:32]


@event.listens_for(HistoryEvent, "before_insert")
def _seal(_mapper, connection, row) -> None:
    session = object_session(row)
    tip = session.info.get(_TIP)
    if tip is None:
        tip = session.info[_TIP] = _open_chain(connection, session)
    if row.id is None:
        if connection.dialect.name == "postgresql":
            if not tip["ids"]:
                tip["ids"] = _reserve_ids(connection, session)
            row.id = tip["ids"].pop(0)
        else:
            row.id = tip["last_id"] + 1
    tip["last_id"] = row.id
    if row.at is None:
        row.at = clock.now()
    content = content_hash(row)
    row.seal = tip["seal"] = link_hash(tip["seal"], content) + content


@event.listens_for(Session, "after_transaction_end")
def _forget_tip(session, transaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(_TIP, None)  # a savepoint rolled back may have taken rows with it: read again


def _open_chain(connection, session) -> dict:
    """Take the append lock (PostgreSQL) and read the last row's id and seal."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK})
        ids = _reserve_ids(connection, session, with_tip=True)
        return {"seal": ids.pop(), "ids": ids, "last_id": None}
    last = connection.execute(text("SELECT id, seal FROM history_event ORDER BY id DESC LIMIT 1")).first()
    return {"seal": last.seal if last else None, "last_id": last.id if last else 0}


def _reserve_ids(connection, session, with_tip: bool = False) -> list:
    """Ids for every history row pending in this flush, ascending (plus the last seal at the end)."""
    pending = sum(1 for obj in session.new if isinstance(obj, HistoryEvent) and obj.id is None) or 1
    tip = ", (SELECT seal FROM history_event ORDER BY id DESC LIMIT 1)" if with_tip else ", NULL"
    rows = connection.execute(text(f"SELECT nextval(pg_get_serial_sequence('history_event', 'id')){tip} "
                                   "FROM generate_series(1, :n)"), {"n": pending}).all()
    return sorted(r[0] for r in rows) + ([rows[0][1]] if with_tip else [])


@dataclass
class Verdict:
    """What `verify` found: `problem` is None when the chain is intact, else one of changed,
    deleted, inserted, unsealed, about row `row_id` (`previous_id` is the row before it)."""
    checked: int = 0
    not_covered: int = 0
    tip_id: int | None = None
    tip_seal: str | None = None
    problem: str | None = None
    row_id: int | None = None
    previous_id: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def message(self) -> str:
        """The verdict in Chinese and English."""
        row, prev = self.row_id, self.previous_id
        after = f"第 {prev} 条之后" if prev else "链首"
        return {
            None: f"历史记录完整：已校验 {self.checked} 条封存记录（{self.not_covered} 条早于封存，未覆盖），"
                  f"链尾 #{self.tip_id} {self.tip_seal} / history intact: {self.checked} sealed rows verified "
                  f"({self.not_covered} written before sealing, not covered), chain tip #{self.tip_id} {self.tip_seal}",
            "changed": f"第 {row} 条历史记录在写入后被修改 / history row {row} was changed after it was written",
            "deleted": f"第 {row} 条历史记录之前（{after}）有记录被删除 / history rows were deleted before row {row} "
                       f"(between row {prev} and row {row})",
            "inserted": f"第 {row} 条历史记录不属于此位置（在{after}被插入）/ history row {row} was inserted out of place "
                        f"(its seal does not follow row {prev})",
            "unsealed": f"第 {row} 条历史记录没有封存值（在应用之外插入）/ history row {row} has no seal "
                        f"(inserted outside the application)",
        }[self.problem]


def verify(db, chunk: int = 2000) -> Verdict:
    """Walk the history oldest first and check every seal; stop at the first row that was
    changed, deleted before or inserted out of place. Raises nothing for a broken chain (the
    verdict says so); database errors propagate."""
    verdict, previous_seal, previous_id = Verdict(), None, None
    table = HistoryEvent.__table__
    with db.read() as session:
        rows = session.execute(select(table).order_by(table.c.id).execution_options(yield_per=chunk))
        for row in rows:
            if row.seal is None and verdict.checked == 0:
                verdict.not_covered += 1  # written before sealing existed: the genesis
            elif row.seal is None:
                return _broken(verdict, "unsealed", row.id, previous_id)
            else:
                content = content_hash(row)
                if row.seal[32:] != content:  # sealed at this place for other fields, or not here at all
                    placed = row.seal[:32] == link_hash(previous_seal, row.seal[32:])
                    return _broken(verdict, "changed" if placed else "inserted", row.id, previous_id)
                if row.seal[:32] != link_hash(previous_seal, content):
                    return _broken(verdict, "deleted", row.id, previous_id)
                verdict.checked += 1
                verdict.tip_id, verdict.tip_seal = row.id, row.seal
            previous_seal, previous_id = row.seal, row.id
    return verdict


def _broken(verdict: Verdict, problem: str, row_id: int, previous_id: int | None) -> Verdict:
    verdict.problem, verdict.row_id, verdict.previous_id = problem, row_id, previous_id
    return verdict
