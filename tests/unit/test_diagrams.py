"""The diagrams are valid BPMN 2.0 (XSD), every element can be drawn (DI), and what the
hotline relies on is declared in them."""
import pytest
from lxml import etree

from hotline import contract, operators, statuses
from runtime import repository as definitions
from runtime.errors import InvalidInput
from runtime.validation_rules import missing_di


@pytest.fixture(scope="module")
def specs():
    spec, subs = definitions.parse(definitions.read_bundle())
    return [spec, *subs.values()]


def test_diagrams_validate_against_the_bpmn_xsd(specs):
    assert sorted(s.name for s in specs) == ["appeal_handling", "co_handling", "extension_request", "revisit",
                                             "sp_co_part", "sp_handling"]


def test_every_shape_and_edge_has_di():
    """The repository's own DI rule (runtime.validation_rules.missing_di), run on each diagram."""
    diagrams = {n: t for n, t in definitions.read_bundle().items() if n.endswith(".bpmn")}
    assert len(diagrams) == 4
    for name, text in diagrams.items():
        assert missing_di(name, etree.fromstring(text.encode()), {}) == [], name
    dropped = diagrams["revisit.bpmn"].replace('bpmnElement="ut_return_visit"', 'bpmnElement="nothing"')
    assert [p.element_id for p in missing_di("revisit.bpmn", etree.fromstring(dropped.encode()), {})] == [
        "ut_return_visit"]


def test_every_service_task_names_a_registered_operator(specs):
    called = {t.operation_name for s in specs for t in s.task_specs.values() if hasattr(t, "operation_name")}
    assert called and called <= {fn.__name__ for fn in operators.ALL}


def test_every_user_task_has_a_form_roles_and_a_labelled_status(specs):
    user_tasks = [t for s in specs for t in s.task_specs.values() if getattr(t, "manual", False)]
    assert len(user_tasks) == 16
    for task in user_tasks:
        props = task.extensions["properties"]
        assert props["formJsonSchemaFilename"].endswith(".schema.json"), task.bpmn_id
        assert props["candidateRoles"], task.bpmn_id
        status = statuses.declared(task)
        assert status and status.label != status.name and status.label_en != status.label, task.bpmn_id


def test_every_milestone_the_hotline_reads_is_declared(specs):
    declared = {m for s in specs for t in s.task_specs.values()
                for m in getattr(t, "extensions", {}).get("properties", {}) if m.startswith("milestone:")}
    assert {f"milestone:{m}" for m in contract.REQUIRED} <= declared


def test_a_broken_diagram_is_refused_with_a_clear_message():
    files = definitions.read_bundle()
    broken = {**files, "appeal_handling.bpmn": files["appeal_handling.bpmn"].replace(
        '<bpmn:laneSet', '<bpmn:notAnElement id="x" /><bpmn:laneSet', 1)}  # fails the XSD
    with pytest.raises(InvalidInput):
        definitions.parse(broken)
    not_xml = {**files, "revisit.bpmn": "<bpmn:definitions"}
    with pytest.raises(InvalidInput):
        definitions.parse(not_xml)


def test_a_missing_form_is_refused():
    files = definitions.read_bundle()
    renamed = {**files, "appeal_handling.bpmn": files["appeal_handling.bpmn"].replace(
        "sign_for.schema.json", "sign_for_v2.schema.json")}
    with pytest.raises(InvalidInput) as err:
        definitions.parse(renamed)
    assert err.value.fields["appeal_handling.bpmn:ut_sign_for"] == [(
        "「签收或退回」(ut_sign_for) 的表单文件 sign_for_v2.schema.json 不存在 / "
        '"签收或退回" (ut_sign_for): form file sign_for_v2.schema.json does not exist')]


def test_every_timed_stage_has_a_reminder_and_an_overdue_timer_that_declare_their_stage(specs):
    timers = [t for s in specs for t in s.task_specs.values() if getattr(t, "event_definition", None) is not None
              and "deadlines[" in (getattr(t.event_definition, "expression", "") or "")]
    by_stage = {}
    for timer in timers:
        stage = getattr(timer, "extensions", {}).get("properties", {}).get("deadline")
        assert stage in ("dispatch", "sign_for", "first_contact", "handling", "co_feedback"), timer.bpmn_id
        by_stage.setdefault(stage, set()).add(timer.event_definition.expression)
    for stage in ("dispatch", "sign_for", "first_contact", "co_feedback"):
        assert by_stage[stage] == {f'deadlines["{stage}_warning"]', f'deadlines["{stage}"]'}
    assert by_stage["handling"] == {'deadlines["handling_warning"]', 'deadlines["handling"]',
                                    'due_after(deadlines["handling"], supervision_limit)'}

