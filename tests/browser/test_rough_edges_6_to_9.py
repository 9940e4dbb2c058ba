"""Issue 13, items 6 to 9, walked in Chromium by the people concerned: an intake agent previews,
edits and confirms an on-the-spot answer; a unit leader and a platform approver see what an
extension asks; a dispatcher opens a return review from the inbox and from the dispatch queue
and gets one screen; a unit worker uploads a photo, reloads, reopens the task and clicks 上传."""
import re
import uuid

from sqlalchemy import func, select

from hotline.models import Appeal, Attachment
from workdays import deadlines, store
from workdays.calendar import TZ

from .conftest import screenshot
from .test_appeal_journey import _png


def _local(at) -> str:
    return at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _open_task(page, live_url, title):
    page.goto(f"{live_url}/inbox")
    page.click(f"a.subject:has-text('{title}')")


def _appeal(db, **where):
    with db.read() as session:
        return session.scalar(select(Appeal).where(*(getattr(Appeal, k) == v for k, v in where.items())))


# -- item 6 ------------------------------------------------------------------------------------

def test_an_agent_previews_edits_and_confirms_an_answer_on_the_spot(open_as, live_url, db):
    agent = open_as("intake1")
    agent.goto(f"{live_url}/intake")
    title = f"社保卡补办咨询 {uuid.uuid4().hex[:6]}"
    agent.fill("input[name='appellant.phone']", f"139{uuid.uuid4().int % 10**8:08d}")
    agent.check("input[name=appeal_type][value=consultation]")
    agent.fill("textarea[name=content]", "我的社保卡丢了怎么补办")
    agent.fill("input[name=title]", title)
    item = agent.locator("#kb-list .kb-item", has_text="社会保障卡遗失补办")
    item.wait_for(timeout=15000)

    # one click shows the answer to be given, editable; nothing is saved yet
    item.locator("button.primary").click()
    dialog = agent.locator("#answer-confirm")
    assert dialog.is_visible() and "12333" in agent.input_value("#answer-confirm-text")
    screenshot(agent, "issue13-6-answer-preview")
    first_edit = agent.input_value("#answer-confirm-text") + "（已核实来电人在鼓楼区）"
    agent.fill("#answer-confirm-text", first_edit)
    agent.click("#answer-confirm-cancel")  # back to the form: the edit is kept in the answer field
    assert not dialog.is_visible() and agent.input_value("#f-answer") == first_edit
    assert agent.url == f"{live_url}/intake" and _appeal(db, title=title) is None

    # again, edited once more, and confirmed: the call ends with the confirmed text recorded
    item.locator("button.primary").click()
    agent.fill("#answer-confirm-text", "")
    agent.click("#answer-confirm-ok")  # an empty answer is not confirmed
    assert dialog.is_visible() and agent.locator("#answer-confirm-empty").is_visible()
    edited = "请先拨打12333挂失，再持身份证到鼓楼区五四路社保服务网点补办，当场可取。"
    agent.fill("#answer-confirm-text", edited)
    agent.click("#answer-confirm-ok")
    agent.wait_for_selector(".flash")
    if agent.locator("#f-dup-checked").is_visible():  # an earlier run left a similar call
        agent.check("#f-dup-checked")
        assert agent.input_value("#f-answer") == edited
        agent.click("#f-submit")
    assert "已当场答复" in agent.locator(".flash-success").inner_text()
    appeal = _appeal(db, title=title)
    assert appeal.answer == edited and appeal.status == "verifying"


# -- item 7 ------------------------------------------------------------------------------------

def _due(db, appeal_id, working_days):
    with db.read() as session:
        appeal = session.get(Appeal, appeal_id)
        return deadlines.due(store.build(session), appeal.dispatched_at, f"{working_days}wd").at


def test_leader_and_platform_approver_see_what_an_extension_asks(open_as, live_url, db, walk, unit_id):
    title = f"老旧小区加装电梯 {uuid.uuid4().hex[:6]}"
    appeal_id = walk.to_signed(unit_id=unit_id, title=title)  # a complaint: 10 working days
    reason = "需住建、城管两部门联合核查"
    walk.complete(appeal_id, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 3, "extension_reason": reason})
    current, resulting = _local(_due(db, appeal_id, 10)), _local(_due(db, appeal_id, 13))

    leader = open_as("gl_urban_leader")
    _open_task(leader, live_url, title)
    panel = leader.locator("#extension-asked")
    assert panel.locator("#ext-days").inner_text() == "3 个工作日"
    assert panel.locator("#ext-reason").inner_text() == reason
    assert panel.locator("#ext-current").inner_text() == current
    assert panel.locator("#ext-resulting").inner_text().strip() == resulting
    screenshot(leader, "issue13-7-leader-consent")
    leader.check("input[name=extension_consented][value=true]")
    leader.click("form.task-form button[type=submit].primary")
    leader.wait_for_url(f"{live_url}/inbox")

    approver = open_as("dispatcher1")
    _open_task(approver, live_url, title)
    panel = approver.locator("#extension-asked")
    assert panel.locator("#ext-days").inner_text() == "3 个工作日"
    assert panel.locator("#ext-reason").inner_text() == reason
    assert panel.locator("#ext-current").inner_text() == current
    assert panel.locator("#ext-resulting").inner_text().strip() == resulting
    badge = approver.locator(".task-head .due .badge")
    assert re.match(r"剩余 [\d.]+ 个工作日", badge.inner_text()), badge.inner_text()
    assert f"截止 {current}" in approver.locator(".task-head .due").inner_text()
    screenshot(approver, "issue13-7-platform-approval")
    approver.check("input[name=extension_approved][value=true]")
    approver.fill("input[name=approved_days]", "3")
    approver.click("form.task-form button[type=submit].primary")
    approver.wait_for_url(f"{live_url}/inbox")
    assert _local(_appeal(db, id=appeal_id).handling_due_at) == resulting  # shown is what was applied


# -- item 8 ------------------------------------------------------------------------------------

def test_a_dispatcher_gets_one_return_review_screen_from_inbox_and_queue(open_as, live_url, walk, unit_id):
    title = f"占道经营 {uuid.uuid4().hex[:6]}"
    appeal = walk.register(title=title)
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
    walk.complete(appeal["id"], "gl_urban_staff", "ut_sign_for", {
        "sign_decision": "return", "return_reason": "属于市场监管职责，请改派", "suggested_unit_id": unit_id("fz_market")})

    dispatcher = open_as("dispatcher1")
    dispatcher.goto(f"{live_url}/intake/dispatch")
    dispatcher.click(f"tr:has-text('{title}') a.button")
    from_queue = dispatcher.url

    def the_good_screen():
        assert dispatcher.locator("h1").inner_text().startswith("退回审核")
        assert dispatcher.locator(".tree .unit-row").count() > 10  # the unit tree
        assert "属于市场监管职责，请改派" in dispatcher.locator("section.returned").inner_text()
        assert dispatcher.locator("select[multiple]").count() == 0  # no Ctrl-click list
        return dispatcher.locator("h1").inner_text()

    queue_heading = the_good_screen()
    _open_task(dispatcher, live_url, title)
    dispatcher.wait_for_url(re.compile(r".*/intake/dispatch/.*next=/inbox"))
    assert dispatcher.url.split("?")[0] == from_queue and the_good_screen() == queue_heading
    screenshot(dispatcher, "issue13-8-return-review-from-inbox")
    dispatcher.check("input[name=return_decision][value=redispatch]")
    dispatcher.check("li.unit-row:has-text('福州市市场监督管理局') input[name=lead_unit_id]")
    dispatcher.click("button[type=submit].primary")
    dispatcher.wait_for_url(f"{live_url}/inbox")  # back where the dispatcher came from
    assert "已派单" in dispatcher.locator(".flash-success").inner_text()
    assert walk.task(appeal["id"], "fz_market_staff", "ut_sign_for")


# -- item 9 ------------------------------------------------------------------------------------

def test_an_upload_survives_reload_and_reopening_and_the_button_does_not_complain(
        open_as, live_url, db, walk, unit_id, tmp_path):
    title = f"路灯不亮 {uuid.uuid4().hex[:6]}"
    appeal_id = walk.to_signed(unit_id=unit_id, title=title)
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]

    def files():
        with db.read() as session:
            return session.scalar(select(func.count()).select_from(Attachment).where(Attachment.appeal_id == appeal_id))

    staff = open_as("gl_urban_staff")
    _open_task(staff, live_url, title)
    staff.check("input[name=result_action][value=submit_result]")
    staff.fill("textarea[name=result]", "已到现场更换灯泡，并复查线路。")
    staff.set_input_files("#f-upload", str(_png(tmp_path / "路灯照片.png")))
    staff.wait_for_selector("input[name=attachment_ids]:checked", timeout=15000)
    assert staff.url == f"{live_url}/tasks/{task_id}#f-upload"  # the task's address, not the upload's
    assert staff.input_value("textarea[name=result]") == "已到现场更换灯泡，并复查线路。" and files() == 1

    staff.reload()  # a reload reads the task again: nothing is uploaded twice
    assert files() == 1 and staff.locator("input[name=attachment_ids]:checked").count() == 1

    staff.goto(f"{live_url}/inbox")  # leave, and reopen the task later
    _open_task(staff, live_url, title)
    assert staff.locator("input[name=attachment_ids]:checked").count() == 1
    assert staff.input_value("textarea[name=result]") == "已到现场更换灯泡，并复查线路。"

    opened = staff.url
    with staff.expect_file_chooser() as chooser:  # 上传 with nothing new chosen: it offers to choose
        staff.click("#upload-button")
    assert chooser.value is not None
    assert staff.url == opened and staff.locator(".upload .error").count() == 0 and files() == 1
    screenshot(staff, "issue13-9-upload-kept")
