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

Printed: elapsed and appeals/s for A and B, the speed ratio B/A, task completions/s for A, and
SQL statements and commits per runtime.tasks.complete call, then one JSON line.

    .venv/bin/python bench/lifecycle.py --n 200
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python bench/lifecycle.py

On PostgreSQL the database's public schema is DROPPED and recreated first.
"""
import argparse
import json
import os
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


def run_engine(db: Database, n: int, counter: SqlCounter) -> tuple[float, int]:
    """Path A. Returns (elapsed seconds, user-task completions)."""
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        lead_id = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
    steps, ids, done = happy_path(lead_id, people["gl_urban_staff"].id), [], 0
    started = time.perf_counter()
    for _ in range(n):
        counter.phase = "register"
        appeal_id = appeals.register(db, INTAKE, people["intake1"]).id
        ids.append(appeal_id)
        for username, bpmn_id, data in steps:
            counter.phase = "lookup"
            with db.read() as session:
                task_id = session.scalar(select(UserTask.id).where(
                    UserTask.business_key == appeal_id, UserTask.bpmn_id == bpmn_id, UserTask.state == "open"))
            if task_id is None:
                sys.exit(f"A: appeal {appeal_id} has no open {bpmn_id}")
            counter.phase = "complete"
            tasks.complete(db, task_id, data, people[username])
            done += 1
    counter.phase = None
    elapsed = time.perf_counter() - started
    with db.read() as session:
        archived = session.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.id.in_(ids), Appeal.status == "archived"))
        ended = session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.business_key.in_(ids), ProcessInstance.status == "completed"))
    if archived != n or ended != n:
        sys.exit(f"A FAILED: {archived}/{n} appeals archived, {ended}/{n} instances completed")
    return elapsed, done


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


def run_bare(spec, subs, n: int, lead_id: int) -> float:
    """Path B. Returns elapsed seconds."""
    steps = happy_path(lead_id, handler_id=1)  # no accounts here: any id is carried as data
    started = time.perf_counter()
    for i in range(1, n + 1):
        workflow = BpmnWorkflow(spec, subs, script_engine=PythonScriptEngine(environment=CannedServices()))
        workflow.get_tasks(state=TaskState.READY)[0].data.update(start_data(i))
        workflow.refresh_timers()
        workflow.do_engine_steps()
        state = serializer.state_to_dict(workflow)
        for _, bpmn_id, data in steps:
            engine = PythonScriptEngine(environment=CannedServices())
            workflow = serializer.state_from_dict(state, spec, subs, engine)
            ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                     if t.task_spec.bpmn_id == bpmn_id]
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
        if not workflow.is_completed():
            sys.exit(f"B FAILED: workflow {i} did not complete")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=(
        "Uses DATABASE_URL if set, else a fresh SQLite file in a temp dir. WARNING: with a PostgreSQL "
        "DATABASE_URL, that database's public schema is dropped (DROP SCHEMA public CASCADE): all its "
        "data is lost."))
    parser.add_argument("--n", type=int, default=200, help="appeals per path (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = setup(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db")
        counter = SqlCounter(db.engine)
        a_elapsed, completions = run_engine(db, args.n, counter)
        with db.read() as session:
            lead_id = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
        spec, subs = definitions.parse(definitions.read_bundle())
        b_elapsed = run_bare(spec, subs, args.n, lead_id)
        backend = db.engine.dialect.name
        db.dispose()
    stmts = counter.statements.get("complete", 0)
    result = {
        "backend": backend, "n": args.n, "tasks_per_appeal": completions // args.n,
        "a_elapsed_s": round(a_elapsed, 3), "a_appeals_per_s": round(args.n / a_elapsed, 2),
        "b_elapsed_s": round(b_elapsed, 3), "b_appeals_per_s": round(args.n / b_elapsed, 2),
        "ratio_b_over_a": round(a_elapsed / b_elapsed, 2),
        "a_completions_per_s": round(completions / a_elapsed, 2),
        "a_sql_per_completion": round(stmts / completions, 2),
        "a_commits_per_completion": round(counter.commits.get("complete", 0) / completions, 2),
        "a_sql_per_appeal_total": round(sum(counter.statements.get(p, 0) for p in ("register", "lookup", "complete")) / args.n, 1),
    }
    rows = [("appeals (n)", args.n, args.n), ("elapsed s", result["a_elapsed_s"], result["b_elapsed_s"]),
            ("appeals/s", result["a_appeals_per_s"], result["b_appeals_per_s"]),
            ("task completions/s", result["a_completions_per_s"], round(completions / b_elapsed, 2)),
            ("SQL stmts / completion", result["a_sql_per_completion"], "-"),
            ("commits / completion", result["a_commits_per_completion"], "-"),
            ("SQL stmts / appeal (all)", result["a_sql_per_appeal_total"], "-")]
    print(f"\nlifecycle benchmark on {backend}, {completions // args.n} user tasks per appeal")
    print(f"{'':26} {'A engine+DB':>12} {'B bare Spiff':>13}")
    for label, a, b in rows:
        print(f"{label:26} {a:>12} {b:>13}")
    print(f"{'ratio B/A (speed)':26} {result['ratio_b_over_a']:>12}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
