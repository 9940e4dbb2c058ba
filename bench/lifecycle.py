"""Appeal lifecycle benchmark: the engine on a database vs. bare SpiffWorkflow in memory.

Both paths drive N appeals through the happy path of processes/appeal_handling.bpmn
(assess -> dispatch to gl_urban, no co-organizers -> sign for -> assign handler -> record
result -> leader review approves -> reply -> return visit satisfied -> archived), 8 user tasks.

A  the runtime on the database: hotline.appeals.register, then per task a lookup of the open
   task id in user_task (by business key and bpmn_id, included in the timing) and
   runtime.tasks.complete as the right demo user. Every appeal must end up archived.
B  bare SpiffWorkflow, same diagrams (runtime.repository.parse), service tasks answered with
   canned JSON, same start data and form variables, state serialized to a dict and restored
   (runtime.serializer) around every task, as the runtime does. Every workflow must complete.

A and B alternate per appeal, so both see the same (shared, noisy) machine. Printed: elapsed
and appeals/s for A and B, ms per start and per completion on each path and their ratios A/B
(engine vs bare), SQL statements and commits per start (register) and per completion
(runtime.tasks.complete), then one JSON line. With --rounds R, the median of R rounds.

    .venv/bin/python bench/lifecycle.py --n 100 --rounds 3
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/lifecycle.py

On PostgreSQL the database's public schema is DROPPED and recreated first.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta

from fresh import fresh_database
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, func, select

from hotline import appeals
from hotline.models import Appeal, OrganizerUnit, User
from runtime import clock, forms, serializer, tasks
from runtime import repository as definitions
from runtime.db import Database
from runtime.models import ProcessInstance, UserTask
from workdays import deadlines
from workdays.calendar import TZ

INTAKE = {"channel": "phone", "appeal_type": "complaint", "title": "夜间施工噪音扰民",
          "content": "小区旁工地每晚22点后仍在施工，噪音很大。", "location": "鼓楼区五四路100号",
          "region_code": "350102", "appellant": {"kind": "citizen", "name": "张三", "phone": "13800001234"}}


def happy_path(lead_id: int, handler_id: int) -> list[tuple[str, str, dict]]:
    """(username, bpmn_id, form data) of each user task, in order (as tests/conftest.py Walker)."""
    return [
        ("intake1", "ut_assess", {"assessment": "dispatch"}),
        ("dispatcher1", "ut_dispatch", {"lead_unit_id": lead_id, "co_unit_ids": []}),
        ("gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"}),
        ("gl_urban_leader", "ut_assign_handler", {"department": "执法科", "handler_id": handler_id}),
        ("gl_urban_staff", "ut_record_result",
         {"result_action": "submit_result", "result": "已责令工地停止夜间施工", "resolved": True}),
        ("gl_urban_leader", "ut_leader_review", {"review_decision": "approve"}),
        ("gl_urban_staff", "ut_reply",
         {"reply_method": "phone", "appellant_reached": True, "reply_content": "已电话告知处理结果"}),
        ("dispatcher1", "ut_closure_review", {"closure_decision": "approve"}),
        ("revisit1", "ut_return_visit", {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}),
    ]


def start_data(appeal_id: int) -> dict:
    """What hotline.appeals.register puts on the start task (the diagram sets the rest)."""
    return {"appeal_id": appeal_id, "appeal_type": "complaint", "urgent": False, "convenience_list": False,
            "confidential": False}


class SqlCounter:
    """Counts cursor executions and commits on an engine, per phase (register, lookup, complete)."""

    def __init__(self, engine):
        self.phase, self.statements, self.commits = None, {}, {}
        event.listen(engine, "before_cursor_execute", lambda *a: self._bump(self.statements))
        event.listen(engine, "commit", lambda *a: self._bump(self.commits))

    def _bump(self, counts):
        counts[self.phase] = counts.get(self.phase, 0) + 1


def setup(url: str) -> Database:
    db = Database(url)
    fresh_database(db)
    return db


def engine_appeal(db: Database, people: dict, steps, counter: "SqlCounter", times: dict) -> int:
    """Path A for one appeal: the start (hotline.appeals.register) and each completion timed on
    their own; the lookup of the open task id is not timed (B's search for the READY task is
    part of its restore). Returns the appeal id."""
    counter.phase = "register"
    started = time.perf_counter()
    appeal_id = appeals.register(db, INTAKE, people["intake1"]).id
    times["a_start"].append(time.perf_counter() - started)
    for username, bpmn_id, data in steps:
        counter.phase = "lookup"
        with db.read() as session:
            task_id = session.scalar(select(UserTask.id).where(
                UserTask.business_key == appeal_id, UserTask.bpmn_id == bpmn_id, UserTask.state == "open"))
        if task_id is None:
            sys.exit(f"A: appeal {appeal_id} has no open {bpmn_id}")
        counter.phase = "complete"
        started = time.perf_counter()
        tasks.complete(db, task_id, data, people[username])
        times["a_complete"].append(time.perf_counter() - started)
    counter.phase = None
    return appeal_id


def check_engine(db: Database, ids: list[int]) -> None:
    with db.read() as session:
        archived = session.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.id.in_(ids), Appeal.status == "archived"))
        ended = session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.business_key.in_(ids), ProcessInstance.status == "completed"))
    if archived != len(ids) or ended != len(ids):
        sys.exit(f"A FAILED: {archived}/{len(ids)} appeals archived, {ended}/{len(ids)} instances completed")


class CannedServices(TaskDataEnvironment):
    """Answers every service task with JSON shaped like hotline.operators' answers: the deadline
    operators return the `deadlines` dict (each stage's due time and its "_warning" time as ISO
    strings with the +08:00 offset, in the future, plus "basis" and "provisional"), stages whose
    limit is "none" left out; assign_fallback_unit returns a unit id; send_evaluation_link the
    link's expiry; the rest return null.
    Times are rough (N working days ~ N calendar days, warning 4 h before): nothing fires here.
    Expressions may call due_after, as the hotline's do."""

    def __init__(self):
        super().__init__({"due_after": _canned_due_after})

    def call_service(self, context, operation_name=None, operation_params=None, **_kwargs):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        now = clock.now()
        current = params.get("current")
        if operation_name in ("accept_appeal", "grade_appeal"):
            result = _canned_stage(None, "dispatch", now, params["dispatch_limit"])
        elif operation_name == "dispatch_appeal":
            result = current
            for stage in ("sign_for", "first_contact", "handling"):
                result = _canned_stage(result, stage, now, params[f"{stage}_limit"])
        elif operation_name == "start_rehandle":
            result = _canned_stage(current, "handling", now, params["handling_limit"])
        elif operation_name == "apply_extension":
            result = current
            if params["consented"] and params["approved"]:
                start, base = current["basis"]["handling"]
                days = deadlines.working_days(base) + params["days"]
                result = _canned_stage(current, "handling", datetime.fromisoformat(start), f"{days}wd")
        elif operation_name == "assign_fallback_unit":
            result = 6  # a unit id
        elif operation_name == "send_evaluation_link":  # when the appellant's link expires
            result = (now + timedelta(days=3)).astimezone(TZ).isoformat()
        else:
            result = None
        return json.dumps(result)


def _canned_due_after(start: str, limit: str) -> str:
    return (datetime.fromisoformat(start) + timedelta(days=deadlines.working_days(limit))).isoformat()


def _canned_stage(current: dict | None, stage: str, start: datetime, limit: str | None) -> dict:
    """Like hotline.stages.set_stage, without the calendar."""
    result = json.loads(json.dumps(current or {}))
    basis = result.setdefault("basis", {})
    if limit in (None, "", "none"):
        for key in (stage, f"{stage}_warning"):
            result.pop(key, None)
        basis.pop(stage, None)
    else:
        days = deadlines.working_days(limit)
        due = start + (timedelta(days=days) if days else timedelta(hours=1))
        warning = due - timedelta(hours=4) if days else start + (due - start) / 2
        result[stage], result[f"{stage}_warning"] = due.astimezone(TZ).isoformat(), warning.astimezone(TZ).isoformat()
        basis[stage] = [start.isoformat(), limit]
    result.setdefault("provisional", [])
    return result


def bare_appeal(spec, subs, steps, i: int, times: dict) -> None:
    """Path B for one appeal: start (a new workflow to its first user task, serialized) and each
    completion (restore, run the task, engine steps, serialize) timed on their own."""
    started = time.perf_counter()
    workflow = BpmnWorkflow(spec, subs, script_engine=PythonScriptEngine(environment=CannedServices()))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(start_data(i))
    workflow.refresh_timers()
    workflow.do_engine_steps()
    state = serializer.state_to_dict(workflow)
    times["b_start"].append(time.perf_counter() - started)
    for _, bpmn_id, data in steps:
        started = time.perf_counter()
        engine = PythonScriptEngine(environment=CannedServices())
        workflow = serializer.state_from_dict(state, spec, subs, engine)
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id]
        if not ready:
            sys.exit(f"B: workflow {i} has no READY {bpmn_id}")
        task = ready[0]
        form = task.task_spec.extensions.get("properties", {})["formJsonSchemaFilename"]
        variables, _ = forms.split(form, data, task.data)  # same process variables as the engine
        task.data.update(variables)
        task.run()
        workflow.refresh_timers()
        workflow.do_engine_steps()
        state = serializer.state_to_dict(workflow)
        times["b_complete"].append(time.perf_counter() - started)
    if not workflow.is_completed():
        sys.exit(f"B FAILED: workflow {i} did not complete")


def one_round(db: Database, spec, subs, n: int, counter: "SqlCounter") -> dict:
    """n appeals on each path, alternating A and B per appeal, so both see the same machine."""
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        lead_id = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
    steps = happy_path(lead_id, people["gl_urban_staff"].id)
    bare_steps = happy_path(lead_id, handler_id=1)  # no accounts here: any id is carried as data
    times = {k: [] for k in ("a_start", "a_complete", "b_start", "b_complete")}
    ids = []
    for i in range(1, n + 1):
        ids.append(engine_appeal(db, people, steps, counter, times))
        bare_appeal(spec, subs, bare_steps, i, times)
    check_engine(db, ids)
    return {k: sum(v) for k, v in times.items()} | {"completions": len(times["a_complete"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=(
        "Uses DATABASE_URL if set, else a fresh SQLite file in a temp dir. WARNING: with a PostgreSQL "
        "DATABASE_URL, that database's public schema is dropped (DROP SCHEMA public CASCADE): all its "
        "data is lost."))
    parser.add_argument("--n", type=int, default=100, help="appeals per path and round (default 100)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median of each figure is printed")
    args = parser.parse_args()
    spec, subs = definitions.parse(definitions.read_bundle())
    with tempfile.TemporaryDirectory() as tmp:
        db = setup(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
        counter = SqlCounter(db.engine)
        rounds = [one_round(db, spec, subs, args.n, counter) for _ in range(args.rounds)]
        backend = db.engine.dialect.name
        db.dispose()
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    completions, starts = sum(r["completions"] for r in rounds), args.n * args.rounds
    a_total, b_total = median["a_start"] + median["a_complete"], median["b_start"] + median["b_complete"]
    result = {
        "backend": backend, "n": args.n, "rounds": args.rounds, "tasks_per_appeal": completions // starts,
        "a_elapsed_s": round(a_total, 3), "a_appeals_per_s": round(args.n / a_total, 2),
        "b_elapsed_s": round(b_total, 3), "b_appeals_per_s": round(args.n / b_total, 2),
        "ratio_b_over_a": round(a_total / b_total, 2),
        "ratio_completion": round(statistics.median(r["a_complete"] / r["b_complete"] for r in rounds), 2),
        "ratio_start": round(statistics.median(r["a_start"] / r["b_start"] for r in rounds), 2),
        "a_completions_per_s": round(median["completions"] / median["a_complete"], 2),
        "a_sql_per_completion": round(counter.statements.get("complete", 0) / completions, 2),
        "a_commits_per_completion": round(counter.commits.get("complete", 0) / completions, 2),
        "a_sql_per_start": round(counter.statements.get("register", 0) / starts, 2),
        "a_commits_per_start": round(counter.commits.get("register", 0) / starts, 2),
    }
    rows = [("appeals (n) per round", args.n, args.n), ("elapsed s (median round)", result["a_elapsed_s"],
                                                       result["b_elapsed_s"]),
            ("appeals/s", result["a_appeals_per_s"], result["b_appeals_per_s"]),
            ("ms per start", round(1000 * median["a_start"] / args.n, 2), round(1000 * median["b_start"] / args.n, 2)),
            ("ms per completion", round(1000 * median["a_complete"] / median["completions"], 2),
             round(1000 * median["b_complete"] / median["completions"], 2)),
            ("SQL stmts / start", result["a_sql_per_start"], "-"),
            ("commits / start", result["a_commits_per_start"], "-"),
            ("SQL stmts / completion", result["a_sql_per_completion"], "-"),
            ("commits / completion", result["a_commits_per_completion"], "-")]
    print(f"\nlifecycle benchmark on {backend}, {result['tasks_per_appeal']} user tasks per appeal, "
          f"A and B alternating per appeal, {args.rounds} round(s)")
    print(f"{'':26} {'A engine+DB':>12} {'B bare Spiff':>13}")
    for label, a, b in rows:
        print(f"{label:26} {a:>12} {b:>13}")
    print(f"{'ratio A/B completion':26} {result['ratio_completion']:>12}")
    print(f"{'ratio A/B start':26} {result['ratio_start']:>12}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
