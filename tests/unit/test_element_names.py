"""Every user task and timer event of the repository's diagrams carries an English name (the
nameEn property, hotline.element_names) that English pages show in place of its Chinese name."""
import re
from pathlib import Path

import pytest
from lxml import etree

from hotline.element_names import NAME_EN

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _named_elements():
    for path in sorted(PROCESSES.glob("*.bpmn")):
        tree = etree.parse(str(path))
        bpmn = NS["bpmn"]
        for el in tree.iter(f"{{{bpmn}}}userTask", f"{{{bpmn}}}boundaryEvent", f"{{{bpmn}}}intermediateCatchEvent",
                            f"{{{bpmn}}}startEvent"):
            if el.tag.endswith("userTask") or el.find("bpmn:timerEventDefinition", NS) is not None:
                yield path.name, el


@pytest.mark.parametrize("file,element", [(f, el) for f, el in _named_elements()],
                         ids=lambda v: v.get("id") if hasattr(v, "get") else v)
def test_each_task_and_timer_has_an_english_name(file, element):
    names = element.xpath(f"bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='{NAME_EN}']"
                          "/@value", namespaces=NS)
    assert names and names[0].strip(), f"{file}: {element.get('id')} ({element.get('name')}) has no {NAME_EN}"
    assert not CJK.search(names[0]), names[0]


def test_the_diagrams_have_tasks_and_timers_to_name():
    kinds = {etree.QName(el).localname for _f, el in _named_elements()}
    assert {"userTask", "boundaryEvent"} <= kinds
