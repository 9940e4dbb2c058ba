"""Migration preview benchmark: how long the process owner waits for /monitor/migrations.

The preview reads every running instance on an older version, aligns it with the new version
(SpiffWorkflow's diff utilities) and looks its time limits up in the new table. Set-up: a fresh
database (bench/fresh.py), --n running appeals spread over the first steps of the happy path
(being assessed, dispatched, signed for, handled), then a new version whose time-limit table
gives complaints 12 working days.

Baseline, in the same run: loading each of those instances (the state deserialized on its
version's spec), the part no preview can skip. Printed: ms per instance for the baseline, the
preview and then migrating every eligible instance with the new limits (one transaction each),
their ratios to the baseline, and how many were eligible and had a limit change; then JSON.

    .venv/bin/python bench/migration.py --n 300         # fresh SQLite file in a temp dir
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_migration .venv/bin/python bench/migration.py

On PostgreSQL the database's public schema is DROPPED and recreated first.
"""
import argparse
import json
import os
import tempfile
import time

from fresh import timed
from lifecycle import INTAKE, happy_path, setup
from sqlalchemy import select

from hotline import appeals
from hotline.models import OrganizerUnit, User
from runtime import migration, repository, serializer, tasks
from runtime.models import ProcessInstance, UserTask


def running_appeals(db, n: int) -> None:
    """n appeals, the i-th stopped after i % 5 of the happy path's first steps."""
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        lead_id = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
    steps = happy_path(lead_id, people["gl_urban_staff"].id)[:4]
    for i in range(n):
        appeal_id = appeals.register(db, INTAKE, people["intake1"]).id
        for username, bpmn_id, data in steps[:i % 5]:
            with db.read() as session:
                task_id = session.scalar(select(UserTask.id).where(
                    UserTask.business_key == appeal_id, UserTask.bpmn_id == bpmn_id, UserTask.state == "open"))
            tasks.complete(db, task_id, data, people[username])


def new_version(db):
    with db.read() as session:
        files = dict(repository.latest(session).files)
    files["time_limits.dmn"] = files["time_limits.dmn"].replace(
        '<outputEntry id="rule_complaint_handling"><text>"10wd"</text>',
        '<outputEntry id="rule_complaint_handling"><text>"12wd"</text>')
    deployment, _ = repository.deploy_bundle(db, files, deployed_by="bench")  # as `hotline deploy`: recorded
    return deployment.id


def load_all(db, to_id: int) -> int:
    """The baseline: every candidate's state restored on its version's spec."""
    with db.read() as session:
        rows = session.scalars(select(ProcessInstance).where(
            ProcessInstance.status == "running", ProcessInstance.deployment_id != to_id)).all()
        for row in rows:
            serializer.state_from_dict(row.state, *repository.specs_for(row.deployment), None)
        return len(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="running appeals (default 300)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = setup(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
        running_appeals(db, args.n)
        to_id = new_version(db)
        base_ms, _p95, count = timed(lambda: load_all(db, to_id), args.repeat)

        def preview():
            with db.read() as session:
                return migration.preview(session, to_id)
        preview_ms, _p95, candidates = timed(preview, args.repeat)
        with db.read() as session:
            owner = session.scalar(select(User).where(User.username == "owner1"))
        started = time.perf_counter()  # once: the instances move
        moved, refused = migration.migrate(db, to_id, None, owner, apply_limits=True)
        migrate_ms = (time.perf_counter() - started) * 1000
        backend = db.engine.dialect.name
        db.dispose()
    result = {"backend": backend, "instances": count, "eligible": sum(c.eligible for c in candidates),
              "limit_changes": sum(bool(c.changes) for c in candidates),
              "load_ms_per_instance": round(base_ms / count, 2),
              "preview_ms_per_instance": round(preview_ms / count, 2),
              "preview_s": round(preview_ms / 1000, 2), "ratio_preview_over_load": round(preview_ms / base_ms, 2),
              "migrated": len(moved), "refused": len(refused),
              "migrate_ms_per_instance": round(migrate_ms / max(len(moved), 1), 2),
              "ratio_migrate_over_load": round(migrate_ms / max(len(moved), 1) / (base_ms / count), 2)}
    print(f"\nmigration preview on {backend}, {count} running instances on the older version")
    for key, value in result.items():
        print(f"{key:28} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
