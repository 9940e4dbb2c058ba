"""The supervision register on a real database: every trigger (repeat dissatisfaction, long
overdue, returned too often, by hand), the item's lifecycle, units seeing only their own items,
and accountability records (Art. 22, 24, 29–31)."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from hotline import accountability, supervision, time_limits
from hotline.models import Appeal, SupervisionItem
from runtime import clock, jobs
from runtime.errors import Conflict, Forbidden, InvalidInput
from runtime.models import HistoryEvent, Job, Notification
from workdays import store as calendar_store
from workdays.calendar import TZ

DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}
FAULT = {"organizer_fault": True, "reason": "敷衍"}


def items_of(db, appeal_id):
    with db.read() as session:
        return list(session.scalars(select(SupervisionItem).where(SupervisionItem.appeal_id == appeal_id)
                                    .order_by(SupervisionItem.id)))


def manual(db, user, appeal_id, **overrides):
    data = {"appeal": str(appeal_id), "reason": "other", "measures": ["rectification_notice"],
            "rectification_days": 3, "note": "群众反映强烈，列入督办"}
    return supervision.open_item(db, {**data, **overrides}, user("supervisor1"))


def test_repeat_dissatisfaction_opens_an_automatic_item_with_a_working_day_deadline(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    for _ in range(2):
        walk.to_replied(appeal_id)
        walk.complete(appeal_id, "revisit1", "ut_return_visit", DISSATISFIED)
        walk.complete(appeal_id, "supervisor1", "ut_find_responsibility", FAULT)
    [item] = items_of(db, appeal_id)
    assert (item.reason, item.source, item.status, item.unit_id) == (
        "repeat_dissatisfaction", "auto", "open", unit_id("gl_urban"))
    assert item.measures == supervision.config()["auto_measures"]
    assert item.rectification_days == supervision.config()["rectification_days"]
    with db.read() as session:
        cal = calendar_store.build(session)
        event = session.scalar(select(HistoryEvent).where(HistoryEvent.business_key == appeal_id,
                                                          HistoryEvent.action == "supervision_opened"))
    assert item.rectification_due_at == cal.add_working_days(item.opened_at, item.rectification_days).at
    assert event.detail["item_id"] == item.id and event.instance_id is not None


@pytest.fixture
def frozen(db):
    """frozen("2026-03-02 10:00") sets the engine clock (released after the test); other tests'
    timers are dropped first, so only this test's come due."""
    with db.transaction() as session:
        session.execute(delete(Job))
    yield lambda text: clock.set_now(datetime.fromisoformat(text).replace(tzinfo=TZ))
    clock.set_now(None)


def _table(appeal_type="complaint"):
    return time_limits.decide(appeal_type)


def test_long_overdue_is_a_timer_that_opens_one_item_after_the_tables_working_days(walk, unit_id, db, frozen):
    """Art. 24, counted in working days by the diagram's timer: a complaint dispatched Wed
    2026-03-04 is due Wed 03-18 17:30 (10 wd); 3 more working days (Thu, Fri, Mon) end Mon 03-23
    17:30, so the weekend is not counted."""
    assert (_table()["handling_limit"], _table()["supervision_limit"]) == ("10wd", "3wd")
    frozen("2026-03-04 10:00")
    late = walk.to_signed(unit_id=unit_id)
    frozen("2026-03-21 12:00")  # Saturday: 3 calendar days late, 2 working days
    jobs.run_due(db, "w")
    assert items_of(db, late) == []
    frozen("2026-03-23 17:31")
    jobs.run_due(db, "w")
    jobs.run_due(db, "w")
    [item] = items_of(db, late)
    assert (item.reason, item.source, item.unit_id) == ("long_overdue", "auto", unit_id("gl_urban"))
    assert "3wd" in item.note
    with db.read() as session:
        assert session.scalar(select(Notification.id).where(
            Notification.business_key == late, Notification.recipient == f"unit:{unit_id('gl_urban')}:leader"))


def test_overdue_after_the_handling_stage_or_with_a_pending_item_opens_nothing_new(walk, unit_id, db, user,
                                                                                  frozen):
    frozen("2026-03-04 10:00")
    replied = walk.to_signed(unit_id=unit_id)
    walk.to_replied(replied)  # now verifying: the handling stage and its timers are over
    pending = walk.to_signed(unit_id=unit_id)
    manual(db, user, pending, reason="long_overdue")
    frozen("2026-03-30 10:00")
    jobs.run_due(db, "w")
    assert items_of(db, replied) == []
    assert [i.source for i in items_of(db, pending)] == ["manual"]


def _return(walk, appeal_id, unit):
    walk.complete(appeal_id, f"{unit}_staff", "ut_sign_for", {"sign_decision": "return", "return_reason": "非本单位职责"})


def test_returned_more_than_n_times_opens_an_item_on_the_next_dispatch(walk, unit_id, db):
    """The diagram counts the returns and, after a dispatch, puts the appeal under supervision
    once they exceed the table's max_returns; the item is the new lead unit's."""
    limit = _table()["max_returns"]
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("fz_market")})
    for n in range(1, limit + 2):
        _return(walk, appeal["id"], "fz_market")
        walk.complete(appeal["id"], "dispatcher1", "ut_handle_return",
                      {"return_decision": "redispatch", "lead_unit_id": unit_id("fz_market" if n <= limit else "gl_urban")})
        detail = walk.detail(appeal["id"])["appeal"]
        with db.read() as session:
            assert session.get(Appeal, appeal["id"]).return_count == n
        assert bool(items_of(db, appeal["id"])) == (n > limit), n
    [item] = items_of(db, appeal["id"])
    assert (item.reason, item.unit_id) == ("repeated_returns", unit_id("gl_urban")) == (
        "repeated_returns", detail["lead_unit_id"])
    assert str(limit + 1) in item.note


def test_a_supervisor_opens_an_item_by_hand_and_the_input_is_checked(walk, unit_id, db, user):
    appeal_id = walk.to_signed(unit_id=unit_id)
    with pytest.raises(InvalidInput) as err:
        supervision.open_item(db, {"appeal": "FJ00000000-999999", "reason": "nonsense", "measures": ["bribe"],
                                   "rectification_days": 0, "note": " "}, user("supervisor1"))
    assert set(err.value.fields) == {"appeal", "reason", "measures", "rectification_days", "note"}
    with pytest.raises(Forbidden):
        manual(db, lambda _name: user("gl_urban_leader"), appeal_id)
    undispatched = walk.register()
    with pytest.raises(InvalidInput) as err:
        manual(db, user, undispatched["number"])
    assert "appeal" in err.value.fields
    item = manual(db, user, walk.detail(appeal_id)["appeal"]["number"],
                  measures=["interview_reminder", "special_report"])
    assert (item.source, item.opened_by_id, item.measures) == (
        "manual", user("supervisor1").id, ["special_report", "interview_reminder"])
    with pytest.raises(Conflict):
        manual(db, user, appeal_id)


def test_lifecycle_respond_send_back_respond_close_with_history(walk, unit_id, db, user):
    appeal_id = walk.to_signed(unit_id=unit_id)
    item = manual(db, user, appeal_id)
    for outsider in ("gl_urban_staff", "sm_market_leader", "supervisor1"):
        with pytest.raises(Forbidden):
            supervision.respond(db, item.id, "已整改", [], user(outsider))
    with pytest.raises(InvalidInput):
        supervision.respond(db, item.id, "  ", [], user("gl_urban_leader"))
    with pytest.raises(InvalidInput) as err:
        supervision.respond(db, item.id, "已整改", [2**31 - 1], user("gl_urban_leader"))
    assert "attachment_ids" in err.value.fields
    with pytest.raises(Conflict):
        supervision.reopen(db, item.id, "不行", user("supervisor1"))  # nothing to send back yet
    assert supervision.respond(db, item.id, "已约谈施工方", [], user("gl_urban_leader")).status == "responded"
    with pytest.raises(Conflict):
        supervision.respond(db, item.id, "再次反馈", [], user("gl_urban_leader"))
    with pytest.raises(Forbidden):
        supervision.close(db, item.id, "办结", user("gl_urban_leader"))
    assert supervision.reopen(db, item.id, "请补充整改照片", user("supervisor1")).status == "open"
    supervision.respond(db, item.id, "已补充照片", [], user("gl_urban_leader"))
    with pytest.raises(InvalidInput):
        supervision.close(db, item.id, "", user("supervisor1"))
    closed = supervision.close(db, item.id, "整改到位，同意办结", user("supervisor1"))
    assert (closed.status, closed.unit_response, closed.closing_note) == ("closed", "已补充照片", "整改到位，同意办结")
    with pytest.raises(Conflict):
        supervision.close(db, item.id, "again", user("supervisor1"))
    supervisor = user("supervisor1")
    with db.read() as session:
        view = supervision.get_item(session, item.id, supervisor)
    assert [e.action for e in view["history"]] == [
        "supervision_opened", "supervision_responded", "supervision_sent_back", "supervision_responded",
        "supervision_closed"]
    assert all(e.business_key == appeal_id for e in view["history"])


def test_units_see_only_their_own_items(walk, unit_id, db, user):
    mine = manual(db, user, walk.to_signed(unit_id=unit_id))
    theirs = manual(db, user, walk.to_signed(lead="sm_market", unit_id=unit_id))
    people = {name: user(name) for name in ("gl_urban_staff", "gl_urban_leader", "owner1", "analyst1", "intake1")}
    with db.read() as session:  # (one session at a time: SQLite readers hold the write lock here)
        for username in ("gl_urban_staff", "gl_urban_leader"):
            seen = {r["item"].id for r in supervision.list_items(session, people[username], supervision.Filters(
                unit_id=unit_id("sm_market"), limit=200))}
            assert mine.id in seen and theirs.id not in seen
            with pytest.raises(Forbidden):
                supervision.get_item(session, theirs.id, people[username])
        everything = {r["item"].id for r in supervision.list_items(session, people["owner1"],
                                                                    supervision.Filters(limit=200))}
        assert {mine.id, theirs.id} <= everything
        for username in ("analyst1", "intake1"):
            with pytest.raises(Forbidden):
                supervision.list_items(session, people[username], supervision.Filters())


def test_register_filters_by_status_reason_unit_and_overdue_rectification(walk, unit_id, db, user):
    late = manual(db, user, walk.to_signed(unit_id=unit_id), reason="return_visit_problem")
    with db.transaction() as session:
        session.get(SupervisionItem, late.id).rectification_due_at = clock.now() - timedelta(hours=1)
    on_time = manual(db, user, walk.to_signed(unit_id=unit_id), reason="return_visit_problem")

    supervisor = user("supervisor1")

    def ids(**kw):
        with db.read() as session:
            return {r["item"].id for r in supervision.list_items(session, supervisor,
                                                                 supervision.Filters(limit=200, **kw))}
    assert late.id in ids(overdue=True) and on_time.id not in ids(overdue=True)
    assert {late.id, on_time.id} <= ids(reason="return_visit_problem", unit_id=unit_id("gl_urban"), status="open")
    assert late.id not in ids(status="closed") and late.id not in ids(unit_id=unit_id("sm_market"))
    assert late.id not in ids(reason="repeat_dissatisfaction")


def test_accountability_against_a_unit_or_platform_staff(walk, unit_id, db, user):
    appeal_id = walk.to_signed(unit_id=unit_id)
    number = walk.detail(appeal_id)["appeal"]["number"]
    other = walk.to_signed(lead="sm_market", unit_id=unit_id)
    supervisor = user("supervisor1")
    with pytest.raises(InvalidInput) as err:
        accountability.record(db, {"subject": "unit", "unit_id": unit_id("gl_urban"), "article": "29(1)",
                                   "measure": "jail", "finding": "", "appeals": f"{number} {other} FJ1"}, supervisor)
    assert set(err.value.fields) == {"article", "measure", "finding", "appeals"}
    assert len(err.value.fields["appeals"]) == 2  # not dispatched to the unit; unknown number
    with pytest.raises(Forbidden):
        accountability.record(db, {"subject": "unit"}, user("owner1"))
    row = accountability.record(db, {"subject": "unit", "unit_id": unit_id("gl_urban"), "article": "30(3)",
                                     "measure": "circulated_criticism", "finding": "督办后仍敷衍",
                                     "appeals": f"{number}，{appeal_id}"}, supervisor)
    assert row.appeal_ids == [appeal_id] and row.user_id is None
    with pytest.raises(InvalidInput) as err:
        accountability.record(db, {"subject": "staff", "user": "gl_urban_staff", "article": "29(2)",
                                   "measure": "written_examination", "finding": "未及时登记",
                                   "appeals": number}, supervisor)
    assert set(err.value.fields) == {"user"}  # organizer staff are not platform staff (Art. 29)
    staff = accountability.record(db, {"subject": "staff", "user": "intake1", "article": "29(2)",
                                       "measure": "written_examination", "finding": "未及时登记",
                                       "appeals": number}, supervisor)
    with db.read() as session:
        listed = accountability.list_records(session, supervisor)
        events = session.scalars(select(HistoryEvent.detail).where(
            HistoryEvent.business_key == appeal_id, HistoryEvent.action == "accountability_recorded")).all()
    found = {r["record"].id: r for r in listed}
    assert found[row.id]["unit_name"] == "鼓楼区城市管理局" and found[staff.id]["user_name"]
    assert found[row.id]["appeals"] == [(appeal_id, number)]
    assert {e["record_id"] for e in events} == {row.id, staff.id}


def test_an_item_opened_before_escalation_existed_keeps_the_registers_rules(walk, unit_id, db, user):
    """Items opened before migration 0011 have no process of their own: the register's own
    rules decide what may be done with them (respond while open, send back once answered,
    close unless closed), and nothing escalates them."""
    item = manual(db, user, walk.to_signed(unit_id=unit_id))
    with db.transaction() as session:
        row = session.get(SupervisionItem, item.id)
        session.execute(delete(Job).where(Job.instance_id == row.instance_id))
        row.instance_id = None
    with pytest.raises(Conflict):
        supervision.reopen(db, item.id, "不行", user("supervisor1"))
    assert supervision.respond(db, item.id, "已整改", [], user("gl_urban_leader")).status == "responded"
    with pytest.raises(Conflict):
        supervision.respond(db, item.id, "再次", [], user("gl_urban_leader"))
    assert supervision.reopen(db, item.id, "请补充", user("supervisor1")).status == "open"
    assert supervision.close(db, item.id, "办结", user("supervisor1")).status == "closed"
    with pytest.raises(Conflict):
        supervision.close(db, item.id, "again", user("supervisor1"))
