"""The appellant evaluates through a one-time SMS link; no answer in time is "no evaluation"."""
import re
from datetime import datetime

import pytest
from sqlalchemy import delete, select

from hotline.models import Appeal
from runtime import clock, jobs
from runtime.models import Job, Notification
from workdays.calendar import TZ


def _token(db, appeal_id):
    with db.read() as session:
        bodies = session.scalars(select(Notification.body).where(
            Notification.business_key == appeal_id, Notification.recipient == "+8613800001234")).all()
    links = [m for b in bodies for m in re.findall(r"/e/([A-Za-z0-9_-]+)", b)]
    assert len(links) == 1, bodies
    return links[0]


def _replied(walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    return appeal_id


def test_the_appellant_evaluates_once_through_the_sms_link(walk, unit_id, db, client):
    appeal_id = _replied(walk, unit_id)
    token = _token(db, appeal_id)
    page = client.get(f"/e/{token}")
    assert page.status_code == 200 and "已电话告知处理结果" in page.get_data(as_text=True)  # the reply is shown
    assert "13800001234" not in page.get_data(as_text=True)
    missing = client.post(f"/e/{token}", data={"resolved": "yes"})
    assert missing.status_code == 400 and "请选择一项评价" in missing.get_data(as_text=True)
    done = client.post(f"/e/{token}", data={"evaluation": "satisfied", "resolved": "yes", "comment": "处理及时"})
    assert done.status_code == 200 and "感谢" in done.get_data(as_text=True)
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "archived" and detail["appeal"]["satisfaction"] == "satisfied"
    assert "evaluated_by_link" in [e["action"] for e in detail["history"]]
    again = client.get(f"/e/{token}")
    assert again.status_code == 410 and "已完成评价" in again.get_data(as_text=True)
    assert client.post(f"/e/{token}", data={"evaluation": "dissatisfied"}).status_code == 410


def test_dissatisfied_by_link_goes_to_the_responsibility_finding(walk, unit_id, db, client):
    appeal_id = _replied(walk, unit_id)
    client.post(f"/e/{_token(db, appeal_id)}", data={"evaluation": "dissatisfied", "resolved": "no"})
    assert walk.open_tasks(appeal_id) == ["ut_find_responsibility"]


def test_no_answer_within_three_working_days_goes_to_a_phone_return_visit(walk, unit_id, db, client, api):
    """Art. 21, 23: an SMS link left unanswered is followed by a call, not by the archive."""
    with db.transaction() as session:
        session.execute(delete(Job))  # other tests' timers are not this test's business
    clock.set_now(datetime(2026, 3, 2, 10, 0, tzinfo=TZ))  # Monday
    try:
        appeal_id = _replied(walk, unit_id)
        token = _token(db, appeal_id)
        clock.set_now(datetime(2026, 3, 5, 17, 29, tzinfo=TZ))
        jobs.run_due(db, "worker-1")
        assert walk.open_tasks(appeal_id) == ["ut_return_visit"]
        clock.set_now(datetime(2026, 3, 5, 17, 31, tzinfo=TZ))  # three working days, close of office
        jobs.run_due(db, "worker-1")
        assert walk.open_tasks(appeal_id) == ["ut_phone_visit"]  # a call is due; nothing is archived yet
        with db.read() as session:
            assert session.get(Appeal, appeal_id).status == "verifying"
        expired = client.get(f"/e/{token}")
        assert expired.status_code == 410 and "过期" in expired.get_data(as_text=True)
        api.tokens.clear()  # signed in again at the new time
        walk.complete(appeal_id, "revisit1", "ut_phone_visit", {"visit_method": "phone", "evaluation": "no_evaluation"})
        with db.read() as session:
            appeal = session.get(Appeal, appeal_id)
            assert appeal.status == "archived" and appeal.satisfaction == "no_evaluation"  # nobody could be reached
    finally:
        clock.set_now(None)


@pytest.mark.parametrize("token", ["nope", "x" * 300])
def test_an_unknown_link_is_not_found(client, token):
    assert client.get(f"/e/{token}").status_code == 404


def test_the_link_after_a_phone_return_visit_or_the_archive_says_why_it_records_nothing(walk, unit_id, db, client):
    """Issue 13 item 3: the SMS link no longer shows an empty form that silently records nothing."""
    appeal_id = _replied(walk, unit_id)
    token = _token(db, appeal_id)
    assert client.get(f"/e/{token}").status_code == 200  # the appellant's turn
    walk.complete(appeal_id, "revisit1", "ut_return_visit", {"visit_method": "phone", "evaluation": "satisfied",
                                                             "resolved": True})
    page = client.get(f"/e/{token}")
    assert page.status_code == 410 and "评价已关闭" in page.get_data(as_text=True)  # the appeal is archived now
    sent = client.post(f"/e/{token}", data={"evaluation": "dissatisfied"})
    assert sent.status_code == 410 and "不会被记录" in sent.get_data(as_text=True)
    with db.read() as session:
        assert session.get(Appeal, appeal_id).satisfaction == "satisfied"  # nothing changed


def test_one_sms_reaches_the_appellant_at_reply_time(walk, unit_id, db):
    appeal_id = _replied(walk, unit_id)
    with db.read() as session:
        sms = session.scalars(select(Notification.body).where(
            Notification.business_key == appeal_id, Notification.channel == "sms",
            Notification.recipient == "+8613800001234")).all()
    assert len(sms) == 1 and "已办理答复" in sms[0] and "/e/" in sms[0]  # the reply and the link, together
