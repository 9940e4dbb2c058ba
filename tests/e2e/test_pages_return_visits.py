"""Random return visits and ordered checks (Art. 23): reproducible sampling, results with a photo."""
import hashlib
import io
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline import attachments
from hotline import return_visits as sampling
from hotline.models import Attachment, ReturnVisitSample
from runtime.errors import Forbidden

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}


def _archived(walk, unit_id, n=1, lead="gl_urban"):
    ids = []
    for _ in range(n):
        appeal_id = walk.to_signed(unit_id=unit_id, lead=lead)
        walk.to_replied(appeal_id, lead=lead)
        walk.complete(appeal_id, "revisit1", "ut_return_visit", SATISFIED)
        ids.append(appeal_id)
    return ids


def test_the_sample_is_reproducible_and_follows_the_rates(walk, unit_id, db, user):
    ids = set(_archived(walk, unit_id, 6))
    today = date.today()
    rates = {"default": 0.5, "by_unit": {"sm_market": 0.0}}
    numbers = {i: walk.detail(i)["appeal"]["number"] for i in ids}
    expected = {i for i, n in numbers.items() if sampling.drawn("seed-A", n, 0.5)}
    chosen = set(sampling.draw_sample(db, today - timedelta(days=1), today + timedelta(days=1), "seed-A",
                                      user("supervisor1"), rates)) & ids
    assert chosen == expected  # the same seed always draws the same appeals
    again = set(sampling.draw_sample(db, today, today, "seed-A", user("supervisor1"), rates)) & ids
    assert again == set()  # never drawn twice
    assert sampling.rate_for({"default": 0.1, "by_type": {"help": 0.3}, "by_unit": {"gl_urban": 1.0}},
                             "help", "gl_urban") == 1.0
    assert sampling.rate_for({"default": 0.1, "by_type": {"help": 0.3}}, "help", "xm_env") == 0.3
    assert sampling.rate_for({"default": 0.1}, "complaint", None) == 0.1
    with pytest.raises(Forbidden):
        sampling.draw_sample(db, today, today, "x", user("gl_urban_staff"), rates)


def test_a_supervisor_orders_an_on_site_check_and_staff_record_it_with_a_photo(walk, unit_id, db, browser_as):
    appeal_id = _archived(walk, unit_id)[0]
    number = walk.detail(appeal_id)["appeal"]["number"]
    supervisor = browser_as("supervisor1")
    resp = supervisor.post("/revisits/order", data={"number": number, "method": "on_site", "note": "核实施工是否停止"},
                           follow_redirects=True)
    assert "已安排" in resp.get_data(as_text=True)
    with db.read() as session:
        sample = session.scalar(select(ReturnVisitSample).where(ReturnVisitSample.appeal_id == appeal_id,
                                                                ReturnVisitSample.method == "on_site"))
    staff = browser_as("revisit1")
    page = staff.get("/revisits").get_data(as_text=True)
    assert number in page and "实地核查" in page and "138****" not in page  # platform staff see the full number
    import io
    photo = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 64), "现场.png")
    missing = staff.post(f"/revisits/{sample.id}/record", data={"comment": "x"}, follow_redirects=True)
    assert "请选择诉求人评价" in missing.get_data(as_text=True)
    done = staff.post(f"/revisits/{sample.id}/record", data={"evaluation": "satisfied", "resolved": "yes",
                                                             "comment": "现场已停工", "file": photo},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "核查结果已记录" in done.get_data(as_text=True)
    with db.read() as session:
        sample = session.get(ReturnVisitSample, sample.id)
    assert sample.evaluation == "satisfied" and sample.resolved and len(sample.attachment_ids) == 1
    assert "return_visit_recorded" in [e["action"] for e in walk.detail(appeal_id)["history"]]
    again = staff.post(f"/revisits/{sample.id}/record", data={"evaluation": "dissatisfied"}, follow_redirects=True)
    assert "已记录或不存在" in again.get_data(as_text=True)


@pytest.mark.parametrize("username, status", [("revisit1", 200), ("supervisor1", 200), ("gl_urban_staff", 403),
                                              ("intake1", 403), ("analyst1", 403)])
def test_who_may_open_the_return_visit_page(browser_as, username, status):
    assert browser_as(username).get("/revisits").status_code == status


def test_only_supervisors_draw_and_order(browser_as, client):
    assert browser_as("revisit1").post("/revisits/order", data={"number": "x", "method": "phone"}).status_code == 403
    assert browser_as("revisit1").post("/revisits/sample", data={}).status_code == 403
    assert client.get("/revisits").status_code == 302


def test_a_refused_result_leaves_no_uploaded_file_behind(walk, unit_id, db, browser_as, user, app):
    """The photo and the result are one unit of work: a result refused for a missing evaluation
    keeps neither the file's row nor the file."""
    appeal_id = _archived(walk, unit_id)[0]
    sample = sampling.order_check(db, appeal_id, "phone", "", user("supervisor1"))
    content = b"\x89PNG\r\n\x1a\n" + os.urandom(64)  # content no other test uploaded
    staff = browser_as("revisit1")
    resp = staff.post(f"/revisits/{sample.id}/record", data={"comment": "x", "file": (io.BytesIO(content), "a.png")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "请选择诉求人评价" in resp.get_data(as_text=True)
    stored = attachments.path_for(Path(app.config["ATTACHMENT_DIR"]), hashlib.sha256(content).hexdigest())
    with db.read() as session:
        rows = session.scalars(select(Attachment).where(Attachment.appeal_id == appeal_id)).all()
    assert rows == [] and not stored.exists()
    resp = staff.post(f"/revisits/{sample.id}/record", data={"evaluation": "satisfied", "file": (
        io.BytesIO(content), "a.png")}, content_type="multipart/form-data", follow_redirects=True)
    assert "核查结果已记录" in resp.get_data(as_text=True) and stored.exists()
