"""The regulation's paths drawn in processes/ (Art. 15-20), walked through the JSON API as the
people who work them would. Each test names its article."""
import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from hotline import evaluation as ev
from hotline import evaluation_report
from hotline.models import OverdueRecord, ReturnVisitSample, SupervisionItem
from runtime import clock, jobs
from runtime.models import Notification, UserTask
from workdays.calendar import TZ

from .test_api_errors import png

RESULT = {"result_action": "submit_result", "result": "已责令工地停止夜间施工", "resolved": True}


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def now(api):
    """now("2026-11-02 09:00") sets the platform's clock (everyone signs in again: a token of
    another day may have expired); it is set back after the test."""
    def set_now(text):
        clock.set_now(at(text))
        api.tokens.clear()
    yield set_now
    clock.set_now(None)


def due(walk, appeal_id, stage="handling"):
    value = walk.detail(appeal_id)["appeal"][f"{stage}_due_at"]
    return datetime.fromisoformat(value) if value else None


def status(walk, appeal_id):
    return walk.detail(appeal_id)["appeal"]["status"]


def upload(api, appeal_id, username="gl_urban_staff"):
    resp = api.as_(username).post(f"/appeals/{appeal_id}/attachments", content_type="multipart/form-data",
                                  data={"file": (io.BytesIO(png()), "现场.png")})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def fields(resp) -> dict:
    assert resp.status_code == 400, resp.get_json()
    return resp.get_json()["error"]["fields"]


def counts(db, when: str) -> dict[int, ev.Counts]:
    with db.read() as session:
        start, end = ev.window(ev.containing("month", at(when), 1), 1)
        return evaluation_report.unit_counts(session, start, end)


def gained(before: dict, after: dict, unit: int) -> ev.Counts:
    """What a unit's counts gained between two readings (the demo's appeals share the month)."""
    old, new = before.get(unit, ev.Counts()), after.get(unit, ev.Counts())
    return ev.Counts(**{k: getattr(new, k) - getattr(old, k) for k in vars(new)})


def try_complete(walk, appeal_id, username, bpmn_id, data):
    task = walk.task(appeal_id, username, bpmn_id)
    return walk.api.as_(username).post(f"/tasks/{task['id']}/complete", json={"data": data})


# --- Art. 19: not our duty, found while handling ---------------------------------------------------

def test_art19_a_unit_returns_a_matter_mid_handling_and_the_new_unit_starts_its_own_clock(walk, unit_id, db, now):
    now("2026-11-02 09:00")
    before = counts(db, "2026-11-02 09:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    first_due = due(walk, appeal_id)
    now("2026-11-05 10:00")
    returned = {"result_action": "return", "return_reason": "属市场监管职责（《食品安全法》第六条）",
                "suggested_unit_id": unit_id("fz_market")}
    assert "return_reason" in fields(try_complete(walk, appeal_id, "gl_urban_staff", "ut_record_result",
                                                  {"result_action": "return"}))
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result", returned)
    assert status(walk, appeal_id) == "returned"
    assert walk.open_tasks(appeal_id) == ["ut_handle_return"]  # the platform reviews the return
    now("2026-11-05 11:00")
    walk.complete(appeal_id, "dispatcher1", "ut_handle_return",
                  {"return_decision": "redispatch", "lead_unit_id": unit_id("fz_market")})
    walk.complete(appeal_id, "fz_market_staff", "ut_sign_for", {"sign_decision": "sign"})
    # the new unit starts afresh: its leader assigns a handler, its handling limit runs from its dispatch
    assert walk.open_tasks(appeal_id) == ["ut_assign_handler"]
    assert walk.detail(appeal_id)["appeal"]["lead_unit_id"] == unit_id("fz_market")
    assert due(walk, appeal_id) == at("2026-11-19 17:30") and first_due == at("2026-11-16 17:30")
    # the return counts against the first unit, the appeal is handled by the second
    after = counts(db, "2026-11-05 10:00")
    first, second = gained(before, after, unit_id("gl_urban")), gained(before, after, unit_id("fz_market"))
    assert (first.received, first.returned, first.handled) == (1, 1, 0)
    assert (second.received, second.returned, second.handled) == (1, 0, 1)


def test_art19_with_a_safety_risk_interim_measures_and_photos_come_before_the_return(walk, unit_id, api):
    appeal_id = walk.to_signed(unit_id=unit_id)
    returned = {"result_action": "return", "return_reason": "燃气管道属燃气公司维护", "safety_risk": True}
    assert "interim_measures" in fields(try_complete(walk, appeal_id, "gl_urban_staff", "ut_record_result", returned))
    with_measures = {**returned, "interim_measures": "已设置警戒线并通知燃气公司关阀"}
    assert "attachment_ids" in fields(try_complete(walk, appeal_id, "gl_urban_staff", "ut_record_result",
                                                   with_measures))
    assert status(walk, appeal_id) == "handling"  # nothing was lost or half done
    photo = upload(api, appeal_id)
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result", {**with_measures, "attachment_ids": [photo]})
    assert status(walk, appeal_id) == "returned"
    history = walk.detail(appeal_id)["history"]
    assert any(e["action"] == "task_completed" and (e["detail"] or {}).get("interim_measures") for e in history)


def test_art19_unclear_responsibility_goes_to_the_regions_fallback_unit(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "return", "return_reason": "职责交叉，管理归属不清"})
    walk.complete(appeal_id, "dispatcher1", "ut_handle_return", {"return_decision": "fallback"})
    assert status(walk, appeal_id) == "signing"
    assert any(e["action"] == "fallback_unit_assigned" for e in walk.detail(appeal_id)["history"])


# --- Art. 18: evidence with the result --------------------------------------------------------------

def test_art18_an_on_site_matter_needs_photos_or_a_stated_reason(walk, unit_id, api):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch", "on_site": True})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    walk.complete(appeal["id"], "gl_urban_leader", "ut_assign_handler", walk.assignment())
    problems = fields(try_complete(walk, appeal["id"], "gl_urban_staff", "ut_record_result", RESULT))
    assert problems == {"no_evidence_reason": ["必填项"]}
    # a photo is enough, or a reason when there can be none
    photo = upload(api, appeal["id"])
    walk.complete(appeal["id"], "gl_urban_staff", "ut_record_result", {**RESULT, "attachment_ids": [photo]})
    assert status(walk, appeal["id"]) == "reviewing"


def test_art18_the_reason_replaces_the_photo_and_matters_without_a_site_need_neither(walk, unit_id):
    on_site = walk.register()
    walk.complete(on_site["id"], "intake1", "ut_assess", {"assessment": "dispatch", "on_site": True})
    walk.complete(on_site["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(on_site["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    walk.complete(on_site["id"], "gl_urban_leader", "ut_assign_handler", walk.assignment())
    walk.complete(on_site["id"], "gl_urban_staff", "ut_record_result",
                  {**RESULT, "no_evidence_reason": "夜间施工已停止，现场无可拍摄内容"})
    plain = walk.to_signed(unit_id=unit_id)
    walk.complete(plain, "gl_urban_staff", "ut_record_result", RESULT)
    assert status(walk, on_site["id"]) == status(walk, plain) == "reviewing"


# --- 办结审核: the platform checks the reply before the return visit --------------------------------

def test_art18_closure_review_sends_a_reply_back_with_reasons_and_the_deadline_keeps_running(walk, unit_id, db, now):
    now("2026-11-02 09:00")
    before = counts(db, "2026-11-02 09:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    deadline = due(walk, appeal_id)
    walk.to_replied(appeal_id, closure_review=False)
    assert status(walk, appeal_id) == "closure_review"
    assert walk.open_tasks(appeal_id) == ["ut_closure_review"]
    assert "closure_comment" in fields(try_complete(walk, appeal_id, "dispatcher1", "ut_closure_review",
                                                    {"closure_decision": "reject"}))
    walk.review_closure(appeal_id, "reject", "答复未回应夜间施工许可问题，请补充现场照片")
    assert status(walk, appeal_id) == "handling"
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]  # back to the unit's result, not to the start
    assert due(walk, appeal_id) == deadline  # no new limit: the handling deadline kept running
    history = walk.detail(appeal_id, "gl_urban_staff")["history"]
    assert any((e["detail"] or {}).get("closure_comment", "").startswith("答复未回应") for e in history)
    walk.to_replied(appeal_id)
    assert walk.open_tasks(appeal_id) == ["ut_return_visit"]
    mine = gained(before, counts(db, "2026-11-02 09:00"), unit_id("gl_urban"))
    assert (mine.handled, mine.rejected) == (1, 1)
    assert ev.figures(mine, ev.Config())["closure_rejection_rate"] == 1.0


def test_art18_a_reply_sent_back_past_its_deadline_stays_overdue_and_is_recorded_once(walk, unit_id, db, now):
    def run_timers():
        while jobs.run_due(db, "worker-1"):
            pass

    now("2026-11-02 09:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    now("2026-11-17 09:00")  # the handling deadline (11-16 17:30) ran out while the unit handled it
    run_timers()
    walk.to_replied(appeal_id, closure_review=False)
    walk.review_closure(appeal_id, "reject", "请补充办理依据")  # the stage entered again, still past its deadline
    run_timers()
    with db.read() as session:
        marks = session.scalar(select(func.count()).select_from(OverdueRecord).where(
            OverdueRecord.appeal_id == appeal_id, OverdueRecord.stage == "handling"))
        overdue = session.scalar(select(UserTask.overdue_at).where(
            UserTask.business_key == appeal_id, UserTask.state == "open"))
    assert marks == 1  # recorded (and the unit told) once, though the stage was entered again
    assert overdue is not None  # the unit's task again shows it is overdue


# --- Art. 14, 15, 20(5): urgency and type decided at assessment ----------------------------------------

def test_art20_the_assessment_upgrades_to_urgent_and_urgent_limits_count_clock_hours(walk, unit_id, now):
    now("2026-11-06 23:30")  # a Friday night
    appeal = walk.register(appeal_type="help")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch", "urgency": "urgent"})
    assert walk.detail(appeal["id"])["appeal"]["urgent"] is True
    assert due(walk, appeal["id"], "dispatch") == at("2026-11-07 00:30")
    now("2026-11-07 00:10")
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    handling = due(walk, appeal["id"])
    assert handling == at("2026-11-08 00:10")  # 24 clock hours, the weekend included
    assert handling > due(walk, appeal["id"], "dispatch")


def test_art20_the_assessment_reclassifies_and_downgrades(walk, unit_id, now):
    now("2026-11-02 09:00")
    appeal = walk.register(appeal_type="complaint", urgent=True)
    walk.complete(appeal["id"], "intake1", "ut_assess",
                  {"assessment": "dispatch", "urgency": "normal", "appeal_type": "consultation"})
    detail = walk.detail(appeal["id"])["appeal"]
    assert (detail["urgent"], detail["appeal_type"]) == (False, "consultation")
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    assert due(walk, appeal["id"]) == at("2026-11-04 17:30")  # a consultation: 2 working days
    regraded = [e for e in walk.detail(appeal["id"])["history"] if e["action"] == "regraded"]
    assert regraded and regraded[0]["detail"]["appeal_type"] == ["complaint", "consultation"]


def test_art15_an_emergency_takes_the_urgent_limits(walk, unit_id, now):
    now("2026-11-02 09:00")
    appeal = walk.register(title="燃气泄漏", content="楼道里有浓烈燃气味")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch", "emergency": True})
    assert due(walk, appeal["id"], "dispatch") == at("2026-11-02 10:00")


def test_art20_5_a_simple_matter_is_answered_the_same_day(walk, unit_id, now):
    now("2026-11-02 09:00")
    appeal = walk.register(appeal_type="consultation")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch", "simple": True})
    now("2026-11-02 10:00")
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    assert due(walk, appeal["id"]).date() == at("2026-11-02 10:00").date()


# --- Art. 20(7): explained, not solvable at present -------------------------------------------------

def test_art20_7_not_solvable_now_needs_the_contact_and_is_reported_apart(walk, unit_id, db, now):
    now("2026-11-02 09:00")
    before = counts(db, "2026-11-02 09:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    explained = {"result_action": "submit_result", "result_class": "explained_not_solvable",
                 "result": "该路段改造已列入明年计划，已向诉求人说明", "resolved": False}
    assert "appellant_contacted" in fields(try_complete(walk, appeal_id, "gl_urban_staff", "ut_record_result",
                                                        explained))
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result", {**explained, "appellant_contacted": True})
    mine = gained(before, counts(db, "2026-11-02 09:00"), unit_id("gl_urban"))
    assert (mine.handled, mine.explained, mine.resolved) == (1, 1, 0)
    assert ev.figures(mine, ev.Config())["not_solvable"] == 1


# --- Art. 16, 30(4): co-organizers are participants with their own limit -----------------------------

def test_art16_each_co_organizer_signs_for_its_part_or_returns_it(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id, co=("sm_market", "fz_housing"))
    assert walk.open_tasks(appeal_id) == ["ut_co_sign_for", "ut_co_sign_for"]
    assert walk.task(appeal_id, "sm_market_staff", "ut_co_sign_for")["unit_id"] == unit_id("sm_market")
    assert "co_return_reason" in fields(try_complete(walk, appeal_id, "fz_housing_staff", "ut_co_sign_for",
                                                     {"co_sign_decision": "return"}))
    walk.complete(appeal_id, "fz_housing_staff", "ut_co_sign_for",
                  {"co_sign_decision": "return", "co_return_reason": "不涉及住建职责"})
    walk.complete(appeal_id, "sm_market_staff", "ut_co_sign_for", {"co_sign_decision": "sign"})
    walk.complete(appeal_id, "sm_market_staff", "ut_co_handle", {"co_opinion": "已核查经营户资质"})
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]  # the lead unit goes on with both answers
    detail = walk.detail(appeal_id)
    co_rows = {u["unit_id"]: u["active"] for u in detail["appeal"]["units"] if u["role"] == "co"}
    assert co_rows == {unit_id("sm_market"): True, unit_id("fz_housing"): False}  # the returned part left
    returned = [e for e in detail["history"] if e["action"] == "co_returned"]
    assert returned and returned[0]["detail"] == {"unit_id": unit_id("fz_housing"), "reason": "不涉及住建职责"}


def test_art16_a_late_co_organizer_is_reminded_marked_overdue_and_evaluated(walk, unit_id, db, now):
    def run_timers():
        while jobs.run_due(db, "worker-1"):
            pass

    now("2026-11-02 09:00")
    before = counts(db, "2026-11-02 09:00")
    appeal_id = walk.to_signed(unit_id=unit_id, co=("sm_market", "fz_housing"))
    co_due = walk.detail(appeal_id)["appeal"]["co_feedback_due_at"]
    walk.complete(appeal_id, "sm_market_staff", "ut_co_sign_for", {"co_sign_decision": "sign"})
    walk.complete(appeal_id, "sm_market_staff", "ut_co_handle", {"co_opinion": "已核查"})
    now("2026-11-06 15:00")  # half a working day before the complaint's 5 working days run out
    run_timers()
    now("2026-11-10 09:00")  # fz_housing has not answered
    run_timers()
    with db.read() as session:
        marks = session.execute(select(OverdueRecord.unit_id).where(
            OverdueRecord.appeal_id == appeal_id, OverdueRecord.stage == "co_feedback")).scalars().all()
        late_task = session.scalar(select(UserTask.overdue_at).where(
            UserTask.business_key == appeal_id, UserTask.state == "open", UserTask.unit_id == unit_id("fz_housing")))
        reminders = session.scalars(select(Notification.recipient).where(
            Notification.business_key == appeal_id, Notification.body.contains("协办反馈期限将于"))).all()
    assert marks == [unit_id("fz_housing")]  # only the late one, against itself, not the lead unit
    assert late_task is not None
    assert f"unit:{unit_id('fz_housing')}" in reminders and f"unit:{unit_id('sm_market')}" not in reminders
    after = counts(db, "2026-11-02 09:00")
    late, prompt = gained(before, after, unit_id("fz_housing")), gained(before, after, unit_id("sm_market"))
    assert (late.co_received, late.co_late, prompt.co_received, prompt.co_late) == (1, 1, 1, 0)
    assert ev.figures(late, ev.Config())["co_on_time_rate"] == 0.0
    assert datetime.fromisoformat(co_due) == at("2026-11-09 17:30")  # the complaint's 5 working days (the table)


# --- Art. 21-23: return visits that finish the job ---------------------------------------------------

DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}
FAULT = {"organizer_fault": True, "reason": "答复未解决问题"}


def test_art22_an_on_the_spot_answer_found_wanting_is_dispatched_and_handled(walk, unit_id):
    appeal = walk.register(appeal_type="consultation")
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "answer_on_spot", "answer": "请到社保网点办理"})
    walk.complete(appeal["id"], "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(appeal["id"], "supervisor1", "ut_find_responsibility", FAULT)
    assert walk.open_tasks(appeal["id"]) == ["ut_dispatch"] and status(walk, appeal["id"]) == "dispatching"
    assert due(walk, appeal["id"], "dispatch") > datetime.now(TZ)  # its dispatch limit runs from now
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    assert walk.open_tasks(appeal["id"]) == ["ut_assign_handler"]
    assert any(e["action"] == "reopened_for_dispatch" for e in walk.detail(appeal["id"])["history"])


def test_art22_rehandling_stops_at_the_tables_cap_and_one_supervision_item_follows_it(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    rounds = 0
    while True:
        walk.to_replied(appeal_id)
        walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
        walk.complete(appeal_id, "supervisor1", "ut_find_responsibility", FAULT)
        if status(walk, appeal_id) == "archived":
            break
        rounds += 1
        assert walk.open_tasks(appeal_id) == ["ut_record_result"] and rounds <= 3
    assert rounds == 3  # max_rehandles in time_limits.dmn: the fourth dissatisfaction is supervised only
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["rehandle_count"] == 3  # the rounds started
    opened = [e for e in detail["history"] if e["action"] == "supervision_opened"]
    assert len(opened) == 1  # one item, however many rounds


# --- Repeat calls: an urge (催办) on an open appeal -----------------------------------------------------

def test_art17_a_repeat_call_urges_whoever_holds_the_appeal_and_counts_against_the_lead(walk, unit_id, db, api):
    before = counts(db, datetime.now(TZ).strftime("%Y-%m-%d %H:%M"))
    appeal = walk.register()
    first = api.as_("intake1").post(f"/appeals/{appeal['id']}/urges", json={"note": "诉求人来电询问进展"})
    assert first.status_code == 201 and first.get_json() == {"holders": ["platform:dispatcher"], "count": 1}
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    second = api.as_("intake1").post(f"/appeals/{appeal['id']}/urges", json={"note": "再次来电，情绪激动"})
    assert second.get_json() == {"holders": [f"unit:{unit_id('gl_urban')}"], "count": 2}
    assert fields(api.as_("intake1").post(f"/appeals/{appeal['id']}/urges", json={"note": " "})) == {
        "note": ["请填写来电催办的内容"]}
    assert api.as_("gl_urban_staff").post(f"/appeals/{appeal['id']}/urges", json={"note": "x"}).status_code == 403
    with db.read() as session:
        told = session.scalars(select(Notification.recipient).where(
            Notification.business_key == appeal["id"], Notification.body.contains("第 2 次催办"))).all()
    assert sorted(told) == [f"unit:{unit_id('gl_urban')}", f"unit:{unit_id('gl_urban')}:leader"]
    urged = [e for e in walk.detail(appeal["id"])["history"] if e["action"] == "urged"]
    assert [e["detail"]["count"] for e in urged] == [1, 2]  # on the appeal's record
    mine = gained(before, counts(db, datetime.now(TZ).strftime("%Y-%m-%d %H:%M")), unit_id("gl_urban"))
    assert (mine.handled, mine.urged) == (1, 1)
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})


def test_art17_a_closed_appeal_cannot_be_urged(walk, api):
    appeal = walk.register(appeal_type="consultation")
    walk.complete(appeal["id"], "intake1", "ut_assess", {
        "assessment": "not_accepted", "not_accepted_reason": "legal_or_petition_channel", "guidance": "请通过诉讼解决"})
    resp = api.as_("intake1").post(f"/appeals/{appeal['id']}/urges", json={"note": "又来电了"})
    assert resp.status_code == 409 and resp.get_json()["error"]["reason"] == "appeal_closed"


def test_art23_a_check_that_finds_a_problem_sends_the_appeal_back_for_rectification(walk, unit_id, db, browser_as):
    before = counts(db, datetime.now(TZ).strftime("%Y-%m-%d %H:%M"))
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit", {"visit_method": "phone", "evaluation": "satisfied",
                                                             "resolved": True})
    number = walk.detail(appeal_id)["appeal"]["number"]
    browser_as("supervisor1").post("/revisits/order", data={"number": number, "method": "on_site",
                                                            "note": "核实施工是否停止"})
    with db.read() as session:
        sample = session.scalar(select(ReturnVisitSample.id).where(ReturnVisitSample.appeal_id == appeal_id))
    staff = browser_as("revisit1")
    refused = staff.post(f"/revisits/{sample}/record", data={"evaluation": "dissatisfied", "resolved": "no",
                                                              "problem_found": "yes"}, follow_redirects=True)
    assert "发现问题时请写明核查情况" in refused.get_data(as_text=True)
    staff.post(f"/revisits/{sample}/record", data={"evaluation": "dissatisfied", "resolved": "no",
                                                   "problem_found": "yes", "comment": "夜间仍在施工"})
    with db.read() as session:
        item = session.scalar(select(SupervisionItem).where(SupervisionItem.appeal_id == appeal_id))
        assert (item.reason, item.unit_id, item.status) == ("return_visit_problem", unit_id("gl_urban"), "open")
    mine = gained(before, counts(db, datetime.now(TZ).strftime("%Y-%m-%d %H:%M")), unit_id("gl_urban"))
    assert (mine.handled, mine.visit_problems) == (1, 1)


# --- 撤单 and 并单: the appellant withdraws; a repeat appeal is merged into the open one ---------------

def withdraw(api, appeal_id, reason="问题已自行解决", username="intake1"):
    return api.as_(username).post(f"/appeals/{appeal_id}/withdrawal", json={"reason": reason})


def test_withdrawal_before_the_reply_is_recorded_and_ends_the_appeal(walk, unit_id, api, db):
    appeal_id = walk.to_signed(unit_id=unit_id, co=("sm_market",))
    assert fields(withdraw(api, appeal_id, " ")) == {"reason": ["请填写撤单原因"]}
    assert withdraw(api, appeal_id, username="gl_urban_staff").status_code == 403
    assert withdraw(api, appeal_id).status_code == 204
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "withdrawn" and detail["appeal"]["closed_at"]
    assert detail["tasks"] == []  # the unit's and the co-organizer's steps ended
    requested = [e for e in detail["history"] if e["action"] == "withdrawal_requested"]
    assert requested and requested[0]["detail"] == {"reason": "问题已自行解决"}  # kept, never deleted
    with db.read() as session:
        told = session.scalars(select(Notification.recipient).where(
            Notification.business_key == appeal_id, Notification.body.contains("已由诉求人撤单"))).all()
    assert f"unit:{unit_id('gl_urban')}" in told and f"unit:{unit_id('sm_market')}" in told


def test_withdrawal_after_the_reply_is_refused_and_changes_nothing(walk, unit_id, api):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)  # waiting for its return visit
    resp = withdraw(api, appeal_id)
    assert resp.status_code == 409 and resp.get_json()["error"]["reason"] == "not_withdrawable"
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "verifying"
    assert not [e for e in detail["history"] if e["action"] == "withdrawal_requested"]  # rolled back whole


def test_a_repeat_appeal_merged_into_the_open_one_takes_its_reply_and_gets_its_own_return_visit(walk, unit_id):
    main_id = walk.to_signed(unit_id=unit_id)
    main_number = walk.detail(main_id)["appeal"]["number"]
    repeat = walk.register(appellant={"kind": "citizen", "name": "李四", "phone": "13900001234"})
    problems = fields(try_complete(walk, repeat["id"], "dispatcher1", "ut_assess",
                                   {"assessment": "merge", "merge_into": "FJ19990101-000001"}))
    assert problems == {"merge_into": ["找不到该编号的诉求"]}
    walk.complete(repeat["id"], "dispatcher1", "ut_assess", {"assessment": "merge", "merge_into": main_number})
    assert status(walk, repeat["id"]) == "merged" and walk.open_tasks(repeat["id"]) == []
    walk.to_replied(main_id)  # the unit handles the main appeal once; its reply passes the closure review
    assert walk.open_tasks(repeat["id"]) == ["ut_return_visit"]  # every appellant gets a return visit
    taken = walk.detail(repeat["id"])["appeal"]
    assert taken["reply_content"] == walk.detail(main_id)["appeal"]["reply_content"] == "已电话告知处理结果"
    assert taken["lead_unit_id"] is None  # handled once, counted once: by the main appeal's unit


def test_appeals_merged_into_one_that_is_withdrawn_go_on_to_be_dispatched(walk, unit_id, api):
    main_id = walk.to_signed(unit_id=unit_id)
    repeat = walk.register()
    walk.complete(repeat["id"], "dispatcher1", "ut_assess",
                  {"assessment": "merge", "merge_into": walk.detail(main_id)["appeal"]["number"]})
    assert withdraw(api, main_id).status_code == 204
    assert walk.open_tasks(repeat["id"]) == ["ut_dispatch"]  # its own appellant did not withdraw
