"""Tracking and evaluating on the public portal (issue 15): the appeal's number and an SMS code to
the phone it was filed with open a plain-language timeline (dispatched to which unit, extended
and why, replied, evaluated) with the reply, and the evaluation form when it is the appellant's
turn; another phone's code opens nothing; the portal never shows staff names, comments, the
unit's handling report or other appellants' data. A portal appeal is in the monitor and in the
units' evaluation like a phone one."""
import re

from sqlalchemy import select

from hotline import evaluation as ev
from hotline import phones
from hotline.models import Appeal, EvaluationLink
from runtime.models import Notification

from .test_portal import ask_code, code_sent, file_appeal, new_address, new_phone, post, text

CO_OPINION = "协办意见：供电线路老化，已报供电公司"


def open_tracking(client, db, number, phone, address=None):
    address = address or new_address()
    sent = ask_code(client, phone, address, path="/public/track", number=number)
    assert sent.status_code == 200 and "验证码已发送到该手机" in text(sent)
    resp = post(client, "/public/track", {"action": "open", "number": number, "phone": phone,
                                          "code": code_sent(db, phone)}, address)
    assert resp.status_code == 302, text(resp)[:2000]
    return client.get(resp.headers["Location"])


def handled_with_an_extension(walk, unit_id, appeal_id):
    """Assessed, dispatched to gl_urban with fz_market assisting, an extension of 2 days approved,
    replied and past the closure review: the appellant's turn to evaluate."""
    walk.complete(appeal_id, walk.staff(appeal_id, "intake"), "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal_id, walk.staff(appeal_id, "dispatcher"), "ut_dispatch",
                  {"lead_unit_id": unit_id("gl_urban"), "co_unit_ids": [unit_id("fz_market")]})
    walk.complete(appeal_id, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_assign_handler", walk.assignment())
    walk.complete(appeal_id, "fz_market_staff", "ut_co_sign_for", {"co_sign_decision": "sign"})
    walk.complete(appeal_id, "fz_market_staff", "ut_co_handle", {"co_opinion": CO_OPINION})
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 2, "extension_reason": "需协调供电公司现场复核"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    walk.complete(appeal_id, walk.staff(appeal_id, "dispatcher"), "ut_platform_approval", {"extension_approved": True, "approved_days": 2})
    walk.to_replied(appeal_id)


def test_tracking_opens_with_a_code_to_the_phone_it_was_filed_with(client, db):
    phone = new_phone()
    appeal = file_appeal(client, db, phone)
    assert client.get(f"/public/track/{appeal.number}").headers["Location"].endswith(
        f"/public/track?number={appeal.number}")  # not yet opened here
    page = open_tracking(client, db, appeal.number.lower(), phone)  # typed in lower case
    body = text(page)
    assert page.status_code == 200 and appeal.number in body
    assert "待研判" in body and "诉求已登记，等待平台受理研判" in body and "小区门口路灯坏了一周" in body
    assert client.get(f"/public/track/{appeal.number}").status_code == 200  # open for a while in this browser


def test_a_call_registered_by_an_agent_can_be_tracked_too(client, db, walk):
    registered = walk.register(appellant={"kind": "citizen", "name": "张三", "phone": "138 0000 4321"})
    page = open_tracking(client, db, registered["number"], "13800004321")
    assert registered["number"] in text(page) and "夜间施工噪音" in text(page)


def test_tracking_refuses_another_phones_code(client, db):
    mine, theirs = new_phone(), new_phone()
    appeal = file_appeal(client, db, mine)
    other = file_appeal(client, db, theirs)
    address = new_address()
    asked = ask_code(client, theirs, address, path="/public/track", number=appeal.number)
    assert asked.status_code == 200 and "如果诉求编号和手机号相符" in text(asked)  # says the same either way
    with db.read() as session:  # ... but sent nothing to a phone the appeal was not filed with
        bodies = session.scalars(select(Notification.body).where(Notification.recipient == phones.e164(theirs))).all()
    assert not any("查询诉求办理进度" in b for b in bodies)
    ask_code(client, theirs, new_address(), path="/public/track", number=other.number)
    their_code = code_sent(db, theirs)  # a real code, for their own appeal
    for phone in (theirs, mine):
        resp = post(client, "/public/track", {"action": "open", "number": appeal.number, "phone": phone,
                                              "code": their_code}, address)
        assert resp.status_code == 400 and "验证码不正确" in text(resp), phone
    assert client.get(f"/public/track/{appeal.number}").status_code == 302
    ask_code(client, mine, new_address(), path="/public/track", number=appeal.number)
    my_code = code_sent(db, mine)
    resp = post(client, "/public/track", {"action": "open", "number": other.number, "phone": mine,
                                          "code": my_code}, address)
    assert resp.status_code == 400  # my code does not open their appeal


def test_a_tracking_code_is_used_once_and_bad_input_is_a_400(client, db):
    phone = new_phone()
    appeal = file_appeal(client, db, phone)
    empty = post(client, "/public/track", {"action": "code"}, new_address())
    assert empty.status_code == 400
    assert "请填写短信中的诉求编号" in text(empty) and "请填写有效的手机号码" in text(empty)
    address = new_address()
    ask_code(client, phone, address, path="/public/track", number=appeal.number)
    form = {"action": "open", "number": appeal.number, "phone": phone, "code": code_sent(db, phone)}
    assert post(client, "/public/track", form, address).status_code == 302
    again = post(client.application.test_client(), "/public/track", form, address)
    assert again.status_code == 400 and "验证码已使用" in text(again)


def test_the_timeline_tells_the_appellant_what_happened_and_nothing_else(client, db, walk, unit_id,
                                                                        browser_as):
    phone = new_phone()
    appeal = file_appeal(client, db, phone)
    neighbour = walk.register(title="邻居的另一件诉求", content="邻居反映的内容，与本人无关。",
                              appellant={"kind": "citizen", "name": "王五", "phone": "138 0000 9876"})
    walk.complete(neighbour["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    staff = browser_as("gl_urban_staff")
    handled_with_an_extension(walk, unit_id, appeal.id)
    note = "内部备注：此人多次来电，注意沟通方式"
    assert staff.post(f"/appeals/{appeal.id}/comments", data={"body": note}).status_code == 303

    page = text(open_tracking(client, db, appeal.number, phone))
    for shown in ("已派发至 鼓楼区城市管理局 办理", "协办单位：福州市市场监督管理局", "办理期限延长 2 个工作日",
                  "需协调供电公司现场复核", "承办单位已答复", "已电话告知处理结果", "请评价诉求办理情况",
                  "待回访"):
        assert shown in page, shown
    with db.read() as session:
        stored = session.get(Appeal, appeal.id)
    assert stored.handling_result and stored.handling_result not in page  # the unit's report to the platform
    for hidden in (note, CO_OPINION, "承办人", "负责人", "派单员", "王强", "受理员", "林晓", "执法科",
                   "邻居的另一件诉求", "王五", "9876", neighbour["number"]):
        assert hidden not in page, hidden

    done = post(client, f"/public/track/{appeal.number}/evaluate",
                {"evaluation": "satisfied", "resolved": "yes", "comment": "处理及时"}, new_address())
    assert done.status_code == 302
    page = text(client.get(done.headers["Location"]))
    assert "感谢您的评价" in page and "评价已记录：满意" in page and "诉求已办结" in page
    assert "请评价诉求办理情况" not in page  # no longer the appellant's turn
    detail = walk.detail(appeal.id)
    assert detail["appeal"]["status"] == "archived" and detail["appeal"]["satisfaction"] == "satisfied"
    with db.read() as session:  # the SMS link says it was used, not that staff recorded it
        assert session.scalars(select(EvaluationLink.used_at).where(EvaluationLink.appeal_id == appeal.id)).all()
        links = session.scalars(select(Notification.body).where(Notification.business_key == appeal.id)).all()
    token = next(m for b in links for m in re.findall(r"/e/([A-Za-z0-9_-]{8,})", b))
    assert "已完成评价" in text(client.get(f"/e/{token}"))


def test_an_evaluation_needs_a_choice_and_the_appellants_turn(client, db, walk, unit_id):
    phone = new_phone()
    appeal = file_appeal(client, db, phone)
    open_tracking(client, db, appeal.number, phone)
    early = post(client, f"/public/track/{appeal.number}/evaluate", {"evaluation": "satisfied"}, new_address())
    assert early.status_code == 409 and "目前无需评价" in text(early)  # not yet the appellant's turn
    handled_with_an_extension(walk, unit_id, appeal.id)
    missing = post(client, f"/public/track/{appeal.number}/evaluate", {"resolved": "yes"}, new_address())
    assert missing.status_code == 400 and "请选择一项评价" in text(missing)
    assert walk.open_tasks(appeal.id) == ["ut_return_visit"]  # still waiting for the appellant


def test_a_portal_appeal_is_in_the_monitor_and_the_evaluation_like_a_call(client, db, walk, unit_id, browser_as):
    phone = new_phone()
    appeal = file_appeal(client, db, phone)
    handled_with_an_extension(walk, unit_id, appeal.id)
    open_tracking(client, db, appeal.number, phone)
    post(client, f"/public/track/{appeal.number}/evaluate", {"evaluation": "basically_satisfied"}, new_address())
    supervisor = browser_as("supervisor1")
    listed = text(supervisor.get(f"/monitor/instances?q={appeal.number}"))
    assert appeal.number in listed
    shown = text(supervisor.get(f"/appeals/{appeal.id}"))
    assert "网站" in shown  # the channel, labelled as the intake form labels it
    period = ev.containing("month", appeal.accepted_at, ev.load_config().window_start_day).key
    drill = text(supervisor.get(f"/evaluation/drill?metric=basically_satisfied&unit={unit_id('gl_urban')}"
                                f"&period={period}"))
    assert appeal.number in drill
