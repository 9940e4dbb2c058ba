"""A unit worker who cannot reach the appellant asks for contact access on the task page; a
supervisor grants it from the list of requests and the worker then sees the full phone. A
refused request shows the unit the supervisor's reason."""
import re

from .conftest import screenshot

NAME = "王小明"


def _appeal(walk, unit_id, phone):
    """An appeal gl_urban is handling alone: its staff has the result to record."""
    appeal_id = walk.to_signed(unit_id=unit_id, lead="gl_urban",
                               appellant={"kind": "citizen", "name": NAME, "phone": phone})
    return appeal_id, walk.detail(appeal_id)["appeal"]["number"]


def _ask(page, reason):
    page.fill("#appellant-access textarea[name=reason]", reason)
    page.click("#appellant-access button[type=submit]")
    page.wait_for_selector(".flash-success")


def test_a_unit_worker_asks_a_supervisor_grants_and_the_worker_sees_the_phone(open_as, live_url, walk, unit_id):
    appeal_id, number = _appeal(walk, unit_id, "13912345678")
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]

    staff = open_as("gl_urban_staff")
    staff.goto(f"{live_url}/tasks/{task_id}")
    assert staff.inner_text(".phone") == "139****5678"
    assert "未配置隐私中转号码" in staff.inner_text("#appellant-access")  # no relay in tests: said so
    _ask(staff, "需电话核实井盖位置")
    assert re.search(rf"/tasks/{task_id}", staff.url)
    assert "等待 12345 平台审核" in staff.inner_text("#appellant-access")
    screenshot(staff, "contact-access-requested")

    supervisor = open_as("supervisor1")
    supervisor.click("nav.mainnav a:has-text('联系方式申请')")
    row = supervisor.locator(f"tr:has-text('{number}')")
    assert "需电话核实井盖位置" in row.inner_text() and "鼓楼区城市管理局" in row.inner_text()
    screenshot(supervisor, "contact-access-list")
    row.locator("button:has-text('授权查看')").click()
    supervisor.wait_for_selector(".flash-success")
    assert supervisor.locator(f"tr:has-text('{number}')").count() == 0

    staff.reload()
    assert staff.inner_text(".phone") == "139 1234 5678"
    assert NAME in staff.content() and "经督办员授权" in staff.content()
    assert staff.locator("#appellant-access").count() == 0  # nothing left to ask for


def test_a_refused_request_shows_the_unit_why(open_as, live_url, walk, unit_id):
    appeal_id, number = _appeal(walk, unit_id, "13698765432")

    staff = open_as("gl_urban_staff")
    staff.goto(f"{live_url}/appeals/{appeal_id}")
    _ask(staff, "想当面沟通")

    supervisor = open_as("supervisor1")
    supervisor.goto(f"{live_url}/contact-requests")
    row = supervisor.locator(f"tr:has-text('{number}')")
    row.locator("input[name=reason]").fill("可由平台转达，无须查看号码")
    row.locator("button:has-text('不予授权')").click()
    supervisor.wait_for_selector(".flash-success")

    staff.reload()
    card = staff.inner_text("#appellant-access")
    assert "未获授权" in card and "可由平台转达，无须查看号码" in card and "督办员 黄海" in card
    assert staff.inner_text(".phone") == "136****5432"
    assert staff.locator("#appellant-access button:has-text('再次申请查看联系方式')").is_visible()
    screenshot(staff, "contact-access-refused")
