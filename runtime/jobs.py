"""The management service: every waiting timer event of an instance is a job row with its due
time, kept in step by `runtime.timers.write_changes` whenever the instance is saved.

Workers poll about once a second: `claim_due` takes due rows under a short lock (LOCK_FOR;
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never take the same row), and `fire`
advances the instance in its own transaction; the fired timer is no longer waiting, so its
row goes away. While a worker process lives, `heartbeat` (every BEAT seconds) renews the locks
of the jobs its loops have claimed and not yet fired; a worker that dies stops renewing, its
locks lapse within LOCK_FOR and another worker takes the jobs. A late wake-up cannot fire a
job twice: `fire` holds the job row locked and fires only while the row still names its owner.
A job that fails RETRIES times becomes an incident until a process owner retries it.
"""
import logging
import threading
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from . import clock, history, instances
from .errors import NotFound
from .models import Job, ProcessInstance
from .timers import RETRIES, waiting_timers

log = logging.getLogger("runtime.jobs")
LOCK_FOR = timedelta(seconds=8)
BEAT_SECONDS = 2  # four heartbeats fit in one LOCK_FOR, so a late one does not lose the lock
BACKOFF = timedelta(seconds=30)


class _Held:
    """The jobs this process's loops have claimed and not yet fired, by lock owner."""

    def __init__(self):
        self._mutex, self._ids = threading.Lock(), {}

    def add(self, owner: str, ids) -> None:
        with self._mutex:
            self._ids.setdefault(owner, set()).update(ids)

    def discard(self, owner: str, ids) -> None:
        with self._mutex:
            self._ids.get(owner, set()).difference_update(ids)

    def snapshot(self) -> dict[str, list[int]]:
        with self._mutex:
            return {owner: sorted(ids) for owner, ids in self._ids.items() if ids}


_held = _Held()


def claim_due(db, owner: str, limit: int = 100) -> list[int]:
    """Lock up to `limit` due jobs for `owner`; returns their ids (one short transaction)."""
    now = clock.now()
    with db.transaction() as session:
        query = (select(Job).join(ProcessInstance, ProcessInstance.id == Job.instance_id)
                 .where(Job.status == "pending", Job.due_at <= now, ProcessInstance.status == "running",
                        or_(Job.lock_expires_at.is_(None), Job.lock_expires_at < now))
                 # a lapsed claim (its worker died) goes first among timers due at the same instant
                 .order_by(Job.due_at, Job.lock_expires_at.is_(None)).limit(limit))
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=Job)
        jobs = list(session.scalars(query))
        for job in jobs:
            job.lock_owner, job.lock_expires_at = owner, now + LOCK_FOR
        return [job.id for job in jobs]


def renew(db, owner: str, job_ids: list[int]) -> int:
    """Extend `owner`'s lock to LOCK_FOR from now on those of `job_ids` it still holds; returns
    how many. A row being fired at this moment is row-locked and skipped (no worker can claim
    it before that transaction ends), so a heartbeat never waits for a firing."""
    if not job_ids:
        return 0
    now = clock.now()
    with db.transaction() as session:
        query = select(Job).where(Job.id.in_(job_ids), Job.lock_owner == owner, Job.status == "pending")
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        jobs = list(session.scalars(query))
        for job in jobs:
            job.lock_expires_at = now + LOCK_FOR
        return len(jobs)


def heartbeat(db) -> int:
    """Renew the locks of every job this process's `run_due` loops hold; the worker runs it every
    BEAT_SECONDS. Returns how many locks were renewed."""
    return sum(renew(db, owner, ids) for owner, ids in _held.snapshot().items())


def fire(db, job_id: int, owner: str) -> bool:
    """Fire one claimed job in its instance's transaction. Returns True if the timer fired.
    A failure is recorded on the job (retry later, or an incident) and never re-raised."""
    try:
        with db.transaction() as session:
            job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
            if job is None or job.lock_owner != owner:
                return False  # already fired, or taken over after our lock expired
            row = session.scalar(select(ProcessInstance).options(joinedload(ProcessInstance.deployment, innerjoin=True))
                                 .where(ProcessInstance.id == job.instance_id).with_for_update(of=ProcessInstance))
            if row is None or row.status != "running":  # suspended meanwhile: fire after resume
                job.lock_owner = job.lock_expires_at = None
                return False
            loaded = instances.restore(session, row, actor=None)
            if job.task_id not in waiting_timers(loaded.workflow):  # a stale row: nothing to fire
                session.delete(job)
                return False
            with history.consequences(session) as caused:  # the firing is recorded before what it caused
                instances.advance(loaded)
            fired = job.task_id not in waiting_timers(loaded.workflow)
            if fired:
                history.record(session, "timer_fired", business_key=row.business_key, instance_id=row.id,
                               detail={"timer": job.name, "due_at": job.due_at.isoformat()})
            history.release(session, caused)
            instances.save(session, loaded)
            if not fired:  # not due by the engine's clock yet: let any worker look again
                job.lock_owner = job.lock_expires_at = None
            return fired
    except Exception as err:  # noqa: BLE001 -- any failure becomes a retry, then an incident, never a dead loop
        _record_failure(db, job_id, err)
        return False


def _record_failure(db, job_id: int, err: Exception) -> None:
    log.warning("job %s failed: %s", job_id, err)
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        job.retries -= 1
        job.last_error = f"{type(err).__name__}: {err}"[:4000]
        job.lock_owner = job.lock_expires_at = None
        row = session.get(ProcessInstance, job.instance_id)
        if job.retries <= 0:
            job.status = "incident"
            history.record(session, "incident_opened", business_key=row.business_key, instance_id=row.id,
                           detail={"job_id": job.id, "timer": job.name, "error": job.last_error})
        else:
            job.due_at = clock.now() + BACKOFF * (RETRIES - job.retries)


def run_due(db, owner: str, batch: int = 25) -> int:
    """One poll: claim and fire due jobs until none are left (or a whole round fired nothing,
    e.g. timers due this very instant that the engine fires only once it has passed). Small
    batches: a crash strands few claims, and a lapsed one is reached within one batch."""
    fired = 0
    while True:
        ids = claim_due(db, owner, batch)
        _held.add(owner, ids)  # the heartbeat renews them until each one is fired
        fired_now = 0
        try:
            for job_id in ids:
                fired_now += fire(db, job_id, owner)
                _held.discard(owner, [job_id])
        finally:
            _held.discard(owner, ids)
        fired += fired_now
        if len(ids) < batch or not fired_now:
            return fired


def list_incidents(session, after: tuple | None = None, limit: int | None = None) -> list[Job]:
    """Failed jobs by due time, then id (a total order, for keyset paging); with `after`, the
    (due_at, id) of the last one a page held, only those after it; at most `limit` (None: all)."""
    query = select(Job).where(Job.status == "incident")
    if after is not None:
        query = query.where(or_(Job.due_at > after[0], (Job.due_at == after[0]) & (Job.id > after[1])))
    return list(session.scalars(query.order_by(Job.due_at, Job.id).limit(limit)))


def retry_incident(db, job_id: int, actor) -> Job:
    """Put a failed job back in the queue, due now. Raises NotFound."""
    with db.transaction() as session:
        job = session.scalar(select(Job).where(Job.id == job_id, Job.status == "incident").with_for_update())
        if job is None:
            raise NotFound(f"incident {job_id} does not exist")
        job.status, job.retries, job.due_at = "pending", RETRIES, clock.now()
        job.lock_owner = job.lock_expires_at = None
        row = session.get(ProcessInstance, job.instance_id)
        history.record(session, "incident_retried", business_key=row.business_key, instance_id=row.id,
                       actor_id=getattr(actor, "id", None), detail={"job_id": job.id})
        return job


def count_pending(session) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(Job.status == "pending"))
