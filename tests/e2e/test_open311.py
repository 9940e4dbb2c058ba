"""Open311 GeoReport v2 (issue 15): a client system posts a request with the key an administrator
issued it, finds it by token and by id, sees its status and handling deadline change as staff
act, and gets the specification's error answers; every answer validates against the
specification's field lists, in JSON and in XML (tests/e2e/georeport_v2.py)."""
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hotline import open311_clients
from hotline.models import Appeal, AppellantContact, Open311Request
from web import get_db
from workdays.calendar import TZ

from .georeport_v2 import check_json, check_xml

BASE = "/open311/v2"
SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}
REQUEST = {"service_code": "complaint", "description": "五四路口路灯连续三晚不亮\n晚上过马路很危险，请尽快修复",
           "address_string": "鼓楼区五四路与东街交叉口", "address_id": "350102", "first_name": "小明", "last_name": "林",
           "phone": "139 0000 5678", "email": "lin@example.cn", "account_id": "u-778", "attribute[urgent]": "false"}
PERSONAL = ("林小明", "小明", "13900005678", "139 0000 5678", "+8613900005678", "lin@example.cn", "u-778",
            "五四路与东街交叉口", "路灯连续三晚不亮", "过马路很危险")


@pytest.fixture(scope="module")
def key(app):
    return open311_clients.create(get_db(app), "鼓楼区网格化工单系统", SimpleNamespace(id=None, username="test"))[1]


def post(client, key, fmt="json", **fields):
    data = {"api_key": key, **REQUEST, **fields}
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None})


def get_json(client, path, answer="requests", status=200, **kwargs):
    resp = client.get(f"{BASE}/{path}.json", **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return check_json(answer, resp)


def get_xml(client, path, answer="requests", status=200, **kwargs):
    resp = client.get(f"{BASE}/{path}.xml", **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return check_xml(answer, resp)


def appeal_of(db, number) -> Appeal:
    with db.read() as session:
        return session.scalar(select(Appeal).where(Appeal.number == number))


# -- services ------------------------------------------------------------------------------------

def test_discovery_names_the_endpoint_and_both_formats(client):
    body = get_json(client, "discovery", "discovery")
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and set(endpoint["formats"]) == {"text/xml", "application/json"}
    datetime.fromisoformat(body["changeset"])  # the newest deployment, sortable
    document = get_xml(client, "discovery", "discovery")
    assert document.findtext("endpoints/endpoint/url") == endpoint["url"]


def test_services_are_the_appeal_types_with_their_time_limits(client):
    services = get_json(client, "services", "services")
    assert [s["service_code"] for s in services] == ["consultation", "complaint", "suggestion", "help"]
    complaint = next(s for s in services if s["service_code"] == "complaint")
    assert complaint["service_name"] == "投诉" and complaint["metadata"] is True and complaint["type"] == "batch"
    # processes/time_limits.dmn: 10 working days, 3 on the convenience list, 24 hours when urgent
    assert "10 个工作日" in complaint["description"] and "3 个工作日" in complaint["description"]
    assert "24 小时" in complaint["description"]
    document = get_xml(client, "services", "services")
    assert [e.text for e in document.iter("service_code")] == [s["service_code"] for s in services]
    english = get_json(client, "services", "services", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert next(s for s in english if s["service_code"] == "complaint")["service_name"] == "Complaint"
    assert "10 working days" in english[1]["description"]


def test_a_service_definition_offers_urgency_the_convenience_list_and_confidentiality(client):
    definition = get_json(client, "services/complaint", "definition")
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert {"urgent", "convenience_list", "confidential"} <= set(attributes)
    assert [v["key"] for v in attributes["confidential"]["values"]] == ["true", "false"]
    assert [v["key"] for v in attributes["appellant_kind"]["values"]] == ["citizen", "company", "organisation"]
    assert sorted(a["order"] for a in definition["attributes"]) == list(range(1, len(attributes) + 1))
    document = get_xml(client, "services/complaint", "definition")
    assert document.findtext("service_code") == "complaint"
    assert [v.text for v in document.iterfind("attributes/attribute[code='urgent']/values/value/key")] == ["true", "false"]


# -- a request's life ----------------------------------------------------------------------------

def test_post_find_by_token_and_id_and_follow_the_staff(client, key, walk, unit_id, db):
    """Done when: posted as a client system, found by token and id, status and expected_datetime
    change as staff act (driven through the JSON API)."""
    resp = post(client, key, "xml")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    created = check_xml("created", resp).find("request")
    token = created.findtext("token")
    assert created.findtext("service_request_id") is None and created.findtext("account_id") == "u-778"
    assert "10 个工作日" in created.findtext("service_notice")

    found = get_json(client, f"tokens/{token}", "token")
    assert found == [{"service_request_id": found[0]["service_request_id"], "token": token}]
    number = found[0]["service_request_id"]
    assert get_xml(client, f"tokens/{token}", "token").findtext("request/service_request_id") == number
    appeal = appeal_of(db, number)
    assert (appeal.channel, appeal.appeal_type, appeal.status) == ("open311", "complaint", "assessing")
    assert appeal.title == "五四路口路灯连续三晚不亮" and appeal.location.startswith("鼓楼区五四路")
    with db.read() as session:
        contact = session.scalar(select(AppellantContact).where(AppellantContact.appeal_id == appeal.id))
    assert (contact.name, contact.phone) == ("林小明", "+8613900005678")  # through hotline.phones

    def state():
        [request] = get_json(client, f"requests/{number}")
        assert get_xml(client, f"requests/{number}").findtext("request/status") == request["status"]
        return request
    first = state()
    assert (first["status"], first["expected_datetime"], first["agency_responsible"]) == ("open", None, None)
    assert first["status_notes"] == "诉求已受理，正在研判" and first["service_name"] == "投诉"
    assert first["address"] == "福建省福州市鼓楼区" and first["address_id"] == "350102"
    assert datetime.fromisoformat(first["requested_datetime"]).utcoffset() == timedelta(hours=8)

    walk.complete(appeal.id, walk.staff(appeal.id, "intake"), "ut_assess", {"assessment": "dispatch"})
    assert state()["status_notes"] == "已受理，正在派往承办单位"
    walk.complete(appeal.id, walk.staff(appeal.id, "dispatcher"), "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    dispatched = state()
    due = walk.detail(appeal.id)["appeal"]["handling_due_at"]
    assert dispatched["expected_datetime"] and datetime.fromisoformat(dispatched["expected_datetime"]) == \
        datetime.fromisoformat(due)  # the handling deadline
    assert dispatched["agency_responsible"] == "鼓楼区城市管理局"
    assert dispatched["status_notes"] == "已派往鼓楼区城市管理局办理"
    walk.complete(appeal.id, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    assert state()["status_notes"] == "鼓楼区城市管理局已签收，正在办理"
    walk.complete(appeal.id, "gl_urban_leader", "ut_assign_handler", walk.assignment())
    walk.complete(appeal.id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 3, "extension_reason": "需更换线路"})
    walk.complete(appeal.id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    walk.complete(appeal.id, walk.staff(appeal.id, "dispatcher"), "ut_platform_approval", {"extension_approved": True, "approved_days": 3})
    extended = state()
    assert datetime.fromisoformat(extended["expected_datetime"]) - datetime.fromisoformat(
        dispatched["expected_datetime"]) >= timedelta(days=3)  # the deadline moved with the extension
    assert extended["status_notes"] == "鼓楼区城市管理局正在办理，办理期限已延长 3 个工作日"
    walk.to_replied(appeal.id)
    assert state()["status_notes"] == "鼓楼区城市管理局已答复，等待回访评价" and state()["status"] == "open"
    walk.complete(appeal.id, walk.staff(appeal.id, "revisit"), "ut_return_visit", SATISFIED)
    closed = state()
    assert closed["status"] == "closed" and closed["status_notes"] == "已办结，评价：满意"
    assert datetime.fromisoformat(closed["updated_datetime"]) == appeal_of(db, number).closed_at.replace(microsecond=0)
    english = get_json(client, f"requests/{number}", headers={"Accept-Language": "en"})[0]
    assert english["status_notes"] == "Closed; evaluation: Satisfied" and english["service_name"] == "Complaint"


def test_the_history_names_the_client_system_and_the_channel(client, key, browser_as, db):
    number = get_json(client, f"tokens/{post(client, key).get_json()[0]['token']}", "token")[0]["service_request_id"]
    page = browser_as("supervisor1").get(f"/appeals/{appeal_of(db, number).id}?tab=history").get_data(as_text=True)
    assert "Open311 鼓楼区网格化工单系统" in page and "Open311 接口" in page


def test_personal_data_never_leaves_through_get(client, key, walk, db):
    """Neither an Open311 request's appellant nor a phone call's: no name, phone, e-mail, account,
    street address or description in any GET answer."""
    token = post(client, key).get_json()[0]["token"]
    number = get_json(client, f"tokens/{token}", "token")[0]["service_request_id"]
    call = walk.register(title="楼道堆放杂物", content="张三家门口堆满纸箱，影响通行", location="鼓楼区杨桥路88号",
                         appellant={"kind": "citizen", "name": "张三丰", "phone": "13700009999"})
    today = datetime.now(TZ).date().isoformat()
    for path in (f"requests/{number}", f"requests/{call['number']}", f"tokens/{token}"):
        for fmt in ("json", "xml"):
            body = client.get(f"{BASE}/{path}.{fmt}").get_data(as_text=True)
            for secret in (*PERSONAL, "张三丰", "13700009999", "张三家门口", "杨桥路"):
                assert secret not in body, (path, fmt, secret)
    listed = client.get(f"{BASE}/requests.xml?start_date={today}&end_date={today}").get_data(as_text=True)
    assert number in listed and call["number"] in listed
    for secret in (*PERSONAL, "张三丰", "13700009999", "张三家门口", "杨桥路"):
        assert secret not in listed, secret


def test_get_requests_filters_by_id_code_status_and_dates_and_pages(client, key, walk, db):
    numbers = [get_json(client, f"tokens/{post(client, key, service_code=code, description=f'分页测试 {code}').get_json()[0]['token']}",
                        "token")[0]["service_request_id"] for code in ("suggestion", "help", "suggestion")]
    today = datetime.now(TZ).date()
    window = {"start_date": f"{today}T00:00:00+08:00", "end_date": f"{today + timedelta(days=1)}T00:00:00+08:00"}
    both = get_json(client, "requests", query_string={"service_request_id": f"{numbers[0]},{numbers[1]},FJ00000000-000000"})
    assert sorted(r["service_request_id"] for r in both) == sorted(numbers[:2])  # an unknown id is simply absent
    suggestions = get_json(client, "requests", query_string={**window, "service_code": "suggestion", "status": "open"})
    assert {numbers[0], numbers[2]} <= {r["service_request_id"] for r in suggestions}
    assert all(r["service_code"] == "suggestion" and r["status"] == "open" for r in suggestions)
    assert numbers[1] not in {r["service_request_id"] for r in suggestions}
    closed = get_json(client, "requests", query_string={**window, "status": "closed", "service_code": "help"})
    assert numbers[1] not in {r["service_request_id"] for r in closed}
    assert numbers[1] in {r["service_request_id"] for r in get_json(
        client, "requests", query_string={**window, "status": "open,closed", "service_code": "help"})}
    yesterday = {"start_date": f"{today - timedelta(days=2)}", "end_date": f"{today - timedelta(days=2)}"}
    assert not {r["service_request_id"] for r in get_json(client, "requests", query_string=yesterday)} & set(numbers)

    page, seen = 1, []
    while True:  # one a page, oldest first: each request once, the Link header names the next page
        resp = client.get(f"{BASE}/requests.json", query_string={**window, "service_code": "suggestion",
                                                                 "page_size": 1, "page": page})
        body = check_json("requests", resp)
        seen += [r["service_request_id"] for r in body]
        if "Link" not in resp.headers:
            break
        assert 'rel="next"' in resp.headers["Link"] and f"page={page + 1}" in resp.headers["Link"]
        page += 1
    assert len(seen) == len(set(seen)) == page and {numbers[0], numbers[2]} <= set(seen)
    assert seen.index(numbers[0]) < seen.index(numbers[2])


@pytest.mark.parametrize(("query", "named"), [
    ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}, "end_date"),
    ({"start_date": "2026-03-01T08:00:00"}, "start_date"),  # no offset
    ({"end_date": "yesterday"}, "end_date"),
    ({"status": "pending"}, "status"),
    ({"service_code": "pothole"}, "service_code"),
    ({"page_size": "5000"}, "page_size"),
    ({"page": "0"}, "page"),
])
def test_bad_filters_are_400_in_the_error_format(client, query, named):
    for answer in (get_json(client, "requests", "errors", 400, query_string=query),
                   [{"description": e.findtext("description")} for e in
                    get_xml(client, "requests", "errors", 400, query_string=query)]):
        assert any(e["description"].startswith(f"{named}:") for e in answer), answer


# -- errors as the specification gives them -----------------------------------------------------

def test_a_bad_service_code_is_404_and_a_missing_one_400(client, key):
    for resp in (post(client, key, service_code="pothole"), client.get(f"{BASE}/services/pothole.json")):
        assert resp.status_code == 404
        assert check_json("errors", resp)[0]["code"] == 404
    resp = post(client, key, "xml", service_code="pothole")
    assert resp.status_code == 404 and check_xml("errors", resp).findtext("error/code") == "404"
    resp = post(client, key, service_code="")
    assert resp.status_code == 400 and check_json("errors", resp)[0]["description"].startswith("service_code:")


def test_a_missing_wrong_or_revoked_key_is_403(client, key, db, user):
    def count():
        with db.read() as session:
            return len(session.scalars(select(Open311Request.id)).all())
    before = count()
    for fmt, api_key in (("json", None), ("xml", None), ("json", "o311_not-a-key"), ("xml", key + "x")):
        resp = post(client, api_key, fmt)
        assert resp.status_code == 403, resp.get_data(as_text=True)
        errors = check_json("errors", resp) if fmt == "json" else [
            {"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in check_xml("errors", resp)]
        assert errors[0]["code"] == 403 and "api_key" in errors[0]["description"]
    revoked, revoked_key = open311_clients.create(db, "已停用的系统", user("admin"))
    assert post(client, revoked_key).status_code == 201
    open311_clients.revoke(db, revoked.id, user("admin"))
    assert post(client, revoked_key).status_code == 403
    assert count() == before + 1  # nothing filed without a working key
    signed_in = client.post(f"{BASE}/requests.json", data={**REQUEST},
                            headers={"Authorization": "Bearer whatever"})
    assert signed_in.status_code == 403  # a user's token is no client key


def test_unknown_ids_and_tokens_are_404(client):
    for path in ("requests/FJ20000101-000001", "tokens/0123456789abcdef"):
        assert get_json(client, path, "errors", 404)[0]["code"] == 404
        assert get_xml(client, path, "errors", 404).findtext("error/code") == "404"
    resp = client.get(f"{BASE}/no-such-thing.json")
    assert resp.status_code == 404 and check_json("errors", resp)[0]["code"] == 404
    resp = client.delete(f"{BASE}/requests.xml")
    assert resp.status_code == 405 and check_xml("errors", resp).findtext("error/code") == "405"


@pytest.mark.parametrize(("fields", "named"), [
    ({"phone": "12345"}, "phone"),  # the hotline's own short number is no one's contact (hotline.phones)
    ({"phone": None}, "phone"),
    ({"description": None}, "description"),
    ({"address_string": None, "address_id": None}, "address_string"),
    ({"address_id": "999999"}, "address_id"),
    ({"lat": "26.08", "long": "east"}, "lat"),
    ({"attribute[urgent]": "maybe"}, "attribute[urgent]"),
    ({"attribute[colour]": "red"}, "attribute[colour]"),
    ({"attribute[title]": "标题\u202e倒序"}, "attribute[title]"),
])
def test_invalid_fields_are_400_naming_the_parameter(client, key, fields, named):
    resp = post(client, key, **fields)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert any(e["description"].startswith(f"{named}:") for e in check_json("errors", resp)), resp.get_json()


def test_coordinates_attributes_and_json_bodies_are_taken(client, key, db):
    resp = client.post(f"{BASE}/requests.json", json={
        "api_key": key, "service_code": "help", "description": "独居老人家中停水两天", "lat": 26.0745, "long": 119.2965,
        "phone": "13800001234", "attribute": {"urgent": "true", "confidential": "true", "appellant_kind": "citizen"}})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number = get_json(client, f"tokens/{check_json('created', resp)[0]['token']}", "token")[0]["service_request_id"]
    appeal = appeal_of(db, number)
    assert appeal.urgent and appeal.confidential and appeal.appeal_type == "help"
    assert "26.074500, 119.296500" in appeal.location
    [request] = get_json(client, f"requests/{number}")
    assert request["lat"] is None and request["long"] is None and request["address"] is None


def test_a_retry_with_the_same_idempotency_key_files_once(client, key, db):
    headers = {"Idempotency-Key": "open311-retry-1"}
    data = {"api_key": key, **REQUEST, "description": "重试测试：井盖松动"}
    first = client.post(f"{BASE}/requests.json", data=data, headers=headers)
    again = client.post(f"{BASE}/requests.json", data=data, headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == again.get_json()
    with db.read() as session:
        assert len(session.scalars(select(Appeal.id).where(Appeal.content == "重试测试：井盖松动")).all()) == 1
    other = client.post(f"{BASE}/requests.json", data={**data, "description": "另一件事"}, headers=headers)
    assert other.status_code == 409 and check_json("errors", other)[0]["code"] == 409
