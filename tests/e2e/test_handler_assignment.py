"""The leader picks the handler from the unit's staff (issue 13, item 15): the handling task
then goes to that person, not to every worker of the unit; a handler who is not on the unit's
staff is refused with a field message."""
import uuid

import pytest
from sqlalchemy import select

from hotline import accounts, demo
from hotline.models import User
from runtime.models import UserTask


@pytest.fixture(scope="module")
def second_staff(app):
    """A second staff member of 鼓楼区城市管理局 (demo password), so "to whom" is a real choice."""
    from web import get_db
    with get_db(app).transaction() as session:
        unit = session.scalar(select(User.unit_id).where(User.username == "gl_urban_staff"))
        person = User(username=f"gl_urban_staff_{uuid.uuid4().hex[:6]}", display_name="鼓楼城管 王五",
                      role="organizer_staff", unit_id=unit, password_hash=accounts.hash_password(demo.DEMO_PASSWORD))
        session.add(person)
        session.flush()
        session.expunge(person)
    return person


def _record_result(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(UserTask).where(UserTask.business_key == appeal_id, UserTask.state == "open",
                                                     UserTask.bpmn_id == "ut_record_result"))


def test_the_handling_task_goes_to_the_handler_the_leader_picked(walk, unit_id, db, user, second_staff, api):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    walk.complete(appeal["id"], "gl_urban_leader", "ut_assign_handler",
                  {"department": "执法科", "handler_id": second_staff.id})

    task = _record_result(db, appeal["id"])
    assert task.claimed_by_id == second_staff.id  # theirs from the start
    assert task.id in [t["id"] for t in api.tasks(second_staff.username)]
    # the other staff member may see it in the unit's list but cannot complete it
    refused = api.as_("gl_urban_staff").post(f"/tasks/{task.id}/complete", json={"data": {
        "result_action": "submit_result", "result": "已处理", "resolved": True}})
    assert refused.status_code == 409, refused.get_json()
    assert "claimed" in refused.get_json()["error"]["message"]
    timeline = walk.detail(appeal["id"])["history"]
    assert any(e["action"] == "task_assigned" and e["detail"] == {"assignee_id": second_staff.id} for e in timeline)


@pytest.mark.parametrize("who", ["gl_urban_leader", "fz_market_staff", "nobody"])
def test_a_handler_outside_the_units_staff_is_refused_with_a_field_message(walk, unit_id, user, who):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    handler = 999_999 if who == "nobody" else user(who).id
    body = walk.complete(appeal["id"], "gl_urban_leader", "ut_assign_handler",
                         {"department": "执法科", "handler_id": handler}, expect=400)
    assert "handler_id" in body["error"]["fields"]
    assert "ut_assign_handler" in walk.open_tasks(appeal["id"])  # nothing was lost or moved on


def test_the_leaders_form_offers_the_units_staff_only(walk, unit_id, browser_as, user, second_staff, db):
    appeal = walk.register()
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    with db.read() as session:
        task_id = session.scalar(select(UserTask.id).where(UserTask.business_key == appeal["id"],
                                                           UserTask.bpmn_id == "ut_assign_handler"))
    html = browser_as("gl_urban_leader").get(f"/tasks/{task_id}").get_data(as_text=True)
    select_html = html[html.index('name="handler_id"'):]
    select_html = select_html[:select_html.index("</select>")]
    assert f'value="{user("gl_urban_staff").id}"' in select_html and "鼓楼城管 王五" in select_html
    assert f'value="{user("gl_urban_leader").id}"' not in select_html  # a leader is not a handler
    assert f'value="{user("fz_market_staff").id}"' not in select_html  # nor another unit's staff
