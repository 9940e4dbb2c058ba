"""The supervision register (督办台账, Art. 22, 24) and accountability records (问责, Art.
29–31). Supervisors open, close and send back items and record accountability; an organizer
unit sees its own items and its leader responds; process owners read the register."""
from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import accountability, supervision
from hotline.access import can
from runtime import clock
from runtime.errors import Conflict, InvalidInput
from workdays.calendar import TZ

from .. import get_db
from ..api import MAX_ID
from ..auth import current_user, page_login_required

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

STATUS_LABELS = {"open": _l("待整改"), "responded": _l("已反馈"), "closed": _l("已办结")}
REASON_LABELS = {"repeat_dissatisfaction": _l("重办后仍不满意"), "long_overdue": _l("办理严重超期"),
                 "repeated_returns": _l("多次退回"), "return_visit_problem": _l("回访发现问题"), "other": _l("其他")}
MEASURE_LABELS = {"special_report": _l("督查专报"), "rectification_notice": _l("整改通知书"),
                  "supervision_suggestion": _l("督办建议书"), "interview_reminder": _l("约谈提醒")}
SOURCE_LABELS = {"auto": _l("系统自动"), "manual": _l("人工列入"), "revisit": _l("回访发现")}
ESCALATION_LABELS = {"notice": _l("督办通知"), "rectification_notice": _l("整改通知书"),
                     "interview_reminder": _l("约谈提醒")}  # Art. 24, the levels of processes/supervision.bpmn
EVENT_LABELS = {"supervision_opened": _l("列入督办"), "supervision_responded": _l("单位反馈整改情况"),
                "supervision_sent_back": _l("退回重新整改"), "supervision_closed": _l("督办办结"),
                "supervision_escalated": _l("逾期升级督办"), "supervision_reason_added": _l("新增督办原因")}
ARTICLE_LABELS = {
    "29(1)": _l("第二十九条（一）工作态度恶劣，受理时生硬冷漠，造成不良影响或后果"),
    "29(2)": _l("第二十九条（二）不履行工作职责，未及时登记、报送、办理诉求，造成延误或遗漏"),
    "29(3)": _l("第二十九条（三）向被诉求人泄露与诉求办理无关的信息，造成不良影响或后果"),
    "29(4)": _l("第二十九条（四）法律、法规、规章规定的其他情形"),
    "30(1)": _l("第三十条（一）管理不善，工作人员擅离职守，导致接收交办事项延误、拖延办理时间"),
    "30(2)": _l("第三十条（二）办理诉求不认真、不及时，敷衍塞责、弄虚作假、答非所问"),
    "30(3)": _l("第三十条（三）诉求已退回重办或督办，仍不认真处理，造成不良影响或后果"),
    "30(4)": _l("第三十条（四）被指定为主办、协办或兜底单位后不认真履职，消极应付、推诿扯皮，导致久拖不决"),
    "30(5)": _l("第三十条（五）向被诉求人泄露与诉求办理无关的信息，造成不良影响或后果"),
    "30(6)": _l("第三十条（六）对诉求人态度恶劣、简单粗暴，甚至打击报复"),
    "30(7)": _l("第三十条（七）法律、法规、规章规定的其他情形"),
}
SEVERITY_LABELS = {"minor": _l("情节较轻"), "serious": _l("情节较重"), "crime": _l("涉嫌犯罪")}
ACCOUNTABILITY_MEASURES = {
    "written_examination": _l("责令书面检查"), "admonishing_education": _l("诫勉教育"),
    "circulated_criticism": _l("通报批评"), "efficiency_warning": _l("效能告诫"),
    "organizational_handling": _l("组织处理"), "disciplinary_action": _l("处分"),
    "judicial_transfer": _l("移送司法机关依法处理")}


@bp.context_processor
def _labels():
    return {"status_labels": STATUS_LABELS, "reason_labels": REASON_LABELS, "measure_labels": MEASURE_LABELS,
            "source_labels": SOURCE_LABELS, "escalation_labels": ESCALATION_LABELS, "now": clock.now()}


def _id(value: int) -> int:
    if value > MAX_ID:
        abort(404)
    return value


@bp.get("")
@page_login_required("read_supervision")
def index():
    args = request.args
    typed = {k: args.get(k, "").strip()[:20] for k in ("status", "unit", "reason", "escalation", "overdue")}
    errors = {k: _("无效的选项") for k, allowed in (("status", STATUS_LABELS), ("reason", REASON_LABELS),
                                                  ("escalation", ESCALATION_LABELS))
              if typed[k] and typed[k] not in allowed}
    if typed["unit"] and not (typed["unit"].isdigit() and int(typed["unit"]) <= MAX_ID):
        errors["unit"] = _("无效的选项")
    filters = supervision.Filters(
        status=typed["status"] if typed["status"] in STATUS_LABELS else None,
        reason=typed["reason"] if typed["reason"] in REASON_LABELS else None,
        escalation=typed["escalation"] if typed["escalation"] in ESCALATION_LABELS else None,
        unit_id=int(typed["unit"]) if typed["unit"] and "unit" not in errors else None,
        overdue=typed["overdue"] == "1", before_id=args.get("before", type=int))
    user = current_user()
    with get_db().read() as session:
        rows = supervision.list_items(session, user, filters)
        counts = supervision.counts(session, user)
        units = [] if user.unit_id else accountability.units(session)
    query = {k: v for k, v in typed.items() if v}
    return render_template("supervision/index.html", rows=rows, counts=counts, typed=typed, errors=errors,
                           units=units, query=query, limit=filters.limit,
                           can_open=can(user, "supervise")), 400 if errors else 200


def _render_item(item_id: int, status: int = 200, errors: dict | None = None, values: dict | None = None):
    user = current_user()
    with get_db().read() as session:
        view = supervision.get_item(session, _id(item_id), user)
    item = view["item"]
    return render_template(
        "supervision/item.html", v=view, item=item, errors=errors or {}, values=values or {}, levels=_levels(item),
        entries=_entries(view), files={f.id: f for f in view["attachments"]},
        can_respond=user.role == "organizer_leader" and user.unit_id == item.unit_id and item.status == "open",
        can_decide=can(user, "supervise") and item.status != "closed"), status


def _levels(item) -> list[dict]:
    """The escalation levels issued on the item, oldest first, with their times."""
    return [{"level": e["level"], "issued_at": datetime.fromisoformat(e["issued_at"]),
             "due_at": datetime.fromisoformat(e["due_at"])} for e in item.escalations or []]


def _entries(view) -> list[dict]:
    files = {f.id: f.filename for f in view["attachments"]}
    entries = []
    for event in view["history"]:
        d = event.detail or {}
        lines = [(_("原因"), str(REASON_LABELS.get(d.get("reason"), d.get("reason") or "")), False),
                 (_("升级为"), str(ESCALATION_LABELS.get(d.get("level"), d.get("level") or "")), False),
                 (_("反馈期限"), _date(d.get("due_at")), False),
                 (_("整改情况"), d.get("response", ""), True),  # what people wrote: data
                 (_("附件"), "、".join(files.get(i, str(i)) for i in d.get("attachment_ids") or []), True),
                 (_("意见"), d.get("note", ""), True)]
        entries.append({"at": event.at, "actor": view["people"].get(event.actor_id),
                        "label": EVENT_LABELS.get(event.action, event.action),
                        "lines": [line for line in lines if line[1]],
                        "alert": event.action in ("supervision_sent_back", "supervision_escalated")})
    return entries


def _date(value) -> str:
    return f"{datetime.fromisoformat(value).astimezone(TZ):%Y-%m-%d %H:%M}" if value else ""


@bp.get("/items/<int:item_id>")
@page_login_required("read_supervision")
def item(item_id):
    return _render_item(item_id)


@bp.post("/items/<int:item_id>/respond")
@page_login_required("respond_supervision")
def respond(item_id):
    values = {"response": request.form.get("response", ""),
              "attachment_ids": [int(i) for i in request.form.getlist("attachment_ids") if i.isdigit()
                                 and int(i) <= MAX_ID]}
    try:
        supervision.respond(get_db(), _id(item_id), values["response"], values["attachment_ids"], current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _render_item(item_id, 400, err.fields, values)
    except Conflict:
        flash(_("该督办事项已反馈或已办结，请刷新后查看。"), "error")
        return _render_item(item_id, 409)
    flash(_("整改情况已反馈，等待督办员审核。"), "success")
    return redirect(url_for(".item", item_id=item_id), 303)


@bp.post("/items/<int:item_id>/close")
@page_login_required("supervise")
def close(item_id):
    return _decide(item_id, supervision.close, "close_note", _("督办事项已办结。"))


@bp.post("/items/<int:item_id>/reopen")
@page_login_required("supervise")
def reopen(item_id):
    return _decide(item_id, supervision.reopen, "reopen_note", _("已退回承办单位重新整改。"))


def _decide(item_id, action, field, done):
    note = request.form.get("note", "")
    try:
        action(get_db(), _id(item_id), note, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _render_item(item_id, 400, {field: err.fields.get("note", [])}, {field: note})
    except Conflict:
        flash(_("该督办事项的状态已变化，请刷新后查看。"), "error")
        return _render_item(item_id, 409)
    flash(done, "success")
    return redirect(url_for(".item", item_id=item_id), 303)


@bp.route("/new", methods=["GET", "POST"])
@page_login_required("supervise")
def new():
    if request.method == "GET":
        values = {"appeal": request.args.get("appeal", "")[:30], "measures": ["rectification_notice"],
                  "rectification_days": str(supervision.config()["rectification_days"]), "reason": ""}
        return render_template("supervision/new.html", values=values, errors={})
    form = request.form
    values = {"appeal": form.get("appeal", "").strip()[:30], "reason": form.get("reason", ""),
              "measures": form.getlist("measures"), "note": form.get("note", ""),
              "rectification_days": form.get("rectification_days", "").strip()[:4]}
    days = values["rectification_days"]
    data = {**values, "rectification_days": int(days) if days.isdigit() else None}
    try:
        created = supervision.open_item(get_db(), data, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return render_template("supervision/new.html", values=values, errors=err.fields), 400
    except Conflict:
        flash(_("该诉求已有尚未办结的督办事项：一件诉求只保留一项督办，请在该事项中跟进。"), "error")
        return render_template("supervision/new.html", values=values, errors={}), 409
    flash(_("已列入督办，承办单位将收到整改通知。"), "success")
    return redirect(url_for(".item", item_id=created.id), 303)


@bp.route("/accountability", methods=["GET", "POST"])
@page_login_required("supervise")
def accountability_records():
    values, errors, status = {"subject": "unit"}, {}, 200
    if request.method == "POST":
        form = request.form
        values = {k: form.get(k, "").strip()[:2000] for k in ("subject", "user", "unit_id", "article", "measure",
                                                              "finding", "appeals")}
        unit = values["unit_id"]
        data = {**values, "unit_id": int(unit) if unit.isdigit() and int(unit) <= MAX_ID else None}
        try:
            accountability.record(get_db(), data, current_user())
        except InvalidInput as err:
            flash(_("请检查标红的栏目。"), "error")
            errors, status = err.fields, 400
        else:
            flash(_("问责记录已保存。"), "success")
            return redirect(url_for(".accountability_records"), 303)
    with get_db().read() as session:
        rows = accountability.list_records(session, current_user())
        units = accountability.units(session)
    return render_template("supervision/accountability.html", rows=rows, units=units, values=values, errors=errors,
                           article_labels=ARTICLE_LABELS, measure_labels=ACCOUNTABILITY_MEASURES,
                           severity=accountability.MEASURES, severity_labels=SEVERITY_LABELS,
                           articles=accountability.ARTICLES), status
