"""The supervision register and accountability pages, and the register's JSON API, as their
users meet them: who may open what, the forms by role, errors by field with input kept, and
a unit seeing only its own items."""
import pytest

from hotline import supervision
from hotline.models import SupervisionItem

ITEM_PATHS = ("/supervision/items/{id}",)
POSTS = ("/supervision/items/{id}/respond", "/supervision/items/{id}/close", "/supervision/items/{id}/reopen")


@pytest.fixture
def item(walk, unit_id, db, user):
    """A fresh item opened by hand on an appeal handled by gl_urban."""
    appeal_id = walk.to_signed(unit_id=unit_id)
    return supervision.open_item(db, {"appeal": str(appeal_id), "reason": "return_visit_problem",
                                      "measures": ["rectification_notice", "interview_reminder"],
                                      "rectification_days": 5, "note": "回访发现工地仍夜间施工"}, user("supervisor1"))


def text(resp):
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/supervision", "/supervision/items/1", "/supervision/new",
                                  "/supervision/accountability"])
def test_signed_out_goes_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("username", ["intake1", "dispatcher1", "revisit1", "analyst1"])
def test_roles_without_supervision_work_are_refused(browser_as, username, item):
    browser = browser_as(username)
    for path in ("/supervision", f"/supervision/items/{item.id}", "/supervision/new", "/supervision/accountability"):
        assert browser.get(path).status_code == 403, path
    for path in POSTS:
        assert browser.post(path.format(id=item.id), data={"note": "x"}).status_code == 403


@pytest.mark.parametrize("username", ["owner1", "gl_urban_staff", "gl_urban_leader"])
def test_readers_who_do_not_supervise_cannot_open_close_or_record(browser_as, username, item):
    browser = browser_as(username)
    assert browser.get("/supervision").status_code == 200
    assert browser.get("/supervision/new").status_code == 403
    assert browser.get("/supervision/accountability").status_code == 403
    for path in POSTS[1:]:
        assert browser.post(path.format(id=item.id), data={"note": "x"}).status_code == 403


def test_the_register_shows_items_with_their_reason_measures_and_overdue_badge(browser_as, item, db):
    with db.transaction() as session:
        row = session.get(SupervisionItem, item.id)
        row.rectification_due_at = row.opened_at.replace(year=row.opened_at.year - 1)
    page = text(browser_as("supervisor1").get("/supervision?overdue=1"))
    assert f"督办 #{item.id}" in page and "回访发现问题" in page and "整改通知书、约谈提醒" in page
    assert "整改逾期" in page and "鼓楼区城市管理局" in page
    assert f"督办 #{item.id}" not in text(browser_as("supervisor1").get("/supervision?status=closed"))
    resp = browser_as("supervisor1").get("/supervision?status=bogus&unit=x")
    assert resp.status_code == 400 and text(resp).count("无效的选项") == 2


def test_a_unit_sees_only_its_own_items(browser_as, item, walk, unit_id, db, user):
    other = supervision.open_item(db, {"appeal": str(walk.to_signed(lead="sm_market", unit_id=unit_id)),
                                       "reason": "other", "measures": ["special_report"], "rectification_days": 2,
                                       "note": "其他单位的督办"}, user("supervisor1"))
    browser = browser_as("gl_urban_staff")
    page = text(browser.get("/supervision"))
    assert f"督办 #{item.id}" in page and f"督办 #{other.id}" not in page
    assert browser.get(f"/supervision/items/{other.id}").status_code == 403
    assert browser.get(f"/supervision/items/{item.id}").status_code == 200
    assert browser_as("sm_market_leader").post(f"/supervision/items/{item.id}/respond",
                                               data={"response": "x"}).status_code == 403
    assert browser.get("/supervision/items/999999999").status_code == 404


def test_staff_read_the_item_but_only_the_leader_responds(browser_as, item):
    page = text(browser_as("gl_urban_staff").get(f"/supervision/items/{item.id}"))
    assert "回访发现工地仍夜间施工" in page and "反馈整改情况" not in page and "办结督办" not in page
    assert "提交反馈" in text(browser_as("gl_urban_leader").get(f"/supervision/items/{item.id}"))
    assert browser_as("gl_urban_staff").post(f"/supervision/items/{item.id}/respond",
                                             data={"response": "x"}).status_code == 403


def test_respond_send_back_and_close_through_the_pages(browser_as, item):
    leader, supervisor = browser_as("gl_urban_leader"), browser_as("supervisor1")
    resp = leader.post(f"/supervision/items/{item.id}/respond", data={"response": "   "})
    assert resp.status_code == 400 and "请填写整改情况" in text(resp)
    resp = leader.post(f"/supervision/items/{item.id}/respond", data={"response": "已约谈施工方负责人"},
                       follow_redirects=True)
    assert "整改情况已反馈" in text(resp) and "已反馈" in text(resp) and "提交反馈" not in text(resp)
    again = leader.post(f"/supervision/items/{item.id}/respond", data={"response": "再次"})
    assert again.status_code == 409
    page = text(supervisor.get(f"/supervision/items/{item.id}"))
    assert "办结督办" in page and "退回重新整改" in page and "已约谈施工方负责人" in page
    resp = supervisor.post(f"/supervision/items/{item.id}/reopen", data={"note": ""})
    assert resp.status_code == 400 and "请写明退回理由" in text(resp)
    resp = supervisor.post(f"/supervision/items/{item.id}/reopen", data={"note": "请附现场照片"}, follow_redirects=True)
    assert "已退回承办单位重新整改" in text(resp) and "请附现场照片" in text(resp)
    leader.post(f"/supervision/items/{item.id}/respond", data={"response": "已补充照片"})
    resp = supervisor.post(f"/supervision/items/{item.id}/close", data={"note": "整改到位"}, follow_redirects=True)
    page = text(resp)
    assert "督办事项已办结" in page and "整改到位" in page and "办结督办" not in page
    for label in ("列入督办", "单位反馈整改情况", "退回重新整改", "督办办结"):
        assert label in page


def test_opening_an_item_by_hand_from_an_appeal(browser_as, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    number = walk.detail(appeal_id)["appeal"]["number"]
    supervisor = browser_as("supervisor1")
    assert f'value="{appeal_id}"' in text(supervisor.get(f"/supervision/new?appeal={appeal_id}"))
    resp = supervisor.post("/supervision/new", data={"appeal": number, "reason": "", "rectification_days": "0",
                                                    "note": "多次来电反映"})
    page = text(resp)
    assert resp.status_code == 400
    for message in ("请选择督办原因", "请至少选择一项督办措施", "整改时限应为 1 至 60 个工作日"):
        assert message in page
    assert number in page and "多次来电反映" in page
    resp = supervisor.post("/supervision/new", data={"appeal": number, "reason": "other",
                                                    "measures": ["supervision_suggestion"],
                                                    "rectification_days": "3", "note": "多次来电反映"})
    assert resp.status_code == 303
    page = text(supervisor.get(resp.headers["Location"]))
    assert number in page and "督办建议书" in page and "人工列入" in page
    dup = supervisor.post("/supervision/new", data={"appeal": number, "reason": "other", "measures": ["special_report"],
                                                   "rectification_days": "3", "note": "重复"})
    assert dup.status_code == 409 and "尚未办结" in text(dup)


def test_accountability_records_page(browser_as, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    number = walk.detail(appeal_id)["appeal"]["number"]
    supervisor = browser_as("supervisor1")
    resp = supervisor.post("/supervision/accountability", data={"subject": "unit", "unit_id": str(unit_id("gl_urban")),
                                                                "article": "29(1)", "measure": "", "finding": "敷衍",
                                                                "appeals": number})
    assert resp.status_code == 400 and "请选择问责方式" in text(resp) and "请选择问责情形" in text(resp)
    assert "敷衍" in text(resp) and number in text(resp)
    resp = supervisor.post("/supervision/accountability", data={
        "subject": "unit", "unit_id": str(unit_id("gl_urban")), "article": "30(2)", "measure": "efficiency_warning",
        "finding": "答复敷衍，答非所问", "appeals": number}, follow_redirects=True)
    page = text(resp)
    assert "问责记录已保存" in page and "答复敷衍，答非所问" in page and "效能告诫" in page and number in page
    assert browser_as("admin").get("/supervision/accountability").status_code == 200


def test_pages_in_english(browser_as, item):
    browser = browser_as("supervisor1")
    browser.get("/lang/en")
    page = text(browser.get(f"/supervision/items/{item.id}"))
    assert "Rectification notice" in page and "Close the item" in page
    assert "Supervision register" in text(browser.get("/supervision"))


# -- JSON API -----------------------------------------------------------------------------------

def test_api_register_is_scoped_to_the_unit(api, item, walk, unit_id, db, user):
    other = supervision.open_item(db, {"appeal": str(walk.to_signed(lead="sm_market", unit_id=unit_id)),
                                       "reason": "other", "measures": ["special_report"], "rectification_days": 2,
                                       "note": "其他单位"}, user("supervisor1"))
    mine = {r["item"]["id"] for r in api.as_("gl_urban_staff").get("/supervision-items?limit=200").get_json()["items"]}
    assert item.id in mine and other.id not in mine
    everything = api.as_("supervisor1").get(f"/supervision-items?unit_id={unit_id('sm_market')}").get_json()
    assert other.id in {r["item"]["id"] for r in everything["items"]}
    assert api.as_("gl_urban_staff").get(f"/supervision-items/{other.id}").status_code == 403
    assert api.as_("analyst1").get("/supervision-items").status_code == 403
    assert api.as_("supervisor1").get("/supervision-items?status=nope").status_code == 400
    body = api.as_("gl_urban_leader").get(f"/supervision-items/{item.id}").get_json()
    assert body["status"] == "open" and body["rectification_due_at"].endswith("+08:00")


def test_api_respond_and_close(api, item):
    leader, supervisor = api.as_("gl_urban_leader"), api.as_("supervisor1")
    assert leader.post(f"/supervision-items/{item.id}/respond", json={}).status_code == 400
    assert api.as_("sm_market_leader").post(f"/supervision-items/{item.id}/respond",
                                            json={"response": "x"}).status_code == 403
    resp = leader.post(f"/supervision-items/{item.id}/respond", json={"response": "已整改", "attachment_ids": []})
    assert resp.status_code == 200 and resp.get_json()["status"] == "responded"
    assert leader.post(f"/supervision-items/{item.id}/close", json={"note": "x"}).status_code == 403
    resp = supervisor.post(f"/supervision-items/{item.id}/close", json={"note": "办结"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed"
    assert supervisor.post(f"/supervision-items/{item.id}/close", json={"note": "again"}).status_code == 409
    assert supervisor.get("/supervision-items/2147483648").status_code == 404


def test_menu_shows_supervision_to_its_roles(browser_as):
    assert "督办" in text(browser_as("gl_urban_leader").get("/supervision"))
    home = text(browser_as("intake1").get("/"))
    assert 'href="/supervision"' not in home
