"""The inbox and the task page as organizer staff, leaders and platform staff use them: who
sees which tasks, claiming, filters and countdowns, forms rendered from JSON Schema with
errors by field and nothing typed lost, uploads, comments, and the appellant kept masked."""
import io
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from hotline import inbox
from runtime import clock
from web import form_render
from workdays.calendar import TZ, WorkingCalendar

from .test_api_errors import png

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=TZ)  # sign-for limit: Tuesday 12-08 17:30


@contextmanager
def frozen(at):
    clock.set_now(at)
    try:
        yield
    finally:
        clock.set_now(None)


def dispatched(walk, unit_id, lead="gl_urban", **overrides):
    """A new appeal waiting for `lead` to sign for it: (appeal id, title, sign-for task id)."""
    title = overrides.pop("title", f"井盖缺失{uuid.uuid4().hex[:8]}")
    appeal_id = walk.register(title=title, **overrides)["id"]
    walk.complete(appeal_id, "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal_id, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id(lead), "co_unit_ids": []})
    return appeal_id, title, walk.task(appeal_id, f"{lead}_staff", "ut_sign_for")["id"]


def text(resp) -> str:
    return resp.get_data(as_text=True)


def field_html(page: str, name: str) -> str:
    """The HTML of one rendered field (its wrapper div)."""
    end = r'(?=<div class="field[ "]|</fieldset>\s*<div class="actions|$)'
    match = re.search(rf'<div class="field[^"]*" data-field="{re.escape(name)}".*?{end}', page, re.DOTALL)
    assert match, f"no field {name}"
    return match.group(0)


# --- who may open what ---------------------------------------------------------------------------

def test_signed_out_users_are_sent_to_sign_in(client, walk, unit_id):
    _, _, task_id = dispatched(walk, unit_id)
    for path in ("/inbox", f"/tasks/{task_id}"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    for action in ("claim", "unclaim", "complete", "upload", "comment"):
        resp = client.post(f"/tasks/{task_id}/{action}")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], action


@pytest.mark.parametrize("username", ["analyst1", "owner1"])
def test_roles_without_tasks_are_refused(browser_as, walk, unit_id, username):
    _, _, task_id = dispatched(walk, unit_id)
    pages = browser_as(username)
    assert pages.get("/inbox").status_code == 403
    assert pages.get(f"/tasks/{task_id}").status_code == 403
    for action in ("claim", "unclaim", "complete", "upload", "comment"):
        assert pages.post(f"/tasks/{task_id}/{action}").status_code == 403, action


def test_another_units_staff_can_neither_see_nor_work_the_task(browser_as, walk, unit_id):
    appeal_id, title, task_id = dispatched(walk, unit_id)
    other = browser_as("xm_env_staff")
    assert title not in text(other.get("/inbox?scope=unit"))
    assert other.get(f"/tasks/{task_id}").status_code == 403
    for action in ("claim", "complete", "upload"):
        assert other.post(f"/tasks/{task_id}/{action}", data={"sign_decision": "sign"}).status_code == 403, action
    assert other.post(f"/tasks/{task_id}/comment", data={"appeal_id": appeal_id, "body": "x"}).status_code == 403
    assert walk.open_tasks(appeal_id) == ["ut_sign_for"]  # nothing happened


def test_unknown_task_is_404(browser_as):
    pages = browser_as("gl_urban_staff")
    assert pages.get(f"/tasks/{uuid.uuid4()}").status_code == 404
    assert pages.post(f"/tasks/{uuid.uuid4()}/complete", data={}).status_code == 404


# --- the inbox ------------------------------------------------------------------------------------

def test_unit_staff_see_their_units_tasks_with_a_working_day_countdown(browser_as, walk, unit_id):
    with frozen(MONDAY):
        _, title, task_id = dispatched(walk, unit_id)
        page = text(browser_as("gl_urban_staff").get("/inbox"))
    assert title in page and f"/tasks/{task_id}" in page
    row = page[page.index(title) - 1500:page.index(title)]
    assert "剩余 1.7 个工作日" in row and "截止 2026-12-08 17:30" in row  # 5 h today + 6.5 h tomorrow
    with frozen(datetime(2026, 12, 8, 14, 30, tzinfo=TZ)):
        page = text(browser_as("gl_urban_staff").get("/inbox"))
        row = page[page.index(title) - 1500:page.index(title)]
        assert 'class="badge soon"' in row and "剩余 0.4 个工作日" in row
    with frozen(datetime(2026, 12, 9, 12, 0, tzinfo=TZ)):
        page = text(browser_as("gl_urban_staff").get("/inbox"))
        row = page[page.index(title) - 1500:page.index(title)]
        assert 'class="badge overdue"' in row and "已超期 0.6 个工作日" in row  # 3.5 h of Wednesday


def test_overdue_and_due_soon_filters_and_counts(browser_as, walk, unit_id, db, user):
    with frozen(MONDAY):
        _, title, _ = dispatched(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    with frozen(datetime(2026, 12, 8, 14, 30, tzinfo=TZ)):
        assert title in text(staff.get("/inbox?due=soon"))
        assert title not in text(staff.get("/inbox?due=overdue"))
        with db.read() as session:
            result = inbox.search(session, user("gl_urban_staff"), due="soon")
        assert result["counts"]["soon"] == len(result["rows"]) >= 1
        assert all(row.countdown.badge == "soon" for row in result["rows"])
    with frozen(datetime(2026, 12, 9, 9, 0, tzinfo=TZ)):
        assert title in text(staff.get("/inbox?due=overdue"))
        assert title not in text(staff.get("/inbox?due=soon"))
        with db.read() as session:
            result = inbox.search(session, user("gl_urban_staff"), scope="unit", due="overdue")
        assert result["counts"]["overdue"] == len(result["rows"]) >= 1


def test_filters_by_task_appeal_type_status_and_keyword(browser_as, walk, unit_id):
    _, complaint, _ = dispatched(walk, unit_id)
    _, consultation, _ = dispatched(walk, unit_id, appeal_type="consultation")
    staff = browser_as("gl_urban_staff")
    page = text(staff.get("/inbox", query_string={"type": "consultation"}))
    assert consultation in page and complaint not in page
    page = text(staff.get("/inbox", query_string={"task": "ut_sign_for", "status": "signing", "q": complaint[-8:]}))
    assert complaint in page and consultation not in page
    assert complaint not in text(staff.get("/inbox", query_string={"task": "ut_record_result"}))
    assert complaint not in text(staff.get("/inbox", query_string={"status": "handling", "q": complaint[-8:]}))
    # nonsense filters are ignored, not errors
    resp = staff.get("/inbox", query_string={"scope": "everyone", "due": "yesterday", "sort": "x", "type": "<b>"})
    assert resp.status_code == 200 and complaint in text(resp)


def test_sorted_by_due_time_earliest_first_or_latest_first(browser_as, walk, unit_id):
    tag = uuid.uuid4().hex[:6]
    with frozen(MONDAY):
        _, early, _ = dispatched(walk, unit_id, title=f"早{tag}")
    walk.api.tokens.clear()  # issued on the frozen Monday: expired by Wednesday
    with frozen(MONDAY + timedelta(days=2)):
        _, late, _ = dispatched(walk, unit_id, title=f"晚{tag}")
    walk.api.tokens.clear()
    staff = browser_as("gl_urban_staff")
    page = text(staff.get("/inbox", query_string={"q": tag}))
    assert page.index(early) < page.index(late)
    page = text(staff.get("/inbox", query_string={"q": tag, "sort": "-due"}))
    assert page.index(late) < page.index(early)


def test_claim_moves_a_task_to_my_claimed_tasks_and_colleagues_see_who_has_it(browser_as, walk, unit_id, user):
    appeal_id, title, task_id = dispatched(walk, unit_id)
    staff, leader = browser_as("gl_urban_staff"), browser_as("gl_urban_leader")
    assert title not in text(staff.get("/inbox?scope=claimed"))
    resp = staff.post(f"/tasks/{task_id}/claim", data={"next": "/inbox?scope=claimed"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/inbox?scope=claimed"
    page = text(staff.get("/inbox?scope=claimed"))
    assert title in page and "已认领" in page
    # the leader (also a candidate for sign-for) no longer has it to do, but sees it in the unit's list
    assert title not in text(leader.get("/inbox?scope=mine"))
    unit_page = text(leader.get("/inbox?scope=unit"))
    assert title in unit_page and user("gl_urban_staff").display_name in unit_page
    task_page = text(leader.get(f"/tasks/{task_id}"))
    assert "已由" in task_page and "认领" in task_page and " disabled" in task_page
    resp = leader.post(f"/tasks/{task_id}/complete", data={"sign_decision": "sign"})
    assert resp.status_code == 409 and "该任务已被他人认领" in text(resp)
    assert walk.open_tasks(appeal_id) == ["ut_sign_for"]
    # a leader may take the claim back; the staff member may release their own
    assert leader.post(f"/tasks/{task_id}/unclaim").status_code == 303
    assert title in text(leader.get("/inbox?scope=mine"))
    staff.post(f"/tasks/{task_id}/claim")
    assert staff.post(f"/tasks/{task_id}/unclaim").status_code == 303
    assert title not in text(staff.get("/inbox?scope=claimed"))


def test_claiming_a_task_someone_else_holds_is_refused_with_a_message(browser_as, walk, unit_id):
    _, _, task_id = dispatched(walk, unit_id)
    browser_as("gl_urban_leader").post(f"/tasks/{task_id}/claim")
    staff = browser_as("gl_urban_staff")
    resp = staff.post(f"/tasks/{task_id}/claim", follow_redirects=True)
    assert "该任务已被他人认领" in text(resp)


def test_platform_staff_see_every_units_tasks_in_the_all_tab(browser_as, walk, unit_id):
    _, title, task_id = dispatched(walk, unit_id, lead="xm_env")
    dispatcher = browser_as("dispatcher1")
    assert title not in text(dispatcher.get("/inbox"))  # not theirs to do
    page = text(dispatcher.get("/inbox?scope=unit"))
    assert "全部待办" in page and title in page and "厦门市生态环境局" in page
    task_page = text(dispatcher.get(f"/tasks/{task_id}"))
    assert "只能查看" in task_page and "138 0000 1234" in task_page  # the platform sees the appellant, as people read the number


def test_counts_stop_at_the_cap_and_the_task_filter_comes_from_the_diagrams(browser_as, walk, unit_id, monkeypatch):
    """Issue 14: no count reads the whole unit (or the whole platform): past COUNT_CAP it says
    "N+"; the task filter offers the kinds of step the deployed diagrams give this inbox."""
    for _ in range(3):
        dispatched(walk, unit_id, lead="xm_env")
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    page = text(browser_as("dispatcher1").get("/inbox?scope=unit"))
    assert re.search(r'全部待办\s*<span class="count">2\+<', page)
    unit_page = browser_as("xm_env_staff").get("/inbox").get_data(as_text=True)
    options = re.findall(r'<option value="(ut_[a-z_]+)"', unit_page)
    assert "ut_record_result" in options and "ut_sign_for" in options  # a unit's steps, open or not
    assert "ut_dispatch" not in options and "ut_assess" not in options  # the platform's are not its inbox's


# --- the task page and its form ---------------------------------------------------------------------

def test_task_page_shows_the_case_file_and_masks_the_appellant(browser_as, walk, unit_id, api):
    appeal_id, title, task_id = dispatched(walk, unit_id, appellant={"kind": "citizen", "name": "王小明",
                                                                     "phone": "13912345678"})
    page = text(browser_as("gl_urban_staff").get(f"/tasks/{task_id}"))
    assert title in page and "签收或退回" in page and "鼓楼区城市管理局" in page
    assert "139****5678" in page and "139 1234 5678" not in page and "13912345678" not in page
    assert "王小明" not in page
    assert "派单员 王强" in page and "受理研判" in page  # the history timeline
    events = [e for e in walk.detail(appeal_id)["history"] if e["action"] == "appellant_viewed"]
    assert len(events) == 1 and events[0]["detail"] == {"shown": ["phone"]}  # the read is recorded


def test_the_form_is_rendered_from_its_schema_with_conditional_fields(browser_as, walk, unit_id):
    _, _, task_id = dispatched(walk, unit_id)
    page = text(browser_as("gl_urban_staff").get(f"/tasks/{task_id}"))
    decision = field_html(page, "sign_decision")
    assert 'type="radio" name="sign_decision" value="sign"' in decision and "签收" in decision and "退回" in decision
    reason = field_html(page, "return_reason")
    assert "conditional-off" in reason and "data-show-when" in reason and "&#34;return&#34;" in reason
    assert "<textarea" in reason and 'maxlength="2000"' in reason
    unit = field_html(page, "suggested_unit_id")
    assert "<select" in unit and "<optgroup" in unit and "鼓楼区城市管理局" in unit
    assert 'name="csrf_token"' in page and 'enctype="multipart/form-data"' in page


def test_an_invalid_submission_shows_errors_by_field_and_keeps_what_was_typed(browser_as, walk, unit_id):
    appeal_id, _, task_id = dispatched(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    resp = staff.post(f"/tasks/{task_id}/complete", data={
        "sign_decision": "return", "return_reason": "   ", "suggested_unit_id": str(unit_id("gl_gov"))})
    page = text(resp)
    assert resp.status_code == 400
    assert "提交未成功" in page and "已填写的内容都已保留" in page
    reason = field_html(page, "return_reason")
    assert "field-error" in reason and "必填项" in reason and "conditional-off" not in reason
    assert 'value="return" checked' in field_html(page, "sign_decision")
    assert f'<option value="{unit_id("gl_gov")}" selected>' in field_html(page, "suggested_unit_id")
    assert walk.open_tasks(appeal_id) == ["ut_sign_for"]
    # fixed, it goes through and the inbox says so
    resp = staff.post(f"/tasks/{task_id}/complete", data={
        "sign_decision": "return", "return_reason": "属住建部门职责", "suggested_unit_id": str(unit_id("fz_housing"))},
        follow_redirects=True)
    assert resp.status_code == 200 and "已提交“签收或退回”" in text(resp)
    assert walk.detail(appeal_id)["appeal"]["status"] == "returned"


def test_fields_of_a_branch_not_taken_are_not_submitted(browser_as, walk, unit_id):
    appeal_id, _, task_id = dispatched(walk, unit_id)
    resp = browser_as("gl_urban_staff").post(f"/tasks/{task_id}/complete", data={
        "sign_decision": "sign", "return_reason": "typed, then changed my mind"})
    assert resp.status_code == 303
    completed = [e for e in walk.detail(appeal_id)["history"] if e["action"] == "task_completed"][-1]
    assert completed["detail"] == {"sign_decision": "sign"}


def test_values_that_cannot_be_converted_are_reported_with_every_other_problem(browser_as, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    resp = browser_as("gl_urban_staff").post(f"/tasks/{task_id}/complete", data={
        "result_action": "apply_extension", "extension_days": "五天", "extension_reason": ""})
    page = text(resp)
    assert resp.status_code == 400
    assert "请输入整数" in field_html(page, "extension_days") and 'value="五天"' in field_html(page, "extension_days")
    assert "必填项" in field_html(page, "extension_reason")
    resp = browser_as("gl_urban_staff").post(f"/tasks/{task_id}/complete", data={
        "result_action": "apply_extension", "extension_days": "31", "extension_reason": "需协调"})
    assert resp.status_code == 400 and "不能大于 30" in field_html(text(resp), "extension_days")
    assert walk.detail(appeal_id)["appeal"]["status"] == "handling"


def test_a_whole_handling_round_through_the_pages(browser_as, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    staff, leader = browser_as("gl_urban_staff"), browser_as("gl_urban_leader")
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    # the leader sees the staff task in the unit list but cannot work it
    page = text(leader.get(f"/tasks/{task_id}"))
    assert "只能查看" in page and " disabled" in page
    assert leader.post(f"/tasks/{task_id}/complete", data={"result_action": "submit_result"}).status_code == 403
    # upload a photo from the form: back at the task's address, the typed result stays and the
    # photo is ticked as evidence
    resp = staff.post(f"/tasks/{task_id}/upload", content_type="multipart/form-data", data={
        "result_action": "submit_result", "result": "已责令停工\n并现场复查", "resolved": "true",
        "file": (io.BytesIO(png()), "现场.png")}, follow_redirects=True)
    page = text(resp)
    assert resp.status_code == 200 and resp.request.path == f"/tasks/{task_id}" and "已上传“现场.png”" in page
    assert "已责令停工\n并现场复查</textarea>" in page
    evidence = field_html(page, "attachment_ids")
    file_id = re.search(r'name="attachment_ids" value="(\d+)" checked', evidence).group(1)
    assert f"/attachments/{file_id}" in evidence and "<img" in evidence
    assert 'value="true" checked' in field_html(page, "resolved")
    resp = staff.post(f"/tasks/{task_id}/complete", data=MultiDict([
        ("result_action", "submit_result"), ("result", "已责令停工\n并现场复查"), ("resolved", "true"),
        ("attachment_ids", file_id)]))
    assert resp.status_code == 303
    detail = walk.detail(appeal_id)
    assert detail["appeal"]["status"] == "reviewing" and detail["appeal"]["handling_result"] == "已责令停工\n并现场复查"
    completed = [e for e in detail["history"] if e["action"] == "task_completed"][-1]["detail"]
    assert completed.get("attachment_ids") == [int(file_id)] and completed["resolved"] is True, completed
    # the leader sends it back: a reason is required
    review = walk.task(appeal_id, "gl_urban_leader", "ut_leader_review")["id"]
    resp = leader.post(f"/tasks/{review}/complete", data={"review_decision": "send_back"})
    assert resp.status_code == 400 and "必填项" in field_html(text(resp), "review_comment")
    assert leader.post(f"/tasks/{review}/complete", data={"review_decision": "send_back",
                                                         "review_comment": "请补充整改照片"}).status_code == 303
    assert walk.detail(appeal_id)["appeal"]["status"] == "handling"
    # the result's page now shows the review in the timeline, in the form's words
    again = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    page = text(staff.get(f"/tasks/{again}"))
    assert "审核意见" in page and "退回修改" in page and "请补充整改照片" in page


def test_applying_for_an_extension_from_the_result_form(browser_as, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    resp = browser_as("gl_urban_staff").post(f"/tasks/{task_id}/complete", data={
        "result_action": "apply_extension", "extension_days": "3", "extension_reason": "需多部门协调",
        "result": "typed before switching"})
    assert resp.status_code == 303
    assert walk.detail(appeal_id)["appeal"]["status"] == "extension_pending"
    consent = walk.task(appeal_id, "gl_urban_leader", "ut_leader_consent")["id"]
    page = text(browser_as("gl_urban_leader").get(f"/tasks/{consent}"))
    assert "同意" in field_html(page, "extension_consented") and 'value="true"' in page


def test_an_extension_the_diagram_refuses_tells_the_applicant_why(browser_as, walk, unit_id):
    """Art. 20(6): too many days for a consultation (2 working days): the diagram's gateway refuses
    it, the page says why (in the user's language) and the unit handles on."""
    appeal_id = walk.to_signed(unit_id=unit_id, appeal_type="consultation")
    staff = browser_as("gl_urban_staff")
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    resp = staff.post(f"/tasks/{task_id}/complete", data={
        "result_action": "apply_extension", "extension_days": "3", "extension_reason": "需多部门协调"},
        follow_redirects=True)
    assert "延期申请未受理：延期总天数不得超过原办理时限，最多还可申请 2 个工作日" in text(resp)
    assert walk.open_tasks(appeal_id) == ["ut_record_result"]
    staff.get("/lang/en")
    again = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    resp = staff.post(f"/tasks/{again}/complete", data={
        "result_action": "apply_extension", "extension_days": "5", "extension_reason": "x"}, follow_redirects=True)
    assert "The extension was not accepted" in text(resp)


def test_a_datetime_is_stored_in_china_standard_time(browser_as, walk, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "submit_result", "result": "已处理", "resolved": True})
    walk.complete(appeal_id, "gl_urban_leader", "ut_leader_review", {"review_decision": "approve"})
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_reply")["id"]
    staff = browser_as("gl_urban_staff")
    resp = staff.post(f"/tasks/{task_id}/complete", data={
        "reply_method": "phone", "appellant_reached": "true", "reply_content": "已电话答复", "replied_at": "yesterday"})
    assert resp.status_code == 400 and "请输入有效的日期和时间" in field_html(text(resp), "replied_at")
    resp = staff.post(f"/tasks/{task_id}/complete", data={
        "reply_method": "phone", "appellant_reached": "true", "reply_content": "已电话答复",
        "replied_at": "2026-12-07T15:20"})
    assert resp.status_code == 303
    completed = [e for e in walk.detail(appeal_id)["history"] if e["action"] == "task_completed"][-1]["detail"]
    assert completed["replied_at"] == "2026-12-07T15:20:00+08:00" and completed["appellant_reached"] is True


def test_uploads_are_checked_for_type_and_size(browser_as, walk, unit_id, app):
    appeal_id = walk.to_signed(unit_id=unit_id)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    staff = browser_as("gl_urban_staff")
    resp = staff.post(f"/tasks/{task_id}/upload", content_type="multipart/form-data", data={
        "result": "保留我", "file": (io.BytesIO(b"MZ\x90\x00 not a photo"), "virus.jpg")})
    assert resp.status_code == 400 and "仅支持照片" in text(resp) and "保留我</textarea>" in text(resp)
    resp = staff.post(f"/tasks/{task_id}/upload", data={"result": "保留我"})
    assert resp.status_code == 400 and "请选择要上传的文件" in text(resp)
    big = png(b"\x00" * (app.config["MAX_ATTACHMENT_MB"] << 20))
    resp = staff.post(f"/tasks/{task_id}/upload", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(big), "big.png")}, follow_redirects=True)
    assert "文件不能超过 1 MB" in text(resp)
    assert walk.detail(appeal_id)["attachments"] == []


def test_comments_are_added_shown_and_kept_in_history(browser_as, walk, unit_id):
    appeal_id, _, task_id = dispatched(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    resp = staff.post(f"/tasks/{task_id}/comment", data={"appeal_id": appeal_id, "body": "  "})
    assert resp.status_code == 400 and "请填写意见内容" in text(resp)
    resp = staff.post(f"/tasks/{task_id}/comment", data={"appeal_id": appeal_id, "body": "已联系街道\n明日到场"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("#comments")
    page = text(browser_as("gl_urban_leader").get(f"/tasks/{task_id}"))
    assert "已联系街道\n明日到场" in page
    assert any(e["action"] == "comment_added" for e in walk.detail(appeal_id)["history"])


def test_english_labels_come_from_the_ui_schema(browser_as, walk, unit_id):
    _, _, task_id = dispatched(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    staff.get("/lang/en")
    page = text(staff.get(f"/tasks/{task_id}"))
    assert "Sign For or Return" in page and "Sign for" in page and "Reason and basis for return" in page
    assert "Submit" in page and "My tasks" in text(staff.get("/inbox"))
    page = text(staff.post(f"/tasks/{task_id}/complete", data={"sign_decision": "return"}))
    assert "Required" in field_html(page, "return_reason")


def test_forms_carry_the_csrf_token_and_are_refused_without_it(app, browser_as, walk, unit_id):
    _, _, task_id = dispatched(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = text(staff.get(f"/tasks/{task_id}"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert staff.post(f"/tasks/{task_id}/claim").status_code == 400
        inbox_page = text(staff.get("/inbox"))  # the claim buttons of the list carry it too, as fields
        claim_form = re.search(r'action="/tasks/[^"]+/claim" class="inline">(.*?)</form>', inbox_page).group(1)
        assert f'<input type="hidden" name="csrf_token" value="{token}">' in claim_form and "&lt;" not in claim_form
        assert staff.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}).status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- the pieces ---------------------------------------------------------------------------------------

def test_parse_converts_types_and_drops_branches_not_taken(app):
    schema = {"type": "object", "properties": {
        "action": {"type": "string", "enum": ["a", "b"]}, "days": {"type": "integer"},
        "ok": {"type": "boolean"}, "yes": {"type": "boolean"}, "ids": {"type": "array", "items": {"type": "integer"}},
        "note": {"type": "string"}},
        "allOf": [{"if": {"properties": {"action": {"const": "b"}}, "required": ["action"]},
                   "then": {"required": ["note"]}}]}
    ui = {"ok": {"ui:widget": "checkbox"}, "yes": {"ui:widget": "radio", "ui:enumNames": ["是", "否"]}}
    with app.test_request_context():
        form = MultiDict([("action", "a"), ("days", " 7 "), ("yes", "false"), ("ids", "3"), ("ids", ""),
                          ("ids", "5"), ("note", "hidden"), ("csrf_token", "x")])
        assert form_render.parse(schema, ui, form) == (
            {"action": "a", "days": 7, "ok": False, "yes": False, "ids": [3, 5]}, {})
        data, errors = form_render.parse(schema, ui, MultiDict([("action", "b"), ("days", "7.5"), ("ok", "true")]))
        assert data == {"action": "b", "days": "7.5", "ok": True, "ids": []} and errors == {"days": ["请输入整数"]}


@pytest.mark.parametrize("start, hours, expected", [
    ("2026-12-07 10:00", 6.5, "2026-12-08 10:00"),  # Monday morning: 5 h today, 1.5 h on Tuesday
    ("2026-12-04 16:30", 1.5, "2026-12-07 09:00"),  # Friday's last hour, then Monday's first half hour
    ("2026-12-05 11:00", 0.5, "2026-12-07 09:00"),  # Saturday: from Monday's opening
    ("2026-09-30 17:00", 1, "2026-10-08 09:00"),  # across the National Day holiday
])
def test_office_time_after(start, hours, expected):
    at = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
    result = inbox.office_time_after(WorkingCalendar(), at, timedelta(hours=hours))
    assert result.strftime("%Y-%m-%d %H:%M") == expected
