"""Validation before deployment: every problem of a bundle, pointing at the element to fix.

`check(files)` runs every rule over a bundle (name -> XML text) and returns one Problem per
finding, each with a zh-CN message an analyst understands and its English. `definitions.parse()`
refuses a bundle with problems; `hotline deploy --check` prints them; the tests run them over
processes/. The runtime's diagram rules (timers, forms, lanes, operators, gateways, milestones,
DI) are in validation_rules.py; the application adds its own through the registry (what it needs
a diagram to declare).

Rules: xsd (well-formed XML, BPMN/DMN XSD); timer_expression, user_task_form, lane_roles,
service_operator, gateway_default, milestone, missing_di on diagrams; hit_policy on decision tables
(a UNIQUE table's rows may not overlap, dmn_soundness.py); then the registry's rules; parse
(SpiffWorkflow builds the specs: only when every file passed the XSD, and only what the rules
before did not already report).
"""
import re
from functools import cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from . import registry
from .forms import BUNDLE_PREFIX as FORMS
from .problems import BundleInvalid, Problem, label
from .validation_rules import BPMN_RULES, DMN_RULES

__all__ = ["BundleInvalid", "Problem", "check", "inspect"]

_NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow",
    **{ns: "" for ns in DMN_SCHEMAS},  # DMN files use it as the default namespace: no prefix
}


def check(files: dict[str, str], process_key: str | None = None) -> list[Problem]:
    """Every problem of the bundle; empty when it may be deployed."""
    return inspect(files, process_key)[0]


def inspect(files: dict[str, str], process_key: str | None = None):
    """(problems, spec, subprocess_specs); the specs are None unless every file passed the XSD and parsed."""
    config = registry.current()
    process_key = process_key or config.main_process
    problems, trees = [], {}
    diagrams = {name: text for name, text in files.items() if not name.startswith(FORMS)}
    for name, text in diagrams.items():
        tree, found = _load(name, text)
        problems += found
        if tree is not None and not found:
            trees[name] = tree
    for name, tree in trees.items():
        runtime_rules = BPMN_RULES if name.endswith(".bpmn") else DMN_RULES if name.endswith(".dmn") else ()
        for rule in (*runtime_rules, *config.rules):
            problems += rule(name, tree, files)
    spec = subs = None
    if len(trees) == len(diagrams):  # SpiffWorkflow parses the bundle as a whole
        spec, subs, found = _parse(trees, process_key)
        # SpiffWorkflow stops at the first error, often one a rule above already explains better
        flagged = {p.key for p in problems}
        problems += [p for p in found if p.key not in flagged]
    return problems, (spec if not problems else None), (subs if not problems else None)


def _load(name: str, text: str):
    """(tree, xsd problems): the tree is None when the text is not well-formed XML."""
    try:
        tree = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as err:
        line = err.lineno or None
        return None, [Problem(name, "", "", "xsd", f"文件不是格式正确的 XML（第 {line} 行）：{err.msg}",
                              f"the file is not well-formed XML (line {line}): {err.msg}", line)]
    if name.endswith(".dmn"):
        schema = DMN_SCHEMAS.get(etree.QName(tree).namespace)
        if schema is None:
            return tree, [Problem(name, "", "", "xsd", "不是支持的 DMN 版本（命名空间不认识）",
                                  "not a supported DMN version (unknown namespace)", tree.sourceline)]
        validator = _dmn_validator(schema)
    else:
        validator = VALIDATOR
        validator.preprocess(tree)
    if validator.validator.validate(tree):
        return tree, []
    by_line = {}
    for el in tree.iter(etree.Element):
        by_line.setdefault(el.sourceline, el)
    found, standard = [], "DMN" if name.endswith(".dmn") else "BPMN"
    for error in validator.validator.error_log:
        el = by_line.get(error.line)
        element_id = el.get("id", "") if el is not None else ""
        detail = _short(error.message)
        found.append(Problem(name, element_id, el.get("name", "") if el is not None else "", "xsd",
                             f"第 {error.line} 行不符合 {standard} 标准（XSD），建模工具无法正确读取：{detail}",
                             f"line {error.line} is not valid {standard} (XSD): {detail}", error.line))
    return tree, found


@cache
def _dmn_validator(schema_path: str) -> BpmnValidator:
    return BpmnValidator(schema_path)


def _short(message: str) -> str:
    """An XSD message with `{namespace}tag` written as `prefix:tag`, as the analyst sees it in the XML."""
    def prefix(match):
        ns = _NAMESPACES.get(match.group(1), match.group(1))
        return f"{ns}:" if ns else ""
    return re.sub(r"\{([^}]+)\}", prefix, message)


def _parse(trees: dict, process_key: str):
    """(spec, subprocess_specs, problems) as SpiffWorkflow parses the bundle (already XSD-valid)."""
    parser = SpiffBpmnParser(validator=None)
    try:
        for name, tree in trees.items():
            if name.endswith(".dmn"):
                parser.add_dmn_xml(tree, filename=name)
            else:
                parser.add_bpmn_xml(tree, filename=name)
        spec = parser.get_spec(process_key)
        subs = parser.get_subprocess_specs(process_key)
        for other in parser.get_process_ids():  # processes nobody calls parse, and may be started on their own
            if other != process_key and other not in subs:
                subs[other] = parser.get_spec(other)
                subs.update(parser.get_subprocess_specs(other))
    except SpiffWorkflowException as err:
        return None, None, [_parse_problem(trees, err)]
    except (KeyError, ValueError) as err:
        file = next(iter(trees), "")
        return None, None, [Problem(file, "", "", "parse", f"SpiffWorkflow 无法解析流程：找不到 {err}",
                                    f"SpiffWorkflow cannot parse the bundle: {err} not found")]
    return spec, subs, []


def _parse_problem(trees: dict, err: SpiffWorkflowException) -> Problem:
    """A SpiffWorkflow error as a Problem, located in the bundle: it does not always say which file or line."""
    element_id, file = getattr(err, "id", "") or "", getattr(err, "file_name", "") or ""
    line = getattr(err, "line_number", None) or None
    called = re.search(r"process '([^']+)' was not found", str(err))
    path = "//*[@calledElement=$v]" if called and not element_id else "//*[@id=$v]"
    value = called.group(1) if called and not element_id else element_id
    name = getattr(err, "name", "") or ""
    for tree_file, tree in trees.items():
        found = tree.xpath(path, v=value) if value else []
        if found and (not file or file == tree_file):
            file, line = tree_file, found[0].sourceline
            element_id, name = found[0].get("id", ""), found[0].get("name", "")
            break
    what_zh, what_en = label(element_id, name) if element_id else ("", "")
    return Problem(file or next(iter(trees), ""), element_id, name, "parse",
                   f"{what_zh} 流程引擎（SpiffWorkflow）无法解析：{err}".strip(),
                   f"{what_en} SpiffWorkflow cannot parse it: {err}".strip(), line)
