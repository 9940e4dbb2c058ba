"""Every path of appeal_handling.bpmn, end to end through the JSON API (Art. 12–23)."""
from datetime import datetime

from sqlalchemy import select

from hotline.models import SupervisionItem
from runtime.models import Notification, ProcessInstance
from workdays.calendar import TZ

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}
DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}


def _instance(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == appeal_id))


def _notifications(db, appeal_id):
    with db.read() as session:
        return [(n.channel, n.recipient) for n in session.scalars(
            select(Notification).where(Notification.business_key == appeal_id).order_by(Notification.id))]


def _actions(detail):
    return [e["action"] for e in detail["history"]]


def test_intake_numbers_the_appeal_and_asks_for_assessment(walk):
    appeal = walk.register()
    accepted_day = datetime.fromisoformat(appeal["accepted_at"]).astimezone(TZ).strftime("%Y%m%d")
    assert appeal["number"] == f"FJ{accepted_day}-{appeal['number'][-6:]}"
    assert appeal["status"] == "assessing"
    assert appeal["dispatch_due_at"] is not None  # Art. 14: dispatch within 1 working day
    assert walk.open_tasks(appeal["id"]) == ["ut_assess"]
    second = walk.register()
    assert int(second["number"][-6:]) == int(appeal["number"][-6:]) + 1


def test_not_accepted_records_reason_and_guidance_and_ends(walk, db):
    appeal = walk.register(title="要求法院改判")
    walk.complete(appeal["id"], "intake1", "ut_assess", {
        "assessment": "not_accepted", "not_accepted_reason": "legal_or_petition_channel",
        "guidance": "请通过上诉或申请再审等法定途径解决"})
    detail = walk.detail(appeal["id"])
    assert detail["appeal"]["status"] == "not_accepted"
    assert detail["appeal"]["not_accepted_reason"] == "legal_or_petition_channel"
    assert detail["appeal"]["guidance"].startswith("请通过上诉")
    assert detail["tasks"] == [] and detail["appeal"]["closed_at"]
    assert "not_accepted" in _actions(detail)
    assert _instance(db, appeal["id"]).status == "completed"


def test_answered_on_the_spot_goes_to_verification_then_archive(walk, db):
    appeal = walk.register(appeal_type="consultation", title="社保卡补办流程")
    walk.complete(appeal["id"], "intake1", "ut_assess",
                  {"assessment": "answer_on_spot", "answer": "携带身份证到任一社保网点即可补办。"})
    assert walk.open_tasks(appeal["id"]) == ["ut_return_visit"]
    walk.complete(appeal["id"], "revisit1", "ut_return_visit", SATISFIED)
    detail = walk.detail(appeal["id"])
    assert detail["appeal"]["status"] == "archived"
    assert detail["appeal"]["answer"].startswith("携带身份证")
    assert detail["appeal"]["satisfaction"] == "satisfied"
    assert detail["appeal"]["lead_unit_id"] is None
    assert _instance(db, appeal["id"]).status == "completed"


def test_dissatisfied_with_an_on_the_spot_answer_without_fault_is_not_sent_to_any_unit(walk):
    appeal = walk.register(appeal_type="consultation")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "answer_on_spot", "answer": "答复"})
    walk.complete(appeal["id"], "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal["id"], "supervisor1", "ut_find_responsibility",
                  {"organizer_fault": False, "reason": "答复准确，诉求人对政策本身不满"})
    assert walk.detail(appeal["id"])["appeal"]["status"] == "archived"


def test_happy_path_through_every_role_to_archive(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "handling"
    assert detail["appeal"]["sign_for_due_at"] and detail["appeal"]["handling_due_at"]
    walk.to_replied(appeal_id)
    assert walk.open_tasks(appeal_id) == ["ut_return_visit"]
    walk.complete(appeal_id, "revisit1", "ut_return_visit", SATISFIED)
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "archived" and detail["appeal"]["closed_at"]
    assert detail["appeal"]["handling_result"] == "已责令工地停止夜间施工"
    assert detail["appeal"]["reply_content"] == "已电话告知处理结果"
    actions = _actions(detail)
    for expected in ("appeal_registered", "process_started", "dispatched", "replied", "evaluated", "archived",
                     "process_completed"):
        assert expected in actions
    assert actions.count("task_completed") == 9  # with the platform's closure review
    assert _instance(db, appeal_id).status == "completed"
    assert ("in_app", f"unit:{unit_id('gl_urban')}") in _notifications(db, appeal_id)  # Art. 17 reminder


def test_emergency_is_reported_in_parallel_with_dispatch(walk, db):
    appeal = walk.register(title="燃气泄漏", content="楼道里有浓烈燃气味")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch", "emergency": True})
    assert walk.open_tasks(appeal["id"]) == ["ut_dispatch"]
    detail = walk.detail(appeal["id"])
    assert detail["appeal"]["emergency"] is True
    assert "emergency_reported" in _actions(detail)
    assert ("emergency", "emergency_management") in _notifications(db, appeal["id"])


def test_no_emergency_report_without_emergency_content(walk, db):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    assert "emergency_reported" not in _actions(walk.detail(appeal["id"]))
    assert all(channel != "emergency" for channel, _ in _notifications(db, appeal["id"]))


def test_urgent_appeal_gets_phone_notice_and_same_day_limits(walk, unit_id, db):
    appeal = walk.register(urgent=True)
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    detail = walk.detail(appeal["id"])["appeal"]
    dispatched = datetime.fromisoformat(detail["dispatched_at"]).astimezone()
    handling = datetime.fromisoformat(detail["handling_due_at"])
    assert (handling - dispatched).total_seconds() <= 24 * 3600  # Art. 20(5): the same day
    assert ("phone_call", f"unit:{unit_id('gl_urban')}") in _notifications(db, appeal["id"])  # Art. 14


def _returned(walk, unit_id, **overrides):
    appeal = walk.register(**overrides)
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for",
                  {"sign_decision": "return", "return_reason": "不属于本单位职责"})
    return appeal["id"]


def test_return_then_redispatch_to_the_suggested_unit(walk, unit_id):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("fz_market")})
    walk.complete(appeal["id"], "fz_market_staff", "ut_sign_for", {
        "sign_decision": "return", "return_reason": "施工噪音属城管职责", "suggested_unit_id": unit_id("gl_urban")})
    assert walk.detail(appeal["id"])["appeal"]["status"] == "returned"
    walk.complete(appeal["id"], "dispatcher1", "ut_handle_return",
                  {"return_decision": "redispatch", "lead_unit_id": unit_id("gl_urban")})
    detail = walk.detail(appeal["id"])
    assert detail["appeal"]["status"] == "signing" and detail["appeal"]["lead_unit_id"] == unit_id("gl_urban")
    assert [t["unit_id"] for t in detail["tasks"]] == [unit_id("gl_urban")]
    units = {(u["unit_id"], u["active"]) for u in detail["appeal"]["units"]}
    assert units == {(unit_id("fz_market"), False), (unit_id("gl_urban"), True)}
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    assert walk.open_tasks(appeal["id"]) == ["ut_assign_handler"]


def test_return_then_fallback_unit_of_the_region(walk, unit_id):
    appeal_id = _returned(walk, unit_id, region_code="350102")  # 鼓楼区: fallback 鼓楼区人民政府
    walk.complete(appeal_id, "dispatcher1", "ut_handle_return", {"return_decision": "fallback"})
    assert walk.detail(appeal_id)["appeal"]["lead_unit_id"] == unit_id("gl_gov")
    walk.complete(appeal_id, "gl_gov_staff", "ut_sign_for", {"sign_decision": "sign"})


def test_fallback_walks_up_to_the_city_when_the_district_has_none(walk, unit_id):
    appeal_id = _returned(walk, unit_id, region_code="350206")  # 湖里区 has no fallback unit
    walk.complete(appeal_id, "dispatcher1", "ut_handle_return", {"return_decision": "fallback"})
    assert walk.detail(appeal_id)["appeal"]["lead_unit_id"] == unit_id("xm_gov")


def test_fallback_without_a_region_is_refused_and_nothing_moves(walk, unit_id):
    appeal_id = _returned(walk, unit_id, region_code=None)
    resp = walk.complete(appeal_id, "dispatcher1", "ut_handle_return", {"return_decision": "fallback"}, expect=400)
    assert "return_decision" in resp["error"]["fields"]
    assert walk.detail(appeal_id)["appeal"]["status"] == "returned"
    assert walk.open_tasks(appeal_id) == ["ut_handle_return"]


def test_co_organizers_each_give_feedback_before_the_result(walk, unit_id):
    appeal_id = walk.to_signed(co=("sm_market", "fz_housing"), unit_id=unit_id)
    assert walk.open_tasks(appeal_id) == ["ut_co_sign_for", "ut_co_sign_for"]  # Art. 16: each signs for its part
    for unit in ("sm_market", "fz_housing"):
        walk.complete(appeal_id, f"{unit}_staff", "ut_co_sign_for", {"co_sign_decision": "sign"})
    co_task = walk.task(appeal_id, "sm_market_staff", "ut_co_handle")
    assert co_task["unit_id"] == unit_id("sm_market")
    walk.complete(appeal_id, "sm_market_staff", "ut_co_handle", {"co_opinion": "已核查经营户资质"})
    assert walk.open_tasks(appeal_id) == ["ut_co_handle"]
    walk.complete(appeal_id, "fz_housing_staff", "ut_co_handle", {"co_opinion": "施工许可已核实"})
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]


def test_leader_sends_the_result_back(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "submit_result", "result": "已处理"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_review",
                  {"review_decision": "send_back", "review_comment": "请补充现场照片"})
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "handling" and walk.open_tasks(appeal_id) == ["ut_record_result"]
    walk.to_replied(appeal_id)
    assert walk.open_tasks(appeal_id) == ["ut_return_visit"]


def test_extension_consented_and_approved_moves_the_handling_deadline(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    before = datetime.fromisoformat(walk.detail(appeal_id)["appeal"]["handling_due_at"])
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 3, "extension_reason": "需多部门协调"})
    assert walk.detail(appeal_id)["appeal"]["status"] == "extension_pending"
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    walk.complete(appeal_id, "dispatcher1", "ut_platform_approval", {"extension_approved": True, "approved_days": 3})
    detail = walk.detail(appeal_id)["appeal"]
    after = datetime.fromisoformat(detail["handling_due_at"])
    assert detail["extension_days"] == 3 and (after - before).days >= 3
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]


def test_extension_refused_by_the_leader_keeps_the_deadline(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    before = walk.detail(appeal_id)["appeal"]["handling_due_at"]
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 2, "extension_reason": "理由"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": False})
    detail = walk.detail(appeal_id)["appeal"]
    assert detail["handling_due_at"] == before and detail["extension_days"] == 0
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]


def test_extension_longer_than_the_original_limit_is_refused(walk, unit_id):
    """Art. 20(6): never longer than the original limit. The refusal is the diagram's gateway: the
    applicant is told why, the deadline stays, and the unit handles on."""
    appeal_id = walk.to_signed(unit_id=unit_id, appeal_type="consultation")  # 2 working days
    before = walk.detail(appeal_id)["appeal"]["handling_due_at"]
    resp = walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                         {"result_action": "apply_extension", "extension_days": 3, "extension_reason": "理由"})
    assert [n["zh"] for n in resp["notices"]] == ["延期申请未受理：延期总天数不得超过原办理时限，最多还可申请 2 个工作日"]
    assert "at most 2 more working days" in resp["notices"][0]["en"]
    detail = walk.detail(appeal_id)
    assert walk.open_tasks(appeal_id) == ["ut_record_result"] and detail["appeal"]["handling_due_at"] == before
    refused = [e for e in detail["history"] if e["action"] == "extension_refused"]
    assert len(refused) == 1 and "最多还可申请 2 个工作日" in refused[0]["detail"]["reason"]
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 2, "extension_reason": "理由"})
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    resp = walk.complete(appeal_id, "dispatcher1", "ut_platform_approval",
                         {"extension_approved": True, "approved_days": 3}, expect=400)
    assert "approved_days" in resp["error"]["fields"]
    assert walk.open_tasks(appeal_id) == ["ut_platform_approval"]


def test_dissatisfied_not_the_organizers_fault_is_archived(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal_id, "supervisor1", "ut_find_responsibility",
                  {"organizer_fault": False, "reason": "诉求超出政策范围，已解释"})
    detail = walk.detail(appeal_id)["appeal"]
    assert detail["status"] == "archived" and detail["satisfaction"] == "dissatisfied"
    assert detail["rehandle_count"] == 0


def test_dissatisfied_twice_by_the_organizers_fault_rehandles_then_supervises(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal_id, "supervisor1", "ut_find_responsibility", {"organizer_fault": True, "reason": "敷衍"})
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "handling" and detail["appeal"]["rehandle_count"] == 1
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]
    with db.read() as session:
        assert session.scalars(select(SupervisionItem).where(SupervisionItem.appeal_id == appeal_id)).all() == []

    walk.to_replied(appeal_id)  # Art. 22: dissatisfied again -> re-handle and supervise
    walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal_id, "supervisor1", "ut_find_responsibility", {"organizer_fault": True, "reason": "仍未解决"})
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["rehandle_count"] == 2 and detail["appeal"]["status"] == "handling"
    with db.read() as session:
        items = session.scalars(select(SupervisionItem).where(SupervisionItem.appeal_id == appeal_id)).all()
    assert [(i.reason, i.unit_id, i.status) for i in items] == [
        ("repeat_dissatisfaction", unit_id("gl_urban"), "open")]
    for username in ("supervisor1", "gl_urban_leader"):  # the register shows it, to the unit too
        register = walk.api.as_(username).get("/supervision-items?reason=repeat_dissatisfaction&limit=200").get_json()
        assert items[0].id in [row["item"]["id"] for row in register["items"]]

    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit", SATISFIED)
    assert walk.detail(appeal_id)["appeal"]["status"] == "archived"
