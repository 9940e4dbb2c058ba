"""The process modeler pages (web/pages/modeler.py): the file list, drafts, comparing with the
deployed version, validating and deploying from the browser, writing back, and the form editor."""
import json
import uuid

import pytest
from sqlalchemy import delete, select

from runtime import drafts, forms
from runtime import form_drafts as form_files
from runtime import repository as definitions
from runtime.models import ProcessDraft, ProcessInstance

from ..conftest import redeploy_repository

ROUTES = ["/modeler", "/modeler/appeal_handling.bpmn", "/modeler/time_limits.dmn",
          "/modeler/appeal_handling.bpmn/content", "/modeler/appeal_handling.bpmn/diff",
          "/modeler/bundle/validate", "/modeler/forms", "/modeler/forms/sign_for.schema.json"]
NEW_TASK = ('<bpmn:task id="task_added_in_test" name="新增环节" />'
            '<bpmn:endEvent id="end_sign_for_warn"')


@pytest.fixture
def analyst(browser_as):
    return browser_as("analyst1")


@pytest.fixture
def deployed(db):
    with db.read() as session:
        return drafts.deployed_content(session, "appeal_handling.bpmn")


@pytest.fixture
def clean_drafts(db, user):
    """Drafts are shared by the whole test session: leave none behind."""
    yield
    for name in ("appeal_handling.bpmn", "time_limits.dmn"):
        try:
            drafts.discard(db, name, user("analyst1"))
        except drafts.NotFound:
            pass


@pytest.mark.parametrize("path", ROUTES)
def test_signed_out_goes_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("username", ["intake1", "supervisor1", "gl_urban_staff"])
def test_other_roles_are_refused(browser_as, path, username):
    assert browser_as(username).get(path).status_code == 403


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("username", ["analyst1", "owner1", "admin"])
def test_modelers_may_open(browser_as, path, username):
    assert browser_as(username).get(path).status_code == 200


def test_list_shows_every_file_and_links_to_the_editor(analyst):
    html = analyst.get("/modeler").get_data(as_text=True)
    for name in ("appeal_handling.bpmn", "extension_request.bpmn", "revisit.bpmn", "time_limits.dmn"):
        assert f'href="/modeler/{name}"' in html
    assert 'href="/modeler/forms"' in html and 'href="/monitor/processes"' in html


def test_processes_page_links_to_the_modeler(analyst):
    assert 'href="/modeler"' in analyst.get("/monitor/processes").get_data(as_text=True)


def test_menu_shows_modeling_to_analysts_only(analyst, browser_as):
    assert "流程建模" in analyst.get("/modeler").get_data(as_text=True)
    assert "流程建模" not in browser_as("intake1").get("/").get_data(as_text=True)


def test_bpmn_editor_loads_the_modeler_and_the_spiffworkflow_extension(analyst):
    html = analyst.get("/modeler/appeal_handling.bpmn").get_data(as_text=True)
    assert "bpmn-modeler" in html and "spiffworkflow-moddle.json" in html and "modeler.js" in html
    assert "保存草稿" in html and "与已部署版本比较" in html and "校验" in html and "部署" in html
    dmn = analyst.get("/modeler/time_limits.dmn").get_data(as_text=True)
    assert "dmn-modeler" in dmn and "属性" not in dmn


def test_unknown_file_is_404(analyst):
    assert analyst.get("/modeler/nothing.bpmn").status_code == 404
    assert analyst.get("/modeler/nothing.bpmn/content").status_code == 404
    assert analyst.get("/modeler/forms/nothing.schema.json").status_code == 404


def test_saved_draft_is_listed_opened_and_compared(analyst, deployed, clean_drafts):
    draft = deployed.replace('name="签收或退回"', 'name="签收或退回（草稿）"') \
        .replace('<bpmn:endEvent id="end_sign_for_warn"', NEW_TASK)
    resp = analyst.post("/modeler/appeal_handling.bpmn/draft", json={"xml": draft})
    assert resp.status_code == 200 and resp.json["message"] == "草稿已保存"
    assert "有草稿" in analyst.get("/modeler").get_data(as_text=True)
    opened = analyst.get("/modeler/appeal_handling.bpmn/content")
    assert opened.headers["X-Content-Source"] == "draft" and "签收或退回（草稿）" in opened.get_data(as_text=True)
    diff = analyst.get("/modeler/appeal_handling.bpmn/diff").json
    assert {"id": "ut_sign_for", "name": "签收或退回（草稿）"} in diff["changed"]
    assert diff["added"] == [{"id": "task_added_in_test", "name": "新增环节"}]
    assert diff["removed"] == []
    assert analyst.get("/modeler/appeal_handling.bpmn/download").get_data(as_text=True) == draft
    # discarding brings back the deployed version
    assert analyst.post("/modeler/appeal_handling.bpmn/discard").status_code == 302
    assert analyst.get("/modeler/appeal_handling.bpmn/content").headers["X-Content-Source"] == "deployed"


def test_diff_ignores_layout_and_reports_removed_elements():
    old = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"><bpmn:process id="p">'
           '<bpmn:task id="a" name="A"/><bpmn:task id="b" name="B"/></bpmn:process>'
           '<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="p"/></bpmndi:BPMNDiagram>'
           '</bpmn:definitions>')
    new = old.replace('<bpmn:task id="b" name="B"/>', "").replace('id="pl"', 'id="pl2"')
    assert drafts.diff(old, new) == {"added": [], "removed": [{"id": "b", "name": "B"}], "changed": []}


def test_draft_that_is_not_xml_is_refused(analyst, clean_drafts):
    resp = analyst.post("/modeler/appeal_handling.bpmn/draft", json={"xml": "<bpmn:definitions"})
    assert resp.status_code == 400 and "不是格式正确的 XML" in resp.json["errors"][0]
    assert analyst.post("/modeler/appeal_handling.bpmn/draft", json={}).status_code == 400
    assert analyst.get("/modeler/appeal_handling.bpmn/content").headers["X-Content-Source"] != "draft"


def test_validate_reports_the_broken_element_and_deploy_refuses(analyst, db, deployed, clean_drafts):
    broken = deployed.replace('value="sign_for.schema.json"', 'value="no_such_form.schema.json"')
    analyst.post("/modeler/appeal_handling.bpmn/draft", json={"xml": broken})
    problems = analyst.get("/modeler/bundle/validate").json["problems"]
    assert any(p["element_id"] == "ut_sign_for" and p["file"] == "appeal_handling.bpmn" for p in problems)
    with db.read() as session:
        before = definitions.latest(session).version
    resp = analyst.post("/modeler/bundle/deploy", json={"confirm": True})
    assert resp.status_code == 422 and resp.json["problems"]
    with db.read() as session:
        assert definitions.latest(session).version == before
    assert analyst.get("/modeler/appeal_handling.bpmn/content").headers["X-Content-Source"] == "draft"


def test_deploy_without_confirmation_does_nothing(analyst):
    resp = analyst.post("/modeler/bundle/deploy", data={})
    assert resp.status_code == 400 and resp.json["errors"] == ["请确认部署"]


def test_deploying_a_draft_makes_a_new_version_and_running_appeals_stay(analyst, db, walk, deployed):
    running = walk.register()["id"]
    with db.read() as session:
        old = definitions.latest(session)
        pinned_before = session.scalar(select(ProcessInstance.deployment_id).where(ProcessInstance.business_key == running))
    assert pinned_before == old.id
    label = f"已提醒（{uuid.uuid4().hex[:6]}）"  # a label only: the process runs as before
    draft = deployed.replace('<bpmn:endEvent id="end_sign_for_warn" name="已提醒"',
                             f'<bpmn:endEvent id="end_sign_for_warn" name="{label}"')
    assert draft != deployed
    analyst.post("/modeler/appeal_handling.bpmn/draft", json={"xml": draft})
    assert analyst.get("/modeler/bundle/validate").json == {"problems": []}
    resp = analyst.post("/modeler/bundle/deploy", json={"confirm": True})
    assert resp.status_code == 200 and resp.json["created"] is True
    assert resp.json["version"] == old.version + 1 and f"第 {old.version + 1} 版" in resp.json["message"]
    with db.read() as session:
        new = definitions.latest(session)
        assert new.version == old.version + 1 and new.deployed_by == "analyst1"
        assert label in new.files["appeal_handling.bpmn"]
        assert session.scalar(select(ProcessInstance.deployment_id).where(ProcessInstance.business_key == running)) == pinned_before
    # the draft is gone: the editor opens the deployed version
    assert analyst.get("/modeler/appeal_handling.bpmn/content").headers["X-Content-Source"] == "deployed"
    assert f"v{new.version}" in analyst.get("/modeler").get_data(as_text=True)


def test_write_back_is_off_in_tests(analyst):
    resp = analyst.post("/modeler/appeal_handling.bpmn/write")
    assert resp.status_code == 409 and "不允许写回" in resp.json["errors"][0]
    assert "写回 processes/" not in analyst.get("/modeler/appeal_handling.bpmn").get_data(as_text=True)


@pytest.fixture
def writable(app, tmp_path):
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    processes.mkdir()
    forms.mkdir()
    saved = {k: app.config[k] for k in ("ALLOW_WRITE_PROCESSES", "WRITE_PROCESSES_DIR", "WRITE_FORMS_DIR")}
    app.config.update(ALLOW_WRITE_PROCESSES=True, WRITE_PROCESSES_DIR=str(processes), WRITE_FORMS_DIR=str(forms))
    yield processes, forms
    app.config.update(saved)


def test_write_back_writes_the_file_when_enabled(analyst, writable, deployed):
    processes, _forms = writable
    resp = analyst.post("/modeler/appeal_handling.bpmn/write")
    assert resp.status_code == 200 and "appeal_handling.bpmn" in resp.json["message"]
    assert (processes / "appeal_handling.bpmn").read_text(encoding="utf-8") == deployed


def test_form_editor_shows_both_schemas_and_a_preview(analyst):
    html = analyst.get("/modeler/forms/sign_for.schema.json").get_data(as_text=True)
    assert "JSON Schema" in html and "UI schema" in html and "formJsonSchemaFilename" not in html
    schema = {"type": "object", "title": "测试表单", "properties": {"opinion": {"type": "string", "title": "处理意见"}},
              "required": ["opinion"]}
    resp = analyst.post("/modeler/forms/preview", json={"schema": json.dumps(schema), "ui": "{}"})
    assert resp.status_code == 200 and "处理意见" in resp.json["html"] and 'name="opinion"' in resp.json["html"]


def test_form_preview_reports_bad_json_and_bad_schema(analyst):
    resp = analyst.post("/modeler/forms/preview", json={"schema": "{bad", "ui": "[]"})
    assert resp.status_code == 400
    assert "JSON 格式错误" in resp.json["errors"]["schema"][0] and resp.json["errors"]["ui"] == ["应为 JSON 对象"]
    resp = analyst.post("/modeler/forms/preview", json={"schema": '{"type": "object", "properties": 5}', "ui": "{}"})
    assert resp.status_code == 400 and "不是有效的 JSON Schema" in resp.json["errors"]["schema"][0]


@pytest.fixture
def form_drafts(db):
    """Form drafts saved by a test are dropped after it: a later deployment would take them."""
    yield
    with db.transaction() as session:
        session.execute(delete(ProcessDraft).where(ProcessDraft.file_name.startswith("forms/")))


def test_form_save_keeps_a_draft_until_deployed_and_bad_input_keeps_the_text(analyst, db, form_drafts):
    with db.read() as session:
        schema = json.loads(form_files.read(session, "extension_approval.schema.json")[0])
    schema["properties"]["comment"]["title"] = "审批意见（草稿）"
    text = json.dumps(schema, ensure_ascii=False)
    resp = analyst.post("/modeler/forms/extension_approval.schema.json", data={"schema": text, "ui": "{}"})
    assert resp.status_code == 302
    html = analyst.get("/modeler/forms/extension_approval.schema.json").get_data(as_text=True)
    assert "表单草稿已保存" in html and "审批意见（草稿）" in html and "有草稿" in html
    assert "extension_approval.schema.json" in analyst.get("/modeler").get_data(as_text=True)  # goes with the next deployment
    with db.read() as session:
        assert drafts.open_file(session, "forms/extension_approval.schema.json") == (text, "draft")
        assert "审批意见（草稿）" in drafts.bundle(session)["forms/extension_approval.schema.json"]
    bad = analyst.post("/modeler/forms/extension_approval.schema.json", data={"schema": "{bad", "ui": "{}"})
    assert bad.status_code == 400 and "JSON 格式错误" in bad.get_data(as_text=True) and "{bad" in bad.get_data(as_text=True)
    with db.read() as session:
        assert drafts.open_file(session, "forms/extension_approval.schema.json")[0] == text  # the draft is kept
    assert analyst.post("/modeler/forms/extension_approval.schema.json/discard").status_code == 302
    with db.read() as session:
        assert drafts.open_file(session, "forms/extension_approval.schema.json")[1] == "deployed"
    assert analyst.post("/modeler/forms/extension_approval.schema.json/discard").status_code == 404


def test_form_write_back_is_off_in_tests_and_writes_both_files_when_enabled(analyst, app, tmp_path):
    resp = analyst.post("/modeler/forms/sign_for.schema.json/write")
    assert resp.status_code == 409 and "不允许写回" in resp.get_data(as_text=True)
    saved = {k: app.config[k] for k in ("ALLOW_WRITE_PROCESSES", "WRITE_FORMS_DIR")}
    app.config.update(ALLOW_WRITE_PROCESSES=True, WRITE_FORMS_DIR=str(tmp_path))
    try:
        assert analyst.post("/modeler/forms/sign_for.schema.json/write").status_code == 302
    finally:
        app.config.update(saved)
    assert json.loads((tmp_path / "sign_for.schema.json").read_text(encoding="utf-8"))["title"] == "签收或退回"
    assert (tmp_path / "sign_for.uischema.json").is_file()


def test_new_form_starts_a_draft_a_new_step_can_use(analyst, db, form_drafts):
    resp = analyst.post("/modeler/forms/new", data={"stem": "rehandle_briefing", "title": "重办交办"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/modeler/forms/rehandle_briefing.schema.json")
    html = analyst.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已新建表单草稿" in html and "重办交办" in html
    assert "rehandle_briefing.schema.json" in analyst.get("/modeler/forms").get_data(as_text=True)
    with db.read() as session:
        bundle = drafts.bundle(session)
    schema = json.loads(bundle["forms/rehandle_briefing.schema.json"])
    assert schema["title"] == "重办交办" and schema["$id"] == "rehandle_briefing.schema.json"
    assert forms.validate("rehandle_briefing.schema.json", {"note": "请重点核实"}, bundle) == {"note": "请重点核实"}


@pytest.mark.parametrize("stem, title, message", [
    ("sign_for", "签收", "已存在"),
    ("Bad-Name", "标题", "小写字母开头"),
    ("ok_name", "", "请填写表单标题"),
])
def test_new_form_refuses_a_bad_or_taken_name_and_keeps_the_input(analyst, db, stem, title, message):
    resp = analyst.post("/modeler/forms/new", data={"stem": stem, "title": title})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and message in html and f'value="{stem}"' in html
    with db.read() as session:
        assert not session.scalars(select(ProcessDraft)).all()


def test_a_deployed_form_change_reaches_new_appeals_and_running_ones_keep_their_versions_form(
        analyst, api, walk, db, user, form_drafts):
    before = walk.register()["id"]
    with db.read() as session:
        text, ui, _source = form_files.read(session, "assess_appeal.schema.json")
    changed = text.replace('"title": "受理研判"', '"title": "受理研判（新版）"', 1)
    assert changed != text
    assert analyst.post("/modeler/forms/assess_appeal.schema.json", data={"schema": changed, "ui": ui}).status_code == 302
    deployment, created = drafts.deploy(db, user("analyst1"))
    try:
        assert created
        after = walk.register()["id"]

        def form_title(appeal_id):
            task = walk.task(appeal_id, "intake1", "ut_assess")
            return api.as_("intake1").get(f"/tasks/{task['id']}").get_json()["form_schema"]["title"]
        assert form_title(before) == "受理研判" and form_title(after) == "受理研判（新版）"
        walk.complete(before, "intake1", "ut_assess", {"assessment": "dispatch"})  # each checked by its own form
        walk.complete(after, "intake1", "ut_assess", {"assessment": "dispatch"})
    finally:
        redeploy_repository(db, {**deployment.files, "forms/assess_appeal.schema.json": text})


def test_modeler_pages_in_english(browser_as):
    analyst = browser_as("analyst1")
    analyst.get("/lang/en")
    page = analyst.get("/modeler/appeal_handling.bpmn").get_data(as_text=True)
    assert "Service operator" in page and "Sequence flow" in page and "default flow" in page
    assert "Parameters: " in page and "An ID starts with a letter" in page
    page = analyst.get("/modeler/forms").get_data(as_text=True)
    assert "New form" in page and "deployed with the process" in page
    page = analyst.get("/modeler/forms/sign_for.schema.json").get_data(as_text=True)
    assert "You save a draft" in page and "Save draft" in page


def test_a_draft_saved_over_someone_elses_change_is_refused(browser_as, db, deployed, user):
    first, second = browser_as("analyst1"), browser_as("owner1")
    opened = first.get("/modeler/appeal_handling.bpmn/content")
    base = opened.headers["X-Content-Fingerprint"]
    assert second.get("/modeler/appeal_handling.bpmn/content").headers["X-Content-Fingerprint"] == base
    mine = deployed.replace('name="签收或退回"', 'name="签收或退回（甲）"')
    theirs = deployed.replace('name="签收或退回"', 'name="签收或退回（乙）"')
    try:
        saved = second.post("/modeler/appeal_handling.bpmn/draft", json={"xml": theirs, "based_on": base})
        assert saved.status_code == 200
        refused = first.post("/modeler/appeal_handling.bpmn/draft", json={"xml": mine, "based_on": base})
        assert refused.status_code == 409 and "已被他人修改" in refused.json["errors"][0]
        with db.read() as session:
            assert "签收或退回（乙）" in drafts.open_file(session, "appeal_handling.bpmn")[0]  # theirs is kept
        again = second.post("/modeler/appeal_handling.bpmn/draft",  # saving on top of one's own save is fine
                            json={"xml": theirs + " ", "based_on": saved.json["fingerprint"]})
        assert again.status_code == 200
    finally:
        drafts.discard(db, "appeal_handling.bpmn", user("analyst1"))


def test_a_form_saved_over_someone_elses_change_is_refused_and_keeps_the_text(browser_as, db, form_drafts):
    first, second = browser_as("analyst1"), browser_as("owner1")
    page = first.get("/modeler/forms/extension_approval.schema.json").get_data(as_text=True)
    base = {key: page.split(f'name="{key}" value="', 1)[1].split('"', 1)[0] for key in ("based_on_schema", "based_on_ui")}
    with db.read() as session:
        schema, ui, _source = form_files.read(session, "extension_approval.schema.json")
    theirs = schema.replace('"审批意见"', '"审批意见（乙）"')
    mine = schema.replace('"审批意见"', '"审批意见（甲）"')
    assert second.post("/modeler/forms/extension_approval.schema.json",
                       data={"schema": theirs, "ui": ui, **base}).status_code == 302
    refused = first.post("/modeler/forms/extension_approval.schema.json", data={"schema": mine, "ui": ui, **base})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "已被他人修改" in html and "审批意见（甲）" in html
    with db.read() as session:
        assert "审批意见（乙）" in form_files.read(session, "extension_approval.schema.json")[0]


def test_a_unique_time_limit_table_whose_rows_overlap_is_refused_with_the_rows(analyst, db, clean_drafts):
    """Issue 11, item 10 (Art. 14, 17, 20 limits): the table says FIRST because its rows overlap (urgent
    rows before the type rows); an analyst who switches it to UNIQUE in the modeler is told which rows
    overlap, and the deployment is refused."""
    with db.read() as session:
        table = drafts.deployed_content(session, "time_limits.dmn")
        before = definitions.latest(session).version
    assert 'hitPolicy="FIRST"' in table
    resp = analyst.post("/modeler/time_limits.dmn/draft", json={"xml": table.replace('hitPolicy="FIRST"',
                                                                                     'hitPolicy="UNIQUE"')})
    assert resp.status_code in (200, 201, 204), resp.get_data(as_text=True)
    problems = [p for p in analyst.get("/modeler/bundle/validate").json["problems"] if p["rule"] == "hit_policy"]
    assert problems and all(p["file"] == "time_limits.dmn" for p in problems)
    assert any("rule_urgent_help" in p["message"] and "rule_urgent" in p["message"] for p in problems)
    assert analyst.post("/modeler/bundle/deploy", json={"confirm": True}).status_code == 422
    with db.read() as session:
        assert definitions.latest(session).version == before
