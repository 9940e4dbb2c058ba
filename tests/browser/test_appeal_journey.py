"""One appeal through the browser, as the people who work it: the intake agent registers a call,
the dispatcher dispatches, the unit signs for it and handles it with a photo, the leader
approves, and the process owner sees the diagram's highlight move. Screenshots of the
intake console, the inbox, a task form and the monitor's diagram page go to artifacts/."""
import re
import struct
import uuid
import zlib

from sqlalchemy import select

from hotline.models import Appeal
from runtime.models import ProcessInstance

from .conftest import screenshot


def _png(path):
    """A real 8x8 PNG photo (the upload is checked by its bytes, not its name)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\x20\x60\xa0" * 8 for _ in range(8))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def _open_task(page, live_url, title):
    page.goto(f"{live_url}/inbox")
    page.click(f"a.subject:has-text('{title}')")
    page.wait_for_url(re.compile(r".*/tasks/.*"))




def test_an_appeal_from_phone_call_to_reply_in_the_browser(open_as, live_url, db, tmp_path):
    title = f"夜间施工噪音 {uuid.uuid4().hex[:6]}"

    intake = open_as("intake1")
    intake.goto(f"{live_url}/intake")
    intake.fill("input[name='appellant.phone']", "13912345678")
    intake.fill("input[name='appellant.name']", "陈先生")
    intake.check("input[name=appeal_type][value=complaint]")
    intake.fill("textarea[name=content]", "五四路工地每晚十一点后仍在打桩，影响休息，请尽快处理。")
    intake.fill("input[name=title]", title)
    intake.fill("input[name=location]", "鼓楼区五四路 100 号")
    intake.select_option("select[name=region_code]", "350102")
    intake.check("input[name=assessment][value=dispatch]")
    screenshot(intake, "e2e-intake-console")
    intake.click("#f-submit")
    if intake.locator("#f-dup-checked").is_visible():  # an earlier run left a similar appeal
        intake.check("#f-dup-checked")
        intake.click("#f-submit")
    assert "已登记" in intake.locator(".flash-success").inner_text()
    with db.read() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.title == title))
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal.id))

    dispatcher = open_as("dispatcher1")
    dispatcher.goto(f"{live_url}/intake/dispatch")
    dispatcher.click(f"tr:has-text('{title}') a.button")
    dispatcher.check("li.unit-row:has-text('鼓楼区城市管理局') input[name=lead_unit_id]")
    dispatcher.click("button[type=submit].primary")
    assert "已派单" in dispatcher.content()

    owner = open_as("owner1")
    owner.goto(f"{live_url}/monitor/instances/{instance_id}")
    owner.wait_for_selector(".djs-element.state-active", timeout=15000)
    first_active = owner.eval_on_selector_all(".djs-element.state-active", "els => els.map(e => e.dataset.elementId)")
    assert "ut_sign_for" in first_active

    staff = open_as("gl_urban_staff")
    staff.goto(f"{live_url}/inbox")
    screenshot(staff, "e2e-inbox")
    _open_task(staff, live_url, title)
    staff.check("input[name=sign_decision][value=sign]")
    staff.click("form.task-form button[type=submit].primary")

    leader = open_as("gl_urban_leader")
    _open_task(leader, live_url, title)
    leader.fill("input[name=department]", "城管执法科")
    leader.select_option("select[name=handler_id]", label="鼓楼区城市管理局 承办人")
    leader.click("form.task-form button[type=submit].primary")

    _open_task(staff, live_url, title)
    staff.check("input[name=result_action][value=submit_result]")
    staff.fill("textarea[name=result]", "已到现场核查，责令工地夜间停止打桩，并安排回访。")
    staff.set_input_files("#f-upload", str(_png(tmp_path / "现场照片.png")))
    staff.wait_for_selector("input[name=attachment_ids]:checked", timeout=15000)
    assert staff.input_value("textarea[name=result]").startswith("已到现场核查")  # nothing typed is lost
    screenshot(staff, "e2e-task-form")
    staff.click("form.task-form button[type=submit].primary")

    _open_task(leader, live_url, title)
    assert "已到现场核查" in leader.content() and "现场照片.png" in leader.content()
    leader.check("input[name=review_decision][value=approve]")
    leader.click("form.task-form button[type=submit].primary")

    with db.read() as session:
        assert session.get(Appeal, appeal.id).status == "replying"
    owner.goto(f"{live_url}/monitor/instances/{instance_id}")
    owner.wait_for_selector(".djs-element.state-active", timeout=15000)
    active = owner.eval_on_selector_all(".djs-element.state-active", "els => els.map(e => e.dataset.elementId)")
    completed = owner.eval_on_selector_all(".djs-element.state-completed", "els => els.map(e => e.dataset.elementId)")
    assert "ut_reply" in active and "ut_sign_for" not in active
    assert {"ut_sign_for", "ut_record_result", "ut_leader_review"} <= set(completed)
    screenshot(owner, "e2e-monitor-diagram")
