"""The diagram alone decides the order: an analyst's change deploys and runs with no Python change.

Through the runtime's deployment path (runtime.repository.deploy_bundle, what `hotline deploy`
and the modeler's deploy call) and the JSON API, as users work:
- a new step 答复质检 with a new status and a new form, after the organizer's reply: appeals
  wait there, the API filters by its status, and they go on to the return visit and archive;
- every task id of appeal_handling.bpmn renamed: an appeal walked the same way passes through the
  same statuses, the pages find its steps, and its evaluation figures are those of an appeal on
  the repository's version;
- a milestone the platform reads taken away: the deployment is refused and names it.
The walker finds each step by its form, never by an element id.
"""
import json
import re
import uuid

import pytest
from lxml import etree

from hotline import evaluation as ev
from hotline import evaluation_report, intake
from runtime import repository
from runtime.problems import BundleInvalid
from web import get_db

from ..conftest import handler_assignment, intake_data, redeploy_repository

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
NODES = ("userTask", "serviceTask", "scriptTask", "businessRuleTask", "callActivity", "subProcess", "startEvent",
         "endEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway")
QUALITY_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "答复质检", "type": "object",
    "required": ["quality_decision"],
    "properties": {"quality_decision": {"type": "string", "title": "质检结论", "enum": ["pass", "note"]},
                   "quality_note": {"type": "string", "title": "质检意见", "maxLength": 500}},
    "additionalProperties": False, "x-process-variables": ["quality_decision"]}


class FormWalker:
    """Works an appeal through the API, finding each step by the form it fills."""

    def __init__(self, api):
        self.api = api

    def task(self, appeal_id, username, form):
        items = self.api.tasks(username)  # every page of GET /tasks
        found = [t for t in items if t["appeal_id"] == appeal_id and t["form"] == form]
        assert found, f"{username} has no open step with {form} on appeal {appeal_id}"
        return found[0]

    def do(self, appeal_id, username, form, data):
        task = self.task(appeal_id, username, form)
        resp = self.api.as_(username).post(f"/tasks/{task['id']}/complete", json={"data": data})
        assert resp.status_code == 200, resp.get_json()
        return self.status(appeal_id)

    def status(self, appeal_id):
        return self.api.as_("supervisor1").get(f"/appeals/{appeal_id}").get_json()["appeal"]["status"]

    def walk(self, unit_id, quality_check=False) -> tuple[int, list[str]]:
        """A complaint returned once by fz_market, handled by gl_urban, replied with the appellant
        reached, evaluated satisfied. Returns (appeal id, the statuses after each step)."""
        appeal = self.api.as_("intake1").post("/appeals", json=intake_data()).get_json()
        a, seen = appeal["id"], [self.status(appeal["id"])]
        steps = [
            ("intake1", "assess_appeal.schema.json", {"assessment": "dispatch"}),
            ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": unit_id("fz_market")}),
            ("fz_market_staff", "sign_for.schema.json", {"sign_decision": "return", "return_reason": "非本单位职责",
                                                         "suggested_unit_id": unit_id("gl_urban")}),
            ("dispatcher1", "handle_return.schema.json", {"return_decision": "redispatch",
                                                           "lead_unit_id": unit_id("gl_urban")}),
            ("gl_urban_staff", "sign_for.schema.json", {"sign_decision": "sign"}),
            ("gl_urban_leader", "assign_handler.schema.json", handler_assignment(get_db(self.api.client.application))),
            ("gl_urban_staff", "record_result.schema.json", {"result_action": "submit_result",
                                                              "result": "已责令停工", "resolved": True}),
            ("gl_urban_leader", "leader_review.schema.json", {"review_decision": "approve"}),
            ("gl_urban_staff", "reply_appellant.schema.json", {"reply_method": "phone", "appellant_reached": True,
                                                                "reply_content": "已电话告知"}),
        ]
        if quality_check:
            steps.append(("dispatcher1", "quality_check.schema.json", {"quality_decision": "pass"}))
        steps.append(("dispatcher1", "closure_review.schema.json", {"closure_decision": "approve"}))
        steps.append(("revisit1", "return_visit.schema.json",
                      {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}))
        for username, form, data in steps:
            if form == "handle_return.schema.json":  # what the dispatch page shows of the return
                seen.append(("returned reason", self.returned_reason(a)))
            seen.append(self.do(a, username, form, data))
        return a, seen

    def returned_reason(self, appeal_id):
        from web import get_db
        with get_db(self.api.client.application).read() as session:
            queue = [row["task"].id for row in intake.dispatch_queue(session, _user(session, "dispatcher1"))
                     if row["appeal"].id == appeal_id]
            assert queue, "the returned appeal is not in the dispatch queue"
            return intake.dispatch_context(session, queue[0], _user(session, "dispatcher1"))["returned"]["reason"]


def _user(session, name):
    from sqlalchemy import select

    from hotline.models import User
    return session.scalar(select(User).where(User.username == name))


def with_quality_check(files: dict, status: str = "quality_check") -> dict:
    """答复质检 (a new status, role dispatcher, a new form) right after the organizer's reply."""
    changed = dict(files)
    text = files["appeal_handling.bpmn"]
    reply = re.search(r'<bpmn:sequenceFlow id="(\w+)" sourceRef="ut_reply" targetRef="(\w+)" />', text)
    flow, after = reply.group(1), reply.group(2)
    task = ('<bpmn:userTask id="ut_quality_check" name="答复质检"><bpmn:extensionElements>'
            '<spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="quality_check.schema.json" />'
            '<spiffworkflow:property name="formUiSchemaFilename" value="quality_check.uischema.json" />'
            '<spiffworkflow:property name="candidateRoles" value="dispatcher" />'
            '<spiffworkflow:property name="scopeVariable" value="centre_id" />'
            f'<spiffworkflow:property name="appealStatus" value="{status}" />'
            '<spiffworkflow:property name="appealStatusLabel" value="答复质检" />'
            '<spiffworkflow:property name="appealStatusLabelEn" value="Quality check" />'
            '</spiffworkflow:properties></bpmn:extensionElements>'
            f'<bpmn:incoming>{flow}</bpmn:incoming><bpmn:outgoing>f_quality_done</bpmn:outgoing></bpmn:userTask>'
            f'<bpmn:sequenceFlow id="f_quality_done" sourceRef="ut_quality_check" targetRef="{after}" />')
    text = text.replace(reply.group(0), f'<bpmn:sequenceFlow id="{flow}" sourceRef="ut_reply" '
                                        f'targetRef="ut_quality_check" />{task}')
    text = text.replace(f"<bpmn:incoming>{flow}</bpmn:incoming>\n", "<bpmn:incoming>f_quality_done</bpmn:incoming>\n", 1)
    text = text.replace("</bpmndi:BPMNPlane>",
                        '<bpmndi:BPMNShape id="ut_quality_check_di" bpmnElement="ut_quality_check">'
                        '<dc:Bounds x="4300" y="1000" width="110" height="80" /></bpmndi:BPMNShape>'
                        '<bpmndi:BPMNEdge id="f_quality_done_di" bpmnElement="f_quality_done">'
                        '<di:waypoint x="4410" y="1040" /><di:waypoint x="4437" y="800" /></bpmndi:BPMNEdge>'
                        "</bpmndi:BPMNPlane>")
    changed["appeal_handling.bpmn"] = text
    changed["forms/quality_check.schema.json"] = json.dumps(QUALITY_FORM, ensure_ascii=False)
    changed["forms/quality_check.uischema.json"] = json.dumps({"quality_note": {"ui:widget": "textarea"}})
    return changed


def with_every_task_renamed(files: dict) -> tuple[dict, dict]:
    """Every flow node of appeal_handling.bpmn under a new id (its DI and references follow)."""
    text = files["appeal_handling.bpmn"]
    tree = etree.fromstring(text.encode())
    ids = [el.get("id") for tag in NODES for el in tree.iter(BPMN + tag)]
    renamed = {old: f"step_{n:02d}" for n, old in enumerate(sorted(ids, key=len, reverse=True))}
    for old, new in renamed.items():
        text = re.sub(rf'(["\'>]){re.escape(old)}(_di)?(["\'<])', rf"\g<1>{new}\g<2>\g<3>", text)
    return {**files, "appeal_handling.bpmn": text}, renamed


@pytest.fixture
def walker(api):
    return FormWalker(api)


def test_a_new_step_with_its_own_status_and_form_runs_to_the_archive(db, api, walker, unit_id):
    status = f"quality_check_{uuid.uuid4().hex[:6]}"
    assert api.as_("supervisor1").get(f"/appeals?status={status}").status_code == 400  # no such status yet
    try:
        _deployment, created = repository.deploy_bundle(db, with_quality_check(repository.read_bundle(), status),
                                                       deployed_by="analyst1")
        assert created
        appeal, statuses = walker.walk(unit_id, quality_check=True)
    finally:
        redeploy_repository(db)
    assert statuses[-4:] == [status, "closure_review", "verifying", "archived"]
    assert api.as_("supervisor1").get(f"/appeals?status={status}").status_code == 200  # a deployed version has it
    listed = api.as_("supervisor1").get("/appeals?status=archived&limit=200").get_json()["items"]
    assert appeal in [a["id"] for a in listed]
    page = api.as_("supervisor1").get(f"/appeals/{appeal}").get_json()
    review = [e for e in page["history"] if e["action"] == "task_completed" and e["task_name"] == "答复质检"]
    assert review and review[0]["detail"] == {"quality_decision": "pass"}


def test_an_appeal_waits_in_the_new_step_and_the_api_filters_by_its_status(db, api, walker, unit_id):
    try:
        repository.deploy_bundle(db, with_quality_check(repository.read_bundle()), deployed_by="analyst1")
        appeal = api.as_("intake1").post("/appeals", json=intake_data()).get_json()["id"]
        for username, form, data in [
                ("intake1", "assess_appeal.schema.json", {"assessment": "dispatch"}),
                ("dispatcher1", "dispatch.schema.json", {"lead_unit_id": unit_id("gl_urban")}),
                ("gl_urban_staff", "sign_for.schema.json", {"sign_decision": "sign"}),
                ("gl_urban_leader", "assign_handler.schema.json", handler_assignment(db)),
                ("gl_urban_staff", "record_result.schema.json", {"result_action": "submit_result", "result": "已办"}),
                ("gl_urban_leader", "leader_review.schema.json", {"review_decision": "approve"}),
                ("gl_urban_staff", "reply_appellant.schema.json",
                 {"reply_method": "phone", "appellant_reached": False, "reply_content": "已告知"})]:
            walker.do(appeal, username, form, data)
    finally:
        redeploy_repository(db)
    waiting = api.as_("supervisor1").get("/appeals?status=quality_check").get_json()["items"]
    assert appeal in [a["id"] for a in waiting]
    assert [a["status_label"] for a in waiting if a["id"] == appeal] == ["答复质检"]
    task = walker.task(appeal, "dispatcher1", "quality_check.schema.json")
    form = api.as_("dispatcher1").get(f"/tasks/{task['id']}").get_json()["form_schema"]
    assert form["properties"]["quality_decision"]["enum"] == ["pass", "note"]  # the new form, as deployed
    bad = api.as_("dispatcher1").post(f"/tasks/{task['id']}/complete", json={"data": {"quality_decision": "x"}})
    assert bad.status_code == 400 and "quality_decision" in bad.get_json()["error"]["fields"]


def _figures(db, appeal_id, unit):
    with db.read() as session:
        start, end = ev.window(ev.containing("month", _accepted(session, appeal_id), 1), 1)
        facts = [f for f in evaluation_report.facts(session, start, end) if f.appeal_id == appeal_id]
    return ev.tally(facts)


def _accepted(session, appeal_id):
    from hotline.models import Appeal
    return session.get(Appeal, appeal_id).accepted_at


def test_renaming_every_task_id_changes_nothing_a_user_sees(db, api, walker, unit_id):
    files, renamed = with_every_task_renamed(repository.read_bundle())
    assert len(renamed) > 40 and "ut_reply" not in files["appeal_handling.bpmn"]
    before, before_seen = walker.walk(unit_id)
    try:
        repository.deploy_bundle(db, files, deployed_by="analyst1")
        after, after_seen = walker.walk(unit_id)
    finally:
        redeploy_repository(db)
    assert after_seen == before_seen and after_seen[-1] == "archived"
    assert ("returned reason", "非本单位职责") in after_seen
    counts = {a: _figures(db, a, unit_id) for a in (before, after)}
    assert counts[before] == counts[after]
    mine = counts[after][unit_id("gl_urban")]
    assert (mine.handled, mine.closed, mine.valid, mine.contacted, mine.satisfied) == (1, 1, 1, 1, 1)
    assert counts[after][unit_id("fz_market")].returned == 1


def test_a_deployment_without_a_milestone_the_platform_reads_is_refused_by_name(db):
    files = repository.read_bundle()
    text = files["appeal_handling.bpmn"]
    line = '<spiffworkflow:property name="milestone:appellant_contacted" value="appellant_reached" />'
    assert line in text
    with pytest.raises(BundleInvalid) as err:
        repository.deploy_bundle(db, {**files, "appeal_handling.bpmn": text.replace(line, "")}, deployed_by="analyst1")
    messages = [p.message for p in err.value.problems]
    assert len(messages) == 1 and "appellant_contacted" in messages[0] and "联系率" in messages[0]
    assert err.value.problems[0].rule == "milestone"
