"""Issue 13, items 6 to 9, over HTTP: the on-the-spot answer is confirmed before it is recorded;
the extension decisions show what is asked (days, reason, the deadline now and with them, on
the working-day calendar); the return review is one screen from the inbox and from the
dispatch queue; an upload sends the browser back to the task, keeping what was typed."""
import io
import re

from sqlalchemy import func, select

from hotline.models import Appeal, Attachment, TaskDraft
from workdays import deadlines, store
from workdays.calendar import TZ

from .test_api_errors import png
from .test_pages_inbox import field_html, text
from .test_pages_intake import appeal_by_number, call

EXTENSION = {"result_action": "apply_extension", "extension_reason": "需住建、城管两部门联合核查"}


def shown(page: str, element_id: str) -> str:
    """The text of the element with that id (tags dropped, spaces squeezed)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</dd>', page, re.DOTALL)
    assert match, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def local(at) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


# -- item 6: the on-the-spot answer ---------------------------------------------------------------

def test_the_one_click_answer_is_shown_for_editing_and_confirmed_first(browser_as):
    page = text(browser_as("intake1").get("/intake"))
    dialog = re.search(r'<dialog id="answer-confirm".*?</dialog>', page, re.DOTALL).group(0)
    assert '<textarea id="answer-confirm-text"' in dialog and "确认答复并结束来电" in dialog and "返回修改" in dialog
    assert 'name=' not in dialog  # the preview is not sent itself: what it confirms goes into the answer field


def test_the_answer_recorded_is_the_one_confirmed(browser_as, db):
    edited = "请先拨打12333挂失；来电人在鼓楼区，可到五四路社保服务网点补办。"
    resp = browser_as("intake1").post("/intake", data=call(
        "13911110601", appeal_type="consultation", content="社保卡丢了怎么补办", assessment="answer_on_spot",
        answer=edited), follow_redirects=True)
    assert "已当场答复" in text(resp)
    assert appeal_by_number(db, text(resp)).answer == edited


# -- item 7: what an extension asks --------------------------------------------------------------

def _extended_due(db, appeal_id, working_days):
    """The handling deadline `working_days` from the dispatch, on the calendar (what the page must show)."""
    with db.read() as session:
        appeal = session.get(Appeal, appeal_id)
        return deadlines.due(store.build(session), appeal.dispatched_at, f"{working_days}wd").at


def _handling_due(db, appeal_id):
    with db.read() as session:
        return session.get(Appeal, appeal_id).handling_due_at


def test_leader_and_platform_see_the_days_reason_and_both_deadlines(browser_as, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)  # a complaint: 10 working days from dispatch
    before = _handling_due(db, appeal_id)
    assert before == _extended_due(db, appeal_id, 10)
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result", {**EXTENSION, "extension_days": 3})
    expected = _extended_due(db, appeal_id, 13)

    consent = walk.task(appeal_id, "gl_urban_leader", "ut_leader_consent")["id"]
    page = text(browser_as("gl_urban_leader").get(f"/tasks/{consent}"))
    assert shown(page, "ext-days") == "3 个工作日"
    assert shown(page, "ext-reason") == EXTENSION["extension_reason"]
    assert shown(page, "ext-current") == local(before)
    assert shown(page, "ext-resulting") == local(expected)
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})

    approval = walk.task(appeal_id, "dispatcher1", "ut_platform_approval")
    assert approval["due_at"] is not None  # the approval runs against the handling deadline
    page = text(browser_as("dispatcher1").get(f"/tasks/{approval['id']}"))
    assert shown(page, "ext-days") == "3 个工作日" and shown(page, "ext-current") == local(before)
    assert shown(page, "ext-resulting") == local(expected)
    badge = re.search(r'<div class="due">\s*<span class="badge big (\w+)">([^<]+)</span>', page)
    assert badge and badge.group(2).startswith("剩余"), "no deadline badge on the platform's approval"
    assert f"截止 {local(before)}" in page

    walk.complete(appeal_id, "dispatcher1", "ut_platform_approval", {"extension_approved": True, "approved_days": 3})
    assert _handling_due(db, appeal_id) == expected  # what was shown is what the approval applied


def test_a_second_extension_adds_only_its_own_days(browser_as, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    for days, total in ((3, 13), (2, 15)):
        walk.complete(appeal_id, "gl_urban_staff", "ut_record_result", {**EXTENSION, "extension_days": days})
        consent = walk.task(appeal_id, "gl_urban_leader", "ut_leader_consent")["id"]
        page = text(browser_as("gl_urban_leader").get(f"/tasks/{consent}"))
        assert shown(page, "ext-resulting") == local(_extended_due(db, appeal_id, total)), days
        walk.complete(appeal_id, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
        walk.complete(appeal_id, "dispatcher1", "ut_platform_approval",
                      {"extension_approved": True, "approved_days": days})
        assert _handling_due(db, appeal_id) == _extended_due(db, appeal_id, total), days


def test_other_task_pages_show_no_extension_request(browser_as, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    assert 'id="extension-asked"' not in text(browser_as("gl_urban_staff").get(f"/tasks/{task_id}"))


# -- item 8: one return-review screen --------------------------------------------------------------

def _returned(walk, unit_id):
    appeal = walk.register(appellant={"kind": "citizen", "phone": "13911110801"})
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {
        "sign_decision": "return", "return_reason": "属于市场监管职责", "suggested_unit_id": unit_id("fz_market")})
    return appeal["id"], walk.task(appeal["id"], "dispatcher1", "ut_handle_return")["id"]


def test_the_return_review_from_the_inbox_is_the_dispatch_screen_and_returns_there(browser_as, walk, unit_id):
    appeal_id, task_id = _returned(walk, unit_id)
    dispatcher = browser_as("dispatcher1")
    resp = dispatcher.get(f"/tasks/{task_id}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/intake/dispatch/{task_id}?next=/inbox"
    from_inbox = text(dispatcher.get(resp.headers["Location"]))
    from_queue = text(dispatcher.get(f"/intake/dispatch/{task_id}"))
    for page in (from_inbox, from_queue):
        assert "退回审核" in page and "单位树" in page and "属于市场监管职责" in page and "退回单位建议改派" in page
        assert 'name="co_unit_ids" value=' in page and " multiple" not in page  # ticks, not a Ctrl-click list
    assert '<a href="/inbox">← 我的待办</a>' in from_inbox
    assert '<a href="/intake/dispatch">← 派单队列</a>' in from_queue
    done = dispatcher.post(f"/intake/dispatch/{task_id}?next=/inbox", data={
        "return_decision": "redispatch", "lead_unit_id": str(unit_id("fz_market")), "note": "改派市场监管"})
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"
    assert walk.task(appeal_id, "fz_market_staff", "ut_sign_for")
    # done: the inbox link shows the completed task, not the dispatch screen
    assert dispatcher.get(f"/tasks/{task_id}").status_code == 200


def test_the_dispatch_screen_returns_only_to_pages_of_this_site(browser_as, walk, unit_id):
    _, task_id = _returned(walk, unit_id)
    page = text(browser_as("dispatcher1").get(f"/intake/dispatch/{task_id}?next=//evil.example/"))
    assert '<a href="/intake/dispatch">← 派单队列</a>' in page and 'href="//evil.example' not in page


def test_who_cannot_dispatch_still_gets_the_task_page(browser_as, walk, unit_id):
    _, task_id = _returned(walk, unit_id)
    resp = browser_as("supervisor1").get(f"/tasks/{task_id}")
    assert resp.status_code == 200 and "只能查看" in text(resp)


# -- item 9: uploads ----------------------------------------------------------------------------

def _upload(client, task_id, **fields):
    return client.post(f"/tasks/{task_id}/upload", content_type="multipart/form-data",
                       data={**fields, "file": (io.BytesIO(png()), "现场照片.png")})


def _files(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Attachment).where(Attachment.appeal_id == appeal_id))


def test_an_upload_goes_back_to_the_task_with_what_was_typed_and_the_photo_ticked(browser_as, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    staff = browser_as("gl_urban_staff")
    resp = _upload(staff, task_id, result_action="submit_result", result="已现场查看\n正在整改", resolved="true")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/tasks/{task_id}#f-upload"
    page = text(staff.get(resp.headers["Location"]))  # what a reload shows: nothing is sent again
    assert "已上传“现场照片.png”" in page and _files(db, appeal_id) == 1
    assert "已现场查看\n正在整改</textarea>" in page and 'value="true" checked' in field_html(page, "resolved")
    file_id = re.search(r'name="attachment_ids" value="(\d+)" checked', field_html(page, "attachment_ids")).group(1)
    # reopened later, the task is as it was left; a colleague sees their own form, not this draft
    again = text(staff.get(f"/tasks/{task_id}"))
    assert f'name="attachment_ids" value="{file_id}" checked' in again and "正在整改</textarea>" in again
    colleague = text(browser_as("gl_urban_leader").get(f"/tasks/{task_id}"))
    assert "正在整改" not in colleague and f'value="{file_id}" checked' not in colleague
    # a second upload adds its photo to the ticked ones
    _upload(staff, task_id, result_action="submit_result", result="已现场查看\n正在整改", attachment_ids=file_id)
    ticked = re.findall(r'name="attachment_ids" value="(\d+)" checked', text(staff.get(f"/tasks/{task_id}")))
    assert len(ticked) == 2 and file_id in ticked
    # submitting drops the draft
    resp = staff.post(f"/tasks/{task_id}/complete", data={
        "result_action": "submit_result", "result": "已整改完毕", "resolved": "true", "attachment_ids": ticked})
    assert resp.status_code == 303
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TaskDraft).where(TaskDraft.task_id == task_id)) == 0


def test_a_refused_upload_keeps_what_was_typed_and_keeps_no_draft(browser_as, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    staff = browser_as("gl_urban_staff")
    resp = staff.post(f"/tasks/{task_id}/upload", content_type="multipart/form-data", data={
        "result": "保留我", "file": (io.BytesIO(b"MZ\x90\x00 not a photo"), "virus.jpg")})
    assert resp.status_code == 400 and "保留我</textarea>" in text(resp)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TaskDraft).where(TaskDraft.task_id == task_id)) == 0
