"""Timer lateness benchmark: "a timer fires within 2 seconds of its due time under normal load;
100,000 pending jobs".

Real timers, real time, the worker's own code. bench/data/timer_bench.bpmn (start -> timer
catch event at the ISO time `due_at` from the start data -> script task -> end) is deployed
as its own process. Each benchmark instance is started with runtime.instances.start (process_key
"timer_bench"; its save() lets runtime.timers.write_changes write the job row), its business key a
minimal appeal row of its own, with a due time drawn at random from a window of real time a few
seconds ahead. One worker then runs like `hotline worker`: an APScheduler BackgroundScheduler
calling runtime.jobs.run_due every second (max_instances=1, coalesce, as web/cli.py `_scheduler`).
Lateness = the `at` of the instance's 'timer_fired' history row (written in the firing
transaction) minus its due time.

Two phases in one run, same instance count and window:
  baseline  only the benchmark jobs are pending;
  padded    the job table is first filled to --pending pending jobs (default 100,000) with
            rows due days ahead on a few padding instances (they never come due, but sit in
            the job index like real pending work).
Printed per phase: fired/expected, pending jobs, lateness p50/p90/p99/max in seconds, share
within 2 s, the median duration of a poll that found nothing due (the claim query on its
own) and of a poll that fired timers, per timer fired; then one JSON line. Exits 1 if any benchmark timer did not fire.

--burst: working-day deadlines all fall at 17:30, so --n timers come due at the same second.
Two phases, no padding: one timer loop (baseline), then --threads loops in the worker, as
`hotline worker` runs WORKER_THREADS of them on PostgreSQL; the max lateness is how long the
burst takes to drain.

--burst --processes 1,2 (PostgreSQL): the same burst drained by real `hotline worker --processes P`
commands, for each P given; printed per P: drain time (the last timer's lateness), lateness
p50/p99, and timers fired per second.

--kill (PostgreSQL): the crash case. Two `hotline worker` processes (the real command, each
with WORKER_THREADS loops) drain a burst of --n timers due at the same second; --kill-after
seconds after the due time one of them is killed with SIGKILL while it holds claimed jobs.
Printed for all timers and for those the killed worker had claimed (its pending locked rows
right after the kill): lateness p50/p90/p99/max and share within 15 s, plus double fires
(instances with more than one 'timer_fired' row) and timers never fired within --grace.

    .venv/bin/python bench/timers.py                  # fresh SQLite file in a temp dir
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_timers .venv/bin/python bench/timers.py
    DATABASE_URL=… .venv/bin/python bench/timers.py --burst --n 500 --threads 2
    DATABASE_URL=… .venv/bin/python bench/timers.py --burst --n 2000 --processes 1,2
    DATABASE_URL=… .venv/bin/python bench/timers.py --kill --n 2000

On PostgreSQL the database's public schema is DROPPED and recreated first.
"""
import argparse
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

from apscheduler.schedulers.background import BackgroundScheduler
from lifecycle import setup  # same database setup as the lifecycle benchmark
from sqlalchemy import func, insert, select, text

from hotline import appeals
from hotline.models import Appeal
from runtime import clock, instances, jobs, repository
from runtime.models import HistoryEvent, Job, ProcessInstance
from workdays.calendar import TZ

PROCESS = "timer_bench"
DATA = Path(__file__).resolve().parent / "data"
OWNER = f"bench:{socket.gethostname()}:{os.getpid()}"
PADDING_INSTANCES = 20


def start(session, due_at) -> ProcessInstance:
    """runtime.instances.start of the bench process on an appeal row of its own: the hotline's
    hooks read the appeal an instance's business key names, and appeals.register would start
    appeal_handling on it. Returns the instance row; its job row is written by save()."""
    now = clock.now()
    appeal = Appeal(number=appeals.next_number(session, now), appeal_type="consultation", channel="phone",
                    status="registered", title="timer benchmark", content="-", accepted_at=now)
    session.add(appeal)
    session.flush()
    return instances.start(session, appeal.id, None, {"due_at": due_at.astimezone(TZ).isoformat()},
                           process_key=PROCESS)


def pending(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.status == "pending"))


def pad(db, target: int, reserved: int, rng: random.Random) -> int:
    """Bulk-insert far-future job rows so that `target` jobs are pending once `reserved` more
    (the next phase's benchmark jobs) exist. Returns how many rows were inserted."""
    now = clock.now()
    with db.transaction() as session:  # instances whose own timer is a week away: never saved in the run
        ids = [start(session, now + timedelta(days=7)).id for _ in range(PADDING_INSTANCES)]
    count = target - reserved - pending(db)
    for offset in range(0, count, 10_000):
        rows = [{"instance_id": ids[i % len(ids)], "task_id": str(uuid4()), "name": "padding",
                 "due_at": now + timedelta(days=1, seconds=rng.uniform(0, 30 * 86400)), "status": "pending",
                 "retries": 3, "created_at": now} for i in range(offset, min(offset + 10_000, count))]
        with db.transaction() as session:
            session.execute(insert(Job), rows)
    if db.is_postgres:  # what autovacuum would do soon after; keeps the plan steady-state
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE job"))
    return count


def run_worker(db, ids: list[int], until: float, loops: int = 1) -> list[tuple[float, int]]:
    """Run `loops` job loops until every instance in `ids` completed or `until` (epoch seconds)
    passed. Returns (duration s, timers fired) of every poll."""
    polls = []

    def poll(owner):
        started = time.perf_counter()
        fired = jobs.run_due(db, owner)
        polls.append((time.perf_counter() - started, fired))

    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    for n in range(loops):  # as web/cli.py _scheduler: one job per loop, each its own lock owner
        scheduler.add_job(poll, "interval", seconds=1, args=[f"{OWNER}:{n}"], id=f"timers-{n}",
                          max_instances=1, coalesce=True)
    scheduler.add_job(jobs.heartbeat, "interval", seconds=jobs.BEAT_SECONDS, args=[db], id="timers-heartbeat",
                      max_instances=1, coalesce=True)
    scheduler.start()
    try:
        while time.time() < until:
            time.sleep(1)
            if not still_running(db, ids):
                break
    finally:
        scheduler.shutdown(wait=True)
    return polls


def still_running(db, ids) -> int:
    """How many of the instances still wait for their timer."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.id.in_(ids), ProcessInstance.status == "running"))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def phase(db, name: str, args, rng: random.Random, loops: int = 1) -> dict:
    first_due = clock.now() + timedelta(seconds=args.lead)
    due = {}
    for _ in range(args.n):  # one transaction per instance, as appeals.register does
        at = first_due + timedelta(seconds=rng.uniform(0, args.window))
        with db.transaction() as session:
            due[start(session, at).id] = at
    jobs_pending = pending(db)
    if clock.now() >= min(due.values()):
        sys.exit(f"{name}: creating {args.n} instances took longer than --lead {args.lead}s; raise --lead")
    print(f"{name}: {args.n} timers due over {args.window:g}s, {jobs_pending} jobs pending; worker running",
          flush=True)
    polls = run_worker(db, list(due), time.time() + args.lead + args.window + args.grace, loops)
    with db.read() as session:
        fired = session.execute(select(HistoryEvent.instance_id, HistoryEvent.at).where(
            HistoryEvent.action == "timer_fired", HistoryEvent.instance_id.in_(list(due)))).all()
    late = sorted((at - due[iid]).total_seconds() for iid, at in fired)
    idle = sorted(d for d, n in polls if n == 0) or [float("nan")]
    busy = sorted(d / n for d, n in polls if n) or [float("nan")]
    return {"fired": len(late), "expected": args.n, "pending_jobs": jobs_pending,
            **{f"p{p}_s": round(percentile(late, p), 3) if late else None for p in (50, 90, 99)},
            "max_s": round(late[-1], 3) if late else None, "min_s": round(late[0], 3) if late else None,
            "within_2s": round(sum(x <= 2 for x in late) / args.n, 4),
            "polls": len(polls), "idle_poll_ms_p50": round(percentile(idle, 50) * 1000, 2),
            "poll_ms_per_fired_p50": round(percentile(busy, 50) * 1000, 2)}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Uses DATABASE_URL if set, else a fresh SQLite file in a temp dir. WARNING: with a PostgreSQL "
               "DATABASE_URL, that database's public schema is dropped (DROP SCHEMA public CASCADE): all its "
               "data is lost. Point it at a database of its own.")
    parser.add_argument("--n", type=int, default=200, help="benchmark timers per phase (default 200)")
    parser.add_argument("--pending", type=int, default=100_000, help="pending jobs in the padded phase")
    parser.add_argument("--window", type=float, default=25, help="seconds over which the timers fall due")
    parser.add_argument("--lead", type=float, default=8, help="seconds from creation to the first due time")
    parser.add_argument("--grace", type=float, default=15, help="seconds to wait after the window")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--burst", action="store_true", help="all --n timers due at the same second")
    parser.add_argument("--threads", type=int, default=2, help="timer loops in the --burst comparison")
    parser.add_argument("--processes", help="--burst: comma-separated worker process counts, e.g. 1,2 "
                        "(real `hotline worker --processes P` commands; PostgreSQL)")
    parser.add_argument("--kill", action="store_true", help="two worker processes, one killed mid-burst")
    parser.add_argument("--kill-after", type=float, default=2, help="--kill: seconds after the due time")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.burst:
        return burst(args, rng)
    if args.kill:
        return kill(args)
    with tempfile.TemporaryDirectory() as tmp:
        db = setup(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
        repository.deploy_bundle(db, repository.read_bundle(DATA), process_key=PROCESS, deployed_by="bench")
        baseline = phase(db, "baseline", args, rng)
        t = time.perf_counter()
        padded_rows = pad(db, args.pending, args.n, rng)
        print(f"padding: {padded_rows} job rows inserted in {time.perf_counter() - t:.1f}s", flush=True)
        padded = phase(db, "padded", args, rng)
        backend = db.engine.dialect.name
        db.dispose()
    result = {"backend": backend, "n": args.n, "window_s": args.window, "baseline": baseline, "padded": padded,
              "p99_ratio_padded_over_baseline": round(padded["p99_s"] / baseline["p99_s"], 2)
              if baseline["p99_s"] and padded["p99_s"] else None}
    print(f"\ntimer lateness on {backend}: seconds from due time to the 'timer_fired' history row")
    print(f"{'':22} {'baseline':>10} {'padded':>10}")
    for key in ("fired", "expected", "pending_jobs", "min_s", "p50_s", "p90_s", "p99_s", "max_s", "within_2s",
                "polls", "idle_poll_ms_p50", "poll_ms_per_fired_p50"):
        print(f"{key:22} {baseline[key]!s:>10} {padded[key]!s:>10}")
    print(json.dumps(result))
    if baseline["fired"] < args.n or padded["fired"] < args.n:
        sys.exit(1)


def burst(args, rng: random.Random):
    if args.processes:
        return burst_processes(args, [int(p) for p in args.processes.split(",")])
    args.window = 0
    with tempfile.TemporaryDirectory() as tmp:
        db = setup(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
        repository.deploy_bundle(db, repository.read_bundle(DATA), process_key=PROCESS, deployed_by="bench")
        one = phase(db, "1 loop", args, rng, loops=1)
        many = phase(db, f"{args.threads} loops", args, rng, loops=args.threads)
        backend = db.engine.dialect.name
        db.dispose()
    print(f"\nburst of {args.n} timers due at the same second on {backend}: seconds late")
    print(f"{'':22} {'1 loop':>10} {f'{args.threads} loops':>10}")
    for key in ("fired", "expected", "p50_s", "p90_s", "p99_s", "max_s", "within_2s", "poll_ms_per_fired_p50"):
        print(f"{key:22} {one[key]!s:>10} {many[key]!s:>10}")
    ratio = round(many["max_s"] / one["max_s"], 2) if one["max_s"] and many["max_s"] else None
    print(f"drain time ratio ({args.threads} loops / 1 loop): {ratio}")
    print(json.dumps({"backend": backend, "n": args.n, "threads": args.threads, "one_loop": one,
                      "loops": many, "drain_ratio": ratio}))
    if one["fired"] < args.n or many["fired"] < args.n:
        sys.exit(1)


def burst_processes(args, counts: list[int]):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("--processes needs a PostgreSQL DATABASE_URL: worker processes share the job table")
    db = setup(url)
    repository.deploy_bundle(db, repository.read_bundle(DATA), process_key=PROCESS, deployed_by="bench")
    results = {}
    for count in counts:
        lead = max(args.lead, 5 + args.n / 50)  # creating the instances comes first
        due_at = clock.now() + timedelta(seconds=lead)
        ids = []
        for offset in range(0, args.n, 100):  # setup, not measured: 100 instances a transaction
            with db.transaction() as session:
                ids += [start(session, due_at).id for _ in range(min(100, args.n - offset))]
        if clock.now() >= due_at - timedelta(seconds=2):
            sys.exit("creating the instances took too long; raise --lead")
        with tempfile.TemporaryFile("w+") as log:
            worker = subprocess.Popen([str(Path(sys.executable).with_name("hotline")), "worker", "--processes",
                                       str(count)], env=os.environ, stdout=log, stderr=log)
            try:
                print(f"{count} worker process(es): {args.n} timers due at {due_at.astimezone(TZ):%H:%M:%S}",
                      flush=True)
                deadline = time.time() + lead + args.grace + 120
                while time.time() < deadline and worker.poll() is None and still_running(db, ids):
                    time.sleep(0.5)
            finally:
                worker.terminate()
                worker.wait(30)
        with db.read() as session:
            fired = session.execute(select(HistoryEvent.at).where(
                HistoryEvent.action == "timer_fired", HistoryEvent.instance_id.in_(ids))).scalars().all()
        late = sorted((at - due_at).total_seconds() for at in fired)
        results[count] = {**_lateness(late, args.n),
                          "timers_per_s": round(len(late) / late[-1], 1) if late and late[-1] > 0 else None}
    db.dispose()
    print(f"\nburst of {args.n} timers due at the same second on postgresql, drained by worker processes")
    print(f"{'':22}" + "".join(f"{f'{c} process(es)':>15}" for c in counts))
    for key in ("fired", "expected", "p50_s", "p99_s", "max_s", "timers_per_s"):
        print(f"{key:22}" + "".join(f"{results[c][key]!s:>15}" for c in counts))
    print(json.dumps({"backend": "postgresql", "n": args.n, "processes": results}))
    if any(r["fired"] < args.n for r in results.values()):
        sys.exit(1)


def kill(args):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("--kill needs a PostgreSQL DATABASE_URL: two worker processes share the job table")
    lead = max(args.lead, 5 + args.n / 50)  # creating the instances comes first
    db = setup(url)
    repository.deploy_bundle(db, repository.read_bundle(DATA), process_key=PROCESS, deployed_by="bench")
    with tempfile.TemporaryDirectory() as tmp:
        logs = [open(Path(tmp) / f"worker-{i}.log", "w+") for i in (0, 1)]  # noqa: SIM115 -- closed below
        workers = [subprocess.Popen([str(Path(sys.executable).with_name("hotline")), "worker"], env=os.environ,
                                    stdout=log, stderr=log) for log in logs]
        try:
            due_at = clock.now() + timedelta(seconds=lead)
            ids = []
            for offset in range(0, args.n, 100):  # setup, not measured: 100 instances a transaction
                with db.transaction() as session:
                    ids += [start(session, due_at).id for _ in range(min(100, args.n - offset))]
            if clock.now() >= due_at - timedelta(seconds=2) or any(w.poll() is not None for w in workers):
                sys.exit("creating the instances took too long, or a worker did not start; raise --lead")
            print(f"kill: {args.n} timers due at {due_at.astimezone(TZ):%H:%M:%S}, 2 workers running; "
                  f"SIGKILL to worker {workers[0].pid} {args.kill_after:g}s after", flush=True)
            time.sleep(max(0.0, (due_at - clock.now()).total_seconds() + args.kill_after))
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            killed_at = clock.now()
            with db.read() as session:  # what it had claimed and not fired (its open transaction rolls back)
                orphans = set(session.scalars(select(Job.instance_id).where(
                    Job.status == "pending", Job.lock_owner.like(f"%:{workers[0].pid}:%"))))
            deadline = time.time() + args.grace + 60
            while time.time() < deadline and workers[1].poll() is None:
                time.sleep(1)
                if not still_running(db, ids):
                    break
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(30)
            if workers[1].returncode not in (0, -signal.SIGTERM):
                logs[1].seek(0)
                print(logs[1].read()[-3000:], file=sys.stderr)
            for log in logs:
                log.close()
    with db.read() as session:
        fired = session.execute(select(HistoryEvent.instance_id, HistoryEvent.at).where(
            HistoryEvent.action == "timer_fired", HistoryEvent.instance_id.in_(ids))).all()
    db.dispose()
    first, double = {}, set()
    for iid, at in fired:
        if iid in first:
            double.add(iid)
        first[iid] = min(at, first.get(iid, at))
    late = {iid: (at - due_at).total_seconds() for iid, at in first.items()}
    columns = {"all": _lateness(sorted(late.values()), args.n),
               "killed_workers": _lateness(sorted(late[i] for i in orphans if i in late), len(orphans))}
    result = {"backend": "postgresql", "n": args.n, "kill_after_s": args.kill_after,
              "killed_at_s": round((killed_at - due_at).total_seconds(), 3), "orphans": len(orphans),
              "double_fires": len(double), "never_fired": args.n - len(first), **columns}
    print(f"\n{args.n} timers due at the same second, 2 workers, one killed after "
          f"{result['killed_at_s']}s holding {len(orphans)} claimed timers: seconds late")
    print(f"{'':22} {'all':>10} {'its claims':>10}")
    for key in ("fired", "expected", "p50_s", "p90_s", "p99_s", "max_s", "within_15s"):
        print(f"{key:22} {columns['all'][key]!s:>10} {columns['killed_workers'][key]!s:>10}")
    print(f"double fires: {len(double)}, never fired: {result['never_fired']}")
    print(json.dumps(result))
    if double or result["never_fired"]:
        sys.exit(1)


def _lateness(late: list[float], expected: int) -> dict:
    return {"fired": len(late), "expected": expected,
            **{f"p{p}_s": round(percentile(late, p), 3) if late else None for p in (50, 90, 99)},
            "max_s": round(late[-1], 3) if late else None,
            "within_15s": round(sum(x <= 15 for x in late) / expected, 4) if expected else None}


if __name__ == "__main__":
    main()
