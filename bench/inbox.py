"""Inbox benchmark on PostgreSQL at a million appeals: the inbox queries, `GET /api/v1/tasks`
and the `/inbox` page.

Fills the database as bench/monitor.py does (its `fill`: N appeals, ~16 % open, each open one
with an open user task of its lead unit), unless --no-fill reuses the previous run's data.
Then, in one run:
  queries   hotline.inbox.search as the page calls it, p50/p95 ms: a unit worker's own tasks
            (scope "mine"), the whole unit ("unit"), a dispatcher's inbox ("mine": the counts
            cover every open task of the platform)
  api       GET /api/v1/tasks as the unit worker (first page, and a page further on when the
            answer is paged), p50/p95 ms, and how many rows one answer holds
  page      on a fresh SQLite demo database with 60 appeals waiting at 签收 in the unit (the
            demo's scale): GET /inbox as the unit worker against a trivial route of the same
            app, both through the WSGI test client: requests/s of each and the inbox's share of
            the trivial route's rate, plus the page's size

    createdb -h 127.0.0.1 -U postgres bench_inbox
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_inbox .venv/bin/python bench/inbox.py
    .venv/bin/python bench/inbox.py --page-only     # the page phase alone

**The database's public schema is DROPPED and recreated first** (unless --no-fill).
"""
import json
import os
import sys
import tempfile
import time

from fresh import large_postgres_run, timed
from monitor import fill
from sqlalchemy import select

from hotline import demo, inbox
from hotline.models import OrganizerUnit, User
from web import create_app, get_db


def queries(db, repeat: int) -> dict:
    with db.read() as session:
        staff = session.scalar(select(User).where(User.username == "gl_urban_staff"))
        dispatcher = session.scalar(select(User).where(User.username == "dispatcher1"))
        results = {}
        for name, user, scope in (("worker own", staff, "mine"), ("whole unit", staff, "unit"),
                                  ("dispatcher", dispatcher, "mine")):
            p50, p95, found = timed(lambda u=user, s=scope: inbox.search(session, u, scope=s), repeat)
            results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "rows": len(found["rows"]),
                             "counted": found["counts"]["unit"]}
    return results


def api(client, repeat: int) -> dict:
    token = client.post("/api/v1/auth/token", json={"username": "gl_urban_staff",
                                                    "password": demo.DEMO_PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def first():
        resp = client.get("/api/v1/tasks", headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        return resp.get_json()
    p50, p95, body = timed(first, repeat)
    result = {"first_page": {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "rows": len(body["items"])}}
    cursor = body.get("next_cursor")
    for _ in range(20 if cursor else 0):  # walk on: a later page costs what the first does
        cursor = client.get("/api/v1/tasks", query_string={"cursor": cursor}, headers=headers).get_json()["next_cursor"]
    if cursor:
        p50, p95, body = timed(lambda: client.get("/api/v1/tasks", query_string={"cursor": cursor},
                                                  headers=headers).get_json(), repeat)
        result["page_21"] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "rows": len(body["items"])}
    return result


def demo_app(tmp: str, open_tasks: int):
    """A fresh SQLite database with the demo and `open_tasks` appeals waiting at 签收 in
    鼓楼区城市管理局, the page's own data (its rows are what it renders)."""
    from hotline import accounts, appeals
    from runtime import repository, schema, tasks
    from runtime.models import UserTask
    url = f"sqlite:///{tmp}/page.db"
    app = create_app({"DATABASE_URL": url, "WTF_CSRF_ENABLED": False})
    db = get_db(app)
    schema.upgrade(db)
    accounts.use_fast_hashing()
    repository.deploy_bundle(db, deployed_by="bench")
    demo.load(db)
    with db.read() as session:
        people = {u.username: u for u in session.scalars(select(User))}
        lead = session.scalar(select(OrganizerUnit.id).where(OrganizerUnit.code == "gl_urban"))
    intake = {"channel": "phone", "appeal_type": "complaint", "title": "夜间施工噪音扰民", "content": "工地夜间施工。",
              "location": "鼓楼区五四路100号", "region_code": "350102",
              "appellant": {"kind": "citizen", "name": "张三", "phone": "13800001234"}}
    for _ in range(open_tasks):
        appeal_id = appeals.register(db, intake, people["intake1"]).id
        for username, bpmn_id, data in (("intake1", "ut_assess", {"assessment": "dispatch"}),
                                        ("dispatcher1", "ut_dispatch", {"lead_unit_id": lead})):
            with db.read() as session:
                task_id = session.scalar(select(UserTask.id).where(
                    UserTask.business_key == appeal_id, UserTask.bpmn_id == bpmn_id, UserTask.state == "open"))
            tasks.complete(db, task_id, data, people[username])
    return app


def page(app, client, seconds: float) -> dict:
    client.post("/login", data={"username": "gl_urban_staff", "password": demo.DEMO_PASSWORD})

    def rate(path):
        done, started = 0, time.perf_counter()
        size = 0
        while time.perf_counter() - started < seconds:
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
            size, done = len(resp.data), done + 1
        return done / (time.perf_counter() - started), size
    inbox_rate, size = rate("/inbox")
    trivial_rate, _ = rate("/bench-trivial")
    return {"inbox_per_s": round(inbox_rate, 1), "trivial_per_s": round(trivial_rate, 1),
            "inbox_share_of_trivial_pct": round(100 * inbox_rate / trivial_rate, 2), "inbox_kb": round(size / 1024, 1)}


def page_only() -> int:
    """--page-only: the page phase alone (no PostgreSQL needed)."""
    with tempfile.TemporaryDirectory() as tmp:
        page_app = demo_app(tmp, 60)
        page_app.add_url_rule("/bench-trivial", "bench_trivial", lambda: "ok")
        result = page(page_app, page_app.test_client(), seconds=10)
        get_db(page_app).dispose()
    print(f"/inbox {result['inbox_per_s']}/s vs trivial {result['trivial_per_s']}/s: "
          f"{result['inbox_share_of_trivial_pct']} %, {result['inbox_kb']} KB")
    print(json.dumps({"page": result}))
    return 0


def main() -> int:
    if "--page-only" in sys.argv:
        return page_only()
    run_args = large_postgres_run(__doc__)
    if run_args is None:
        return 2
    args, db = run_args
    if not args.no_fill:
        fill(db, args.n)
    db.dispose()
    app = create_app({"DATABASE_URL": os.environ["DATABASE_URL"], "WTF_CSRF_ENABLED": False})
    app.add_url_rule("/bench-trivial", "bench_trivial", lambda: "ok")
    client = app.test_client()
    result = {"queries": queries(get_db(app), args.repeat), "api": api(client, args.repeat)}
    get_db(app).dispose()
    with tempfile.TemporaryDirectory() as tmp:  # the page on the demo's scale: 60 open tasks
        page_app = demo_app(tmp, 60)
        page_app.add_url_rule("/bench-trivial", "bench_trivial", lambda: "ok")
        result["page"] = page(page_app, page_app.test_client(), seconds=10)
        get_db(page_app).dispose()
    print("\ninbox at", f"{args.n:,}", "appeals (p50 / p95 ms)")
    for name, r in result["queries"].items():
        print(f"  {name:14} {r['p50_ms']:>8} {r['p95_ms']:>8}   rows {r['rows']}, counted {r['counted']}")
    for name, r in result["api"].items():
        print(f"  api {name:10} {r['p50_ms']:>8} {r['p95_ms']:>8}   rows {r['rows']}")
    p = result["page"]
    print(f"  /inbox {p['inbox_per_s']}/s vs trivial {p['trivial_per_s']}/s: {p['inbox_share_of_trivial_pct']} %, "
          f"{p['inbox_kb']} KB")
    print(json.dumps({"n": args.n, **result}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
