"""An analyst changes a label in the browser modeler, saves the draft, validates and deploys it."""
from engine import definitions, drafts

from .conftest import screenshot


def test_analyst_renames_a_task_and_deploys(open_as, live_url, db, user):
    with db.read() as session:
        before = definitions.latest(session).version
    page = open_as("analyst1")
    page.on("dialog", lambda dialog: dialog.accept())  # the deploy confirmation
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#script_started")  # the page selects it
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    page.wait_for_selector("#properties-form:not([hidden])")
    assert page.inner_text("#properties [data-prop=id]") == "script_started"
    assert "handling_started = True" in page.input_value("#properties textarea[name=script]")
    label = f"记录已开始办理（v{before + 1}）"  # a label only: the process runs as before
    page.fill("#p-name", label)
    page.click("#properties-form button[type=submit]")

    page.click("[data-action=save]")
    page.wait_for_selector("#modeler-output .ok")
    assert "草稿已保存" in page.inner_text("#modeler-output")
    page.click("[data-action=diff]")
    page.wait_for_selector("#modeler-output .diff-changed")
    assert "script_started" in page.inner_text("#modeler-output .diff-changed")
    page.click("[data-action=validate]")
    page.wait_for_selector("#modeler-output :text('校验通过')")
    screenshot(page, "modeler-browser-validated")
    page.click("[data-action=deploy]")
    page.wait_for_selector("#modeler-output .deployed")
    assert f"第 {before + 1} 版" in page.inner_text("#modeler-output")
    with db.read() as session:
        latest = definitions.latest(session)
        assert latest.version == before + 1 and label in latest.files["appeal_handling.bpmn"]
        assert all(f.draft is None for f in drafts.list_files(session))


def test_analyst_edits_a_timer_expression_in_the_properties_panel(open_as, live_url, db, user):
    page = open_as("analyst1")
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#tm_sign_for_warn")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    page.wait_for_selector("#properties-form:not([hidden])")
    assert page.input_value("#properties textarea[name=timer]") == 'deadlines["sign_for_warning"]'
    page.fill("#properties textarea[name=timer]", 'deadlines["sign_for"]')
    page.click("#properties-form button[type=submit]")
    page.click("[data-action=save]")
    page.wait_for_selector("#modeler-output .ok")
    try:
        with db.read() as session:
            text, source = drafts.open_file(session, "appeal_handling.bpmn")
        assert source == "draft"
        assert 'deadlines["sign_for"]</bpmn:timeDate>' in text.replace("&quot;", '"')
    finally:
        drafts.discard(db, "appeal_handling.bpmn", user("analyst1"))
