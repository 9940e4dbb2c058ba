"""What every endpoint of /api/v1 answers to bad input, missing rights and conflicts: the
status, the JSON error (with the offending field where there is one), and that nothing
changed. Also attachments (type sniffing, size limit, who may download) and what organizer
units may see of the appellant."""
import hashlib
import io
import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.models import AppealUnit
from tests.conftest import intake_data

CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
MISSING = object()
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


# --- helpers -------------------------------------------------------------------------------

def assert_error(resp, status, *fields):
    """A JSON error with this status; each of `fields` is named in error.fields."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:1000])
    assert resp.is_json, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    assert set(body) == {"error"}, body
    err = body["error"]
    if status in CODES:
        assert err["code"] == CODES[status], err
    assert isinstance(err["message"], str) and err["message"], err
    for field in fields:
        assert field in err.get("fields", {}), (field, err)
        assert err["fields"][field] and all(isinstance(m, str) for m in err["fields"][field]), err
    return err


def png(extra=b""):
    """A tiny file that sniffs as PNG, unique per call (so uploads do not share a blob)."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + uuid.uuid4().bytes + extra


def upload(client, appeal_id, content, filename="photo.png", mimetype=None):
    file = (io.BytesIO(content), filename, mimetype) if mimetype else (io.BytesIO(content), filename)
    return client.post(f"/appeals/{appeal_id}/attachments", data={"file": file},
                       content_type="multipart/form-data")


def appeal_ids(api, username="supervisor1"):
    """Every appeal id `username` may list, across all pages."""
    ids, before = [], None
    while True:
        query = f"/appeals?limit=200{f'&before_id={before}' if before else ''}"
        resp = api.as_(username).get(query)
        assert resp.status_code == 200, resp.get_json()
        page = resp.get_json()
        ids += [a["id"] for a in page["items"]]
        before = page["next_before_id"]
        if before is None:
            return ids


def appeal_count(api):
    return len(appeal_ids(api))


def intake(**changes):
    """intake_data with top-level or `appellant.x` fields replaced (MISSING removes one)."""
    data = intake_data()
    data["appellant"] = dict(data["appellant"])
    for key, value in changes.items():
        target, name = (data["appellant"], key[len("appellant."):]) if key.startswith("appellant.") else (data, key)
        if value is MISSING:
            target.pop(name, None)
        else:
            target[name] = value
    return data


def to_dispatching(walk):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    return appeal["id"]


def to_signing(walk, unit_id, lead="gl_urban"):
    appeal_id = to_dispatching(walk)
    walk.complete(appeal_id, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id(lead)})
    return appeal_id


def history_actions(detail, action):
    return [e for e in detail["history"] if e["action"] == action]


@pytest.fixture
def attachment_dir(app):
    return Path(app.config["ATTACHMENT_DIR"])


def stray_files(root: Path):
    """Files directly under the attachment root: only left-over temporary uploads live there."""
    return sorted(p.name for p in root.iterdir() if p.is_file()) if root.is_dir() else []


# --- authentication ------------------------------------------------------------------------

SAMPLE_VALUES = {"appeal_id": "1", "attachment_id": "1", "task_id": str(uuid.uuid4()),
                 "name": "register_appeal.schema.json", "job_id": "1", "item_id": "1"}
PUBLIC = {"/api/v1/auth/token", "/api/v1/openapi.json", "/api/v1/health"}


def _protected_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule not in PUBLIC:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>:]+)>", lambda m: SAMPLE_VALUES[m.group(1)], rule.rule)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Bearer not-a-real-token", "bearer " + "x" * 5000, "Basic aW50YWtlMTpkZW1vMTIzNDU=",
    "Bearer \x00"])
def test_every_protected_endpoint_answers_401_without_a_valid_token(app, client, api, header):
    routes = _protected_routes(app)
    assert len(routes) >= 12, routes
    before = appeal_count(api)
    headers = {"Authorization": header} if header is not None else {}
    for method, path in routes:
        resp = client.open(path, method=method, headers=headers, json=intake_data())
        assert_error(resp, 401)
    assert appeal_count(api) == before


def test_a_real_token_sent_with_another_scheme_is_not_accepted(api, client):
    token = api.token("supervisor1")
    assert_error(client.get("/api/v1/appeals", headers={"Authorization": f"Token {token}"}), 401)
    assert_error(client.get("/api/v1/appeals", headers={"Authorization": token}), 401)
    assert client.get("/api/v1/appeals", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_public_endpoints_need_no_token(client):
    assert client.get("/api/v1/health").get_json() == {"status": "ok"}
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_401(client):
    wrong = client.post("/api/v1/auth/token", json={"username": "intake1", "password": "wrong-password"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody-here", "password": "wrong-password"})
    unknown_right_pw = client.post("/api/v1/auth/token", json={"username": "nobody-here", "password": "demo12345"})
    for resp in (wrong, unknown, unknown_right_pw):
        err = assert_error(resp, 401)
        assert "fields" not in err and "token" not in resp.get_json()
    assert wrong.get_json() == unknown.get_json() == unknown_right_pw.get_json()
    assert "intake1" not in wrong.get_data(as_text=True)
    right = client.post("/api/v1/auth/token", json={"username": "intake1", "password": "demo12345"})
    assert right.status_code == 201 and right.get_json()["token"]


@pytest.mark.parametrize("body, field", [
    ({"password": "demo12345"}, "username"),
    ({"username": "intake1"}, "password"),
    ({"username": 42, "password": "demo12345"}, "username"),
    ({"username": ["intake1"], "password": "demo12345"}, "username"),
    ({"username": "intake1", "password": 12345}, "password"),
    ({"username": "intake1", "password": None}, "password"),
    ({"username": "", "password": "demo12345"}, "username"),
    ({"username": "u" * 51, "password": "demo12345"}, "username"),
    ({"username": "intake1", "password": "p" * 201}, "password"),
    ({"username": "intake1", "password": "demo12345", "remember": True}, "remember"),
    ({"username": "intake1\x00", "password": "demo12345"}, "username"),
])
def test_sign_in_rejects_malformed_credentials_per_field(client, body, field):
    resp = client.post("/api/v1/auth/token", json=body)
    assert_error(resp, 400, field)
    assert "token" not in resp.get_json()


@pytest.mark.parametrize("kwargs", [
    {"data": "username=intake1&password=demo12345", "content_type": "application/x-www-form-urlencoded"},
    {"data": "{not json", "content_type": "application/json"},
    {"data": b"\xff\xfe\xfa", "content_type": "application/json"},
    {"json": ["intake1", "demo12345"]},
    {"json": "intake1"},
    {"json": None},
    {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"},
])
def test_sign_in_rejects_a_body_that_is_not_a_json_object(client, kwargs):
    assert_error(client.post("/api/v1/auth/token", **kwargs), 400, "_schema")


# --- who may do what -------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["analyst1", "revisit1", "supervisor1", "owner1", "gl_urban_staff",
                                      "gl_urban_leader"])
def test_only_intake_staff_register_appeals(api, username):
    before = appeal_count(api)
    assert_error(api.as_(username).post("/appeals", json=intake_data()), 403)
    assert appeal_count(api) == before


def test_analyst_may_neither_register_nor_read_appeals(api, walk):
    appeal = walk.register()
    before = appeal_count(api)
    analyst = api.as_("analyst1")
    assert_error(analyst.post("/appeals", json=intake_data()), 403)
    assert_error(analyst.get("/appeals"), 403)
    assert_error(analyst.get(f"/appeals/{appeal['id']}"), 403)
    assert_error(upload(analyst, appeal["id"], png()), 403)
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    assert_error(analyst.get(f"/tasks/{task['id']}"), 403)
    assert_error(analyst.post(f"/tasks/{task['id']}/claim"), 403)
    assert_error(analyst.post(f"/tasks/{task['id']}/complete", json={"data": {"assessment": "dispatch"}}), 403)
    assert analyst.get("/tasks").get_json()["items"] == []
    assert appeal_count(api) == before
    assert walk.open_tasks(appeal["id"]) == ["ut_assess"]


def test_staff_of_another_unit_can_neither_read_nor_work_the_appeal(api, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id, lead="gl_urban")
    task = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")
    before = walk.detail(appeal_id)
    for outsider in ("sm_market_staff", "sm_market_leader", "xm_env_staff"):
        other = api.as_(outsider)
        assert_error(other.get(f"/appeals/{appeal_id}"), 403)
        assert_error(other.get(f"/tasks/{task['id']}"), 403)
        assert_error(other.post(f"/tasks/{task['id']}/claim"), 403)
        assert_error(other.post(f"/tasks/{task['id']}/unclaim"), 403)
        assert_error(other.post(f"/tasks/{task['id']}/complete", json={"data": {
            "result_action": "submit_result", "result": "已处理"}}), 403)
        assert task["id"] not in [t["id"] for t in other.get("/tasks").get_json()["items"]]
    # nothing changed: the claim is still the handler's the leader picked, no completion, and no
    # appellant_viewed for refused reads
    assert walk.detail(appeal_id) == before
    assert walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["claimed_by_id"] == task["claimed_by_id"]


def test_unit_staff_list_only_appeals_dispatched_to_their_unit(api, walk, unit_id, db):
    ours = walk.to_signed(unit_id=unit_id, lead="gl_urban")
    theirs = walk.to_signed(unit_id=unit_id, lead="sm_market")
    undispatched = walk.register()["id"]
    for username, code in [("gl_urban_staff", "gl_urban"), ("sm_market_leader", "sm_market")]:
        seen = appeal_ids(api, username)
        with db.read() as session:
            expected = set(session.scalars(select(AppealUnit.appeal_id).where(
                AppealUnit.unit_id == unit_id(code), AppealUnit.active)))
        assert set(seen) == expected and len(seen) == len(expected)
        assert undispatched not in seen
    assert ours in appeal_ids(api, "gl_urban_staff") and theirs not in appeal_ids(api, "gl_urban_staff")
    assert theirs in appeal_ids(api, "sm_market_staff") and ours not in appeal_ids(api, "sm_market_staff")
    everything = appeal_ids(api, "supervisor1")
    assert {ours, theirs, undispatched} <= set(everything)


# --- POST /appeals: intake validation ---------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"title": 123}, "title"),
    ({"title": None}, "title"),
    ({"content": ["小区噪音"]}, "content"),
    ({"urgent": "yes"}, "urgent"),
    ({"confidential": 1}, "confidential"),
    ({"appellant": ["张三", "13800001234"]}, "appellant"),
    ({"appellant": "张三 13800001234"}, "appellant"),
    ({"appellant.phone": 13800001234}, "appellant.phone"),
    ({"appellant.agrees_to_disclose": "true"}, "appellant.agrees_to_disclose"),
    ({"location": {"street": "五四路"}}, "location"),
    ({"channel": MISSING}, "channel"),
    ({"appeal_type": MISSING}, "appeal_type"),
    ({"title": MISSING}, "title"),
    ({"content": MISSING}, "content"),
    ({"appellant": MISSING}, "appellant"),
    ({"appellant.phone": MISSING}, "appellant.phone"),
    ({"appellant.kind": MISSING}, "appellant.kind"),
    ({"channel": "fax"}, "channel"),
    ({"channel": "PHONE"}, "channel"),
    ({"appeal_type": "praise"}, "appeal_type"),
    ({"appellant.kind": "alien"}, "appellant.kind"),
    ({"title": ""}, "title"),
    ({"title": "标" * 101}, "title"),
    ({"content": ""}, "content"),
    ({"content": "内" * 5001}, "content"),
    ({"location": "地" * 201}, "location"),
    ({"appellant.name": "名" * 51}, "appellant.name"),
    ({"appellant.id_number": "3" * 19}, "appellant.id_number"),
    ({"appellant.phone": "abc"}, "appellant.phone"),
    ({"appellant.phone": "1380"}, "appellant.phone"),
    ({"appellant.phone": "12345"}, "appellant.phone"),  # the hotline's own number (hotline.phones)
    ({"appellant.phone": "0591-1234"}, "appellant.phone"),
    ({"appellant.phone": "13800001234; DROP TABLE appeal"}, "appellant.phone"),
    ({"appellant.phone": "-13800001234"}, "appellant.phone"),
    ({"region_code": "35010"}, "region_code"),
    ({"region_code": "abcdef"}, "region_code"),
    ({"region_code": 350102}, "region_code"),
    ({"region_code": "999999"}, "region_code"),  # well-formed, but no such region
    ({"title": "噪音\x00扰民"}, "title"),
    ({"appellant.name": "张\x00三"}, "appellant.name"),
])
def test_invalid_intake_is_rejected_per_field_and_creates_no_appeal(api, changes, field):
    before = appeal_count(api)
    assert_error(api.as_("intake1").post("/appeals", json=intake(**changes)), 400, field)
    assert appeal_count(api) == before


@pytest.mark.parametrize("changes, field, named", [
    ({"priority": "high"}, "_schema", "priority"),
    ({"appellant.email": "a@example.com"}, "appellant", "email"),
])
def test_unknown_intake_properties_are_rejected_and_named(api, changes, field, named):
    before = appeal_count(api)
    err = assert_error(api.as_("intake1").post("/appeals", json=intake(**changes)), 400, field)
    assert any(named in message for message in err["fields"][field]), err
    assert appeal_count(api) == before


def test_every_problem_of_an_intake_is_reported_at_once(api):
    body = intake(title="", content=MISSING, channel="fax", **{"appellant.phone": "x"})
    err = assert_error(api.as_("intake1").post("/appeals", json=body), 400)
    assert {"title", "content", "channel", "appellant.phone"} <= set(err["fields"])


@pytest.mark.parametrize("kwargs", [
    {"data": "channel=phone&title=x", "content_type": "application/x-www-form-urlencoded"},
    {"data": '{"channel": "phone",', "content_type": "application/json"},
    {"data": b"\xc3\x28", "content_type": "application/json"},
    {"data": "", "content_type": "application/json"},
    {"json": [intake_data()]},
    {"json": "夜间施工噪音扰民"},
    {"json": 42},
    {"json": None},
    {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"},
    {"data": '{"a":' * 50_000 + "1" + "}" * 50_000, "content_type": "application/json"},
])
def test_intake_body_that_is_not_a_json_object_is_rejected(api, kwargs):
    before = appeal_count(api)
    assert_error(api.as_("intake1").post("/appeals", **kwargs), 400, "_schema")
    assert appeal_count(api) == before


def test_intake_limits_are_inclusive(api, walk):
    """The rejections above sit exactly at the limits: the longest valid values are accepted."""
    appeal = walk.register(title="标" * 100, content="内" * 5000, location="地" * 200,
                           appellant={"kind": "company", "name": "名" * 50, "phone": "+86-591-87654321",
                                      "id_number": "3" * 18})
    detail = walk.detail(appeal["id"])
    assert detail["appeal"]["title"] == "标" * 100 and len(detail["appeal"]["content"]) == 5000
    assert detail["appellant"]["phone"] == "+8659187654321" and detail["appellant"]["name"] == "名" * 50


def test_longest_phone_the_intake_form_allows_is_stored_or_rejected_cleanly(api, walk):
    phone = "+8" + "6" * 19  # 21 characters: matches ^\+?[0-9][0-9-]{4,19}$
    before = appeal_count(api)
    resp = api.as_("intake1").post("/appeals", json=intake(**{"appellant.phone": phone}))
    if resp.status_code == 201:
        assert walk.detail(resp.get_json()["id"])["appellant"]["phone"] == phone
    else:
        assert_error(resp, 400, "appellant.phone")
        assert appeal_count(api) == before


# --- GET /appeals, GET /appeals/<id> ----------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ("status=bogus", "status"),
    ("status=ARCHIVED", "status"),
    ("limit=0", "limit"),
    ("limit=201", "limit"),
    ("limit=-5", "limit"),
    ("limit=abc", "limit"),
    ("limit=1.5", "limit"),
    ("before_id=0", "before_id"),
    ("before_id=x", "before_id"),
    (f"before_id={2**31}", "before_id"),
    (f"before_id={10**30}", "before_id"),
])
def test_appeal_list_rejects_bad_query_parameters(api, query, field):
    assert_error(api.as_("supervisor1").get(f"/appeals?{query}"), 400, field)


def test_appeal_list_ignores_unknown_query_parameters_and_pages_by_id(api, walk):
    first, second = walk.register()["id"], walk.register()["id"]
    page = api.as_("supervisor1").get(f"/appeals?limit=1&before_id={second + 1}&color=red").get_json()
    assert [a["id"] for a in page["items"]] == [second] and page["next_before_id"] == second
    page = api.as_("supervisor1").get(f"/appeals?limit=1&before_id={second}").get_json()
    assert [a["id"] for a in page["items"]] == [first]


@pytest.mark.parametrize("appeal_id", ["999999", str(2**31), str(2**63), str(10**30)])
def test_unknown_appeal_is_404(api, appeal_id):
    assert_error(api.as_("supervisor1").get(f"/appeals/{appeal_id}"), 404)
    assert_error(upload(api.as_("intake1"), appeal_id, png()), 404)


@pytest.mark.parametrize("appeal_id", ["abc", "-1", "1.5", "0x10"])
def test_appeal_ids_that_are_not_integers_are_404(api, appeal_id):
    assert api.as_("supervisor1").get(f"/appeals/{appeal_id}").status_code == 404


# --- tasks: unknown ids, bad envelopes, bad form data -----------------------------------------

def test_task_list_rejects_an_unknown_scope(api):
    assert_error(api.as_("intake1").get("/tasks?scope=everything"), 400, "scope")
    assert api.as_("intake1").get("/tasks?scope=claimed").status_code == 200


@pytest.mark.parametrize("task_id", ["nonexistent", str(uuid.uuid4()), "x" * 300, "1", "a%00b", "%27%3B--"])
def test_unknown_task_is_404_for_every_task_endpoint(api, task_id):
    dispatcher = api.as_("dispatcher1")
    assert_error(dispatcher.get(f"/tasks/{task_id}"), 404)
    assert_error(dispatcher.post(f"/tasks/{task_id}/claim"), 404)
    assert_error(dispatcher.post(f"/tasks/{task_id}/unclaim"), 404)
    assert_error(dispatcher.post(f"/tasks/{task_id}/complete", json={"data": {"lead_unit_id": 1}}), 404)


@pytest.mark.parametrize("kwargs, field", [
    ({"data": "assessment=dispatch", "content_type": "application/x-www-form-urlencoded"}, "_schema"),
    ({"data": '{"data": {', "content_type": "application/json"}, "_schema"),
    ({"json": [{"assessment": "dispatch"}]}, "_schema"),
    ({"json": "dispatch"}, "_schema"),
    ({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, "_schema"),
    ({"json": {}}, "data"),
    ({"json": {"assessment": "dispatch"}}, "assessment"),  # form fields outside the envelope
    ({"json": {"data": None}}, "data"),
    ({"json": {"data": "dispatch"}}, "data"),
    ({"json": {"data": ["dispatch"]}}, "data"),
    ({"json": {"data": {"assessment": "dispatch"}, "comment": "x"}}, "comment"),
])
def test_completion_with_a_malformed_envelope_changes_nothing(api, walk, kwargs, field):
    appeal = walk.register()
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    before = walk.detail(appeal["id"])
    assert_error(api.as_("intake1").post(f"/tasks/{task['id']}/complete", **kwargs), 400, field)
    assert walk.detail(appeal["id"]) == before
    assert before["appeal"]["status"] == "assessing"


@pytest.mark.parametrize("data, fields", [
    ({}, ["assessment"]),
    ({"assessment": "maybe"}, ["assessment"]),
    ({"assessment": 1}, ["assessment"]),
    ({"assessment": ["dispatch"]}, ["assessment"]),
    ({"assessment": None}, ["assessment"]),
    ({"assessment": "dispatch", "emergency": "no"}, ["emergency"]),
    ({"assessment": "not_accepted"}, ["not_accepted_reason", "guidance"]),
    ({"assessment": "not_accepted", "not_accepted_reason": "no_reason", "guidance": "请走法定途径"},
     ["not_accepted_reason"]),
    ({"assessment": "not_accepted", "not_accepted_reason": "legal_or_petition_channel", "guidance": ""},
     ["guidance"]),
    ({"assessment": "answer_on_spot"}, ["answer"]),
    ({"assessment": "answer_on_spot", "answer": "答" * 5001}, ["answer"]),
    ({"assessment": "answer_on_spot", "answer": "答\x00复"}, ["answer"]),
    ({"assessment": "dispatch", "guidance": "导" * 2001}, ["guidance"]),
])
def test_invalid_assessment_leaves_the_task_open_and_the_status_unchanged(api, walk, data, fields):
    appeal = walk.register()
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    before = walk.detail(appeal["id"])
    assert_error(api.as_("intake1").post(f"/tasks/{task['id']}/complete", json={"data": data}), 400, *fields)
    after = walk.detail(appeal["id"])
    assert after == before
    assert after["appeal"]["status"] == "assessing" and [t["id"] for t in after["tasks"]] == [task["id"]]
    assert not history_actions(after, "task_completed")
    # the same task still accepts a valid submission afterwards
    assert api.as_("intake1").post(f"/tasks/{task['id']}/complete",
                                   json={"data": {"assessment": "dispatch"}}).status_code == 200


def test_unknown_form_field_is_rejected_and_named(api, walk):
    appeal = walk.register()
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    before = walk.detail(appeal["id"])
    resp = api.as_("intake1").post(f"/tasks/{task['id']}/complete",
                                   json={"data": {"assessment": "dispatch", "priority": "high"}})
    err = assert_error(resp, 400, "_schema")
    assert any("priority" in m for m in err["fields"]["_schema"])
    assert walk.detail(appeal["id"]) == before


@pytest.mark.parametrize("make_data, field", [
    (lambda u: {}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": str(u("gl_urban"))}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": None}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": 1.5}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": True}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": 0}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": -3}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": 999999}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": 2**40}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": 10**30}, "lead_unit_id"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": [u("gl_urban")]}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": [u("fz_market"), u("gl_urban")]}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": [999999]}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": u("fz_market")}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": {"id": u("fz_market")}}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": [u("fz_market"), u("fz_market")]}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": list(range(1, 12))}, "co_unit_ids"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": ["fz_market"]}, "co_unit_ids.0"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "co_unit_ids": [2**40]}, "co_unit_ids.0"),
    (lambda u: {"lead_unit_id": u("gl_urban"), "dispatch_note": "意" * 1001}, "dispatch_note"),
])
def test_invalid_dispatch_leaves_the_appeal_undispatched(api, walk, unit_id, make_data, field):
    appeal_id = to_dispatching(walk)
    task = walk.task(appeal_id, "dispatcher1", "ut_dispatch")
    before = walk.detail(appeal_id)
    resp = api.as_("dispatcher1").post(f"/tasks/{task['id']}/complete", json={"data": make_data(unit_id)})
    assert_error(resp, 400, field)
    after = walk.detail(appeal_id)
    assert after == before
    assert after["appeal"]["status"] == "dispatching" and after["appeal"]["units"] == []
    assert after["appeal"]["lead_unit_id"] is None
    assert appeal_id not in appeal_ids(api, "gl_urban_staff")


@pytest.mark.parametrize("data, field", [
    ({"sign_decision": "return"}, "return_reason"),
    ({"sign_decision": "return", "return_reason": ""}, "return_reason"),
    ({"sign_decision": "return", "return_reason": "由" * 2001}, "return_reason"),
    ({"sign_decision": "maybe"}, "sign_decision"),
    ({}, "sign_decision"),
    ({"sign_decision": "return", "return_reason": "不属本单位职责", "suggested_unit_id": "fz_market"},
     "suggested_unit_id"),
    ({"sign_decision": "return", "return_reason": "不属本单位职责", "suggested_unit_id": 999999},
     "suggested_unit_id"),
])
def test_invalid_sign_for_leaves_the_task_with_the_unit(api, walk, unit_id, data, field):
    appeal_id = to_signing(walk, unit_id)
    task = walk.task(appeal_id, "gl_urban_staff", "ut_sign_for")
    before = walk.detail(appeal_id)
    assert_error(api.as_("gl_urban_staff").post(f"/tasks/{task['id']}/complete", json={"data": data}), 400, field)
    after = walk.detail(appeal_id)
    assert after == before and after["appeal"]["status"] == "signing"
    assert walk.task(appeal_id, "gl_urban_staff", "ut_sign_for")["id"] == task["id"]


@pytest.mark.parametrize("data, fields", [
    ({"result_action": "submit_result"}, ["result"]),
    ({"result_action": "submit_result", "result": ""}, ["result"]),
    ({"result_action": "apply_extension"}, ["extension_days", "extension_reason"]),
    ({"result_action": "apply_extension", "extension_days": 31, "extension_reason": "需协调"}, ["extension_days"]),
    ({"result_action": "apply_extension", "extension_days": "5", "extension_reason": "需协调"}, ["extension_days"]),
    ({"result_action": "submit_result", "result": "已处理", "resolved": "true"}, ["resolved"]),
    ({"result_action": "submit_result", "result": "已处理", "attachment_ids": [999999]}, ["attachment_ids"]),
    ({"result_action": "submit_result", "result": "已处理", "attachment_ids": "1"}, ["attachment_ids"]),
    ({"result_action": "submit_result", "result": "已处理", "attachment_ids": [0]}, ["attachment_ids.0"]),
])
def test_invalid_result_leaves_the_appeal_in_handling(api, walk, unit_id, data, fields):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")
    before = walk.detail(appeal_id)
    resp = api.as_("gl_urban_staff").post(f"/tasks/{task['id']}/complete", json={"data": data})
    assert_error(resp, 400, *fields)
    after = walk.detail(appeal_id)
    assert after == before and after["appeal"]["status"] == "handling"
    assert after["appeal"]["handling_result"] is None


def test_attachments_of_another_appeal_cannot_be_cited_as_evidence(api, walk, unit_id):
    ours, other = walk.to_signed(unit_id=unit_id), walk.to_signed(unit_id=unit_id)
    staff = api.as_("gl_urban_staff")
    own = upload(staff, ours, png()).get_json()["id"]
    foreign = upload(staff, other, png()).get_json()["id"]
    task = walk.task(ours, "gl_urban_staff", "ut_record_result")
    before = walk.detail(ours)
    for ids in ([foreign], [own, foreign]):
        resp = staff.post(f"/tasks/{task['id']}/complete", json={"data": {
            "result_action": "submit_result", "result": "已处理，见照片", "attachment_ids": ids}})
        assert_error(resp, 400, "attachment_ids")
        assert walk.detail(ours) == before
    resp = staff.post(f"/tasks/{task['id']}/complete", json={"data": {
        "result_action": "submit_result", "result": "已处理，见照片", "attachment_ids": [own]}})
    assert resp.status_code == 200, resp.get_json()
    assert walk.detail(ours)["appeal"]["status"] == "reviewing"


# --- 409: completed twice, claimed by someone else ---------------------------------------------

def test_completing_the_same_task_twice_is_409_and_changes_nothing(api, walk):
    appeal = walk.register()
    task = walk.task(appeal["id"], "intake1", "ut_assess")
    intake1 = api.as_("intake1")
    assert intake1.post(f"/tasks/{task['id']}/complete", json={"data": {"assessment": "dispatch"}}).status_code == 200
    after_first = walk.detail(appeal["id"])
    assert after_first["appeal"]["status"] == "dispatching"
    for data in ({"assessment": "dispatch"}, {"assessment": "not_accepted"}, {"assessment": "bogus"}):
        assert_error(intake1.post(f"/tasks/{task['id']}/complete", json={"data": data}), 409)
    assert_error(api.as_("dispatcher1").post(f"/tasks/{task['id']}/complete",
                                             json={"data": {"assessment": "dispatch"}}), 409)
    assert_error(intake1.post(f"/tasks/{task['id']}/claim"), 409)
    assert_error(intake1.post(f"/tasks/{task['id']}/unclaim"), 409)
    assert walk.detail(appeal["id"]) == after_first
    assert len(history_actions(after_first, "task_completed")) == 1
    # a completed task can still be read, and says so
    assert intake1.get(f"/tasks/{task['id']}").get_json()["task"]["state"] == "completed"


@pytest.mark.parametrize("first, second, bpmn_id, data", [
    ("intake1", "intake2", "ut_assess", {"assessment": "dispatch"}),
    ("intake1", "dispatcher1", "ut_assess", {"assessment": "dispatch"}),
    ("admin", "dispatcher1", "ut_dispatch", None),
])
def test_a_task_claimed_by_someone_else_is_409_to_claim_complete_or_release(
        api, walk, user, unit_id, first, second, bpmn_id, data):
    appeal_id = to_dispatching(walk) if bpmn_id == "ut_dispatch" else walk.register()["id"]
    data = data or {"lead_unit_id": unit_id("gl_urban")}
    task = walk.task(appeal_id, second, bpmn_id)
    resp = api.as_(first).post(f"/tasks/{task['id']}/claim")
    assert resp.status_code == 200 and resp.get_json()["claimed_by_id"] == user(first).id
    assert api.as_(first).post(f"/tasks/{task['id']}/claim").status_code == 200  # claiming again is harmless
    before = walk.detail(appeal_id)
    other = api.as_(second)
    assert_error(other.post(f"/tasks/{task['id']}/claim"), 409)
    assert_error(other.post(f"/tasks/{task['id']}/complete", json={"data": data}), 409)
    assert_error(other.post(f"/tasks/{task['id']}/unclaim"), 409)
    assert task["id"] not in [t["id"] for t in other.get("/tasks").get_json()["items"]]
    assert walk.detail(appeal_id) == before
    assert other.get(f"/tasks/{task['id']}").get_json()["task"]["claimed_by_id"] == user(first).id
    # the claimer still can
    resp = api.as_(first).post(f"/tasks/{task['id']}/complete", json={"data": data})
    assert resp.status_code == 200, resp.get_json()


def test_a_unit_leader_may_release_a_claim_of_their_staff(api, walk, unit_id, user):
    appeal_id = to_signing(walk, unit_id)
    task = walk.task(appeal_id, "gl_urban_staff", "ut_sign_for")
    assert api.as_("gl_urban_staff").post(f"/tasks/{task['id']}/claim").status_code == 200
    assert_error(api.as_("sm_market_leader").post(f"/tasks/{task['id']}/unclaim"), 403)
    resp = api.as_("gl_urban_leader").post(f"/tasks/{task['id']}/unclaim")
    assert resp.status_code == 200 and resp.get_json()["claimed_by_id"] is None


# --- attachments ----------------------------------------------------------------------------------

def test_uploaded_photo_is_typed_hashed_and_downloadable_by_who_may_see_the_appeal(api, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id, lead="gl_urban")
    content = png(b"\x00" * 100)
    resp = upload(api.as_("intake1"), appeal_id, content, filename="现场照片.png", mimetype="application/octet-stream")
    assert resp.status_code == 201, resp.get_json()
    meta = resp.get_json()
    assert meta["content_type"] == "image/png"
    assert meta["sha256"] == hashlib.sha256(content).hexdigest()
    assert meta["size"] == len(content) and meta["filename"] == "现场照片.png"
    detail = walk.detail(appeal_id)
    assert [a["id"] for a in detail["attachments"]] == [meta["id"]]
    assert [e["detail"]["sha256"] for e in history_actions(detail, "attachment_uploaded")] == [meta["sha256"]]
    for username in ("gl_urban_staff", "gl_urban_leader", "supervisor1", "intake1", "admin"):
        resp = api.as_(username).get(f"/attachments/{meta['id']}")
        assert resp.status_code == 200, (username, resp.status_code)
        assert resp.data == content and resp.mimetype == "image/png"
    for username in ("sm_market_staff", "fz_market_leader", "analyst1"):
        assert_error(api.as_(username).get(f"/attachments/{meta['id']}"), 403)


def test_lead_unit_staff_may_upload_but_another_unit_may_not(api, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id, lead="gl_urban")
    assert upload(api.as_("gl_urban_staff"), appeal_id, png()).status_code == 201
    before = walk.detail(appeal_id)
    assert_error(upload(api.as_("sm_market_staff"), appeal_id, png()), 403)
    assert walk.detail(appeal_id) == before


@pytest.mark.parametrize("content, filename, mimetype", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200, "photo.jpg", "image/jpeg"),
    (b"MZ" + b"\x00" * 62 + b"PE\x00\x00", "evidence.png", "image/png"),
    (b"#!/bin/sh\nrm -rf /\n", "scan.pdf", "application/pdf"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "photo.svg", "image/svg+xml"),
    (b"", "photo.png", "image/png"),
    (b"\x89PNG", "truncated.png", "image/png"),
])
def test_rejected_upload_is_400_on_file_and_stores_nothing(api, walk, attachment_dir, content, filename, mimetype):
    appeal = walk.register()
    before = walk.detail(appeal["id"])
    resp = upload(api.as_("intake1"), appeal["id"], content, filename=filename, mimetype=mimetype)
    assert_error(resp, 400, "file")
    assert walk.detail(appeal["id"]) == before
    assert stray_files(attachment_dir) == []


def test_an_empty_file_is_called_empty_not_the_wrong_type(api, walk, attachment_dir):
    """Issue 13 item 9: a 0-byte upload says what is wrong with it."""
    appeal = walk.register()
    resp = upload(api.as_("intake1"), appeal["id"], b"", filename="photo.jpg", mimetype="image/jpeg")
    err = assert_error(resp, 400, "file")
    assert err["fields"]["file"] == ["文件是空的（0 字节），请重新选择"] and err["reason"] == "empty_file"
    assert stray_files(attachment_dir) == []


def test_file_over_the_size_limit_is_refused_without_a_server_error(api, walk, app, attachment_dir):
    assert app.config["MAX_ATTACHMENT_MB"] == 1
    appeal = walk.register()
    before = walk.detail(appeal["id"])
    content = png(b"\x00" * (1536 * 1024))  # 1.5 MB
    resp = upload(api.as_("intake1"), appeal["id"], content)
    assert resp.status_code in (400, 413), resp.status_code
    err = assert_error(resp, resp.status_code)
    if resp.status_code == 400:
        assert "file" in err["fields"]
    assert walk.detail(appeal["id"]) == before
    assert stray_files(attachment_dir) == []
    digest = hashlib.sha256(content).hexdigest()
    assert not (attachment_dir / digest[:2] / digest).exists()


@pytest.mark.parametrize("kwargs", [
    {"data": {"photo": (io.BytesIO(b"\x89PNG\r\n\x1a\n1234"), "p.png")}, "content_type": "multipart/form-data"},
    {"data": {"file": "not a file, a text field"}, "content_type": "multipart/form-data"},
    {"data": {}, "content_type": "multipart/form-data"},
    {"data": b"\x89PNG\r\n\x1a\n1234", "content_type": "image/png"},
    {"json": {"file": "iVBORw0KGgo="}},
])
def test_upload_without_a_file_part_is_400_on_file(api, walk, kwargs):
    appeal = walk.register()
    before = walk.detail(appeal["id"])
    assert_error(api.as_("intake1").post(f"/appeals/{appeal['id']}/attachments", **kwargs), 400, "file")
    assert walk.detail(appeal["id"]) == before


def test_uploaded_file_names_are_reduced_to_a_safe_base_name(api, walk):
    appeal = walk.register()
    intake1 = api.as_("intake1")
    names = {"../../etc/passwd.png": "passwd.png", "C:\\fakepath\\a.png": None, "a\x00b.png": "ab.png",
             "x" * 300 + ".png": "x" * 200}
    for sent, stored in names.items():
        resp = upload(intake1, appeal["id"], png(), filename=sent)
        assert resp.status_code == 201, (sent, resp.get_json())
        name = resp.get_json()["filename"]
        assert "/" not in name and "\x00" not in name and 0 < len(name) <= 200
        if stored:
            assert name == stored


@pytest.mark.parametrize("attachment_id", ["999999", str(2**31), str(10**30)])
def test_unknown_attachment_is_404(api, attachment_id):
    assert_error(api.as_("supervisor1").get(f"/attachments/{attachment_id}"), 404)


# --- reference endpoints --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nonexistent.schema.json", "register_appeal", "register_appeal.uischema.json",
                                  "..%2Fpyproject.toml", "....schema.json", "x%00.schema.json"])
def test_unknown_form_is_404(api, name):
    resp = api.as_("intake1").get(f"/forms/{name}")
    assert resp.status_code == 404
    if resp.is_json:
        assert_error(resp, 404)


def test_known_form_and_units_are_served(api, unit_id):
    resp = api.as_("gl_urban_staff").get("/forms/sign_for.schema.json")
    assert resp.status_code == 200 and resp.get_json()["schema"]["required"] == ["sign_decision"]
    units = api.as_("gl_urban_staff").get("/units").get_json()["items"]
    assert unit_id("gl_urban") in [u["id"] for u in units]


# --- privacy of the appellant ------------------------------------------------------------------------

PHONE, MASKED, NAME = "13912345678", "139****5678", "王小明"
E164 = "+8613912345678"  # as registration stores it (hotline.phones)


def _private_appeal(walk, unit_id, co=("fz_market",), **appellant):
    return walk.to_signed(unit_id=unit_id, lead="gl_urban", co=co,
                          appellant={"kind": "citizen", "name": NAME, "phone": PHONE, **appellant})


def test_units_see_a_masked_phone_and_no_name_platform_sees_everything(api, walk, unit_id):
    appeal_id = _private_appeal(walk, unit_id)
    for username in ("gl_urban_staff", "gl_urban_leader", "fz_market_staff"):
        resp = api.as_(username).get(f"/appeals/{appeal_id}")
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["appellant"] == {"kind": "citizen", "name": None, "phone": MASKED, "masked": True}
        raw = resp.get_data(as_text=True)
        assert PHONE not in raw and NAME not in raw, username
    for username in ("supervisor1", "intake1", "dispatcher1", "revisit1", "admin"):
        appellant = api.as_(username).get(f"/appeals/{appeal_id}").get_json()["appellant"]
        assert appellant == {"kind": "citizen", "name": NAME, "phone": E164, "masked": False}, username


def test_units_see_the_name_when_the_appellant_agrees(api, walk, unit_id):
    appeal_id = _private_appeal(walk, unit_id, agrees_to_disclose=True)
    resp = api.as_("gl_urban_staff").get(f"/appeals/{appeal_id}")
    assert resp.get_json()["appellant"] == {"kind": "citizen", "name": NAME, "phone": MASKED, "masked": True}
    assert PHONE not in resp.get_data(as_text=True)


def test_confidential_appeal_shows_units_neither_name_nor_phone(api, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id, lead="gl_urban", co=("fz_market",), confidential=True,
                               appellant={"kind": "citizen", "name": NAME, "phone": PHONE,
                                          "agrees_to_disclose": True})  # confidentiality wins over consent
    for username in ("gl_urban_staff", "gl_urban_leader", "fz_market_staff"):
        resp = api.as_(username).get(f"/appeals/{appeal_id}")
        assert resp.get_json()["appellant"] == {"kind": "citizen", "name": None, "phone": None, "masked": True}
        raw = resp.get_data(as_text=True)
        assert PHONE not in raw and MASKED not in raw and NAME not in raw, username
    assert walk.detail(appeal_id)["appellant"]["phone"] == E164  # the platform still sees it


def test_each_unit_read_of_the_appellant_is_recorded_in_history(api, walk, unit_id, user):
    appeal_id = _private_appeal(walk, unit_id)
    assert history_actions(walk.detail(appeal_id), "appellant_viewed") == []  # platform reads are not
    first = api.as_("gl_urban_staff").get(f"/appeals/{appeal_id}").get_json()
    seen = history_actions(first, "appellant_viewed")
    assert [(e["actor_id"], e["detail"]) for e in seen] == [(user("gl_urban_staff").id, {"shown": ["phone"]})]
    api.as_("gl_urban_staff").get(f"/appeals/{appeal_id}")
    api.as_("fz_market_leader").get(f"/appeals/{appeal_id}")
    assert_error(api.as_("sm_market_staff").get(f"/appeals/{appeal_id}"), 403)  # refused: not recorded
    events = history_actions(walk.detail(appeal_id), "appellant_viewed")
    assert [e["actor_id"] for e in events] == [user("gl_urban_staff").id] * 2 + [user("fz_market_leader").id]
    assert history_actions(walk.detail(appeal_id), "appellant_viewed") == events  # supervisor reads add none


def test_confidential_reads_are_recorded_as_showing_nothing(api, walk, unit_id, user):
    appeal_id = walk.to_signed(unit_id=unit_id, confidential=True)
    body = api.as_("gl_urban_staff").get(f"/appeals/{appeal_id}").get_json()
    assert [(e["actor_id"], e["detail"]) for e in history_actions(body, "appellant_viewed")] == [
        (user("gl_urban_staff").id, {"shown": []})]


@pytest.mark.parametrize("method, path, status", [
    ("get", "/api/v1/no-such-route", 404), ("get", "/api/v1/appeals/abc", 404), ("delete", "/api/v1/appeals", 405)])
def test_unknown_routes_and_methods_answer_in_json(client, method, path, status):
    resp = getattr(client, method)(path)
    assert resp.status_code == status
    assert resp.is_json and resp.get_json()["error"]["code"]


def test_units_do_not_see_other_units_reads_of_the_appellant(walk, unit_id, api):
    appeal_id = walk.to_signed(co=("sm_market",), unit_id=unit_id)
    api.as_("sm_market_staff").get(f"/appeals/{appeal_id}")
    history = api.as_("gl_urban_staff").get(f"/appeals/{appeal_id}").get_json()["history"]
    readers = {e["actor_id"] for e in history if e["action"] == "appellant_viewed"}
    platform_view = api.as_("supervisor1").get(f"/appeals/{appeal_id}").get_json()["history"]
    all_readers = {e["actor_id"] for e in platform_view if e["action"] == "appellant_viewed"}
    assert len(all_readers) == 2 and len(readers) == 1 and readers < all_readers
