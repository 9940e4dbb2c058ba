"""Moving running instances to a newer deployment of their process, and back.

Instances of the bundle's main process move (one of its other processes started on its own
stays on the version it started on). An instance may move when none of the steps it is
currently in (READY, WAITING or STARTED tasks, in the main process or in a subprocess it is
inside) was removed or changed in the new version: SpiffWorkflow's diff utilities align the
old specs with the new ones, and migrate_workflow swaps them and re-predicts what lies ahead.
The state before the move is kept in InstanceMigration so the move can be reverted while the
instance has not moved on.

A new version may also bring new rules of the application's (here: a new time-limit table).
The registry's extension says, per instance, what applying them would change; the process owner
decides whether a migration applies them or leaves them to the next step that reads them.
"""
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from . import clock, history, instances, registry, repository, serializer
from .errors import Conflict, EngineError, NotFound
from .models import Deployment, InstanceMigration, MigrationBatch, ProcessInstance

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
# previous_state is the instance's state as stored, plus this key: the instance's version
# column right after the move, so a revert can tell whether it has moved on since.
RESERVED = "_migration"
PROBLEM_TEXT = {"removed": "当前环节「{}」在新版本中已删除", "changed": "当前环节「{}」在新版本中已修改",
                "subprocess_removed": "所在子流程「{}」在新版本中已删除",
                "history_removed": "已办理的环节「{}」在新版本中已删除"}
RESET = TaskState.READY | TaskState.WAITING  # what migrate_workflow resets and predicts again


@dataclass
class Candidate:
    instance_id: int
    business_key: int
    label: str  # how the application names it (an appeal's number)
    from_version: int
    current: list[str] = field(default_factory=list)  # names of the steps the instance is in
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, step name), kinds of PROBLEM_TEXT
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)  # what applying the new rules changes

    @property
    def eligible(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str:
        """Why it cannot move, zh-CN ("" when it can)."""
        return "；".join(PROBLEM_TEXT[kind].format(name) for kind, name in self.problems)


def _name(task) -> str:
    return task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name


def _diff(workflow, spec, subs):
    """(top diff, subprocess diffs, problems)."""
    spec_diff, sub_diffs = _spec_diffs(workflow.spec, tuple(workflow.subprocess_specs.items()),
                                       spec, tuple(subs.items()))
    top = WorkflowDiff(workflow, spec_diff)
    sp_diffs = {sp_id: WorkflowDiff(sub, sub_diffs[sub.spec.name]) if sub_diffs.get(sub.spec.name) else None
                for sp_id, sub in workflow.subprocesses.items()}
    problems = _problems(workflow, top)
    for sp_id, sub in workflow.subprocesses.items():
        if sp_diffs[sp_id] is None:
            problems.append(("subprocess_removed", sub.spec.description or sub.spec.name))
        else:
            problems.extend(_problems(sub, sp_diffs[sp_id]))
    return top, sp_diffs, problems


@lru_cache(maxsize=32)
def _spec_diffs(old_spec, old_subs_key, spec, subs_key):
    """How two versions' specs align, worked out once per pair (diff_workflow would do it for
    every instance). The specs are the shared, cached objects of repository.specs_for."""
    registry = serializer._serializer.registry
    old_subs, subs = dict(old_subs_key), dict(subs_key)
    return SpecDiff(registry, old_spec, spec), {
        name: SpecDiff(registry, old, subs[name]) if name in subs else None for name, old in old_subs.items()}


def _problems(workflow, diff) -> list[tuple[str, str]]:
    """The steps it is in must be unchanged. Steps done (or predicted after a step in progress)
    stay in the instance's tree: their specs must still exist, or it could not be loaded again;
    only what follows a READY or WAITING step is predicted anew."""
    problems = []
    for task in workflow.get_tasks(state=ACTIVE, skip_subprocesses=True):
        if task in diff.removed:
            problems.append(("removed", _name(task)))
        elif task in diff.changed:
            problems.append(("changed", _name(task)))
    repredicted = {t.id for ready in workflow.get_tasks(state=RESET, skip_subprocesses=True) for t in ready}
    for task in diff.removed:
        if task.id not in repredicted and not task.has_state(ACTIVE):
            problems.append(("history_removed", _name(task)))
    return list(dict.fromkeys(problems))


def _current(workflow) -> list[str]:
    ready = [_name(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    return ready or [_name(t) for t in workflow.get_tasks(state=TaskState.WAITING)]


def _target(session, to_deployment_id: int) -> Deployment:
    target = session.get(Deployment, to_deployment_id)
    if target is None:
        raise NotFound(f"deployment {to_deployment_id} does not exist")
    return target


def _older_running(target: Deployment):
    return (select(ProcessInstance, Deployment.version)
            .join(Deployment, ProcessInstance.deployment_id == Deployment.id)
            .where(Deployment.process_key == target.process_key, Deployment.version < target.version,
                   ProcessInstance.process_key == target.process_key, ProcessInstance.status == "running"))


def preview(session, to_deployment_id: int, instance_ids=None) -> list[Candidate]:
    """Every running instance on an older deployment of the target's process (or those of
    `instance_ids`), with whether it can move and why not. Raises NotFound (no such deployment)."""
    target = _target(session, to_deployment_id)
    spec, subs = repository.specs_for(target)
    query = _older_running(target).order_by(ProcessInstance.id)
    if instance_ids is not None:
        query = query.where(ProcessInstance.id.in_(list(instance_ids)))
    extension = registry.current().extension
    items = []
    for row, version in session.execute(query):
        old_spec, old_subs = repository.specs_for(row.deployment)
        items.append((row, version, serializer.state_from_dict(row.state, old_spec, old_subs, None)))
    labels = extension.labels(session, [row.business_key for row, _v, _w in items])
    changes = extension.migration_changes(session, [(row, workflow) for row, _v, workflow in items], target)
    result = []
    for row, version, workflow in items:
        candidate = Candidate(row.id, row.business_key, labels.get(row.business_key, str(row.business_key)), version,
                              _current(workflow), changes=changes.get(row.id, {}))
        candidate.problems = _diff(workflow, spec, subs)[2]
        result.append(candidate)
    return result


def migrate(db, to_deployment_id: int, instance_ids, actor, apply_limits: bool = False
            ) -> tuple[list[int], dict[int, str]]:
    """Move each instance to the deployment (instance_ids None: every eligible one), each in its
    own transaction; with apply_limits, the new version's rules also apply (the extension's
    apply_migration_changes). Returns (ids moved, {id: zh-CN reason} of those refused: not
    running, not on an older version of the same process, or a current step removed or changed).
    Raises NotFound (no such deployment)."""
    with db.read() as session:
        if instance_ids is None:
            instance_ids = [c.instance_id for c in preview(session, to_deployment_id) if c.eligible]
        else:
            _target(session, to_deployment_id)
    moved, refused = [], {}
    for instance_id in dict.fromkeys(instance_ids):
        try:
            with db.transaction() as session:
                _migrate_one(session, _target(session, to_deployment_id), instance_id, actor, apply_limits)
            moved.append(instance_id)
        except EngineError as err:
            refused[instance_id] = str(err)
    return moved, refused


BATCH_CHUNK = 50  # instances between two progress updates (and heartbeats) of a batch
BATCH_STALE = timedelta(minutes=5)  # a running batch not heard of for this long has lost its worker


def request_all(db, to_deployment_id: int, actor, apply_limits: bool = False) -> MigrationBatch:
    """Queue moving every eligible instance to the deployment; a worker runs it (run_batches).
    Raises NotFound (no such deployment), Conflict (one is already queued or running for it)."""
    with db.transaction() as session:
        target = _target(session, to_deployment_id)
        if session.scalar(select(MigrationBatch.id).where(MigrationBatch.to_deployment_id == target.id,
                                                          MigrationBatch.status != "done")):
            raise Conflict("迁移到该版本的批量任务已在排队或进行中")
        batch = MigrationBatch(to_deployment_id=target.id, apply_limits=apply_limits, status="pending",
                               refused={}, moved=0, requested_at=clock.now(),
                               requested_by_id=getattr(actor, "id", None))
        session.add(batch)
        session.flush()
        history.record(session, "process_migration_requested", actor_id=getattr(actor, "id", None),
                       detail={"batch_id": batch.id, "to_version": target.version, "apply_limits": apply_limits})
        session.expunge(batch)
        return batch


def run_batches(db, owner: str) -> int:
    """The worker's part: run the oldest queued batch, or one whose worker stopped, to the end.
    Returns how many instances it moved."""
    now = clock.now()
    with db.transaction() as session:
        query = (select(MigrationBatch).where(or_(
            MigrationBatch.status == "pending",
            and_(MigrationBatch.status == "running", MigrationBatch.heartbeat_at < now - BATCH_STALE)))
            .order_by(MigrationBatch.id).limit(1))
        batch = session.scalar(query.with_for_update(skip_locked=True) if db.is_postgres else query)
        if batch is None:
            return 0
        batch.status, batch.heartbeat_at = "running", now
        batch_id, to_id, apply_limits = batch.id, batch.to_deployment_id, batch.apply_limits
        actor = registry.current().extension.actor(session, batch.requested_by_id)
    with db.read() as session:  # each instance is checked again when it moves
        ids = [c.instance_id for c in preview(session, to_id) if c.eligible]
    _progress(db, batch_id, total=len(ids))
    moved_total = 0
    for start in range(0, len(ids), BATCH_CHUNK):
        moved, refused = migrate(db, to_id, ids[start:start + BATCH_CHUNK], actor, apply_limits)
        moved_total += len(moved)
        _progress(db, batch_id, moved=len(moved), refused=refused)
    _progress(db, batch_id, done=True)
    return moved_total


def _progress(db, batch_id: int, total=None, moved=0, refused=None, done=False) -> None:
    with db.transaction() as session:
        batch = session.get(MigrationBatch, batch_id)
        batch.heartbeat_at = clock.now()
        if total is not None:  # a batch taken over counts what its first worker moved too
            batch.total = batch.moved + total
        batch.moved += moved
        if refused:
            batch.refused = {**batch.refused, **{str(k): v for k, v in refused.items()}}
        if done:
            batch.status, batch.finished_at = "done", batch.heartbeat_at


@dataclass
class BatchRecord:
    id: int
    to_version: int
    apply_limits: bool
    status: str
    total: int | None
    moved: int
    refused: dict
    requested_at: object
    requested_by: str | None
    finished_at: object


def list_batches(session, limit: int = 10) -> list[BatchRecord]:
    """The latest batches, newest first."""
    query = (select(MigrationBatch, Deployment.version)
             .join(Deployment, MigrationBatch.to_deployment_id == Deployment.id)
             .order_by(MigrationBatch.id.desc()).limit(limit))
    rows = session.execute(query).all()
    names = registry.current().extension.actor_names(session, {b.requested_by_id for b, _v in rows})
    return [BatchRecord(b.id, version, b.apply_limits, b.status, b.total, b.moved, b.refused, b.requested_at,
                        names.get(b.requested_by_id), b.finished_at) for b, version in rows]


def _migrate_one(session, target: Deployment, instance_id: int, actor, apply_limits: bool) -> None:
    loaded = instances.load(session, instance_id, actor)
    row, workflow = loaded.row, loaded.workflow
    source = row.deployment
    if row.status != "running":
        raise Conflict("该流程实例未在运行")
    if row.process_key != target.process_key or source.process_key != target.process_key \
            or source.version >= target.version:
        raise Conflict("目标版本不是该流程的更新版本")
    spec, subs = repository.specs_for(target)
    top, sp_diffs, problems = _diff(workflow, spec, subs)
    if problems:
        raise Conflict("；".join(PROBLEM_TEXT[kind].format(name) for kind, name in problems))
    previous = deepcopy(row.state)
    migrate_workflow(top, workflow, spec)
    for sp_id, sub in list(workflow.subprocesses.items()):
        migrate_workflow(sp_diffs[sp_id], sub, subs[sub.spec.name])
    workflow.subprocess_specs = subs
    try:  # the moved tree must load on the new version, or the instance would be lost
        serializer.state_from_dict(serializer.state_to_dict(workflow), spec, subs, None)
    except Exception as err:  # SpiffWorkflow raises assorted errors for a tree its spec cannot hold
        raise Conflict("迁移后的流程状态无法按新版本载入，未迁移") from err
    instances.advance(loaded)  # the steps reset by the move are reached again, their timers re-armed
    extension = registry.current().extension
    before = extension.snapshot(loaded.ctx) or {}
    changes = extension.apply_migration_changes(session, loaded, target) if apply_limits else {}
    row.deployment = target
    instances.save(session, loaded)
    session.flush()  # bumps the version column: recorded to tell later whether it moved on
    previous[RESERVED] = {"version": row.version, "limits_applied": bool(changes),
                          "limits": {k: list(v) for k, v in changes.items()}}
    migration = InstanceMigration(instance_id=row.id, from_deployment_id=source.id, to_deployment_id=target.id,
                                  previous_state=previous, migrated_at=loaded.ctx.now,
                                  migrated_by_id=getattr(actor, "id", None))
    session.add(migration)
    session.flush()
    after = extension.snapshot(loaded.ctx) or {}
    history.record(session, "process_migrated", business_key=row.business_key, instance_id=row.id,
                   actor_id=getattr(actor, "id", None),
                   detail={"migration_id": migration.id, "from_version": source.version,
                           "to_version": target.version, "limits": {k: list(v) for k, v in changes.items()}},
                   before={"deployment_version": source.version, **_changed(before, after)},
                   after={"deployment_version": target.version, **_changed(after, before)})


def _changed(these: dict, others: dict) -> dict:
    return {k: v for k, v in these.items() if others.get(k) != v}


def revert(db, migration_id: int, actor) -> InstanceMigration:
    """Put the instance back on its previous version and state. Raises NotFound, Conflict
    (already reverted, or the instance has moved on since the migration)."""
    with db.transaction() as session:
        migration = session.scalar(select(InstanceMigration).where(InstanceMigration.id == migration_id)
                                   .with_for_update())
        if migration is None:
            raise NotFound(f"migration {migration_id} does not exist")
        if migration.reverted_at is not None:
            raise Conflict("该迁移已撤销")
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == migration.instance_id)
                             .with_for_update())
        recorded = migration.previous_state.get(RESERVED, {}).get("version")
        if row.version != recorded or row.deployment_id != migration.to_deployment_id:
            raise Conflict("迁移后该流程实例已继续办理，不能撤销")
        source, target = session.get(Deployment, migration.from_deployment_id), row.deployment
        state = {k: v for k, v in migration.previous_state.items() if k != RESERVED}
        loaded = instances.replace_state(session, instances.restore(session, row, actor), state, source)
        now = loaded.now
        if migration.previous_state.get(RESERVED, {}).get("limits_applied"):
            registry.current().extension.migration_reverted(session, loaded)
        instances.save(session, loaded)
        migration.reverted_at, migration.reverted_by_id = now, getattr(actor, "id", None)
        history.record(session, "process_migration_reverted", business_key=row.business_key, instance_id=row.id,
                       actor_id=getattr(actor, "id", None),
                       detail={"migration_id": migration.id, "from_version": target.version,
                               "to_version": source.version},
                       before={"deployment_version": target.version}, after={"deployment_version": source.version})
        return migration


@dataclass
class MigrationRecord:
    id: int
    instance_id: int
    label: str
    from_version: int
    to_version: int
    migrated_at: object
    migrated_by: str | None
    reverted_at: object
    reverted_by: str | None
    limits: dict  # stage: [limit before, limit applied] when the migration applied a new table


def list_migrations(session, limit: int = 100) -> list[MigrationRecord]:
    """The latest migrations, newest first (without the kept states, which are large)."""
    source, target = aliased(Deployment), aliased(Deployment)
    m = InstanceMigration
    query = (select(m.id, m.instance_id, m.migrated_at, m.reverted_at, m.previous_state[RESERVED],
                    ProcessInstance.business_key, source.version, target.version, m.migrated_by_id, m.reverted_by_id)
             .join(ProcessInstance, InstanceMigration.instance_id == ProcessInstance.id)
             .join(source, InstanceMigration.from_deployment_id == source.id)
             .join(target, InstanceMigration.to_deployment_id == target.id)
             .order_by(InstanceMigration.id.desc()).limit(limit))
    rows = session.execute(query).all()
    extension = registry.current().extension
    labels = extension.labels(session, {r.business_key for r in rows})
    names = extension.actor_names(session, {r.migrated_by_id for r in rows} | {r.reverted_by_id for r in rows})
    return [MigrationRecord(mid, instance_id, labels.get(key, str(key)), v_from, v_to, at, names.get(by),
                            reverted_at, names.get(rby), (reserved or {}).get("limits") or {})
            for mid, instance_id, at, reverted_at, reserved, key, v_from, v_to, by, rby in rows]


def targets(session) -> list[Deployment]:
    """Deployments that instances could move to (every version but each process's first), newest first."""
    return list(session.scalars(select(Deployment).where(Deployment.version > 1)
                                .order_by(Deployment.process_key, Deployment.version.desc())))
