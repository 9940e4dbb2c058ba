"""Art. 24 through the register's API and pages: a supervision item not answered by its
rectification deadline escalates along 督办通知 (notice) -> 整改通知书 (rectification notice) ->
约谈提醒 (interview reminder), each with its own date, as processes/supervision.bpmn draws it
and processes/supervision.yaml times it (3, 3 and 2 working days); a response, or closing by a
supervisor, ends the escalation. Art. 22: one open item per appeal, never a pile.

The clock is the engine's (runtime.clock.set_now) and timers fire as the worker fires them
(runtime.jobs.run_due). Every date below is a working day of March 2026 (no holiday in it):

    item opened        Mon 03-02 10:00, 3 working days to rectify   -> due Thu 03-05 17:30
    notice             issued Thu 03-05 17:31, 3 working days       -> answer by Tue 03-10 17:30
    rectification      issued Tue 03-10 17:31, 3 working days       -> answer by Fri 03-13 17:30
    interview reminder issued Fri 03-13 17:31, 2 working days       -> interview by Tue 03-17 17:30
"""
from datetime import datetime

import pytest
from sqlalchemy import delete, select

from hotline import supervision
from hotline.models import Appeal, SupervisionItem
from runtime import clock, jobs
from runtime.models import HistoryEvent, Job, Notification, ProcessInstance
from workdays.calendar import TZ


@pytest.fixture
def frozen(db, api):
    """frozen("2026-03-02 10:00") sets the engine clock (released after the test). Timers other
    tests left are dropped first, so only this test's come due; API tokens are signed again after
    each move (a jump of days outlives them)."""
    with db.transaction() as session:
        session.execute(delete(Job))

    def move(text):
        clock.set_now(datetime.fromisoformat(text).replace(tzinfo=TZ))
        api.tokens.clear()
    yield move
    clock.set_now(None)


def open_by_hand(browser_as, appeal_id, days=3, reason="return_visit_problem", expect=303):
    """A supervisor opens an item on the register's page; returns the response."""
    resp = browser_as("supervisor1").post("/supervision/new", data={
        "appeal": str(appeal_id), "reason": reason, "measures": ["rectification_notice"],
        "rectification_days": str(days), "note": "回访发现工地仍夜间施工"})
    assert resp.status_code == expect, resp.get_data(as_text=True)[:300]
    return resp


def item_of(db, appeal_id) -> SupervisionItem:
    with db.read() as session:
        return session.scalar(select(SupervisionItem).where(SupervisionItem.appeal_id == appeal_id)
                              .order_by(SupervisionItem.id.desc()).limit(1))


def register_item(api, item_id, username="supervisor1"):
    resp = api.as_(username).get(f"/supervision-items/{item_id}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def supervision_jobs(db, item_id):
    with db.read() as session:
        instance_id = session.get(SupervisionItem, item_id).instance_id
        return list(session.scalars(select(Job.due_at).where(Job.instance_id == instance_id)))


def test_an_item_not_answered_escalates_through_three_levels_each_with_its_date(
        walk, unit_id, api, browser_as, db, frozen):
    """Art. 24: not answered by the rectification deadline -> a notice with a new date; still not
    -> a rectification notice; still not -> an interview reminder, the last level. Each level is
    in the appeal's history, on the item (register API and pages) and sent to the unit's leader;
    the appeal itself stays where its own process is."""
    frozen("2026-03-02 10:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    open_by_hand(browser_as, appeal_id, days=3)
    item = item_of(db, appeal_id)
    body = register_item(api, item.id)
    assert (body["status"], body["escalation_level"], body["escalations"]) == ("open", None, [])
    assert body["rectification_due_at"] == body["current_due_at"] == "2026-03-05T17:30:00+08:00"
    assert [d.astimezone(TZ).isoformat() for d in supervision_jobs(db, item.id)] == ["2026-03-05T17:30:00+08:00"]

    frozen("2026-03-05 17:00")  # not due yet
    jobs.run_due(db, "worker-1")
    assert register_item(api, item.id)["escalation_level"] is None

    expected = []
    for now, level, answer_by in (("2026-03-05 17:31", "notice", "2026-03-10T17:30:00+08:00"),
                                  ("2026-03-10 17:31", "rectification_notice", "2026-03-13T17:30:00+08:00"),
                                  ("2026-03-13 17:31", "interview_reminder", "2026-03-17T17:30:00+08:00")):
        frozen(now)
        jobs.run_due(db, "worker-1")
        expected.append({"level": level, "issued_at": f"{now.replace(' ', 'T')}:00+08:00", "due_at": answer_by})
        body = register_item(api, item.id, "gl_urban_leader")
        assert (body["status"], body["escalation_level"], body["current_due_at"]) == ("open", level, answer_by)
        assert body["escalations"] == expected

    frozen("2026-03-31 10:00")  # the interview reminder is the last level: nothing fires any more
    jobs.run_due(db, "worker-1")
    assert supervision_jobs(db, item.id) == []
    assert [e["level"] for e in register_item(api, item.id)["escalations"]] == [
        "notice", "rectification_notice", "interview_reminder"]

    listed = api.as_("supervisor1").get("/supervision-items?escalation=interview_reminder&limit=200").get_json()
    assert item.id in {r["item"]["id"] for r in listed["items"]}
    assert item.id not in {r["item"]["id"] for r in api.as_("supervisor1").get(
        "/supervision-items?escalation=notice&limit=200").get_json()["items"]}

    page = browser_as("supervisor1").get("/supervision").get_data(as_text=True)
    assert f"督办 #{item.id}" in page and "约谈提醒" in page and "2026-03-17 前反馈" in page
    page = browser_as("gl_urban_leader").get(f"/supervision/items/{item.id}").get_data(as_text=True)
    for text in ("逾期升级（第二十四条）", "督办通知", "整改通知书", "约谈提醒", "2026-03-10 17:30", "2026-03-13 17:30",
                 "2026-03-17 17:30", "逾期升级督办"):
        assert text in page, text

    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "handling"  # the item's process leaves the appeal's status alone
    actions = [e["action"] for e in detail["history"]]
    assert actions.count("supervision_escalated") == 3
    with db.read() as session:
        texts = session.scalars(select(Notification.body).where(
            Notification.business_key == appeal_id,
            Notification.recipient == f"unit:{unit_id('gl_urban')}:leader")).all()
    for level_text, date in (("督办通知", "2026-03-10"), ("整改通知书", "2026-03-13"), ("约谈提醒", "2026-03-17")):
        assert any(level_text in t and date in t for t in texts), (level_text, texts)
    appeal_page = browser_as("supervisor1").get(f"/appeals/{appeal_id}?tab=history").get_data(as_text=True)
    assert "督办逾期升级" in appeal_page and "启动督办流程" in appeal_page

    resp = api.as_("gl_urban_leader").post(f"/supervision-items/{item.id}/respond", json={"response": "已约谈并整改"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "responded"
    resp = api.as_("supervisor1").post(f"/supervision-items/{item.id}/close", json={"note": "整改到位"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed"
    with db.read() as session:
        assert session.get(ProcessInstance, item.instance_id).status == "completed"
        assert session.get(Appeal, appeal_id).closed_at is None  # the appeal's own process runs on


def test_a_response_stops_the_escalation_and_a_send_back_resumes_it(walk, unit_id, api, db, user, frozen):
    """Art. 24: the unit answers before the deadline, so nothing escalates however long the
    supervisor takes; sent back after the deadline has passed, the deadline still runs and the
    notice follows at once; closing ends it for good."""
    frozen("2026-03-02 10:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    item = supervision.open_item(db, {"appeal": str(appeal_id), "reason": "other", "measures": ["special_report"],
                                      "rectification_days": 3, "note": "群众反映强烈"},
                                 user("supervisor1"))
    frozen("2026-03-04 09:00")
    resp = api.as_("gl_urban_leader").post(f"/supervision-items/{item.id}/respond", json={"response": "已整改"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "responded"
    assert supervision_jobs(db, item.id) == []
    frozen("2026-03-20 10:00")
    jobs.run_due(db, "worker-1")
    assert register_item(api, item.id)["escalation_level"] is None

    resp = api.as_("gl_urban_leader").post(f"/supervision-items/{item.id}/respond", json={"response": "再次"})
    assert resp.status_code == 409  # answered already: the process waits for the supervisor now

    supervision.reopen(db, item.id, "请补充现场照片", user("supervisor1"))
    jobs.run_due(db, "worker-1")
    body = register_item(api, item.id)
    assert (body["status"], body["escalation_level"]) == ("open", "notice")
    assert body["escalations"][0]["due_at"] == "2026-03-25T17:30:00+08:00"  # Fri 03-20 + 3 working days

    resp = api.as_("supervisor1").post(f"/supervision-items/{item.id}/close", json={"note": "已核实"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed"
    assert supervision_jobs(db, item.id) == []
    frozen("2026-04-30 10:00")
    jobs.run_due(db, "worker-1")
    assert [e["level"] for e in register_item(api, item.id)["escalations"]] == ["notice"]
    assert api.as_("supervisor1").post(f"/supervision-items/{item.id}/close", json={"note": "x"}).status_code == 409


def test_one_open_item_per_appeal(walk, unit_id, api, browser_as, db, frozen):
    """Art. 22 (and 24): while an item is open, an automatic trigger (here the handling limit
    overrun by the table's supervision_limit) adds its reason to that item, recorded in history,
    instead of opening another; a supervisor opening a second by hand is refused with 409 and
    told why. Once the item is closed, the appeal may be supervised again, with a process of its
    own."""
    frozen("2026-03-04 10:00")
    appeal_id = walk.to_signed(unit_id=unit_id)
    open_by_hand(browser_as, appeal_id, days=20, reason="other")
    first = item_of(db, appeal_id)

    resp = open_by_hand(browser_as, appeal_id, reason="repeat_dissatisfaction", expect=409)
    assert "该诉求已有尚未办结的督办事项" in resp.get_data(as_text=True)

    frozen("2026-03-23 17:31")  # handling due Wed 03-18 17:30, + 3 working days (Art. 24's long overdue)
    jobs.run_due(db, "worker-1")
    jobs.run_due(db, "worker-1")
    with db.read() as session:
        items = session.scalars(select(SupervisionItem).where(SupervisionItem.appeal_id == appeal_id)).all()
        added = session.scalars(select(HistoryEvent.detail).where(
            HistoryEvent.business_key == appeal_id, HistoryEvent.action == "supervision_reason_added")).all()
    assert [i.id for i in items] == [first.id]
    assert added == [{"item_id": first.id, "reason": "long_overdue", "note": added[0]["note"], "source": "auto"}]
    body = register_item(api, first.id)
    assert (body["reason"], body["reasons"]) == ("other", ["other", "long_overdue"])
    listed = api.as_("supervisor1").get("/supervision-items?reason=long_overdue&limit=200").get_json()["items"]
    assert first.id in {r["item"]["id"] for r in listed}
    page = browser_as("supervisor1").get(f"/supervision/items/{first.id}").get_data(as_text=True)
    assert "办理严重超期" in page and "新增督办原因" in page

    assert api.as_("supervisor1").post(f"/supervision-items/{first.id}/close", json={"note": "办结"}).status_code == 200
    open_by_hand(browser_as, appeal_id, reason="repeat_dissatisfaction")
    second = item_of(db, appeal_id)
    assert second.id != first.id and second.instance_id not in (None, first.instance_id)
    assert register_item(api, second.id)["status"] == "open"

