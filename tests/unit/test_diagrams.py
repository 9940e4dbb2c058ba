"""The diagrams are valid BPMN 2.0 (XSD), every element can be drawn (DI), and what the
engine relies on is declared in them."""
import subprocess
import sys
from pathlib import Path

import pytest

from engine import definitions, services
from engine.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]
DI_CHECK = ROOT.parent / "shared" / "tools" / "check_bpmn_di.py"


@pytest.fixture(scope="module")
def specs():
    spec, subs = definitions.parse(definitions.read_bundle())
    return [spec, *subs.values()]


def test_diagrams_validate_against_the_bpmn_xsd(specs):
    assert sorted(s.name for s in specs) == ["appeal_handling", "extension_request", "revisit", "sp_handling"]


def test_every_shape_and_edge_has_di():
    assert DI_CHECK.is_file(), f"the shared DI checker is missing at {DI_CHECK}"
    result = subprocess.run([sys.executable, str(DI_CHECK), str(ROOT / "processes")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_task_names_a_registered_operator(specs):
    called = {t.operation_name for s in specs for t in s.task_specs.values() if hasattr(t, "operation_name")}
    assert called and called <= set(services.OPERATORS)


def test_every_user_task_has_a_form_roles_and_a_status(specs):
    from engine.status import TRANSITIONS
    user_tasks = [t for s in specs for t in s.task_specs.values() if getattr(t, "manual", False)]
    assert len(user_tasks) == 14
    for task in user_tasks:
        props = task.extensions["properties"]
        assert props["formJsonSchemaFilename"].endswith(".schema.json"), task.bpmn_id
        assert props["candidateRoles"], task.bpmn_id
        assert props["appealStatus"] in TRANSITIONS, task.bpmn_id


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


def test_every_timed_stage_has_a_reminder_and_an_overdue_timer(specs):
    boundary = {t.bpmn_id: t.event_definition.expression for s in specs for t in s.task_specs.values()
                if getattr(t, "event_definition", None) is not None and t.bpmn_id and t.bpmn_id.startswith("tm_")}
    for stage in ("dispatch", "sign_for", "first_contact", "handling"):
        assert boundary[f"tm_{stage}_warn"] == f'deadlines["{stage}_warning"]'
        assert boundary[f"tm_{stage}_due"] == f'deadlines["{stage}"]'
