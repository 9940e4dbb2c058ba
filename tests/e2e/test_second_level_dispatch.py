"""Second-level dispatch (二级派单, issue 16 item 3) through the JSON API: 鼓楼区人民政府 leads an
appeal and passes it on to its 五一街道办事处 (processes/sub_handling.bpmn); the street office signs
for it and replies to the government, which sends the reply back once, accepts the second one
and replies to the platform itself; the government alone is evaluated for it."""
from datetime import datetime

import pytest
from sqlalchemy import select

from hotline import evaluation as ev
from hotline import evaluation_report
from hotline.models import OverdueRecord
from runtime import clock, jobs
from runtime.models import Notification
from workdays.calendar import TZ

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def now(api):
    """now("2026-11-02 09:00") sets the platform's clock (tokens are signed again); set back after."""
    def set_now(text):
        clock.set_now(at(text))
        api.tokens.clear()
    yield set_now
    clock.set_now(None)


def _to_government(walk, unit_id):
    """Registered, dispatched to 鼓楼区人民政府 and signed for by it; its leader's step is open."""
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_gov")})
    walk.complete(appeal["id"], "gl_gov_staff", "ut_sign_for", {"sign_decision": "sign"})
    return appeal["id"]


def _try_assign(walk, appeal_id, data):
    task = walk.task(appeal_id, "gl_gov_leader", "ut_assign_handler")
    return walk.api.as_("gl_gov_leader").post(f"/tasks/{task['id']}/complete", json={"data": data})


def _counts(db):
    with db.read() as session:
        start, end = ev.window(ev.containing("month", at("2026-11-20 12:00"), 1), 1)
        return evaluation_report.unit_counts(session, start, end)


def test_a_district_government_dispatches_on_to_its_street_office_and_reviews_the_reply(walk, unit_id, db, api, now):
    now("2026-11-02 09:00")  # a Monday: the complaint's 10 working days end on 2026-11-16
    before = _counts(db)
    appeal_id = _to_government(walk, unit_id)
    gov, street = unit_id("gl_gov"), unit_id("gl_street_wys")
    assert datetime.fromisoformat(walk.detail(appeal_id)["appeal"]["handling_due_at"]) == at("2026-11-16 17:30")
    assert walk.api.as_("gl_street_wys_staff").get(f"/appeals/{appeal_id}").status_code == 403  # not yet its appeal

    now("2026-11-09 09:00")  # a week later the leader passes it on
    walk.complete(appeal_id, "gl_gov_leader", "ut_assign_handler",
                  {"assign_action": "sub_dispatch", "sub_unit_id": street, "sub_dispatch_note": "请现场核查并答复"})

    # the street office sees it, the appellant masked like for any organizer, and signs for it
    seen = walk.api.as_("gl_street_wys_staff").get(f"/appeals/{appeal_id}")
    assert seen.status_code == 200, seen.get_json()
    appellant = seen.get_json()["appellant"]
    assert appellant["masked"] is True and appellant["name"] is None and "****" in appellant["phone"]
    sign_for = walk.task(appeal_id, "gl_street_wys_staff", "ut_sub_sign_for")
    assert sign_for["unit_id"] == street
    assert datetime.fromisoformat(sign_for["due_at"]) == at("2026-11-10 17:30")  # the table's 1 working day
    walk.complete(appeal_id, "gl_street_wys_staff", "ut_sub_sign_for", {"sub_sign_decision": "sign"})

    # its reply limit: 7 working days from the second-level dispatch would be 2026-11-18, past the
    # government's own deadline, so it ends with the government's
    reply = walk.task(appeal_id, "gl_street_wys_staff", "ut_sub_reply")
    assert datetime.fromisoformat(reply["due_at"]) == at("2026-11-16 17:30")
    assert walk.open_tasks(appeal_id) == ["ut_sub_reply"]
    walk.complete(appeal_id, "gl_street_wys_staff", "ut_sub_reply", {"sub_result": "已到现场，工地已停工"})

    review = walk.task(appeal_id, "gl_gov_leader", "ut_sub_review")
    assert review["unit_id"] == gov
    walk.complete(appeal_id, "gl_gov_leader", "ut_sub_review",
                  {"sub_review_decision": "send_back", "sub_review_comment": "请附现场照片并说明后续监管措施"})
    again = walk.task(appeal_id, "gl_street_wys_staff", "ut_sub_reply")  # handled again, the same limit
    assert datetime.fromisoformat(again["due_at"]) == at("2026-11-16 17:30")
    walk.complete(appeal_id, "gl_street_wys_staff", "ut_sub_reply",
                  {"sub_result": "已到现场，工地已停工；街道每晚巡查一周", "sub_contacted": True})
    walk.complete(appeal_id, "gl_gov_leader", "ut_sub_review", {"sub_review_decision": "accept"})

    # accepted: the street office no longer holds it; the government records, reviews and replies
    assert walk.api.as_("gl_street_wys_staff").get(f"/appeals/{appeal_id}").status_code == 403
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]
    walk.to_replied(appeal_id, lead="gl_gov")
    walk.complete(appeal_id, "revisit1", "ut_return_visit", SATISFIED)

    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "archived" and detail["appeal"]["lead_unit_id"] == gov
    assert {(u["unit_id"], u["role"], u["active"]) for u in detail["appeal"]["units"]} == {
        (gov, "lead", True), (street, "sub", False)}
    events = [(e["action"], e["task_bpmn_id"]) for e in detail["history"]]
    steps = [bpmn_id for action, bpmn_id in events if action == "task_completed"]
    assert steps[steps.index("ut_assign_handler"):steps.index("ut_record_result")] == [
        "ut_assign_handler", "ut_sub_sign_for", "ut_sub_reply", "ut_sub_review", "ut_sub_reply", "ut_sub_review"]
    actions = [a for a, _ in events]
    for expected in ("sub_dispatched", "sub_replied", "sub_sent_back", "sub_reply_accepted", "replied", "archived"):
        assert expected in actions, expected
    assert actions.count("sub_replied") == 2
    dispatched = next(e["detail"] for e in detail["history"] if e["action"] == "sub_dispatched")
    assert dispatched["unit_id"] == street and dispatched["note"] == "请现场核查并答复"
    assert datetime.fromisoformat(dispatched["sub_sign_for_due_at"]) == at("2026-11-10 17:30")
    assert datetime.fromisoformat(dispatched["sub_handling_due_at"]) == at("2026-11-16 17:30")
    sent_back = next(e["detail"] for e in detail["history"] if e["action"] == "sub_sent_back")
    assert sent_back["reason"] == "请附现场照片并说明后续监管措施"

    # evaluation: the government received, handled and closed it; the street office is not counted
    after = _counts(db)
    gained = {unit: {k: getattr(after.get(unit, ev.Counts()), k) - getattr(before.get(unit, ev.Counts()), k)
                     for k in ("received", "handled", "closed", "satisfied")} for unit in (gov, street)}
    assert gained[gov] == {"received": 1, "handled": 1, "closed": 1, "satisfied": 1}
    assert gained[street] == {"received": 0, "handled": 0, "closed": 0, "satisfied": 0}


def test_only_an_active_unit_below_the_government_can_be_chosen(walk, unit_id):
    appeal_id = _to_government(walk, unit_id)
    for other in ("sm_market", "tj_gov", "gl_gov"):  # another district's, a sibling, itself
        resp = _try_assign(walk, appeal_id, {"assign_action": "sub_dispatch", "sub_unit_id": unit_id(other)})
        assert resp.status_code == 400, resp.get_json()
        assert resp.get_json()["error"]["fields"]["sub_unit_id"] == ["下级单位须为鼓楼区人民政府所属、在用的单位"]
    missing = _try_assign(walk, appeal_id, {"assign_action": "sub_dispatch"})
    assert missing.status_code == 400 and "sub_unit_id" in missing.get_json()["error"]["fields"]
    assert walk.open_tasks(appeal_id) == ["ut_assign_handler"]  # nothing happened
    # a department is not a government, a city's government goes through the platform: neither
    # dispatches on, not even to a unit below it
    for lead in ("gl_urban", "fz_gov"):
        other = walk.register()
        walk.complete(other["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
        walk.complete(other["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id(lead)})
        walk.complete(other["id"], f"{lead}_staff", "ut_sign_for", {"sign_decision": "sign"})
        task = walk.task(other["id"], f"{lead}_leader", "ut_assign_handler")
        resp = walk.api.as_(f"{lead}_leader").post(f"/tasks/{task['id']}/complete", json={"data": {
            "assign_action": "sub_dispatch", "sub_unit_id": unit_id("gl_street_wys")}})
        assert resp.status_code == 400, lead
        assert resp.get_json()["error"]["fields"]["sub_unit_id"] == ["只有区县人民政府可以二级派单"]


def test_the_street_office_may_return_it_and_the_government_handles_it_itself(walk, unit_id):
    appeal_id = _to_government(walk, unit_id)
    walk.complete(appeal_id, "gl_gov_leader", "ut_assign_handler",
                  {"assign_action": "sub_dispatch", "sub_unit_id": unit_id("gl_street_wys")})
    walk.complete(appeal_id, "gl_street_wys_staff", "ut_sub_sign_for",
                  {"sub_sign_decision": "return", "sub_return_reason": "该工地位于东街街道辖区"})
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]
    detail = walk.detail(appeal_id)
    returned = next(e["detail"] for e in detail["history"] if e["action"] == "sub_returned")
    assert returned["reason"] == "该工地位于东街街道辖区"
    assert walk.api.as_("gl_street_wys_staff").get(f"/appeals/{appeal_id}").status_code == 403


def test_the_leader_still_assigns_a_handler_as_before(walk, unit_id):
    """Without assign_action (API clients of before), the handler's step follows at once."""
    appeal_id = _to_government(walk, unit_id)
    walk.complete(appeal_id, "gl_gov_leader", "ut_assign_handler", walk.assignment("gl_gov"))
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]
    assert "sub_dispatched" not in [e["action"] for e in walk.detail(appeal_id)["history"]]


def test_a_late_street_office_is_reminded_and_marked_overdue_but_the_government_is_evaluated(walk, unit_id, db, now):
    def run_timers():
        while jobs.run_due(db, "worker-1"):
            pass

    now("2026-11-02 09:00")
    before = _counts(db)
    appeal_id = _to_government(walk, unit_id)
    street = unit_id("gl_street_wys")
    walk.complete(appeal_id, "gl_gov_leader", "ut_assign_handler",
                  {"assign_action": "sub_dispatch", "sub_unit_id": street})
    now("2026-11-04 09:00")  # its sign-for limit (11-03 17:30) ran out
    run_timers()
    task = walk.task(appeal_id, "gl_street_wys_staff", "ut_sub_sign_for")
    assert datetime.fromisoformat(task["due_at"]) == at("2026-11-03 17:30")
    with db.read() as session:
        records = [(r.stage, r.unit_id) for r in session.scalars(
            select(OverdueRecord).where(OverdueRecord.appeal_id == appeal_id))]
        told = {(n.channel, n.recipient) for n in session.scalars(
            select(Notification).where(Notification.business_key == appeal_id))}
    assert records == [("sub_sign_for", street)]
    assert ("sms", f"unit:{street}") in told  # the reminder half a working day before
    assert ("in_app", f"unit:{unit_id('gl_gov')}:leader") in told  # the government hears of it
    detail = walk.detail(appeal_id)
    assert [e["detail"]["stage"] for e in detail["history"] if e["action"] == "overdue"] == ["sub_sign_for"]
    after = _counts(db)
    assert after.get(street, ev.Counts()).late_sign == before.get(street, ev.Counts()).late_sign
    assert after[unit_id("gl_gov")].late_sign == before.get(unit_id("gl_gov"), ev.Counts()).late_sign


def test_the_leaders_form_offers_only_the_governments_own_units(walk, unit_id, browser_as):
    appeal_id = _to_government(walk, unit_id)
    task = walk.task(appeal_id, "gl_gov_leader", "ut_assign_handler")
    page = browser_as("gl_gov_leader").get(f"/tasks/{task['id']}").get_data(as_text=True)
    picker = page[page.index('name="sub_unit_id"'):]
    picker = picker[:picker.index("</select>")]
    assert f'value="{unit_id("gl_street_wys")}"' in picker and "鼓楼区五一街道办事处" in picker
    assert f'value="{unit_id("gl_urban")}"' in picker  # its bureaus too
    for other in ("sm_market", "tj_gov", "gl_gov", "fz_gov"):
        assert f'value="{unit_id(other)}"' not in picker, other
    assert "二级派单给下级单位" in page
