"""The issue-6 walk in the browser: an analyst changes the complaint handling limit in the
decision table (dmn-js), starts a form (a draft deployed with the diagrams) for a new step, adds that step to the re-handle path
with the bpmn-js palette and lets supervisors review returns too, validates and deploys; the
process owner migrates every eligible appeal and applies the new limits. New and migrated
appeals follow the new rules; the appeal refused (its current step changed) keeps the old ones."""
import json
from datetime import datetime

import pytest
from sqlalchemy import delete, select

from hotline.models import Appeal
from runtime import clock, migration
from runtime import repository as definitions
from runtime.models import Job, ProcessInstance
from workdays.calendar import TZ

from ..conftest import redeploy_repository
from .conftest import screenshot

DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def monday(db):
    with db.transaction() as session:
        session.execute(delete(Job))
    files = definitions.read_bundle()
    clock.set_now(at("2026-03-02 10:00"))
    yield
    clock.set_now(None)
    redeploy_repository(db, files)


def _edit_cell(page, selector, text):
    cell = page.locator(f"{selector} [contenteditable=true]")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def change_the_complaint_limit(page, live_url):
    page.goto(f"{live_url}/modeler/time_limits.dmn")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    page.wait_for_selector("td[data-element-id=rule_complaint_handling]")  # the editor opens on the table
    _edit_cell(page, "td[data-element-id=rule_complaint_handling]", '"12wd"')
    _edit_cell(page, "tr:has(td[data-element-id=rule_complaint_handling]) td.annotation", "投诉类：12个工作日内办结答复")
    page.click("[data-action=save]")
    page.wait_for_selector("#modeler-output .ok")


def start_a_form(page, live_url):
    page.goto(f"{live_url}/modeler/forms")
    page.fill("#n-stem", "rehandle_briefing")
    page.fill("#n-title", "重办交办")
    page.click("#new-form button[type=submit]")
    page.wait_for_url("**/modeler/forms/rehandle_briefing.schema.json")
    schema = json.loads(page.input_value("#f-schema"))
    schema["properties"]["note"].update(title="交办要求", minLength=1)
    schema["required"] = ["note"]
    page.fill("#f-schema", json.dumps(schema, ensure_ascii=False, indent=2))
    page.wait_for_selector("#form-preview :text('交办要求')")  # the live preview follows the edit
    page.click("#form-editor button[type=submit]")
    page.wait_for_selector(":text('表单草稿已保存')")  # deployed with the diagram below


def add_the_briefing_step(page, live_url):
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#svc_rehandle")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    canvas = page.locator("#canvas").bounding_box()
    page.mouse.move(canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2)
    page.mouse.wheel(0, -250)  # room above 重新计算办理时限, where its flow runs back to 进入办理
    page.wait_for_timeout(300)
    shape = page.locator("#canvas [data-element-id=svc_rehandle] .djs-visual > rect").bounding_box()
    x, y = shape["x"] + shape["width"] / 2, shape["y"] - shape["height"] * 1.5
    page.click(".djs-palette .entry[data-action='create.task']")
    page.mouse.move(x - 40, y - 40)
    page.mouse.move(x, y, steps=10)
    page.mouse.click(x, y)  # dropped on the flow: bpmn-js splits it around the new task
    page.wait_for_selector("#properties-form:not([hidden])")
    page.click(".djs-context-pad .entry[data-action=replace]")
    page.click(".djs-popup [data-id=replace-with-user-task]")
    page.wait_for_selector("#properties [data-group=declared]:not([hidden])")
    page.fill("#p-id", "ut_rehandle_briefing")
    page.fill("#p-name", "重办交办")
    page.fill("#p-formJsonSchemaFilename", "rehandle_briefing.schema.json")
    page.fill("#p-candidateRoles", "dispatcher")
    page.click("#properties-form button[type=submit]")
    assert page.inner_text("#properties [data-prop=id]") == "ut_rehandle_briefing"
    assert page.inner_text("#properties [data-prop=lane]") == "12345平台"
    page.click("[data-action=validate]")  # a step without the status it puts the appeal in is refused, by name
    page.wait_for_selector("#modeler-output :text('「重办交办」(ut_rehandle_briefing) 没有声明诉求状态')")
    page.fill("#p-appealStatus", "rehandle_briefing")
    page.fill("#p-appealStatusLabel", "重办交办中")
    page.fill("#p-appealStatusLabelEn", "Re-handling being briefed")
    page.fill("#p-scopeVariable", "centre_id")  # a platform step: the centre holding the appeal works it
    page.fill("#p-milestones", "rehandle_briefed")
    page.click("#properties-form button[type=submit]")
    assert page.input_value("#p-milestones") == "rehandle_briefed"
    page.click("[data-action=save]")
    page.wait_for_selector("#modeler-output .ok")


def let_supervisors_review_returns(page, live_url):
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#ut_handle_return")  # the same page: selects it
    page.wait_for_selector("#properties [data-prop=id]:text-is('ut_handle_return')")
    assert page.input_value("#p-candidateRoles") == "dispatcher"
    assert page.locator("#canvas [data-element-id=ut_rehandle_briefing]").count() == 1
    page.fill("#p-candidateRoles", "dispatcher,supervisor")
    page.click("#properties-form button[type=submit]")
    page.click("[data-action=diff]")
    page.wait_for_selector("#modeler-output .diff-added")
    assert "ut_rehandle_briefing" in page.inner_text("#modeler-output .diff-added")
    assert "ut_handle_return" in page.inner_text("#modeler-output .diff-changed")
    page.click("[data-action=validate]")
    page.wait_for_selector("#modeler-output :text('校验通过')")
    screenshot(page, "analyst-walk-validated")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-action=deploy]")
    page.wait_for_selector("#modeler-output .deployed")


def _instance(db, appeal_id):
    with db.read() as session:
        row = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == appeal_id))
        return row.id, row.deployment_id


def _number(db, appeal_id):
    with db.read() as session:
        return session.get(Appeal, appeal_id).number


def _handling_due(db, appeal_id):
    with db.read() as session:
        return session.get(Appeal, appeal_id).handling_due_at


def test_analyst_changes_the_limit_and_the_rehandle_path_and_appeals_follow(
        open_as, live_url, db, walk, unit_id, monday):
    handling = walk.to_signed(unit_id=unit_id)  # being handled: 10 working days from today
    returned = walk.register()["id"]
    walk.complete(returned, "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(returned, "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban"), "co_unit_ids": []})
    walk.complete(returned, "gl_urban_staff", "ut_sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"})
    (handling_instance, old_version), (returned_instance, _) = _instance(db, handling), _instance(db, returned)
    assert _handling_due(db, handling) == at("2026-03-16 17:30")

    analyst = open_as("analyst1")
    change_the_complaint_limit(analyst, live_url)
    start_a_form(analyst, live_url)
    add_the_briefing_step(analyst, live_url)
    let_supervisors_review_returns(analyst, live_url)
    with db.read() as session:
        new_version = definitions.latest(session)
        assert '"12wd"' in new_version.files["time_limits.dmn"]
        assert 'id="ut_rehandle_briefing"' in new_version.files["appeal_handling.bpmn"]
        assert "交办要求" in new_version.files["forms/rehandle_briefing.schema.json"]  # the form went with it

    owner = open_as("owner1")
    owner.goto(f"{live_url}/monitor/migrations?to={new_version.id}")
    row = owner.locator("tr", has_text=_number(db, handling))
    assert "可迁移" in row.inner_text() and "10wd" in row.inner_text() and "12wd" in row.inner_text()
    refused = owner.locator("tr", has_text=_number(db, returned))
    assert "当前环节「退回审核」在新版本中已修改" in refused.inner_text()
    owner.check("input[name=all]")
    owner.check("input[name=apply_limits]")
    owner.click("button:has-text('迁移到新版本')")
    owner.wait_for_selector(".flash:has-text('已开始在后台迁移')")
    moved = migration.run_batches(db, "worker-1")  # the worker's turn: every eligible appeal moves
    owner.reload()
    assert moved >= 1 and f"已迁移 {moved} / {moved}" in owner.inner_text("#batches")
    assert "已完成" in owner.inner_text("#batches")
    screenshot(owner, "analyst-walk-migrated")
    record = owner.locator("section:has-text('迁移记录') tr", has_text=_number(db, handling))
    assert "办理 10wd → 12wd" in record.inner_text()

    # migrated: on the new version, the handling limit is 12 working days from its dispatch
    assert _instance(db, handling) == (handling_instance, new_version.id)
    assert _handling_due(db, handling) == at("2026-03-18 17:30")
    # refused: untouched on its version; re-dispatched it gets the old 10 working days
    assert _instance(db, returned) == (returned_instance, old_version)
    walk.complete(returned, "dispatcher1", "ut_handle_return",
                  {"return_decision": "redispatch", "lead_unit_id": unit_id("gl_urban")})
    walk.complete(returned, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    assert _handling_due(db, returned) == at("2026-03-16 17:30")
    # new: 12 working days
    fresh = walk.to_signed(unit_id=unit_id)
    assert _instance(db, fresh)[1] == new_version.id and _handling_due(db, fresh) == at("2026-03-18 17:30")

    # the migrated appeal, found at fault after the return visit, passes the new step
    clock.set_now(at("2026-03-04 10:00"))
    walk.api.tokens.clear()  # API tokens expire with the clock moved two days on
    walk.to_replied(handling)
    walk.complete(handling, "revisit1", "ut_return_visit", DISSATISFIED)
    walk.complete(handling, "supervisor1", "ut_find_responsibility", {"organizer_fault": True, "reason": "敷衍"})
    assert walk.open_tasks(handling) == ["ut_rehandle_briefing"]
    assert walk.detail(handling)["appeal"]["status"] == "rehandle_briefing"  # as the new step declares it
    dispatcher = open_as("dispatcher1")
    dispatcher.goto(f"{live_url}/tasks/{walk.task(handling, 'dispatcher1', 'ut_rehandle_briefing')['id']}")
    dispatcher.click("button[type=submit]:has-text('提交')")  # the new form's required field
    dispatcher.wait_for_selector(".field-error")
    dispatcher.fill("[name=note]", "请牵头单位现场复核噪音并回访")
    dispatcher.click("button[type=submit]:has-text('提交')")
    dispatcher.wait_for_load_state()
    assert walk.open_tasks(handling) == ["ut_record_result"]
    assert _handling_due(db, handling) == at("2026-03-20 17:30")  # re-handled: 12 working days from today
