"""An analyst changes a label in the browser modeler, saves the draft, validates and deploys it."""
from runtime import drafts
from runtime import repository as definitions

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


def _draft(db, name="appeal_handling.bpmn"):
    with db.read() as session:
        text, source = drafts.open_file(session, name)
    assert source == "draft"
    return text.replace("&quot;", '"').replace("&#34;", '"')


def test_analyst_edits_a_service_tasks_parameters(open_as, live_url, db, user):
    page = open_as("analyst1")
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#svc_rehandle")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    page.wait_for_selector("#properties [data-group=service]:not([hidden])")
    assert page.input_value("#p-operator") == "start_rehandle" and page.input_value("#p-result") == "deadlines"
    assert "rehandle_count (int) = rehandle_count" in page.input_value("#p-parameters")
    assert "需要的参数：appeal_id、rehandle_count、handling_limit；可选：current" == page.inner_text(
        "[data-prop=operator-help]")  # what the operator takes
    lines = page.input_value("#p-parameters").replace("handling_limit (str) = handling_limit",
                                                      'handling_limit (str) = "15wd"')
    page.fill("#p-parameters", lines + "\n这一行不对")
    page.click("#properties-form button[type=submit]")
    assert "第 5 行" in page.inner_text("[data-prop=parameters-error]")
    page.fill("#p-parameters", lines)
    page.click("#properties-form button[type=submit]")
    page.click("[data-action=validate]")
    page.wait_for_selector("#modeler-output :text('校验通过')")
    try:
        assert '<spiffworkflow:parameter id="handling_limit" type="str" value=""15wd"" />' in _draft(db)
    finally:
        drafts.discard(db, "appeal_handling.bpmn", user("analyst1"))


def test_analyst_reroutes_a_gateway_and_validation_points_at_the_flow_left_without_a_rule(open_as, live_url, db, user):
    page = open_as("analyst1")
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#f_rehandle")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    page.wait_for_selector("#properties [data-group=flow]:not([hidden])")
    assert page.input_value("#p-condition").startswith('evaluation == "dissatisfied"')
    assert not page.is_checked("input[name=default_flow]")
    page.fill("#p-condition", 'evaluation == "dissatisfied" and organizer_fault')
    page.click("#properties-form button[type=submit]")
    page.click("[data-action=save]")
    page.wait_for_selector("#modeler-output .ok")
    try:
        assert 'evaluation == "dissatisfied" and organizer_fault</bpmn:conditionExpression>' in _draft(db)
        page.check("input[name=default_flow]")  # the re-handle branch becomes the default: 办结 has no rule left
        page.click("#properties-form button[type=submit]")
        page.click("[data-action=validate]")
        page.wait_for_selector("#modeler-output .problems")
        assert "f_close" in page.inner_text("#modeler-output .problems")
        page.click("#modeler-output .problems a:has-text('f_close')")  # the problem selects the flow
        page.wait_for_selector("#properties [data-prop=id]:text-is('f_close')")
        assert not page.is_checked("input[name=default_flow]")
        draft = _draft(db)
        assert 'default="f_rehandle"' in draft  # and a default flow carries no condition (BPMN)
        assert 'targetRef="script_count" />' in draft
    finally:
        drafts.discard(db, "appeal_handling.bpmn", user("analyst1"))


def test_analyst_cannot_give_an_element_a_bad_or_taken_id(open_as, live_url):
    page = open_as("analyst1")
    page.goto(f"{live_url}/modeler/appeal_handling.bpmn#ut_sign_for")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
    page.wait_for_selector("#properties [data-prop=id]:text-is('ut_sign_for')")
    page.fill("#p-id", "1 bad id")
    page.click("#properties-form button[type=submit]")
    assert "ID 须以字母或下划线开头" in page.inner_text("[data-prop=id-error]")
    page.fill("#p-id", "ut_dispatch")
    page.click("#properties-form button[type=submit]")
    assert "已被其他元素使用" in page.inner_text("[data-prop=id-error]")
    assert page.inner_text("#properties [data-prop=id]") == "ut_sign_for"


def test_every_repository_diagram_imports_into_bpmn_js_without_a_warning(open_as, live_url):
    """The diagrams an analyst opens are drawn whole: bpmn-js reports no import warning and draws a
    shape for every element the diagram interchange places."""
    page = open_as("analyst1")
    for name, text in sorted(definitions.read_bundle().items()):
        if not name.endswith(".bpmn"):
            continue
        page.goto(f"{live_url}/modeler/{name}")
        page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)
        assert page.get_attribute("#modeler", "data-import-warnings") == "0", name
        drawn = page.evaluate("document.querySelectorAll('#modeler .djs-element.djs-shape').length")
        assert drawn >= text.count("<bpmndi:BPMNShape"), name
