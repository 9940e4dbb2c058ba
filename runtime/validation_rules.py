"""The runtime's diagram rules of validation.check(): each takes (file name, lxml tree of an
XSD-valid .bpmn, or .dmn for DMN_RULES, the whole bundle) and returns Problems. They read the XML
rather than the parsed specs so they run even when SpiffWorkflow cannot parse the bundle, and
point at the element as the modeler shows it. `properties()` reads an element's extension properties, for the
application's rules too."""
import ast
import json
import re

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import forms, registry
from .dmn_soundness import unique_rows_overlap
from .milestones import PREFIX as MILESTONE
from .problems import label, problem

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")

# ISO 8601 durations (PT1H, P3D), dates/times (2026-01-01T00:00+08:00), cycles (R3/PT1H): SpiffWorkflow
# evaluates timer texts as Python, so these must be quoted strings.
_DURATION = r"P(?=\d|T\d)(?:\d+(?:\.\d+)?[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?"
_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}){0,2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_ISO_LITERAL = re.compile(rf"(?:R\d*/)?(?:{_DURATION}|{_DATE})(?:/(?:{_DURATION}|{_DATE}))?", re.IGNORECASE)
_ISO_NAME = re.compile(_DURATION)


def timer_expression(file, tree, _bundle):
    """Every timeDate/timeDuration/timeCycle compiles as a Python expression and is not a bare ISO literal."""
    found = []
    for timer in tree.iter(BPMN + "timerEventDefinition"):
        event = timer.getparent()
        for expr in timer:
            if expr.tag not in (BPMN + "timeDate", BPMN + "timeDuration", BPMN + "timeCycle"):
                continue
            text = (expr.text or "").strip()
            if not text:
                found.append(problem(file, event, "timer_expression", "{what} 的定时表达式是空的",
                                     "{what}: the timer expression is empty"))
                continue
            names = []
            try:
                names = [n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)]
                error = None
            except SyntaxError as err:
                error = err.msg
            literal = _ISO_LITERAL.fullmatch(text) or next((n for n in names if _ISO_NAME.fullmatch(n)), None)
            if literal:
                shown = text if not isinstance(literal, str) else literal
                found.append(problem(
                    file, event, "timer_expression",
                    f"{{what}} 的定时表达式 {text} 是没有加引号的 ISO 时间，会被当作 Python 变量名或算式；"
                    f"请写成带引号的字符串，例如 \"{shown}\"",
                    f"{{what}}: the timer expression {text} is an unquoted ISO literal, read as a Python "
                    f"name or arithmetic; quote it, e.g. \"{shown}\""))
            elif error:
                found.append(problem(file, event, "timer_expression",
                                     f"{{what}} 的定时表达式 {text} 不是有效的 Python 表达式（{error}）",
                                     f"{{what}}: the timer expression {text} is not a valid Python expression ({error})"))
    return found


def user_task_form(file, tree, bundle):
    """Every user task names a form (formJsonSchemaFilename) that the bundle holds (deployed with
    it from forms/) and that is a Draft 2020-12 schema."""
    found = []
    for task in tree.iter(BPMN + "userTask"):
        props = properties(task)
        if not props.get("formJsonSchemaFilename"):
            found.append(problem(file, task, "user_task_form",
                                 "{what} 没有配置表单（扩展属性 formJsonSchemaFilename）",
                                 "{what} has no form (extension property formJsonSchemaFilename)"))
        for key in FORM_PROPERTIES:
            if props.get(key):
                message = _form_file_problem(key, props[key], bundle)
                if message:
                    found.append(problem(file, task, "user_task_form", *message))
    return found


def _form_file_problem(key: str, name: str, bundle: dict):
    """(zh, en) of what is wrong with a form file, or None."""
    suffix = ".schema.json" if key == "formJsonSchemaFilename" else ".uischema.json"
    if not name.endswith(suffix) or "/" in name or "\\" in name:
        return (f"{{what}} 的表单文件名 {name} 不对：应是 forms/ 目录下以 {suffix} 结尾的文件名",
                f"{{what}}: form file name {name} must be a file in forms/ ending in {suffix}")
    text = bundle.get(forms.BUNDLE_PREFIX + name)
    if text is None:
        return f"{{what}} 的表单文件 {name} 不存在", f"{{what}}: form file {name} does not exist"
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as err:
        return (f"{{what}} 的表单文件 {name} 不是有效的 JSON（第 {err.lineno} 行：{err.msg}）",
                f"{{what}}: form file {name} is not valid JSON (line {err.lineno}: {err.msg})")
    if key != "formJsonSchemaFilename":
        return None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.path) or "（根）"
        return (f"{{what}} 的表单文件 {name} 不是有效的 JSON Schema（{where}：{err.message}）",
                f"{{what}}: form file {name} is not a valid JSON Schema ({where}: {err.message})")
    return _process_rules_problem(name, schema.get("x-process-rules"))


def _process_rules_problem(name: str, rules):
    """(zh, en) of what is wrong with a form's x-process-rules (runtime/forms.py), or None."""
    if rules is None:
        return None
    variables = rules.get("variables") if isinstance(rules, dict) else None
    if not (isinstance(variables, list) and all(isinstance(v, str) and v.isidentifier() for v in variables)
            and isinstance(rules.get("allOf"), list)):
        return (f"{{what}} 的表单文件 {name} 的 x-process-rules 应为 variables（流程变量名的列表）和 allOf（规则的列表）",
                (f"{{what}}: x-process-rules of form file {name} must hold variables (a list of process "
                 "variable names) and allOf (a list of rules)"))
    try:
        Draft202012Validator.check_schema({"allOf": rules["allOf"]})
    except SchemaError as err:
        where = "/".join(str(p) for p in err.path)
        return (f"{{what}} 的表单文件 {name} 的 x-process-rules 不是有效的 JSON Schema（{where}：{err.message}）",
                f"{{what}}: x-process-rules of form file {name} is not a valid JSON Schema ({where}: {err.message})")
    return None


def lane_roles(file, tree, _bundle):
    """Every user task gets its roles: its own candidateRoles, or its lane's (the registry's lane roles)."""
    lane_roles_ = registry.current().lane_roles
    lane_of = {ref.text.strip(): lane for lane in tree.iter(BPMN + "lane")
               for ref in lane.findall(BPMN + "flowNodeRef") if ref.text}
    unmapped, found = {}, []
    for task in tree.iter(BPMN + "userTask"):
        if properties(task).get("candidateRoles"):
            continue
        lane = lane_of.get(task.get("id"))  # SpiffWorkflow gives a task its directly referencing lane only
        if lane is None:
            found.append(problem(file, task, "lane_roles",
                                 "{what} 不在任何泳道中，也没有配置办理角色（candidateRoles），只有管理员能办理",
                                 "{what} is in no lane and has no candidateRoles: only admins could do it"))
        elif (lane.get("name") or "") not in lane_roles_:
            unmapped.setdefault(lane, []).append(task.get("id"))
    for lane, tasks in unmapped.items():
        found.append(problem(
            file, lane, "lane_roles",
            f"泳道 {{what}} 没有对应的办理角色（已知泳道：{'、'.join(lane_roles_)}），其中的用户任务 {', '.join(tasks)} "
            "也没有配置 candidateRoles；请改用已有泳道名称，或给这些任务配置 candidateRoles",
            f"lane {{what}} has no role mapping (known lanes: {', '.join(lane_roles_)}) and its user tasks "
            f"{', '.join(tasks)} have no candidateRoles; use a known lane name or give them candidateRoles"))
    return found


def service_operator(file, tree, _bundle):
    """Every service task names an operator the application registered (runtime.registry)."""
    operators = registry.current().operators
    found = []
    for task in tree.iter(BPMN + "serviceTask"):
        op = task.find(f"{BPMN}extensionElements/{SPIFF}serviceTaskOperator")
        if op is None or not op.get("id"):
            found.append(problem(file, task, "service_operator", "{what} 没有指定要调用的服务（serviceTaskOperator）",
                                 "{what} names no service operator (serviceTaskOperator)"))
        elif op.get("id") not in operators:
            found.append(problem(file, task, "service_operator",
                                 f"{{what}} 调用的服务 {op.get('id')} 在系统中不存在",
                                 f"{{what}} calls service operator {op.get('id')}, which the engine does not provide"))
        else:
            found.extend(_parameter_problems(file, task, op))
    return found


def _parameter_problems(file, task, op):
    """The parameters a service task passes must be the ones its operator takes."""
    required, optional = registry.current().signature(op.get("id"))
    given = [p.get("id") for p in op.iter(SPIFF + "parameter")]
    missing = [name for name in required if name not in given]
    unknown = [name for name in given if name not in required + optional]
    found = []
    if missing:
        found.append(problem(file, task, "service_operator",
                             f"{{what}} 调用 {op.get('id')} 缺少参数：{'、'.join(missing)}",
                             f"{{what}} calls {op.get('id')} without parameters: {', '.join(missing)}"))
    if unknown:
        found.append(problem(file, task, "service_operator",
                             f"{{what}} 调用 {op.get('id')} 时传入了它不接受的参数：{'、'.join(unknown)}"
                             f"（可用参数：{'、'.join(required + optional)}）",
                             f"{{what}} passes {op.get('id')} parameters it does not take: {', '.join(unknown)} "
                             f"(it takes: {', '.join(required + optional)})"))
    return found


def gateway_default(file, tree, _bundle):
    """An exclusive/inclusive gateway with several outgoing flows: each has a condition or is the default."""
    found = []
    for gw in tree.iter(BPMN + "exclusiveGateway", BPMN + "inclusiveGateway"):
        flows = [f for f in tree.iter(BPMN + "sequenceFlow") if f.get("sourceRef") == gw.get("id")]
        for flow in flows if len(flows) > 1 else []:
            condition = flow.find(BPMN + "conditionExpression")
            if flow.get("id") != gw.get("default") and (condition is None or not (condition.text or "").strip()):
                gateway_zh, gateway_en = label(gw.get("id"), gw.get("name"))
                found.append(problem(
                    file, flow, "gateway_default",
                    f"网关 {gateway_zh} 的出口 {{what}} 既没有条件，也不是默认出口；"
                    "请给它加条件，或把它设为网关的默认出口",
                    f"gateway {gateway_en}: outgoing flow {{what}} has no condition and is not the default; "
                    "add a condition or make it the gateway's default flow"))
    return found


# The elements a modeler draws (as ../shared/tools/check_bpmn_di.py lists them; kept here, shared/ is not
# part of the product)
DRAWN = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway", "lane", "participant",
    "dataObjectReference", "dataStoreReference", "textAnnotation", "sequenceFlow", "messageFlow",
}


def missing_di(file, tree, _bundle):
    """Every drawn element has a BPMNShape or BPMNEdge, or a modeler would not show it."""
    drawn = {el.get("bpmnElement") for el in tree.iter(BPMNDI + "BPMNShape", BPMNDI + "BPMNEdge")}
    return [problem(file, el, "missing_di",
                    "{what} 没有图形信息（BPMNShape/BPMNEdge），在建模工具中看不到，也就无法编辑",
                    "{what} has no diagram shape or edge (DI): it is invisible in a modeler")
            for el in tree.iter(*(BPMN + name for name in DRAWN)) if el.get("id") and el.get("id") not in drawn]


def milestone(file, tree, _bundle):
    """A `milestone:<name>` property has a name of letters, digits and underscores, and its value
    (when to count the milestone as reached) is empty or a Python expression."""
    found = []
    for el in tree.iter():
        for name, value in properties(el).items():
            if not name.startswith(MILESTONE):
                continue
            key = name[len(MILESTONE):]
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                found.append(problem(file, el, "milestone", f"{{what}} 的里程碑名称 {key or '（空）'} 不对：应为小写字母、数字和下划线",
                                     f"{{what}}: milestone name {key or '(empty)'} must be lower-case letters, digits and underscores"))
                continue
            try:
                ast.parse(value or "True", mode="eval")
            except SyntaxError as err:
                found.append(problem(file, el, "milestone",
                                     f"{{what}} 的里程碑 {key} 的条件 {value} 不是有效的 Python 表达式（{err.msg}）",
                                     f"{{what}}: the condition of milestone {key}, {value}, is not a valid Python expression ({err.msg})"))
    return found


def properties(el) -> dict:
    """The extension properties an element declares (spiffworkflow:property name -> value)."""
    ext = el.find(BPMN + "extensionElements")
    if ext is None:
        return {}
    return {p.get("name"): p.get("value") or "" for p in ext.iter(SPIFF + "property")}


BPMN_RULES = (timer_expression, user_task_form, lane_roles, service_operator, gateway_default, milestone, missing_di)
DMN_RULES = (unique_rows_overlap,)  # decision tables (dmn_soundness.py)
