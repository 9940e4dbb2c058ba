"""Every list of /api/v1 is paged with keyset cursors (web.api.paging): `limit` (default 50, at
most 200) and the `next_cursor` of the page before. Walking the pages gives every row once in
the list's order, even when rows come and go between reads; a bad limit or a cursor the list
did not make is a 400 naming the field; a cursor is a position, never a permission."""
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from runtime.models import Job, ProcessInstance, UserTask

from .test_api_errors import assert_error

LISTS = {  # path -> (who may read it, what each row's id is)
    "/tasks": ("intake1", lambda row: row["id"]),
    "/appeals": ("supervisor1", lambda row: row["id"]),
    "/supervision-items": ("supervisor1", lambda row: row["item"]["id"]),
    "/units": ("intake1", lambda row: row["id"]),
    "/incidents": ("owner1", lambda row: row["id"]),
}
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)  # before any due time the app sets
EVEN_EARLIER = datetime(2000, 1, 1, tzinfo=UTC)


def walk_pages(api, username, path, limit, between=None, **query):
    """Every page of a list, in order: [items of page 1, items of page 2, ...]. `between(pages)`
    runs after each page but the last is read (rows added or removed while a client pages)."""
    pages, cursor = [], None
    while len(pages) < 500:  # a cursor that leads back would page for ever
        args = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = api.as_(username).get(path, query_string=args)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert body["items"], "a page that promises more is not empty"
        if between:
            between(pages)
    raise AssertionError(f"{path} still had a next_cursor after 500 pages")


def task_key(task):
    """The order GET /tasks promises: due time (none last), then id."""
    due = task["due_at"]
    return (due is None, datetime.fromisoformat(due) if due else LONG_AGO, task["id"])


def encode(*values):
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.fixture
def set_due(db):
    def set_(task_ids, due_at):
        with db.transaction() as session:
            session.execute(update(UserTask).where(UserTask.id.in_(task_ids)).values(due_at=due_at))
    return set_


@pytest.fixture
def extra_tasks(db, walk):
    """extra_tasks(n): n more open assessment tasks for intake1 (copies of a real one, due one
    minute apart), removed after the test."""
    made = []

    def make(n):
        appeal = walk.register()
        task_id = walk.task(appeal["id"], "intake1", "ut_assess")["id"]
        with db.transaction() as session:
            real = session.get(UserTask, task_id)
            copies = [UserTask(id=str(uuid.uuid4()), instance_id=real.instance_id, business_key=real.business_key,
                               bpmn_id=real.bpmn_id, name=real.name, lane=real.lane, form=real.form,
                               candidate_roles=real.candidate_roles, unit_id=real.unit_id,
                               milestones=real.milestones, due_at=EVEN_EARLIER + timedelta(minutes=i),
                               created_at=real.created_at, state="open") for i in range(n)]
            session.add_all(copies)
        made.extend(c.id for c in copies)
        return [c.id for c in copies]
    yield make
    with db.transaction() as session:
        session.execute(delete(UserTask).where(UserTask.id.in_(made)))


@pytest.fixture
def incidents(db, walk):
    """Three failed timer jobs (two due at the same instant), removed after the test."""
    appeal = walk.register()
    with db.transaction() as session:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal["id"]))
        jobs = [Job(instance_id=instance_id, task_id=str(uuid.uuid4()), name=f"测试定时器 {i}", status="incident",
                    due_at=LONG_AGO + timedelta(hours=min(i, 1)), retries=0, last_error="boom") for i in range(3)]
        session.add_all(jobs)
        session.flush()
        ids = [j.id for j in jobs]
    yield ids
    with db.transaction() as session:
        session.execute(delete(Job).where(Job.id.in_(ids)))


# --- GET /tasks -----------------------------------------------------------------------------------

def test_walking_the_task_pages_gives_every_task_once_in_order_while_tasks_come_and_go(api, walk, set_due):
    appeals = [walk.register()["id"] for _ in range(6)]
    tasks = {a: walk.task(a, "intake1", "ut_assess")["id"] for a in appeals}
    # three due at the same instant (the id breaks the tie), two without a due time (listed last)
    set_due([tasks[a] for a in appeals[:3]], LONG_AGO)
    set_due([tasks[a] for a in appeals[3:5]], None)
    added, done = [], []

    def meanwhile(pages):
        if len(pages) == 1:  # a new appeal arrives (due later than what was read); a task read is worked
            added.append(walk.register()["id"])
            worked = pages[0][0]
            walk.complete(worked["appeal_id"], "intake1", "ut_assess", {"assessment": "dispatch"})
            done.append(worked["id"])
    pages = walk_pages(api, "intake1", "/tasks", 2, between=meanwhile)
    listed = [t for page in pages for t in page]
    ids = [t["id"] for t in listed]
    assert len(pages) > 3 and len(ids) == len(set(ids)), "no task twice"
    assert [task_key(t) for t in listed] == sorted(task_key(t) for t in listed)
    assert ids[:3] == sorted(tasks[a] for a in appeals[:3]), "due at the same instant: by id"
    assert ids[-2:] == sorted(tasks[a] for a in appeals[3:5]), "no due time: last, by id"
    assert set(tasks.values()) <= set(ids), "none skipped, though one was worked meanwhile"
    assert done[0] in tasks.values() and done[0] not in [t["id"] for page in pages[1:] for t in page]
    assert added[0] in [t["appeal_id"] for t in listed], "the task that arrived after page 1 is on a later page"


def test_tasks_come_50_to_a_page_unless_asked_for_up_to_200(api, extra_tasks):
    made = extra_tasks(205)
    first = api.as_("intake1").get("/tasks").get_json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    assert [t["id"] for t in first["items"]] == made[:50], "the earliest due first"
    assert len(api.as_("intake1").get("/tasks?limit=200").get_json()["items"]) == 200
    assert_error(api.as_("intake1").get("/tasks?limit=201"), 400, "limit")
    everything = [t["id"] for page in walk_pages(api, "intake1", "/tasks", 50) for t in page]
    assert everything[:205] == made and len(everything) == len(set(everything))


def test_claimed_tasks_are_paged_too(api, walk):
    appeals = [walk.register()["id"] for _ in range(3)]
    for appeal_id in appeals:
        task = walk.task(appeal_id, "intake1", "ut_assess")
        assert api.as_("intake1").post(f"/tasks/{task['id']}/claim").status_code == 200
    claimed = [t for page in walk_pages(api, "intake1", "/tasks", 1, scope="claimed") for t in page]
    assert set(appeals) <= {t["appeal_id"] for t in claimed}
    assert all(t["claimed_by_id"] == claimed[0]["claimed_by_id"] for t in claimed)


# --- every list -----------------------------------------------------------------------------------

@pytest.fixture
def supervision_items(walk, unit_id, browser_as):
    """Open supervision items on four appeals, two each for gl_urban and sm_market."""
    opened = {}
    for lead in ("gl_urban", "sm_market", "gl_urban", "sm_market"):
        appeal = walk.register()["id"]
        walk.complete(appeal, "intake1", "ut_assess", {"assessment": "dispatch"})
        walk.complete(appeal, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id(lead)})
        resp = browser_as("supervisor1").post("/supervision/new", data={
            "appeal": str(appeal), "reason": "return_visit_problem", "measures": ["rectification_notice"],
            "rectification_days": "3", "note": "分页测试"})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
        opened[appeal] = lead
    return opened


@pytest.mark.parametrize("path", sorted(LISTS))
def test_each_list_walked_a_row_at_a_time_is_the_list_in_one_page(api, walk, path, request):
    query = {}
    if path == "/supervision-items":
        request.getfixturevalue("supervision_items")
    elif path == "/incidents":
        request.getfixturevalue("incidents")
    else:
        registered = [walk.register() for _ in range(3)]
        if path == "/appeals":  # the demo's appeals fill more than 200 rows: those waiting for assessment
            query["status"] = registered[0]["status"]
    username, row_id = LISTS[path]
    whole = api.as_(username).get(path, query_string={**query, "limit": 200}).get_json()
    assert 3 <= len(whole["items"]) < 200 and whole["next_cursor"] is None
    pages = walk_pages(api, username, path, 1, **query)
    assert [[row_id(r) for r in page] for page in pages] == [[row_id(r)] for r in whole["items"]]


def test_incidents_due_at_the_same_instant_are_ordered_by_id(api, incidents):
    listed = [j["id"] for page in walk_pages(api, "owner1", "/incidents", 1) for j in page]
    assert [i for i in listed if i in incidents] == sorted(incidents)


def test_before_id_still_pages_appeals_and_ends_with_null(api, walk):
    newest = [walk.register()["id"] for _ in range(3)]
    page = api.as_("supervisor1").get(f"/appeals?limit=2&before_id={newest[-1] + 1}").get_json()
    assert [a["id"] for a in page["items"]] == newest[:0:-1] and page["next_before_id"] == newest[1]
    following = api.as_("supervisor1").get(f"/appeals?limit=2&cursor={page['next_cursor']}").get_json()
    assert following["items"][0]["id"] == newest[0]
    oldest = min(a["id"] for p in walk_pages(api, "supervisor1", "/appeals", 200) for a in p)
    last = api.as_("supervisor1").get(f"/appeals?limit=5&before_id={oldest + 1}").get_json()
    assert [a["id"] for a in last["items"]] == [oldest]
    assert last["next_before_id"] is None and last["next_cursor"] is None


# --- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(LISTS))
@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", "99999999999"])
def test_a_limit_outside_1_to_200_is_400_naming_limit(api, path, limit):
    assert_error(api.as_(LISTS[path][0]).get(path, query_string={"limit": limit}), 400, "limit")


BAD_CURSORS = {
    "not base64": "!!!not-a-cursor!!!",
    "not UTF-8": base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    "not JSON": base64.urlsafe_b64encode(b"tasks,1").decode(),
    "an object": base64.urlsafe_b64encode(b'{"id": 1}').decode(),
    "empty list": encode(),
    "only a name": encode("tasks"),
    "too long": "A" * 401,
    "empty": "",
}
KEYS = {  # a well-formed key of each list, and wrong ones
    "/tasks": (("tasks", "2026-12-01T08:00:00+08:00", "abc"), [
        ("tasks", "2026-13-01T08:00:00+08:00", "abc"), ("tasks", "2026-12-01T08:00:00", "abc"),
        ("tasks", "0001-01-01T00:00:00+00:00", "abc"), ("tasks", None, 5), ("tasks", None, "x" * 37),
        ("tasks", None, "a\u0000b"), ("tasks", 1, "abc"), ("tasks", None)]),
    "/appeals": (("appeals", 5), [("appeals", 0), ("appeals", 2**31), ("appeals", True), ("appeals", "5"),
                                  ("appeals", 5.5), ("appeals", 5, 6)]),
    "/supervision-items": (("supervision-items", 5), [("supervision-items", -1), ("supervision-items", None)]),
    "/units": (("units", 5), [("units", 10**30), ("units", [5])]),
    "/incidents": (("incidents", "2026-12-01T08:00:00+00:00", 5), [
        ("incidents", None, 5), ("incidents", "2026-12-01T08:00:00+00:00", "5")]),
}


@pytest.mark.parametrize("path", sorted(LISTS))
def test_a_cursor_the_list_did_not_make_is_400_naming_cursor(api, path):
    client = api.as_(LISTS[path][0])
    good, wrong = KEYS[path]
    assert client.get(path, query_string={"cursor": encode(*good)}).status_code == 200
    others = [encode(*key) for other, (key, _) in KEYS.items() if other != path]  # another list's cursor
    for cursor in [*BAD_CURSORS.values(), *(encode(*key) for key in wrong), *others]:
        err = assert_error(client.get(path, query_string={"cursor": cursor}), 400, "cursor")
        assert "next_cursor" in err["fields"]["cursor"][0], cursor


@pytest.mark.parametrize("path", ["/appeals", "/supervision-items"])
def test_a_cursor_and_a_before_id_together_are_400(api, path):
    cursor = encode(*KEYS[path][0])
    assert_error(api.as_("supervisor1").get(path, query_string={"cursor": cursor, "before_id": 5}), 400, "cursor")


# --- who sees what ----------------------------------------------------------------------------------

def test_a_unit_sees_only_its_own_rows_on_every_page(api, walk, unit_id, supervision_items):
    ours = walk.to_signed(unit_id=unit_id, lead="gl_urban")
    theirs = walk.to_signed(unit_id=unit_id, lead="sm_market")
    gl_urban = unit_id("gl_urban")
    tasks = [t for page in walk_pages(api, "gl_urban_staff", "/tasks", 1) for t in page]
    assert tasks and all(t["unit_id"] == gl_urban for t in tasks)
    appeals = {a["id"] for page in walk_pages(api, "gl_urban_leader", "/appeals", 1) for a in page}
    assert ours in appeals and theirs not in appeals
    assert {a for a, lead in supervision_items.items() if lead == "gl_urban"} <= appeals
    items = [r["item"] for page in walk_pages(api, "gl_urban_leader", "/supervision-items", 1) for r in page]
    assert {a for a, lead in supervision_items.items() if lead == "gl_urban"} <= {i["appeal_id"] for i in items}
    assert items and all(i["unit_id"] == gl_urban for i in items)


def test_a_cursor_is_a_position_not_a_permission(api, walk, unit_id):
    """A cursor taken from the platform's view of every appeal, used by a unit, pages the
    unit's own appeals from that position on, and nothing else."""
    ours = walk.to_signed(unit_id=unit_id, lead="gl_urban")
    theirs = [walk.to_signed(unit_id=unit_id, lead="sm_market") for _ in range(2)]
    platform = api.as_("supervisor1").get(f"/appeals?limit=1&before_id={theirs[-1] + 1}").get_json()
    assert [a["id"] for a in platform["items"]] == [theirs[-1]]
    seen = api.as_("gl_urban_leader").get("/appeals", query_string={"limit": 200,
                                                                   "cursor": platform["next_cursor"]}).get_json()
    assert ours in [a["id"] for a in seen["items"]]
    assert not set(theirs) & {a["id"] for a in seen["items"]}


# --- the document -----------------------------------------------------------------------------------

def test_the_openapi_document_states_each_lists_paging(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in LISTS:
        operation = spec["paths"][path]["get"]
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert params["limit"] == {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, path
        assert params["cursor"]["type"] == "string", path
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert spec["components"]["schemas"][page]["properties"]["next_cursor"]["type"] == ["string", "null"], path
