"""The diagrams are valid BPMN 2.0 (XSD), every element can be drawn (DI), and what the
hotline relies on is declared in them."""
import re
from itertools import pairwise

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
                                             "sp_co_part", "sp_handling", "sub_handling", "supervision"]


def test_every_shape_and_edge_has_di():
    """The repository's own DI rule (runtime.validation_rules.missing_di), run on each diagram."""
    diagrams = {n: t for n, t in definitions.read_bundle().items() if n.endswith(".bpmn")}
    assert len(diagrams) == 6
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
    assert len(user_tasks) == 21
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
        assert stage in ("dispatch", "sign_for", "first_contact", "handling", "co_feedback", "sub_sign_for",
                         "sub_handling"), timer.bpmn_id
        by_stage.setdefault(stage, set()).add(timer.event_definition.expression)
    for stage in ("dispatch", "sign_for", "first_contact", "co_feedback", "sub_sign_for", "sub_handling"):
        assert by_stage[stage] == {f'deadlines["{stage}_warning"]', f'deadlines["{stage}"]'}
    assert by_stage["handling"] == {'deadlines["handling_warning"]', 'deadlines["handling"]',
                                    'due_after(deadlines["handling"], supervision_limit)'}



DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DD = "{http://www.omg.org/spec/DD/20100524/DI}"


def _crosses(p, q, box) -> bool:
    """Whether segment p-q passes through the inside of box (x, y, w, h) (Liang-Barsky clipping)."""
    (x1, y1), (x2, y2), (bx, by, bw, bh) = p, q, box
    dx, dy, t0, t1 = x2 - x1, y2 - y1, 0.0, 1.0
    for step, room in ((-dx, x1 - bx), (dx, bx + bw - x1), (-dy, y1 - by), (dy, by + bh - y1)):
        if step == 0:
            if room < 0:
                return False
        elif step < 0:
            t0 = max(t0, room / step)
        else:
            t1 = min(t1, room / step)
        if t0 > t1:
            return False
    return True


def lines_through_shapes(text: str) -> list[tuple[str, str]]:
    """(flow, shape) for each sequence flow drawn through a shape that is neither its source nor its
    target (a boundary event counts as the activity it sits on); pools, lanes and subprocesses are
    containers, not obstacles."""
    tree = etree.fromstring(text.encode())
    by_id = {el.get("id"): el for el in tree.iter() if el.get("id")}
    boxes = {}
    for shape in tree.iter(DI + "BPMNShape"):
        element = by_id[shape.get("bpmnElement")]
        if etree.QName(element).localname in ("participant", "lane", "subProcess"):
            continue
        b = shape.find(DC + "Bounds")
        boxes[shape.get("bpmnElement")] = tuple(float(b.get(k)) + d for k, d in
                                                (("x", 2), ("y", 2), ("width", -4), ("height", -4)))
    found = []
    for edge in tree.iter(DI + "BPMNEdge"):
        flow = by_id[edge.get("bpmnElement")]
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        ends |= {by_id[e].get("attachedToRef") for e in list(ends) if by_id[e].get("attachedToRef")}
        points = [(float(w.get("x")), float(w.get("y"))) for w in edge.iter(DD + "waypoint")]
        for shape_id, box in boxes.items():
            if shape_id not in ends and by_id[shape_id].get("attachedToRef") not in ends and any(
                    _crosses(p, q, box) for p, q in pairwise(points)):
                found.append((flow.get("id"), shape_id))
    return found


def test_no_line_is_drawn_through_a_shape():
    """What a reader of the diagram sees: every flow goes around the shapes it does not connect."""
    diagrams = {n: t for n, t in definitions.read_bundle().items() if n.endswith(".bpmn")}
    for name, text in diagrams.items():
        assert lines_through_shapes(text) == [], name
    text = diagrams["appeal_handling.bpmn"]  # the flow out of 承办单位办理 drawn from its middle, through 答复诉求人
    edge = re.search(r'(<bpmndi:BPMNEdge id="f_handled_di" bpmnElement="f_handled">\s*<di:waypoint x=")(\d+)(" y="(\d+)")',
                     text)
    crossing = text.replace(edge.group(0), f"{edge.group(1)}3000{edge.group(3)}", 1)
    assert crossing != text and ("f_handled", "ut_reply") in lines_through_shapes(crossing)
