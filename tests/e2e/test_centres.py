"""One platform, many centres (issue 16, items 1 and 2; Art. 3, 8, 9), through the JSON API:
an appeal belongs to the centre that accepted it, only that centre's staff work its platform
steps, a county pushes a matter of a provincial unit up to the province, a matter spanning
two cities is coordinated by their common upper centre (the province) which names the lead and
the co-organizer, and a receiving centre sends a push back with its reasons. The demo network:
福建省 (fj) over 福州市 (fz) and 厦门市 (xm); 台江区 (tj) under Fuzhou, 思明区 (sm) and 湖里区 (hl)
under Xiamen."""
import pytest
from sqlalchemy import select

from hotline.models import Appeal, AppealUnit, Centre
from runtime.models import HistoryEvent


@pytest.fixture
def centre(db):
    with db.read() as session:
        ids = dict(session.execute(select(Centre.code, Centre.id)).all())
    return ids.__getitem__


def _appeal(db, appeal_id) -> Appeal:
    with db.read() as session:
        return session.get(Appeal, appeal_id)


def _actions(db, appeal_id) -> list[HistoryEvent]:
    with db.read() as session:
        return list(session.scalars(select(HistoryEvent).where(HistoryEvent.business_key == appeal_id)
                                    .order_by(HistoryEvent.id)))


def _accepted(walk, intake, **overrides) -> int:
    """Registered and assessed by a centre's intake agent: waiting in that centre's dispatch queue."""
    appeal = walk.register(intake, **overrides)["id"]
    walk.complete(appeal, intake, "ut_assess", {"assessment": "dispatch"})
    return appeal


def _task_ids(api, username, appeal_id) -> list[str]:
    return [t["bpmn_id"] for t in api.tasks(username) if t["appeal_id"] == appeal_id]


def test_an_appeal_belongs_to_the_centre_of_the_agent_who_took_the_call(walk, db, api, centre):
    appeal = walk.register("tj_intake", region_code="350103")["id"]
    row = _appeal(db, appeal)
    assert (row.centre_id, row.origin_centre_id) == (centre("tj"), centre("tj"))
    assert _task_ids(api, "tj_intake", appeal) == ["ut_assess"]
    assert _task_ids(api, "intake1", appeal) == []  # the province reads it but does not work it
    assert _task_ids(api, "sm_intake", appeal) == []
    assert api.as_("intake1").get(f"/appeals/{appeal}").status_code == 200
    assert api.as_("fz_intake").get(f"/appeals/{appeal}").status_code == 403  # its city does not hold it either


def test_a_county_pushes_a_matter_of_a_provincial_unit_up_to_the_province(walk, db, api, unit_id, centre):
    appeal = _accepted(walk, "tj_intake", region_code="350103", title="省属医院挂号系统故障")
    before = _appeal(db, appeal).dispatch_due_at
    # the county may not dispatch to a provincial unit itself: outside its region
    refused = walk.complete(appeal, "tj_dispatcher", "ut_dispatch", {"lead_unit_id": unit_id("fj_gov")}, expect=400)
    assert "不在本中心辖区内" in refused["error"]["fields"]["lead_unit_id"][0]
    refused = walk.complete(appeal, "tj_dispatcher", "ut_dispatch", {"dispatch_action": "escalate"}, expect=400)
    assert "transfer_reason" in refused["error"]["fields"]

    walk.complete(appeal, "tj_dispatcher", "ut_dispatch",
                  {"dispatch_action": "escalate", "transfer_reason": "属省属医院职责，须由省级单位办理"})
    row = _appeal(db, appeal)
    assert (row.centre_id, row.origin_centre_id, row.status) == (centre("fj"), centre("tj"), "transferring")
    assert row.dispatch_due_at == before  # the dispatch limit keeps running from acceptance
    assert _task_ids(api, "tj_dispatcher", appeal) == []
    assert _task_ids(api, "fz_dispatcher", appeal) == []
    assert api.as_("tj_dispatcher").get(f"/appeals/{appeal}").status_code == 200  # it still follows what it pushed

    walk.complete(appeal, "dispatcher1", "ut_receive_transfer", {"transfer_decision": "accept"})
    walk.complete(appeal, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("fj_gov"), "co_unit_ids": []})
    assert _task_ids(api, "fj_gov_staff", appeal) == ["ut_sign_for"]
    moved = [e for e in _actions(db, appeal) if e.action.startswith("centre_")]
    assert [e.action for e in moved] == ["centre_transferred", "centre_transfer_accepted"]
    assert moved[0].detail["from_centre"] == "台江区12345热线" and moved[0].detail["to_centre"] == "福建省12345热线"
    assert moved[0].detail["reason"] == "属省属医院职责，须由省级单位办理"


def test_a_matter_spanning_two_cities_is_coordinated_by_the_province(walk, db, api, unit_id, centre):
    appeal = _accepted(walk, "fz_intake", region_code="350102", title="闽江跨市河段漂浮垃圾")
    # Xiamen is outside Fuzhou's region: Fuzhou cannot name its unit as co-organizer
    refused = walk.complete(appeal, "fz_dispatcher", "ut_dispatch",
                            {"lead_unit_id": unit_id("fz_housing"), "co_unit_ids": [unit_id("xm_env")]}, expect=400)
    assert "co_unit_ids" in refused["error"]["fields"]
    # coordinating only its own districts is the city's own work
    refused = walk.complete(appeal, "fz_dispatcher", "ut_dispatch",
                            {"dispatch_action": "coordinate", "transfer_reason": "跨区", "related_region_codes": ["350103"]},
                            expect=400)
    assert "related_region_codes" in refused["error"]["fields"]

    walk.complete(appeal, "fz_dispatcher", "ut_dispatch",
                  {"dispatch_action": "coordinate", "transfer_reason": "涉及福州、厦门两市，需省级协调",
                   "related_region_codes": ["350203"]})
    assert _appeal(db, appeal).centre_id == centre("fj")  # the common upper centre of Fuzhou and Siming
    assert _task_ids(api, "xm_dispatcher", appeal) == []
    walk.complete(appeal, "dispatcher1", "ut_receive_transfer", {"transfer_decision": "accept"})
    walk.complete(appeal, "dispatcher1", "ut_dispatch",
                  {"lead_unit_id": unit_id("fz_housing"), "co_unit_ids": [unit_id("xm_env")]})
    with db.read() as session:
        units = {(u.unit_id, u.role) for u in session.scalars(select(AppealUnit).where(AppealUnit.appeal_id == appeal))}
    assert units == {(unit_id("fz_housing"), "lead"), (unit_id("xm_env"), "co")}
    assert _task_ids(api, "fz_housing_staff", appeal) == ["ut_sign_for"]


def test_the_receiving_centre_sends_a_push_back_with_its_reasons(walk, db, api, unit_id, centre):
    appeal = _accepted(walk, "sm_intake", region_code="350203", title="思明区某商铺噪音")
    walk.complete(appeal, "sm_dispatcher", "ut_dispatch",
                  {"dispatch_action": "escalate", "transfer_reason": "不清楚职责"})
    refused = walk.complete(appeal, "dispatcher1", "ut_receive_transfer", {"transfer_decision": "send_back"}, expect=400)
    assert "send_back_reason" in refused["error"]["fields"]
    walk.complete(appeal, "dispatcher1", "ut_receive_transfer",
                  {"transfer_decision": "send_back", "send_back_reason": "属区市场监管职责，请区中心派单"})
    row = _appeal(db, appeal)
    assert (row.centre_id, row.status) == (centre("sm"), "dispatching")
    assert _task_ids(api, "sm_dispatcher", appeal) == ["ut_dispatch"]
    walk.complete(appeal, "sm_dispatcher", "ut_dispatch", {"lead_unit_id": unit_id("sm_market"), "co_unit_ids": []})
    sent_back = [e for e in _actions(db, appeal) if e.action == "centre_transfer_sent_back"]
    assert sent_back[0].detail["reason"] == "属区市场监管职责，请区中心派单"
    with db.read() as session:
        from runtime.models import Notification
        inbox = session.scalars(select(Notification.body).where(
            Notification.recipient == f"centre:{centre('sm')}")).all()
    assert any("属区市场监管职责" in body for body in inbox)


def test_the_province_may_not_push_up(walk):
    appeal = _accepted(walk, "intake1")
    refused = walk.complete(appeal, "dispatcher1", "ut_dispatch",
                            {"dispatch_action": "escalate", "transfer_reason": "试试"}, expect=400)
    assert "dispatch_action" in refused["error"]["fields"]


def test_a_city_dispatcher_guessing_another_citys_ids_gets_nothing(walk, api, db):
    fuzhou = _accepted(walk, "fz_intake", region_code="350102")
    xiamen = _accepted(walk, "xm_intake", region_code="350203")
    fz = api.as_("fz_dispatcher")
    assert fz.get(f"/appeals/{xiamen}").status_code == 403
    listed = [a["id"] for a in fz.get("/appeals", query_string={"limit": 200}).get_json()["items"]]
    assert fuzhou in listed and xiamen not in listed
    xm_task = next(t for t in api.tasks("xm_dispatcher") if t["appeal_id"] == xiamen)
    assert fz.get(f"/tasks/{xm_task['id']}").status_code == 403  # never a 404 that hides nothing (ids are sequential)
    resp = fz.post(f"/tasks/{xm_task['id']}/complete", json={"data": {"lead_unit_id": 1}})
    assert resp.status_code == 403
    assert _appeal(db, xiamen).status == "dispatching"  # nothing changed


def test_the_dispatch_page_offers_a_county_its_own_units_and_the_push_up(walk, browser_as, db, centre):
    appeal = _accepted(walk, "tj_intake", region_code="350103", title="页面上报测试")
    task = walk.task(appeal, "tj_dispatcher", "ut_dispatch")
    page = browser_as("tj_dispatcher")
    html = page.get(f"/intake/dispatch/{task['id']}").get_data(as_text=True)
    assert "台江区人民政府" in html and "福建省人民政府办公厅" not in html  # its region's units only
    assert 'value="escalate"' in html and 'value="coordinate"' in html
    refused = page.post(f"/intake/dispatch/{task['id']}", data={"dispatch_action": "escalate", "transfer_reason": ""})
    assert refused.status_code == 400
    done = page.post(f"/intake/dispatch/{task['id']}",
                     data={"dispatch_action": "escalate", "transfer_reason": "属省级单位职责"})
    assert done.status_code == 302
    assert _appeal(db, appeal).centre_id == centre("fj")
    # the province's dispatch page has no push-up: there is no centre above it
    province = browser_as("dispatcher1")
    other = _accepted(walk, "intake1")
    html = province.get(f"/intake/dispatch/{walk.task(other, 'dispatcher1', 'ut_dispatch')['id']}").get_data(as_text=True)
    assert 'value="escalate"' not in html and "福建省人民政府办公厅" in html
