"""What the hotline needs a deployed diagram to declare, checked before deployment (the
registry's validation rules; the runtime's own are in runtime/validation_rules.py).

- Statuses (hotline.statuses): every user task declares `appealStatus`, and every element that
  declares a status gives it a zh-CN and an English label; the main process's start event
  declares the status of a newly registered appeal; a status has the same labels wherever it is
  declared.
- Milestones (runtime.milestones): each one in REQUIRED is declared by some user task of the
  bundle, because the page or figure named beside it reads it.
- Deadline stages: a `deadline` property names a stage of the time-limit table.
- The time-limit table: every cell of a `<stage>_limit` column is a limit in the grammar of
  workdays.deadlines.
- Centres: a platform staff's user task names the centre whose staff work it (`scopeVariable`).
- Supervision (hotline.escalation): the bundle holds the process the register starts for each
  supervision item, and it waits for every message the register sends (respond, send back, close).
"""
import ast

from lxml import etree

from runtime import registry
from runtime.problems import problem
from runtime.validation_rules import BPMN, properties
from workdays import deadlines

from .access import PLATFORM_ROLES
from .config import MAIN_PROCESS
from .escalation import MESSAGES
from .escalation import PROCESS as SUPERVISION
from .statuses import LABEL, LABEL_EN, STATUS
from .time_limits import STAGES, SUB_STAGES

REQUIRED = {  # milestone -> (what reads it, zh-CN / English)
    "assessed": ("受理台的一键研判", "the intake console's one-step assessment"),
    "dispatched": ("派单台的待派单列表", "the dispatch queue"),
    "return_reviewed": ("派单台的退回审核", "the dispatch queue's return review"),
    "returned": ("派单台显示的退回原因", "the return reason on the dispatch page"),
    "appellant_contacted": ("考核评价的联系率（第二十五条）", "the evaluation's response rate (Art. 25)"),
    "appellant_evaluated": ("诉求人的短信评价链接（第二十一条）", "the appellant's SMS evaluation link (Art. 21)"),
}
MILESTONE = "milestone:"


def statuses(file, tree, _bundle):
    if not file.endswith(".bpmn"):
        return []
    found, labels = [], {}
    for el in tree.iter(BPMN + "userTask", BPMN + "startEvent", BPMN + "endEvent", BPMN + "intermediateThrowEvent",
                        BPMN + "serviceTask", BPMN + "scriptTask"):  # a step done may declare one (并单)
        props = properties(el)
        status = props.get(STATUS, "")
        if el.tag == BPMN + "userTask" and not status:
            found.append(problem(file, el, "status", "{what} 没有声明诉求状态（扩展属性 appealStatus）",
                                 "{what} declares no appeal status (extension property appealStatus)"))
            continue
        if not status:
            continue
        if not (props.get(LABEL) and props.get(LABEL_EN)):
            found.append(problem(file, el, "status",
                                 f"{{what}} 的诉求状态 {status} 没有中文或英文名称（appealStatusLabel、appealStatusLabelEn）",
                                 f"{{what}}: appeal status {status} has no zh-CN or English label "
                                 "(appealStatusLabel, appealStatusLabelEn)"))
            continue
        pair = (props[LABEL], props[LABEL_EN])
        if labels.setdefault(status, pair) != pair:
            found.append(problem(file, el, "status",
                                 f"{{what}} 的诉求状态 {status} 的名称与其他环节不一致（{labels[status][0]}）",
                                 f"{{what}}: appeal status {status} is labelled differently elsewhere ({labels[status][1]})"))
    if file == f"{MAIN_PROCESS}.bpmn":
        process = tree.find(f"{BPMN}process[@id='{MAIN_PROCESS}']")
        starts = process.findall(BPMN + "startEvent") if process is not None else []
        for start in starts:
            if not properties(start).get(STATUS):
                found.append(problem(file, start, "status", "{what} 没有声明新登记诉求的状态（appealStatus）",
                                     "{what} declares no status for a newly registered appeal (appealStatus)"))
    return found


def required_milestones(file, tree, bundle):
    """Checked once, on the main process's file, over every diagram of the bundle."""
    if file != f"{MAIN_PROCESS}.bpmn":
        return []
    declared = set()
    for name, text in bundle.items():
        if name.endswith(".bpmn"):
            other = tree if name == file else _parse(text)
            if other is None:
                return []  # not XML: the XSD rule says so, and what it declares is unknown
            for task in other.iter(BPMN + "userTask"):
                declared |= {k[len(MILESTONE):] for k in properties(task) if k.startswith(MILESTONE)}
    process = tree.find(f"{BPMN}process[@id='{MAIN_PROCESS}']")
    anchor = process if process is not None else tree
    return [problem(file, anchor, "milestone",
                    f"流程没有声明里程碑 {name}（用户任务的扩展属性 milestone:{name}），{why}需要它",
                    f"no user task declares milestone {name} (extension property milestone:{name}); {why_en} needs it")
            for name, (why, why_en) in REQUIRED.items() if name not in declared]


def deadline_stages(file, tree, _bundle):
    if not file.endswith(".bpmn"):
        return []
    return [problem(file, el, "deadline",
                    f"{{what}} 的时限 {stage} 不是时限表中的阶段（{'、'.join(STAGES)}）",
                    f"{{what}}: deadline {stage} is not a stage of the time-limit table ({', '.join(STAGES)})")
            for el in tree.iter() if (stage := properties(el).get("deadline")) and stage not in (*STAGES, *SUB_STAGES)]


def time_limit_entries(file, tree, _bundle):
    """Every cell of a decision table column named `<stage>_limit` is a quoted limit the deadline
    grammar knows ("10wd", "PT1H", "same_day", "none"): the engine evaluates cells as Python, and
    a limit it cannot read would stop appeals at the stage it governs."""
    if not file.endswith(".dmn"):
        return []
    found = []
    ns = "{" + etree.QName(tree).namespace + "}"
    for table in tree.iter(ns + "decisionTable"):
        outputs = table.findall(ns + "output")
        columns = [i for i, out in enumerate(outputs) if (out.get("name") or "").endswith("_limit")]
        for row, rule in enumerate(table.findall(ns + "rule"), start=1):
            entries = rule.findall(ns + "outputEntry")
            for i in columns:
                if i >= len(entries):
                    continue
                text = (entries[i].findtext(ns + "text") or "").strip()
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    value = None
                if not isinstance(value, str) or not deadlines.is_limit(value):
                    column = outputs[i].get("label") or outputs[i].get("name")
                    found.append(problem(file, entries[i], "time_limit",
                                         f"第 {row} 行「{column}」的值 {text or '（空）'} 不是有效的时限："
                                         "应写成带引号的 \"10wd\"（工作日）、\"PT1H\"（小时）、\"same_day\" 或 \"none\"",
                                         f"row {row}, {column}: {text or '(empty)'} is not a time limit; write a quoted "
                                         '"10wd" (working days), "PT1H" (hours), "same_day" or "none"'))
    return found




def supervision_process(file, tree, bundle):
    """Checked once, on the main process's file, over every diagram of the bundle."""
    if file != f"{MAIN_PROCESS}.bpmn":
        return []
    for name, text in bundle.items():
        other = (tree if name == file else _parse(text)) if name.endswith(".bpmn") else None
        process = other.find(f"{BPMN}process[@id='{SUPERVISION}']") if other is not None else None
        if process is None:
            continue
        refs = {el.get("messageRef") for el in process.iter(BPMN + "messageEventDefinition", BPMN + "receiveTask")}
        caught = {m.get("name") for m in other.iter(BPMN + "message") if m.get("id") in refs}
        missing = [m for m in MESSAGES.values() if m not in caught]
        return [problem(name, process, "supervision",
                        f"督办流程不接收督办台账发送的消息 {'、'.join(missing)}，台账的反馈、退回或办结将无法办理",
                        f"the supervision process catches no message {', '.join(missing)}, which the register "
                        "sends when a unit responds or a supervisor sends back or closes an item")] if missing else []
    main = tree.find(f"{BPMN}process[@id='{MAIN_PROCESS}']")
    return [problem(file, main if main is not None else tree, "supervision",
                    f"流程包中没有督办流程（process id 为 {SUPERVISION}，见 processes/supervision.bpmn）："
                    "督办台账为每个督办事项启动它，整改逾期后逐级升级（第二十四条）",
                    f"the bundle has no supervision process (process id {SUPERVISION}, see "
                    "processes/supervision.bpmn): the register starts it for each item to escalate it (Art. 24)")]


def _parse(text: str):
    try:
        return etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None  # the XSD rule reports it


def centre_scopes(file, tree, _bundle):
    """Centres (hotline.centres): a user task for platform staff only (not a unit's) declares the
    variable holding the centre whose staff work it (`scopeVariable`, normally centre_id);
    without it every centre's staff of that role could work it."""
    if not file.endswith(".bpmn"):
        return []
    lane_roles = registry.current().lane_roles
    lane_of = {ref.text.strip(): lane.get("name") or "" for lane in tree.iter(BPMN + "lane")
               for ref in lane.findall(BPMN + "flowNodeRef") if ref.text}
    found = []
    for task in tree.iter(BPMN + "userTask"):
        props = properties(task)
        roles = set(filter(None, (props.get("candidateRoles") or lane_roles.get(lane_of.get(task.get("id")), "")).split(",")))
        if roles and roles <= set(PLATFORM_ROLES) and not props.get("unitVariable") and not props.get("scopeVariable"):
            found.append(problem(file, task, "scope",
                                 "{what} 由平台人员办理，但没有声明所属热线中心（扩展属性 scopeVariable，通常为 centre_id），"
                                 "各中心的人员都能办理它",
                                 "{what} is worked by platform staff but declares no centre (extension property "
                                 "scopeVariable, normally centre_id): every centre's staff could work it"))
    return found


RULES = (statuses, required_milestones, deadline_stages, time_limit_entries, supervision_process, centre_scopes)
