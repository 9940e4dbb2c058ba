"""The appeal page: summary, history, attachments and the audit of personal data, as the
signed-in user may see them; supervisors grant or revoke a unit's access to the appellant's
contact. Also the session-authenticated file download the pages use for thumbnails, and the
helpers both this page and the task page use to present the case file."""
import math
from datetime import datetime
from functools import cache
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import attachments, casefile, comments, escalation, privacy, urges, withdrawal
from hotline.access import can
from hotline.stages import LABELS as STAGE_LABELS
from hotline.supervision import REASON_NAMES as SUPERVISION_REASONS
from runtime import clock, forms, milestones
from runtime.errors import Conflict, InvalidInput
from workdays.calendar import TZ

from .. import form_render, get_db
from ..auth import current_user, page_login_required
from ..element_names import element_name, english_name

bp = Blueprint("appeal", __name__)

INTAKE_FORM = "register_appeal.schema.json"
ACTIONS = {
    "appeal_registered": _l("登记诉求"), "process_started": _l("启动办理流程"), "task_claimed": _l("认领任务"),
    "task_assigned": _l("指定经办人"),
    "task_unclaimed": _l("释放任务"), "task_completed": _l("完成任务"), "attachment_uploaded": _l("上传附件"),
    "comment_added": _l("发表意见"), "contact_granted": _l("授权查看联系方式"),
    "contact_revoked": _l("撤销联系方式授权"), "appellant_viewed": _l("查看诉求人信息"),
    "not_accepted": _l("不予受理"), "answered_on_spot": _l("当场答复"), "emergency_reported": _l("报送应急管理部门"),
    "dispatched": _l("派单"), "fallback_unit_assigned": _l("指定兜底单位"), "reminded": _l("到期提醒"),
    "overdue": _l("超期"), "extension_applied": _l("申请延期"), "extension_decided": _l("延期审批结果"),
    "replied": _l("答复诉求人"), "evaluated": _l("回访评价"), "rehandle_started": _l("重新办理"),
    "supervision_opened": _l("列入督办"), "archived": _l("办结归档"), "process_completed": _l("流程结束"),
    "process_terminated": _l("终止办理"), "process_suspended": _l("暂停办理"), "process_resumed": _l("恢复办理"),
    "timer_fired": _l("定时事件"), "incident_opened": _l("定时任务故障"), "incident_retried": _l("重试定时任务"),
    "deadlines_recomputed": _l("重新计算期限"), "supervision_responded": _l("督办事项已反馈"),
    "supervision_sent_back": _l("督办反馈被退回"), "supervision_closed": _l("督办事项办结"),
    "accountability_recorded": _l("问责记录"), "evaluation_link_sent": _l("发送评价短信"),
    "evaluated_by_link": _l("诉求人短信评价"), "return_visit_sampled": _l("抽中电话回访"),
    "return_visit_ordered": _l("安排核查"), "return_visit_recorded": _l("记录核查结果"),
    "regraded": _l("研判定级"), "extension_refused": _l("延期申请未受理"), "co_returned": _l("协办单位退回协办"),
    "reopened_for_dispatch": _l("当场答复不满意转派单"), "urged": _l("来电催办"),
    "merged": _l("并单"), "merged_replied": _l("答复并单诉求"), "withdrawal_requested": _l("诉求人申请撤单"),
    "withdrawn": _l("已撤单"),
    "centre_transferred": _l("移交上级中心"), "centre_transfer_accepted": _l("上级中心接收"),
    "centre_transfer_sent_back": _l("上级中心退回"),
}
ACTIONS.update({"supervision_escalated": _l("督办逾期升级"), "supervision_reason_added": _l("新增督办原因"),
                "message_received": _l("流程收到消息")})  # Art. 22, 24: a supervision item's own process
ACTIONS.update({"contact_requested": _l("申请查看联系方式"),  # hotline.contact_requests
                "contact_request_refused": _l("不予授权查看联系方式")})
# the runtime's own entries for a supervision item's process (hotline.escalation), told apart from the appeal's
PROCESS_ACTIONS = {("process_started", escalation.PROCESS): _l("启动督办流程"),
                   ("process_completed", escalation.PROCESS): _l("督办流程结束")}
ESCALATION_LEVELS = {"notice": _l("督办通知"), "rectification_notice": _l("整改通知书"),
                     "interview_reminder": _l("约谈提醒")}
TAB_LABELS = {"summary": _l("概要"), "history": _l("办理记录"), "attachments": _l("附件"), "audit": _l("个人信息查阅记录")}


@bp.get("/appeals/<int:appeal_id>")
@page_login_required()
def show(appeal_id):
    tab = request.args.get("tab", "summary")
    if tab not in casefile.TABS:
        tab = "summary"
    return _render(appeal_id, tab)


@bp.post("/appeals/<int:appeal_id>/comments")
@page_login_required()
def comment(appeal_id):
    try:
        comments.add(get_db(), appeal_id, request.form.get("body", ""), current_user())
    except InvalidInput as err:
        return _render(appeal_id, "summary", comment_errors=_messages(err), comment_body=request.form.get("body"),
                       status=400)
    flash(_("意见已发表"), "success")
    return redirect(url_for(".show", appeal_id=appeal_id, _anchor="comments"), 303)


@bp.post("/appeals/<int:appeal_id>/urge")
@page_login_required("urge")
def urge(appeal_id):
    """A repeat call about this appeal (催办): its holders are told."""
    try:
        done = urges.urge(get_db(), appeal_id, request.form.get("note", ""), current_user())
    except InvalidInput as err:
        return _render(appeal_id, "summary", call_errors={"note": _messages(err)}, call_note=request.form.get("note"),
                       status=400)
    except Conflict:
        flash(_("该诉求已办结，不能催办；如有新情况请登记为新诉求。"), "error")
        return redirect(url_for(".show", appeal_id=appeal_id), 303)
    flash(_("已催办（第 %(n)s 次），已通知当前办理单位。", n=done["count"]), "success")
    return redirect(url_for(".show", appeal_id=appeal_id, _anchor="calls"), 303)


@bp.post("/appeals/<int:appeal_id>/withdraw")
@page_login_required("withdraw")
def withdraw(appeal_id):
    """The appellant withdraws before the reply (撤单)."""
    try:
        withdrawal.withdraw(get_db(), appeal_id, request.form.get("reason", ""), current_user())
    except InvalidInput as err:
        return _render(appeal_id, "summary", call_errors={"reason": _messages(err)},
                       withdraw_reason=request.form.get("reason"), status=400)
    except Conflict:
        flash(_("该诉求已答复或正在审核，不能撤单。"), "error")
        return redirect(url_for(".show", appeal_id=appeal_id), 303)
    flash(_("已撤单，撤单原因已记录。"), "success")
    return redirect(url_for(".show", appeal_id=appeal_id), 303)


@bp.post("/appeals/<int:appeal_id>/grants")
@page_login_required("grant_contact")
def grant(appeal_id):
    unit_id = request.form.get("unit_id", type=int)
    try:
        privacy.grant_contact(get_db(), appeal_id, unit_id, request.form.get("reason", ""), current_user())
    except InvalidInput as err:
        for message in err.fields.get("unit_id", []):  # no form of that unit on the page to show it by
            flash(_(message), "error")
        return _render(appeal_id, "summary", grant_errors={unit_id: [_(m) for m in err.fields.get("reason", [])]},
                       grant_reason={unit_id: request.form.get("reason", "")}, status=400)
    except Conflict as err:
        flash(_("诉求人要求保密，不能授权承办单位查看身份信息") if err.reason == "confidential"
              else _("该单位已获授权"), "error")
        return _render(appeal_id, "summary", status=409)
    flash(_("已授权该单位查看诉求人联系方式"), "success")
    return redirect(url_for(".show", appeal_id=appeal_id), 303)


@bp.post("/appeals/<int:appeal_id>/grants/<int:unit_id>/revoke")
@page_login_required("grant_contact")
def revoke(appeal_id, unit_id):
    privacy.revoke_contact(get_db(), appeal_id, unit_id, current_user())
    flash(_("已撤销该单位的联系方式授权"), "success")
    return redirect(url_for(".show", appeal_id=appeal_id), 303)


@bp.get("/attachments/<int:attachment_id>")
@page_login_required()
def attachment(attachment_id):
    with get_db().read() as session:
        found = casefile.attachment_for(session, attachment_id, current_user())
    path = attachments.path_for(Path(current_app.config["ATTACHMENT_DIR"]), found.sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=found.content_type, download_name=found.filename,
                         as_attachment=request.args.get("download") == "1", conditional=True)
    response.headers["Cache-Control"] = "private, max-age=86400"  # named by content: never changes
    return response


def _render(appeal_id, tab, status=200, **extra):
    page = casefile.appeal_page(get_db(), appeal_id, current_user(), tab)
    user = current_user()
    return render_template("appeal/show.html", page=page, tab=tab, tabs=TAB_LABELS, entries=timeline(page),
                           user=user, may_urge=can(user, "urge"), may_withdraw=can(user, "withdraw"),
                           **extra), status


def _messages(err: InvalidInput) -> list[str]:
    return [_(m) for messages in err.fields.values() for m in messages] or [str(err)]


# -- presenting the case file (the task page uses these too) -------------------------------

@bp.app_template_filter("case_time")
def case_time(value, fmt="%Y-%m-%d %H:%M"):
    return value.astimezone(TZ).strftime(fmt) if value else ""


@bp.app_template_global()
def countdown_text(countdown) -> str:
    """"剩余 1.5 个工作日" (floored, so "soon" never reads as a full day), or how long overdue."""
    if countdown is None or countdown.remaining is None:
        return ""
    if countdown.badge == "overdue":
        late = -countdown.remaining
        return _("已超期 %(days)s 个工作日", days=_days(late, up=True)) if late >= 0.05 else _("已超期")
    left = int(countdown.remaining * 10) / 10
    if left >= 0.1:
        return _("剩余 %(days)s 个工作日", days=_days(left))
    due = countdown.due_at.astimezone(TZ)  # no office time left, e.g. an urgent matter due tonight
    if due.date() == clock.now().astimezone(TZ).date():
        return _("今天 %(time)s 到期", time=due.strftime("%H:%M"))
    return _("%(at)s 到期", at=due.strftime("%m-%d %H:%M"))


@bp.app_template_global()
def option_label(form: str, path: str, value) -> str:
    """The label a form gives one of its options, e.g. ("register_appeal.schema.json",
    "appeal_type", "complaint") -> 投诉 / Complaint."""
    if value is None:
        return ""
    return _options(form, path, form_render.english()).get(form_render.as_text(value), str(value))


@bp.app_template_global()
def task_label(name: str | None, form: str | None = None) -> str:
    """A task's name: the diagram's (Chinese); in English the diagram's English name
    (hotline.element_names), else its form's English title."""
    if not form_render.english():
        return name or ""
    if english := english_name(name):
        return english
    if form:
        schema, ui = forms.load(form)
        return form_render.title(schema, ui) or name or ""
    return name or ""


@cache
def _options(form: str, path: str, _english: bool) -> dict:
    schema, ui = forms.load(form)
    fields, _unused = form_render.build(schema, ui)
    found = {f.name: f for f in form_render.flatten(fields)}.get(path)
    return dict(found.options) if found and found.widget not in ("unit", "units", "attachments") else {}


HIDDEN_ACTIONS = ("appellant_viewed", milestones.ACTION)  # reads: the audit tab; a milestone repeats its step
DATA_WIDGETS = ("text", "textarea", "unit", "units", "member", "attachments")  # what people wrote or chose by name
ALERTS = ("overdue", "supervision_opened", "supervision_escalated", "incident_opened")


class Data(str):
    """A detail's value that is data as people wrote it (a name, a text), not a word of ours."""


def timeline(page: dict) -> list[dict]:
    """History events as people read them: who, when, what, and the details that matter."""
    return history_entries(page["timeline"], page["people"], page["forms"], page["unit_names"],
                           {f.id: f.filename for f in page["attachments"]},
                           {c["comment"].id: c["comment"].body for c in page["comments"]})


def history_entries(events, people: dict, task_forms: dict, unit_names: dict, files: dict, notes: dict) -> list[dict]:
    """Any list of history rows as the timeline shows them (the monitor's too), without the
    reads of the appellant and the milestones. An entry's `actor` is None for the system; its
    lines are (label, value, whether the value is data)."""
    entries = []
    for event in events:
        if event.action in HIDDEN_ACTIONS:
            continue
        form = task_forms.get(event.task_bpmn_id)
        entries.append({"at": event.at, "actor": people.get(event.actor_id),
                        "label": PROCESS_ACTIONS.get((event.action, (event.detail or {}).get("process")))
                        or ACTIONS.get(event.action, event.action),
                        "task": task_label(event.task_name, form) if event.task_name else "",
                        "lines": _details(event, event.detail or {}, form, unit_names, files, notes, people),
                        "alert": event.action in ALERTS})
    return entries


def _details(event, d: dict, form, units: dict, files: dict, notes: dict,
             people: dict) -> list[tuple[str, str, bool]]:
    if event.action == "task_completed" and form:
        schema, ui = forms.load(form)
        widgets = {f.label: f.widget for f in form_render.flatten(form_render.build(schema, ui)[0])}
        return [(label, value, widgets.get(label) in DATA_WIDGETS)
                for label, value in form_render.describe(schema, ui, d, units, files, people)]
    if event.action == "task_assigned":
        lines = [(_("经办人"), Data(people.get(d.get("assignee_id"), "")))]
    elif (describe := DETAILS.get(event.action)) is not None:
        lines = describe(d, units, files, notes)
    else:
        lines = [(_("原因"), Data(d["reason"]))] if d.get("reason") else []
    return [(label, value, isinstance(value, Data)) for label, value in lines if value]


def _stage(d: dict) -> str:
    return _(STAGE_LABELS[d["stage"]]) if d.get("stage") in STAGE_LABELS else d.get("stage") or ""


DETAILS = {  # action -> (detail, unit names, file names, comment bodies) -> [(label, value)]
    "appeal_registered": lambda d, u, f, n: [
        (_("受理渠道"), option_label(INTAKE_FORM, "channel", d.get("channel"))),
        (_("诉求类型"), option_label(INTAKE_FORM, "appeal_type", d.get("type")))],
    "dispatched": lambda d, u, f, n: [
        (_("牵头单位"), Data(u.get(d.get("lead_unit_id"), ""))),
        (_("协办单位"), Data("、".join(u.get(i, str(i)) for i in d.get("co_unit_ids") or []))),
        (_("签收期限"), _iso_time(d.get("sign_for_due_at"))), (_("办理期限"), _iso_time(d.get("handling_due_at")))],
    "fallback_unit_assigned": lambda d, u, f, n: [(_("兜底单位"), Data(u.get(d.get("unit_id"), "")))],
    "reminded": lambda d, u, f, n: [(_("环节"), _stage(d)), (_("期限"), _iso_time(d.get("due_at")))],
    "overdue": lambda d, u, f, n: [(_("环节"), _stage(d)), (_("期限"), _iso_time(d.get("due_at"))),
                                   (_("单位"), Data(u.get(d.get("unit_id"), "")))],
    "extension_applied": lambda d, u, f, n: [(_("申请延期"), _("%(n)s 个工作日", n=d.get("days"))),
                                             (_("申请截止"), _iso_time(d.get("cutoff")))],
    "extension_decided": lambda d, u, f, n: [
        (_("结果"), _("批准延期 %(n)s 个工作日", n=d.get("days")) if d.get("approved") else _("未批准"))],
    "evaluated": lambda d, u, f, n: [
        (_("评价"), option_label("return_visit.schema.json", "evaluation", d.get("evaluation"))),
        (_("问题已解决"), _("是") if d.get("resolved") else _("否"))],
    "rehandle_started": lambda d, u, f, n: [(_("重办次数"), str(d.get("rehandle_count", ""))),
                                            (_("办理期限"), _iso_time(d.get("handling_due_at")))],
    "urged": lambda d, u, f, n: [(_("催办内容"), Data(d.get("note", ""))), (_("次数"), str(d.get("count", "")))],
    "merged": lambda d, u, f, n: [(_("主单"), Data(d.get("main_number", "")))],
    "withdrawal_requested": lambda d, u, f, n: [(_("撤单原因"), Data(d.get("reason", "")))],
    "co_returned": lambda d, u, f, n: [(_("单位"), Data(u.get(d.get("unit_id"), ""))), (_("理由"), Data(d.get("reason", "")))],
    "centre_transferred": lambda d, u, f, n: [
        (_("方式"), _("上报省级中心") if d.get("kind") == "escalate" else _("申请跨区域协调")),
        (_("从"), Data(d.get("from_centre", ""))), (_("到"), Data(d.get("to_centre", ""))),
        (_("理由"), Data(d.get("reason", "")))],
    "centre_transfer_sent_back": lambda d, u, f, n: [
        (_("从"), Data(d.get("from_centre", ""))), (_("到"), Data(d.get("to_centre", ""))),
        (_("理由"), Data(d.get("reason", "")))],
    "regraded": lambda d, u, f, n: [
        (_("诉求类型"), " → ".join(option_label(INTAKE_FORM, "appeal_type", t) for t in d.get("appeal_type") or [])),
        (_("紧急程度"), " → ".join(_("紧急") if x else _("一般") for x in d.get("urgent") or [])),
        (_("简易事项"), _("是") if d.get("simple") else "")],
    "not_accepted": lambda d, u, f, n: [
        (_("不予受理情形"), option_label("assess_appeal.schema.json", "not_accepted_reason", d.get("reason")))],
    "contact_granted": lambda d, u, f, n: [(_("单位"), Data(u.get(d.get("unit_id"), ""))), (_("理由"), Data(d.get("reason", "")))],
    "contact_revoked": lambda d, u, f, n: [(_("单位"), Data(u.get(d.get("unit_id"), "")))],
    "attachment_uploaded": lambda d, u, f, n: [(_("文件"), Data(d.get("filename", "")))],
    "comment_added": lambda d, u, f, n: [(_("意见"), Data(n.get(d.get("comment_id"), "")))],
    "supervision_escalated": lambda d, u, f, n: [
        (_("督办事项"), f"#{d.get('item_id')}"), (_("升级为"), str(ESCALATION_LEVELS.get(d.get("level"), d.get("level")))),
        (_("反馈期限"), _iso_time(d.get("due_at")))],
    "supervision_opened": lambda d, u, f, n: [
        (_("原因"), _(SUPERVISION_REASONS[d["reason"]]) if d.get("reason") in SUPERVISION_REASONS
         else Data(d.get("reason", "")))],
    "timer_fired": lambda d, u, f, n: [(_("定时器"), element_name(d.get("timer"))),
                                       (_("到期时间"), _iso_time(d.get("due_at")))],
}


def _iso_time(value) -> str:
    try:
        return case_time(datetime.fromisoformat(value)) if value else ""
    except (TypeError, ValueError):
        return str(value)


def _days(value: float, up: bool = False) -> str:
    rounded = (math.ceil if up else math.floor)(value * 10) / 10
    return f"{rounded:.1f}".rstrip("0").rstrip(".")
