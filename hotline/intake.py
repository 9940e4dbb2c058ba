"""The intake console's rules: likely duplicates, guidance for matters not accepted (Art. 13),
registering and assessing a call in one go, and where to dispatch (Art. 16).

Which task is which comes from the milestones the diagram declares (hotline.contract.REQUIRED):
the console completes the open task that reaches `assessed`; the dispatch queue lists the open
tasks that reach `dispatched` or `return_reviewed`, and shows why the unit returned the appeal
from the last `returned` milestone.
"""
from datetime import timedelta

from sqlalchemy import func, select

from runtime import clock, forms, milestones, tasks
from runtime.errors import Conflict, InvalidInput, NotFound
from runtime.models import HistoryEvent

from . import appeals, centres, inbox, knowledge, phones
from .models import Appeal, AppealUnit, AppellantContact, Centre, OrganizerUnit, Region

ASSESS_FORM = "assess_appeal.schema.json"  # what the console renders and checks before saving
DUPLICATE_SIMILARITY = 0.5  # Dice coefficient of the contents' bigrams
DUPLICATE_SCAN = 1000  # newest appeals of the window compared by content
HISTORY_DAYS = 90  # how far back dispatches count for a unit suggestion
ASSESSED, DISPATCHED, RETURN_REVIEWED, RETURNED = "assessed", "dispatched", "return_reviewed", "returned"

_ARTICLE = "依据《福建省12345便民服务平台管理办法》第十三条第（{}）项，12345平台对此不予受理。"
GUIDANCE = {  # reason code (forms/assess_appeal.schema.json) -> what the appellant is told
    "state_secret_or_privacy": "您反映的事项涉及国家秘密、商业秘密或个人隐私，" + _ARTICLE.format("一")
    + "涉及保密事项请向保密行政管理部门反映；涉及个人隐私的纠纷，可依法向人民法院提起诉讼。",
    "npc_cppcc_discipline_courts": "您反映的事项属于人大、政协、纪检监察、法院、检察院或军队武警的职能范围，"
    + _ARTICLE.format("二") + "请直接向相关机关反映，例如纪检监察事项可通过12388举报平台反映。",
    "legal_or_petition_channel": "您反映的事项已经或者应当通过诉讼、仲裁、行政复议等法定途径或信访渠道解决，"
    + _ARTICLE.format("三") + "建议您依法向人民法院起诉、向仲裁机构申请仲裁、向行政复议机关申请复议，或通过信访渠道反映。",
    "already_being_handled": "您反映的事项，有权处理的部门已经受理或正在处理，" + _ARTICLE.format("四")
    + "请耐心等待该部门的处理结果，如需了解进度可直接向该部门查询。",
    "repeated_compensation_claim": "您的诉求已依法处理，现以同一事实和理由再次提出，" + _ARTICLE.format("五")
    + "如对原处理结果不服，可依法申请行政复议或提起行政诉讼。",
    "emergency_rescue_system": "您反映的情况属于紧急救助系统的受理范围，" + _ARTICLE.format("六")
    + "请立即拨打110（报警）、119（火警）、120（急救）或122（交通事故）求助。",
    "outside_province": "您反映的事项发生在福建省行政区域以外，" + _ARTICLE.format("七")
    + "请向事发地的12345政务服务便民热线或有关部门反映。",
    "unlawful_other": "您提出的诉求不符合法律、法规、规章的规定，" + _ARTICLE.format("八")
    + "请依法理性表达诉求。",
}


class LikelyDuplicates(Conflict):
    """Recent appeals look like this one; the agent has to look at them first (`found`)."""

    def __init__(self, found: list[dict]):
        super().__init__("likely duplicates of recent appeals; check them before saving")
        self.found = found


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' bigrams (0 to 1)."""
    first, second = knowledge.bigrams(a), knowledge.bigrams(b)
    if not first or not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


def find_duplicates(session, phone: str | None, content: str | None, days: int = 7,
                    exclude_id: int | None = None, user=None) -> list[dict]:
    """Appeals of the last `days` days from the same phone (however it is written: compared in
    E.164), or whose content is similar (bigram Dice coefficient >= DUPLICATE_SIMILARITY among
    the newest DUPLICATE_SCAN), newest first; of those `user` may read (their centre's,
    hotline.centres) when given."""
    since = clock.now() - timedelta(days=days)
    recent = select(Appeal).where(Appeal.accepted_at >= since)
    centre = centres.appeal_condition(session, user) if user is not None and user.unit_id is None else None
    if centre is not None:
        recent = recent.where(centre)
    if exclude_id:
        recent = recent.where(Appeal.id != exclude_id)
    found: dict[int, dict] = {}
    number = phones.e164(phone)
    if number:  # a number still being typed matches nothing
        same_phone = recent.join(AppellantContact, AppellantContact.appeal_id == Appeal.id).where(
            AppellantContact.phone == number)
        for appeal in session.scalars(same_phone.order_by(Appeal.id.desc()).limit(20)):
            found[appeal.id] = _duplicate(appeal, "same_phone", None)
    if content and len(knowledge.normalize(content)) >= 6:
        rows = session.execute(recent.with_only_columns(Appeal.id, Appeal.content)
                               .order_by(Appeal.id.desc()).limit(DUPLICATE_SCAN)).all()
        scores = {i: s for i, text in rows if (s := similarity(content, text)) >= DUPLICATE_SIMILARITY}
        for appeal in session.scalars(select(Appeal).where(Appeal.id.in_(scores))):
            entry = found.setdefault(appeal.id, _duplicate(appeal, None, None))
            entry["reasons"].append("similar_content")
            entry["similarity"] = round(scores[appeal.id], 2)
    return sorted(found.values(), key=lambda d: -d["id"])[:10]


def _duplicate(appeal: Appeal, reason: str | None, score) -> dict:
    return {"id": appeal.id, "number": appeal.number, "title": appeal.title, "status": appeal.status,
            "appeal_type": appeal.appeal_type, "accepted_at": appeal.accepted_at,
            "reasons": [reason] if reason else [], "similarity": score}


def register_and_assess(db, data: dict, decision: dict | None, actor, duplicates_checked: bool = False,
                        after=None) -> dict:
    """Register a call and, unless `decision` is None, complete its assessment (dispatch,
    answer on the spot, not accepted) in a second transaction. Both forms are validated before
    anything is saved; an empty title becomes the content's start.

    Raises InvalidInput (fields of both forms), LikelyDuplicates (unless `duplicates_checked`),
    and what appeals.register and tasks.complete raise. If the assessment fails after the
    appeal is saved, the appeal waits for assessment in the inbox and the error says so. When
    the diagram has no open assessment step (an analyst changed it), the appeal is registered
    and `assessment` is None: it waits at whatever step the diagram reached. `after(session,
    appeal)` runs in the registration's transaction (the page's form token).
    """
    data = dict(data)
    if not data.get("title") and data.get("content"):
        data["title"] = " ".join(data["content"].split())[:30]
    errors = {}
    try:
        data = appeals.checked(data)  # the phone in E.164 from here on (duplicates, storage)
    except InvalidInput as err:
        errors.update(err.fields)
    if decision is not None:
        try:
            forms.validate(ASSESS_FORM, decision)
        except InvalidInput as err:
            errors.update(err.fields)
    if "content" in errors and not data.get("title"):
        errors.pop("title", None)  # the title is optional here (taken from the content): one mistake, one message
    if errors:
        raise InvalidInput("the intake form is incomplete", errors)
    if not duplicates_checked:
        with db.read() as session:
            found = find_duplicates(session, data["appellant"]["phone"], data["content"], user=actor)
        if found:
            raise LikelyDuplicates(found)
    appeal = appeals.register(db, data, actor, after)
    result = {"appeal_id": appeal.id, "number": appeal.number, "assessment": None}
    if decision is not None:
        with db.read() as session:
            task = tasks.open_reaching(session, appeal.id, ASSESSED)
        if task is not None:
            result["notices"] = tasks.complete(db, task.id, decision, actor).notices
            result["assessment"] = decision["assessment"]
    return result


def _region_line(session, region: Region | None) -> list[Region]:
    """The region and the regions above it, nearest first."""
    line = []
    while region is not None:
        line.append(region)
        region = session.get(Region, region.parent_id) if region.parent_id else None
    return line


def suggest_units(session, region_code: str | None, appeal_type: str, content: str | None = None) -> list[dict]:
    """Lead units to suggest, best first, each with why: units keeping knowledge articles on
    the matter in the appeal's region or above; units that led this type of appeal from the
    region in the last HISTORY_DAYS days, most often first; the region's fallback unit (Art. 16).
    Each suggestion: unit_id, name, why (knowledge | history | fallback) and its particulars."""
    region = session.scalar(select(Region).where(Region.code == region_code)) if region_code else None
    line = _region_line(session, region)
    region_ids = [r.id for r in line]
    picks: dict[int, dict] = {}  # unit id -> why it is suggested
    if content and region_ids:
        for hit in knowledge.suggest(session, content, limit=3):
            unit = session.get(OrganizerUnit, hit.article.unit_id) if hit.article.unit_id else None
            if unit is not None and unit.active and unit.region_id in region_ids:
                picks.setdefault(unit.id, {"why": "knowledge", "article": hit.article.title})
    if region is not None:
        since = clock.now() - timedelta(days=HISTORY_DAYS)
        counts = session.execute(
            select(AppealUnit.unit_id, func.count()).join(Appeal, Appeal.id == AppealUnit.appeal_id)
            .join(OrganizerUnit, OrganizerUnit.id == AppealUnit.unit_id)
            .where(Appeal.region_id == region.id, Appeal.appeal_type == appeal_type, AppealUnit.role == "lead",
                   AppealUnit.assigned_at >= since, OrganizerUnit.active)
            .group_by(AppealUnit.unit_id).order_by(func.count().desc()).limit(5)).all()
        for unit_id, count in counts:
            picks.setdefault(unit_id, {"why": "history", "count": count, "days": HISTORY_DAYS})
    fallback = next((r for r in line if r.fallback_unit_id), None)
    if fallback is not None:
        picks.setdefault(fallback.fallback_unit_id, {"why": "fallback", "region": fallback.name})
    names = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)
                                 .where(OrganizerUnit.id.in_(picks))).all()) if picks else {}
    return [{"unit_id": i, "name": names[i], **why} for i, why in picks.items()]


def unit_tree(session, root_region_id: int | None = None) -> list[dict]:
    """Regions from the province down (from `root_region_id` down: a city's or county's
    centre dispatches within its region), each with its active units (governments first)."""
    regions = list(session.scalars(select(Region).order_by(Region.code)))
    units = list(session.scalars(select(OrganizerUnit).where(OrganizerUnit.active)
                                 .order_by(OrganizerUnit.kind != "government", OrganizerUnit.code)))
    nodes = {r.id: {"region": r, "units": [], "children": []} for r in regions}
    for unit in units:
        if unit.region_id in nodes:
            nodes[unit.region_id]["units"].append(unit)
    roots = []
    for region in regions:
        parent = nodes.get(region.parent_id)
        (parent["children"] if parent else roots).append(nodes[region.id])
    return [nodes[root_region_id]] if root_region_id in nodes else roots


def is_dispatch(task) -> bool:
    return task.reaches(DISPATCHED) or task.reaches(RETURN_REVIEWED)


def dispatch_queue(session, user) -> list[dict]:
    """Open dispatch and returned-appeal tasks `user` may work, soonest due first."""
    open_tasks = [row.task for row in inbox.search(session, user, "mine", reaching=(DISPATCHED, RETURN_REVIEWED))["rows"]]
    found = {a.id: a for a in session.scalars(select(Appeal).where(Appeal.id.in_([t.business_key for t in open_tasks])))}
    regions = dict(session.execute(select(Region.id, Region.name)).all())
    return [{"task": t, "appeal": found[t.business_key], "region": regions.get(found[t.business_key].region_id)}
            for t in open_tasks]


def dispatch_context(session, task_id: str, user) -> dict:
    """What the dispatch page shows for one task. Raises NotFound (no such dispatch task),
    Forbidden, Conflict (already done)."""
    task = tasks.get(session, task_id, user)
    if not is_dispatch(task):
        raise NotFound(f"task {task_id} is not a dispatch task")
    if task.state != "open":
        raise Conflict(f"this task is already {task.state}")
    appeal = appeals.get(session, task.business_key)
    region = session.get(Region, appeal.region_id) if appeal.region_id else None
    contact = session.scalar(select(AppellantContact).where(AppellantContact.appeal_id == appeal.id))
    returned = None
    if task.reaches(RETURN_REVIEWED):
        event = last_return(session, appeal.id)
        detail = (event.detail if event is not None else None) or {}
        returned = {"unit": session.get(OrganizerUnit, appeal.lead_unit_id) if appeal.lead_unit_id else None,
                    "reason": detail.get("return_reason"), "at": event.at if event is not None else None,
                    "suggested": session.get(OrganizerUnit, detail["suggested_unit_id"])
                    if detail.get("suggested_unit_id") else None}
    suggestions = suggest_units(session, region.code if region else None, appeal.appeal_type, appeal.content)
    if returned and returned["suggested"]:
        suggestions.insert(0, {"unit_id": returned["suggested"].id, "name": returned["suggested"].name,
                               "why": "returned"})
    returned_id = returned["unit"].id if returned and returned["unit"] else None
    seen, unique = {returned_id}, []  # the unit that sent it back is no suggestion
    for suggestion in suggestions:
        if suggestion["unit_id"] not in seen:
            seen.add(suggestion["unit_id"])
            unique.append(suggestion)
    unit_names = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)).all())
    current = [{"name": unit_names.get(u.unit_id), "role": u.role} for u in appeal.units if u.active]
    # a city's or county's centre dispatches within its region, and may push up or ask for coordination
    centre = session.get(Centre, appeal.centre_id) if appeal.centre_id else None
    local = centre is not None and centre.parent_id is not None
    if local:
        unique = [s for s in unique if not centres.outside_units(session, centre.id, [s["unit_id"]])]
    others = [r for r in session.scalars(select(Region).order_by(Region.code))
              if local and not centres.covers(session, centre, r.id)]
    return {"task": task, "appeal": appeal, "region": region, "region_line": [r.id for r in
            _region_line(session, region)], "appellant": appeals.appellant_view(contact, appeal, user),
            "returned": returned, "suggestions": unique,
            "tree": unit_tree(session, centre.region_id if local else None), "current_units": current,
            "centre": centre, "may_move": local and returned is None, "other_regions": others}


def last_return(session, appeal_id: int) -> HistoryEvent | None:
    """The completion of the step that last reached the `returned` milestone (its form: why and
    to whom the unit would send the appeal), or None."""
    milestone = session.scalar(select(HistoryEvent).where(
        HistoryEvent.business_key == appeal_id, HistoryEvent.action == milestones.ACTION,
        HistoryEvent.detail["milestone"].as_string() == RETURNED).order_by(HistoryEvent.id.desc()).limit(1))
    if milestone is None:
        return None
    return session.scalar(select(HistoryEvent).where(
        HistoryEvent.business_key == appeal_id, HistoryEvent.action == "task_completed",
        HistoryEvent.instance_id == milestone.instance_id, HistoryEvent.task_bpmn_id == milestone.task_bpmn_id,
        HistoryEvent.id < milestone.id).order_by(HistoryEvent.id.desc()).limit(1))


def regions(session) -> list[Region]:
    """Every region, province first, each city followed by its districts (code order)."""
    return list(session.scalars(select(Region).order_by(Region.code)))
