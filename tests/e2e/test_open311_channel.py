"""Appeals a client system files through Open311 (channel `open311`) are worked, monitored,
evaluated and exported like phone ones (issue 15): the dispatch queue names the channel, the
monitor lists them, the unit evaluation counts them and its CSV export carries them."""
import csv
import io
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hotline import evaluation as ev
from hotline import open311_clients
from hotline.models import Appeal
from runtime import clock
from web import get_db

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}


@pytest.fixture(scope="module")
def key(app):
    return open311_clients.create(get_db(app), "渠道测试系统", SimpleNamespace(id=None, username="test"))[1]


def _filed(client, key, db, description) -> Appeal:
    resp = client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "complaint", "description": description, "address_id": "350102",
        "phone": "13800001234"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number = client.get(f"/open311/v2/tokens/{resp.get_json()[0]['token']}.json").get_json()[0]["service_request_id"]
    with db.read() as session:
        return session.scalar(select(Appeal).where(Appeal.number == number))


def _gulou_volume(owner, period: str) -> int:
    rows = list(csv.reader(io.StringIO(owner.get(f"/evaluation/export.csv?period={period}").data.decode("utf-8-sig"))))
    header = rows[2]
    return int(next(dict(zip(header, r, strict=True)) for r in rows[3:-1] if r[1] == "鼓楼区城市管理局")["办件量"])


def test_an_open311_appeal_is_dispatched_monitored_evaluated_and_exported_like_a_call(
        client, key, db, walk, unit_id, browser_as):
    owner = browser_as("owner1")
    period = ev.containing("month", clock.now(), ev.load_config().window_start_day).key  # this month's window
    before = _gulou_volume(owner, period)
    appeal = _filed(client, key, db, "渠道测试：人行道地砖松动")
    call = walk.register(title="渠道测试：电话来电")  # the same steps for a phone call, side by side

    for appeal_id in (appeal.id, call["id"]):
        walk.complete(appeal_id, walk.staff(appeal_id, "intake"), "ut_assess", {"assessment": "dispatch"})
    task = walk.task(appeal.id, walk.staff(appeal.id, "dispatcher"), "ut_dispatch")
    queue = browser_as(walk.staff(appeal.id, "dispatcher")).get(f"/intake/dispatch/{task['id']}").get_data(as_text=True)
    assert "Open311 接口" in queue  # the channel, labelled as the intake form labels it

    for appeal_id in (appeal.id, call["id"]):
        walk.complete(appeal_id, walk.staff(appeal_id, "dispatcher"), "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
        walk.complete(appeal_id, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
        walk.complete(appeal_id, "gl_urban_leader", "ut_assign_handler", walk.assignment())
        walk.to_replied(appeal_id)
        walk.complete(appeal_id, walk.staff(appeal_id, "revisit"), "ut_return_visit", SATISFIED)

    listed = owner.get("/monitor/instances", query_string={"q": "渠道测试"}).get_data(as_text=True)
    assert appeal.number in listed and call["number"] in listed

    gulou = unit_id("gl_urban")
    for metric in ("received", "handled", "valid", "satisfied"):
        drill = owner.get(f"/evaluation/drill?period={period}&metric={metric}&unit={gulou}").get_data(as_text=True)
        assert appeal.number in drill and call["number"] in drill, metric
    assert _gulou_volume(owner, period) == before + 2
