"""The intake console and the dispatch queue, as platform staff use them in the browser."""
import re

import pytest
from sqlalchemy import func, select

from hotline.models import Appeal, AppellantContact

CONSOLE_ROUTES = ["/intake", "/intake/suggest?q=社保卡", "/intake/duplicates?phone=13800001234"]
DISPATCH_ROUTES = ["/intake/dispatch", "/intake/dispatch/00000000-0000-0000-0000-000000000000"]


def call(phone, **overrides):
    """A console submission; keyword arguments replace fields (None drops one)."""
    form = {"channel": "phone", "appeal_type": "complaint", "appellant.kind": "citizen",
            "appellant.name": "王五", "appellant.phone": phone, "content": f"来电人{phone}反映：小区门口路灯损坏多日",
            "title": "", "location": "鼓楼区东街口", "region_code": "350102", "assessment": "dispatch",
            "duplicates_checked": "1"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def appeal_by_number(db, page_text):
    number = re.search(r"FJ\d{8}-\d{6}", page_text).group(0)
    with db.read() as session:
        return session.scalar(select(Appeal).where(Appeal.number == number))


def count_appeals(db, phone):
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AppellantContact).where(AppellantContact.phone == phone))


@pytest.mark.parametrize("path", CONSOLE_ROUTES + DISPATCH_ROUTES)
def test_signed_out_goes_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("path", CONSOLE_ROUTES + DISPATCH_ROUTES)
def test_organizer_units_and_analysts_are_refused(browser_as, path):
    assert browser_as("gl_urban_staff").get(path).status_code == 403
    assert browser_as("analyst1").get(path).status_code == 403


def test_intake_agents_get_the_console_but_not_the_dispatch_queue(browser_as):
    agent = browser_as("intake1")
    for path in CONSOLE_ROUTES:
        assert agent.get(path).status_code == 200, path
    assert agent.get("/intake/dispatch").status_code == 403
    page = agent.get("/intake").get_data(as_text=True)
    for text in ("来电登记", "派单办理", "当场答复", "不予受理", "知识库推荐", "疑似重复", "鼓楼区"):
        assert text in page
    assert "涉及国家秘密、商业秘密和个人隐私" in page  # the Art. 13 reasons, with their guidance
    assert "依据《福建省12345便民服务平台管理办法》第十三条第（一）项" in page


def test_register_and_send_to_dispatch(browser_as, db):
    resp = browser_as("intake1").post("/intake", data=call("13911110001"), follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已登记，转派单员派单" in text
    appeal = appeal_by_number(db, text)
    assert appeal.status == "dispatching"
    assert appeal.title == "来电人13911110001反映：小区门口路灯损坏多日"[:30]  # an empty title takes the content's start


def test_answer_on_the_spot_closes_the_call(browser_as, db):
    resp = browser_as("intake2").post("/intake", data=call(
        "13911110002", appeal_type="consultation", content="社保卡丢了怎么补办", assessment="answer_on_spot",
        answer="请先拨打12333挂失，再持身份证到网点补办。"), follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "已当场答复" in text
    appeal = appeal_by_number(db, text)
    assert appeal.status == "verifying" and appeal.answer.startswith("请先拨打12333")


def test_not_accepted_needs_reason_and_guidance_and_keeps_what_was_typed(browser_as, db):
    agent = browser_as("intake1")
    resp = agent.post("/intake", data=call("13911110003", content="要求法院重新审理我的案子",
                                           assessment="not_accepted", guidance=""))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "请检查标红的栏目" in text and text.count("必填项") >= 2
    assert "要求法院重新审理我的案子" in text and 'value="13911110003"' in text
    assert count_appeals(db, "13911110003") == 0  # nothing saved by a refused form
    resp = agent.post("/intake", data=call("13911110003", content="要求法院重新审理我的案子",
                                           assessment="not_accepted", not_accepted_reason="npc_cppcc_discipline_courts",
                                           guidance="请向作出判决的人民法院申请再审。"), follow_redirects=True)
    appeal = appeal_by_number(db, resp.get_data(as_text=True))
    assert appeal.status == "not_accepted" and appeal.not_accepted_reason == "npc_cppcc_discipline_courts"
    assert appeal.guidance == "请向作出判决的人民法院申请再审。"


def test_missing_phone_is_shown_by_its_field(browser_as):
    resp = browser_as("intake1").post("/intake", data=call("", content="只有内容没有电话"))
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'field-error[^"]*">联系电话.*?必填项', text, re.DOTALL)
    assert "只有内容没有电话" in text


def test_an_empty_content_is_one_mistake_with_one_message(browser_as):
    """Issue 13 item 5: the title is optional on the console (the content's start stands in for
    it), so an empty content is flagged once, on the content, not on the title too."""
    text = browser_as("intake1").post("/intake", data=call("13911110009", content="")).get_data(as_text=True)
    assert re.search(r'field-error[^"]*">[^<]*诉求内容.*?必填项', text, re.DOTALL)
    assert not re.search(r'field-error[^"]*">[^<]*诉求标题', text)


def test_register_only_leaves_the_assessment_for_later(browser_as, db):
    resp = browser_as("intake1").post("/intake", data=call("13911110004", assessment="register_only"),
                                      follow_redirects=True)
    assert appeal_by_number(db, resp.get_data(as_text=True)).status == "assessing"


def test_likely_duplicates_are_shown_before_saving(browser_as, db):
    agent = browser_as("intake1")
    first = agent.post("/intake", data=call("13911110005", content="五一广场东侧人行道井盖缺失"), follow_redirects=True).get_data(as_text=True)
    number = re.search(r"FJ\d{8}-\d{6}", first).group(0)
    again = agent.post("/intake", data=call("139-1111-0005", content="路灯坏了很多天没人修", duplicates_checked=None))
    text = again.get_data(as_text=True)
    assert again.status_code == 409 and "疑似重复" in text and number in text and "同一来电号码" in text
    assert "路灯坏了很多天没人修" in text  # the agent's input is kept
    assert count_appeals(db, "+8613911110005") == 1  # the first call only
    saved = agent.post("/intake", data=call("139-1111-0005", content="路灯坏了很多天没人修", duplicates_checked="1"))
    assert saved.status_code == 302 and count_appeals(db, "+8613911110005") == 2  # one number, however typed


def test_duplicates_endpoint_matches_phone_and_similar_content(browser_as):
    agent = browser_as("intake1")
    agent.post("/intake", data=call("13911110006", content="鼓楼区某小区电梯困人后物业一直不维修，存在安全隐患"))
    by_phone = agent.get("/intake/duplicates?phone=13911110006").get_json()["items"]
    assert by_phone and by_phone[0]["reasons"] == ["same_phone"]
    similar = agent.get("/intake/duplicates", query_string={
        "phone": "13000000000", "content": "某小区电梯困人后物业一直不维修，有安全隐患"}).get_json()["items"]
    assert any("similar_content" in d["reasons"] and d["similarity"] >= 0.5 for d in similar)
    assert "phone" not in similar[0] and "name" not in similar[0]


def test_knowledge_suggestions_while_typing(browser_as):
    items = browser_as("intake1").get("/intake/suggest", query_string={"q": "我的社保卡丢了怎么补办"}).get_json()["items"]
    assert items[0]["title"] == "社会保障卡遗失补办"
    assert "12333" in items[0]["body"] and items[0]["url"].startswith("/knowledge/")


def _dispatch_task(walk, appeal_id, bpmn_id="ut_dispatch"):
    return walk.task(appeal_id, "dispatcher1", bpmn_id)["id"]


def test_dispatch_from_the_unit_tree_with_a_suggestion(browser_as, walk, unit_id):
    appeal = walk.register(title="工地夜间施工噪音", content="楼下工地晚上施工噪音很吵，影响休息",
                           appellant={"kind": "citizen", "phone": "13911110007"})
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    dispatcher = browser_as("dispatcher1")
    queue = dispatcher.get("/intake/dispatch").get_data(as_text=True)
    assert appeal["number"] in queue and "待派单" in queue
    task_id = _dispatch_task(walk, appeal["id"])
    page = dispatcher.get(f"/intake/dispatch/{task_id}").get_data(as_text=True)
    assert "建议牵头单位" in page and "单位树" in page and "福建省" in page
    suggestion = re.search(r'data-pick-lead="(\d+)"', page).group(1)
    assert int(suggestion) == unit_id("gl_urban")  # the keeper of the noise article in 鼓楼区
    assert re.search(rf'name="lead_unit_id" value="{suggestion}"\s+checked', page)
    same = dispatcher.post(f"/intake/dispatch/{task_id}", data={
        "lead_unit_id": suggestion, "co_unit_ids": [suggestion], "note": "请尽快核查"})
    assert same.status_code == 400 and "牵头单位不能同时为协办单位" in same.get_data(as_text=True)
    assert "请尽快核查" in same.get_data(as_text=True)
    done = dispatcher.post(f"/intake/dispatch/{task_id}", data={
        "lead_unit_id": suggestion, "co_unit_ids": [str(unit_id("gl_gov"))], "note": "请尽快核查"})
    assert done.status_code == 302
    assert walk.detail(appeal["id"])["appeal"]["status"] == "signing"
    assert walk.task(appeal["id"], "gl_urban_staff", "ut_sign_for")
    assert dispatcher.get(f"/intake/dispatch/{task_id}").status_code == 302  # done: back to the queue


def test_a_dispatch_without_a_lead_unit_is_refused(browser_as, walk):
    appeal = walk.register(appellant={"kind": "citizen", "phone": "13911110008"})
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    resp = browser_as("dispatcher1").post(f"/intake/dispatch/{_dispatch_task(walk, appeal['id'])}", data={})
    assert resp.status_code == 400 and "必填项" in resp.get_data(as_text=True)


def test_a_returned_appeal_is_redispatched_or_sent_to_the_fallback_unit(browser_as, walk, unit_id):
    dispatcher = browser_as("dispatcher1")
    for decision, lead in (("redispatch", "fz_market"), ("fallback", "gl_gov")):
        appeal = walk.register(appellant={"kind": "citizen", "phone": "13911110009"})
        walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
        walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
        walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {
            "sign_decision": "return", "return_reason": "属于市场监管职责", "suggested_unit_id": unit_id("fz_market")})
        assert "退回待审核" in dispatcher.get("/intake/dispatch").get_data(as_text=True)
        task_id = _dispatch_task(walk, appeal["id"], "ut_handle_return")
        page = dispatcher.get(f"/intake/dispatch/{task_id}").get_data(as_text=True)
        assert "属于市场监管职责" in page and "鼓楼区城市管理局" in page and "退回单位建议改派" in page
        assert re.search(r'data-pick-lead="(\d+)"', page).group(1) == str(unit_id("fz_market"))
        resp = dispatcher.post(f"/intake/dispatch/{task_id}", data={
            "return_decision": decision, "lead_unit_id": str(unit_id("fz_market")), "note": "审核通过"})
        assert resp.status_code == 302
        assert walk.detail(appeal["id"])["appeal"]["status"] == "signing"
        assert walk.task(appeal["id"], f"{lead}_staff", "ut_sign_for")


def test_other_tasks_are_not_dispatch_pages(browser_as, walk):
    appeal = walk.register(appellant={"kind": "citizen", "phone": "13911110010"})
    assess = walk.task(appeal["id"], "dispatcher1", "ut_assess")["id"]
    dispatcher = browser_as("dispatcher1")
    assert dispatcher.get(f"/intake/dispatch/{assess}").status_code == 404
    assert dispatcher.get("/intake/dispatch/nope").status_code == 404


def test_the_console_in_english(browser_as):
    agent = browser_as("intake1")
    agent.get("/lang/en?next=/")
    page = agent.get("/intake").get_data(as_text=True)
    for text in ("Intake console", "Dispatch for handling", "Answer on the spot", "Not accepted",
                 "Consultation", "Save and end the call"):
        assert text in page, text
