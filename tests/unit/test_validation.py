"""Validation before deployment: the real bundle passes; each rule, triggered by breaking the real
bundle in one targeted way, fires alone and points at the element an analyst has to fix."""
import json

import pytest
from click.testing import CliRunner

from runtime import repository as definitions
from runtime import validation
from web import cli

BUNDLE = definitions.read_bundle()


def broken(file: str, old: str, new: str, count: int = 1) -> dict[str, str]:
    """The real bundle with one replacement in one file (which must change it)."""
    assert old in BUNDLE[file], old
    return {**BUNDLE, file: BUNDLE[file].replace(old, new, count)}


def only(problems, rule: str, element_id: str, file: str):
    """Assert exactly one problem, of this rule, at this element; return it."""
    assert [(p.rule, p.element_id, p.file) for p in problems] == [(rule, element_id, file)], \
        "\n".join(map(str, problems))
    return problems[0]


def test_the_real_bundle_has_no_problems():
    assert validation.check(BUNDLE) == []


def test_xsd_a_file_that_is_not_valid_bpmn_is_refused_with_its_line():
    files = broken("appeal_handling.bpmn", "<bpmn:laneSet", '<bpmn:notAnElement id="x" /><bpmn:laneSet')
    problem = only(validation.check(files), "xsd", "x", "appeal_handling.bpmn")
    line = next(n for n, text in enumerate(files["appeal_handling.bpmn"].splitlines(), 1) if "notAnElement" in text)
    assert problem.line == line and f"第 {line} 行" in problem.message and "bpmn:notAnElement" in problem.message


def test_xsd_a_file_that_is_not_xml_is_refused():
    problem = only(validation.check({**BUNDLE, "revisit.bpmn": "<bpmn:definitions"}), "xsd", "", "revisit.bpmn")
    assert "不是格式正确的 XML" in problem.message and problem.line == 1


def test_xsd_applies_to_dmn_files_too():
    files = broken("time_limits.dmn", 'hitPolicy="FIRST"', 'hitPolicy="BOGUS"')
    problem = only(validation.check(files), "xsd", "time_limits_table", "time_limits.dmn")
    assert "DMN" in problem.message and "BOGUS" in problem.message


def test_parse_a_call_activity_to_a_missing_process():
    files = broken("appeal_handling.bpmn", 'calledElement="revisit"', 'calledElement="revisit_v2"')
    problem = only(validation.check(files), "parse", "call_revisit", "appeal_handling.bpmn")
    assert "「回访核实」(call_revisit)" in problem.message and "revisit_v2" in problem.message


def test_a_malformed_dmn_output_is_reported_at_its_cell():
    """SpiffWorkflow's parser would reject it too; the time-limit rule says what to write instead."""
    files = broken("time_limits.dmn", '<text>"PT1H"</text>', '<text>"PT1H</text>')
    problem = only(validation.check(files), "time_limit", "rule_emergency_dispatch", "time_limits.dmn")
    assert "第 1 行「派单时限」" in problem.message


@pytest.mark.parametrize("expression", ["PT1H", "P3D", "2026-01-01T00:00", "R3/PT1H", "now + PT2H"])
def test_timer_an_unquoted_iso_literal(expression):
    files = broken("appeal_handling.bpmn", 'deadlines["dispatch"]', expression)
    problem = only(validation.check(files), "timer_expression", "tm_dispatch_due", "appeal_handling.bpmn")
    assert "「派单超期」(tm_dispatch_due)" in problem.message and "加引号" in problem.message


def test_timer_not_a_python_expression():
    files = broken("revisit.bpmn", ">evaluation_due<", ">evaluation_due +<")
    problem = only(validation.check(files), "timer_expression", "tm_no_evaluation", "revisit.bpmn")
    assert "不是有效的 Python 表达式" in problem.message


def test_timer_a_quoted_literal_or_a_variable_is_fine():
    assert validation.check(broken("revisit.bpmn", ">evaluation_due<", ">&quot;PT1H&quot;<")) == []


def test_user_task_without_a_form():
    files = broken("revisit.bpmn", '<spiffworkflow:property name="formJsonSchemaFilename" '
                   'value="return_visit.schema.json" />', "")
    problem = only(validation.check(files), "user_task_form", "ut_return_visit", "revisit.bpmn")
    assert "formJsonSchemaFilename" in problem.message


def test_user_task_whose_form_file_is_missing():
    files = broken("appeal_handling.bpmn", "sign_for.schema.json", "sign_for_v2.schema.json")
    problem = only(validation.check(files), "user_task_form", "ut_sign_for", "appeal_handling.bpmn")
    assert problem.message == "「签收或退回」(ut_sign_for) 的表单文件 sign_for_v2.schema.json 不存在"
    assert problem.message_en == '"签收或退回" (ut_sign_for): form file sign_for_v2.schema.json does not exist'


@pytest.mark.parametrize("content, expected", [
    ('{"type": "object", "properties": {"x": {"type": "text"}}}', "不是有效的 JSON Schema"),
    ('{"type": "object",', "不是有效的 JSON"),
])
def test_user_task_whose_form_is_not_a_valid_json_schema(content, expected):
    files = {**BUNDLE, "forms/sign_for.schema.json": content}  # the form as it would be deployed
    problem = only(validation.check(files), "user_task_form", "ut_sign_for", "appeal_handling.bpmn")
    assert expected in problem.message and "sign_for.schema.json" in problem.message


@pytest.mark.parametrize("rules, expected", [
    ({"variables": "on_site", "allOf": []}, "x-process-rules 应为 variables"),
    ({"variables": ["on site"], "allOf": []}, "x-process-rules 应为 variables"),
    ({"variables": ["on_site"], "allOf": [{"type": "text"}]}, "x-process-rules 不是有效的 JSON Schema"),
])
def test_a_forms_rules_over_process_data_must_be_readable(rules, expected):
    """Art. 18's evidence rule lives in forms/record_result.schema.json; a broken one is refused at
    deployment, not when a unit submits its result."""
    schema = json.loads(BUNDLE["forms/record_result.schema.json"])
    assert schema["x-process-rules"]["variables"] == ["on_site"]
    files = {**BUNDLE, "forms/record_result.schema.json": json.dumps({**schema, "x-process-rules": rules})}
    problem = only(validation.check(files), "user_task_form", "ut_record_result", "appeal_handling.bpmn")
    assert expected in problem.message and "record_result.schema.json" in problem.message


def test_lane_without_a_role_mapping_whose_tasks_have_no_roles():
    files = broken("extension_request.bpmn", 'name="承办单位领导"', 'name="单位领导"')
    assert validation.check(files) == []  # its only user task names candidateRoles itself
    files["extension_request.bpmn"] = files["extension_request.bpmn"].replace(
        '<spiffworkflow:property name="candidateRoles" value="organizer_leader" />', "")
    problem = only(validation.check(files), "lane_roles", "lane_leader", "extension_request.bpmn")
    assert "ut_leader_consent" in problem.message and "「单位领导」(lane_leader)" in problem.message


def test_service_task_naming_an_operator_the_engine_lacks():
    files = broken("revisit.bpmn", 'id="send_evaluation_link"', 'id="send_sms_link"')
    problem = only(validation.check(files), "service_operator", "svc_send_link", "revisit.bpmn")
    assert "send_sms_link" in problem.message


def test_gateway_with_an_unconditional_flow_and_no_default():
    files = broken("revisit.bpmn", ' default="f_rv_ok"', "")
    problem = only(validation.check(files), "gateway_default", "f_rv_ok", "revisit.bpmn")
    assert "(gw_dissatisfied)" in problem.message and "默认出口" in problem.message


def test_element_without_di():
    files = broken("revisit.bpmn", 'bpmnElement="ut_find_responsibility"', 'bpmnElement="gone"')
    problem = only(validation.check(files), "missing_di", "ut_find_responsibility", "revisit.bpmn")
    assert "建模工具中看不到" in problem.message


def test_parse_and_deploy_refuse_with_fields_per_element(db):
    files = broken("appeal_handling.bpmn", "sign_for.schema.json", "sign_for_v2.schema.json")
    with pytest.raises(validation.BundleInvalid) as err:
        definitions.parse(files)
    assert list(err.value.fields) == ["appeal_handling.bpmn:ut_sign_for"]
    with pytest.raises(validation.BundleInvalid), db.transaction() as session:
        definitions.deploy(session, files)
    with db.read() as session:
        assert definitions.content_hash(files) not in {d.content_hash for d in definitions.list_deployments(session)}


def test_cli_deploy_check(monkeypatch):
    runner = CliRunner()
    ok = runner.invoke(cli.main, ["deploy", "--check"])
    assert ok.exit_code == 0 and "没有发现问题 / no problems" in ok.output
    files = broken("revisit.bpmn", 'id="send_evaluation_link"', 'id="send_sms_link"')
    monkeypatch.setattr(definitions, "read_bundle", lambda: files)
    bad = runner.invoke(cli.main, ["deploy", "--check"])
    assert bad.exit_code == 1
    line = next(n for n, text in enumerate(files["revisit.bpmn"].splitlines(), 1) if 'id="svc_send_link"' in text)
    assert f"revisit.bpmn:{line} svc_send_link [service_operator] 「短信发送评价链接」(svc_send_link)" in bad.output


def test_cli_deploy_refuses_with_the_same_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(cli.main, ["init-db"]).exit_code == 0
    monkeypatch.setattr(definitions, "read_bundle", lambda: broken("revisit.bpmn", ' default="f_rv_ok"', ""))
    refused = runner.invoke(cli.main, ["deploy"])
    assert refused.exit_code == 1
    assert "f_rv_ok [gateway_default]" in refused.output and "未部署" in refused.output


def test_service_task_missing_a_parameter_or_passing_an_unknown_one():
    files = broken("appeal_handling.bpmn", '<spiffworkflow:parameter id="rehandle_count" type="int" value="rehandle_count" />',
                   '<spiffworkflow:parameter id="rehandle_no" type="int" value="rehandle_count" />')
    problems = [p for p in validation.check(files) if p.element_id == "svc_rehandle"]
    assert [p.rule for p in problems] == ["service_operator", "service_operator"]
    assert "缺少参数：rehandle_count" in problems[0].message
    assert "不接受的参数：rehandle_no" in problems[1].message and "handling_limit" in problems[1].message


@pytest.mark.parametrize("cell", ['12wd', '"12 days"', '""', '"10wd" + 2'])
def test_time_limit_cell_the_deadline_grammar_cannot_read(cell):
    files = broken("time_limits.dmn", '<outputEntry id="rule_complaint_handling"><text>"10wd"</text>',
                   f'<outputEntry id="rule_complaint_handling"><text>{cell}</text>')
    problem = only(validation.check(files), "time_limit", "rule_complaint_handling", "time_limits.dmn")
    assert problem.message.startswith("第 7 行「办理时限」的值") and "不是有效的时限" in problem.message


def test_time_limit_cells_in_the_grammar_pass():
    for cell in ('"12wd"', '"PT2H"', '"PT30M"', '"same_day"', '"none"'):
        files = broken("time_limits.dmn", '<outputEntry id="rule_complaint_handling"><text>"10wd"</text>',
                       f'<outputEntry id="rule_complaint_handling"><text>{cell}</text>')
        assert validation.check(files) == [], cell


ASSESS_STATUS = '<spiffworkflow:property name="appealStatus" value="assessing" />'


def test_status_a_user_task_without_a_status_is_refused_by_name():
    problem = only(validation.check(broken("appeal_handling.bpmn", ASSESS_STATUS, "")), "status", "ut_assess",
                   "appeal_handling.bpmn")
    assert problem.message == "「受理研判」(ut_assess) 没有声明诉求状态（扩展属性 appealStatus）"


def test_status_without_its_english_label_is_refused_by_name():
    label = '<spiffworkflow:property name="appealStatusLabelEn" value="Awaiting assessment" />'
    problem = only(validation.check(broken("appeal_handling.bpmn", label, "")), "status", "ut_assess",
                   "appeal_handling.bpmn")
    assert "assessing" in problem.message and "appealStatusLabelEn" in problem.message


def test_status_labelled_two_ways_is_refused():
    other = '<spiffworkflow:property name="appealStatusLabel" value="办理中" />'
    files = broken("appeal_handling.bpmn", other, '<spiffworkflow:property name="appealStatusLabel" value="处理中" />')
    problems = validation.check(files)
    assert problems and all(p.rule == "status" and "handling" in p.message for p in problems)


def test_status_an_end_event_may_declare_one_but_must_label_it():
    archived = '<spiffworkflow:property name="appealStatusLabel" value="已办结" />'
    only(validation.check(broken("appeal_handling.bpmn", archived, "")), "status", "end_archived",
         "appeal_handling.bpmn")


def test_milestone_a_name_that_is_not_an_identifier_or_a_condition_that_is_not_python():
    good = '<spiffworkflow:property name="milestone:appellant_contacted" value="appellant_reached" />'
    problem = only(validation.check(broken("appeal_handling.bpmn", good, good.replace(
        'value="appellant_reached"', 'value="appellant_reached ==="'))), "milestone", "ut_reply", "appeal_handling.bpmn")
    assert "appellant_contacted" in problem.message
    bad_name = good.replace("milestone:appellant_contacted", "milestone:Appellant Contacted")
    problems = validation.check(broken("appeal_handling.bpmn", good, good + bad_name))
    assert [p.rule for p in problems] == ["milestone"] and "Appellant Contacted" in problems[0].message


def test_deadline_a_stage_the_time_limit_table_does_not_have():
    stage = '<spiffworkflow:property name="deadline" value="sign_for" />'
    problems = validation.check(broken("appeal_handling.bpmn", stage, stage.replace("sign_for", "signing"), count=1))
    assert [(p.rule, p.element_id) for p in problems] == [("deadline", "ut_sign_for")]


def test_a_platform_task_without_its_centre_is_refused():
    """Without scopeVariable every centre's return-visit staff could work the call (hotline.centres)."""
    files = broken("revisit.bpmn", '<spiffworkflow:property name="scopeVariable" value="centre_id" />', "")
    problem = only(validation.check(files), "scope", "ut_return_visit", "revisit.bpmn")
    assert "scopeVariable" in problem.message and "centre_id" in problem.message
    # a unit's task names its unit instead, and needs no centre
    assert not [p for p in validation.check(definitions.read_bundle()) if p.rule == "scope"]
