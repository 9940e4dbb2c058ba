"""The intake console (register a call and decide it on one screen) and the dispatch queue
(lead and co-organizer units from the unit tree; returned appeals re-dispatched)."""
import uuid

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _

from hotline import intake, knowledge
from hotline.appeals import INTAKE_FORM
from runtime import clock, forms, idempotency, tasks
from runtime.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound

from .. import form_render, get_db, statuses
from ..api import check_storable
from ..auth import current_user, page_login_required
from ..urls import local_target

bp = Blueprint("intake", __name__)

DECISIONS = ("dispatch", "answer_on_spot", "not_accepted", "register_only")
TEXT_FIELDS = ("title", "content", "location", "region_code")
PERSON_FIELDS = ("name", "phone", "id_number")
FLAGS = ("urgent", "convenience_list", "confidential")


def choices(form: str, field: str) -> list[tuple[str, str]]:
    """(value, label) of an enum field ("appellant.kind"), labels from the form's UI schema in
    the user's language."""
    schema, ui = forms.load(form)
    node, ui_node, english = schema, ui, {"properties": ui.get("ui:i18n", {}).get("en", {})}
    for part in field.split("."):
        node, ui_node = node["properties"][part], ui_node.get(part, {})
        english = english.get("properties", {}).get(part, {})
    labels = ui_node.get("ui:enumNames", node["enum"])
    if str(get_locale()) == "en":
        labels = english.get("enumNames", labels)
    return list(zip(node["enum"], labels, strict=True))


def _console(values: dict, errors: dict | None = None, duplicates=None, status: int = 200):
    with get_db().read() as session:
        regions = intake.regions(session)
    return render_template(
        "intake/console.html", values=values, errors=errors or {}, duplicates=duplicates, form_token=uuid.uuid4().hex,
        regions=regions, channels=choices(INTAKE_FORM, "channel"),
        types=choices(INTAKE_FORM, "appeal_type"), kinds=choices(INTAKE_FORM, "appellant.kind"),
        reasons=choices(intake.ASSESS_FORM, "not_accepted_reason"), guidance=intake.GUIDANCE,
        appeal_url=appeal_url), status


@bp.get("/intake")
@page_login_required("register_appeals")
def index():
    return _console({"channel": "phone", "appeal_type": "consultation", "appellant.kind": "citizen",
                     "assessment": "dispatch"})


@bp.post("/intake")
@page_login_required("register_appeals")
def register():
    values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    data = {"channel": values.get("channel", ""), "appeal_type": values.get("appeal_type", "")}
    data.update({f: values[f] for f in TEXT_FIELDS if values.get(f)})
    data.update({f: True for f in FLAGS if values.get(f)})
    person = {"kind": values.get("appellant.kind", ""), "agrees_to_disclose": bool(values.get("appellant.agrees"))}
    person.update({f: values[f"appellant.{f}"] for f in PERSON_FIELDS if values.get(f"appellant.{f}")})
    data["appellant"] = person
    decision = _decision(values)
    try:
        check_storable(data)
        check_storable(decision or {})
        key = idempotency.checked_key(values.get("form_token") or None)

        def perform(remember):
            def after(session, appeal):
                remember(session, idempotency.Answer(201, {"appeal_id": appeal.id, "number": appeal.number}))
            return idempotency.Answer(201, intake.register_and_assess(
                get_db(), data, decision, current_user(), duplicates_checked=bool(values.get("duplicates_checked")),
                after=after))
        answer = idempotency.once(get_db(), f"page:intake:{current_user().id}", key, [data, decision], perform)
        if answer.replayed:
            flash(_("诉求 %(number)s 已登记，本次重复提交未重复登记。", number=answer.body["number"]), "success")
            return redirect(url_for("intake.index"))
        result = answer.body
    except intake.LikelyDuplicates as err:
        flash(_("发现疑似重复诉求，请核对后勾选“已核对”再保存。"), "error")
        return _console(values, duplicates=err.found, status=409)
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _console(values, readable(err.fields), status=400)
    except EngineError as err:
        flash(_("保存未完成：%(message)s", message=str(err)), "error")
        return _console(values, status=409)
    messages = {"dispatch": _("诉求 %(number)s 已登记，转派单员派单。"),
                "answer_on_spot": _("诉求 %(number)s 已当场答复，转回访核实。"),
                "not_accepted": _("诉求 %(number)s 已登记为不予受理，已记录解释引导内容。"),
                None: _("诉求 %(number)s 已登记，待研判。")}
    if decision is not None and result["assessment"] is None:  # the deployed diagram has no such step now
        messages[None] = _("诉求 %(number)s 已登记；当前流程没有可在受理台研判的环节，请在待办中继续办理。")
    flash(messages[result["assessment"]] % {"number": result["number"]}, "success")
    return redirect(url_for("intake.index"))


def appeal_url(appeal_id: int) -> str | None:
    """The appeal's page, when the appeal pages are installed (they are another feature)."""
    return url_for("appeal.show", appeal_id=appeal_id) if "appeal.show" in current_app.view_functions else None


def readable(fields: dict) -> dict:
    """Form errors in the agent's words: JSON Schema's English messages become short Chinese
    ones (translated in the catalog), keyed by the page's field names."""
    result = {}
    for field, messages in fields.items():
        name = field.replace("appellant.agrees_to_disclose", "appellant.agrees")
        for message in messages:
            if "is too short" in message or "non-empty" in message or message == "必填项":
                text = "必填项"
            elif "does not match" in message:
                text = "格式不正确" if name != "appellant.phone" else "电话号码格式不正确"
            elif "is too long" in message:
                text = "内容过长"
            elif "is not one of" in message:
                text = "请从列表中选择"
            else:
                text = message
            result.setdefault(name, []).append(text)
    return result


def _decision(values: dict) -> dict | None:
    """The assessment part of the form: only the fields of the chosen decision."""
    choice = values.get("assessment", "")
    if choice == "register_only":
        return None
    decision = {"assessment": choice, "emergency": bool(values.get("emergency"))}
    if choice == "answer_on_spot":
        decision["answer"] = values.get("answer", "")
    elif choice == "not_accepted":
        decision["guidance"] = values.get("guidance", "")
        if values.get("not_accepted_reason"):
            decision["not_accepted_reason"] = values["not_accepted_reason"]
    return decision


@bp.get("/intake/suggest")
@page_login_required("register_appeals")
def suggest():
    text = request.args.get("q", "")[:2000]
    english = form_render.english()
    with get_db().read() as session:
        hits = knowledge.suggest(session, text, limit=5)
        items = [{"id": h.article.id, "title": h.article.title, "snippet": h.snippet, "body": h.article.body,
                  "unit": h.unit_name,
                  "category": h.article.category_en or h.article.category if english else h.article.category,
                  "updated_at": h.article.updated_at.isoformat(),
                  "url": url_for("knowledge.view", article_id=h.article.id)} for h in hits]
    return jsonify({"items": items})


@bp.get("/intake/duplicates")
@page_login_required("register_appeals")
def duplicates():
    with get_db().read() as session:
        found = intake.find_duplicates(session, request.args.get("phone", "")[:32],
                                       request.args.get("content", "")[:5000], user=current_user())
    for item in found:
        item["status_label"] = statuses.label(item["status"])
        item["accepted_label"] = format_datetime(item["accepted_at"], "yyyy-MM-dd HH:mm")
        item["url"] = appeal_url(item["id"])
        item["accepted_at"] = item["accepted_at"].isoformat()
    return jsonify({"items": found})


@bp.get("/intake/dispatch")
@page_login_required("dispatch")
def dispatch_queue():
    with get_db().read() as session:
        rows = intake.dispatch_queue(session, current_user())
        return render_template("intake/dispatch_queue.html", rows=rows, types=dict(choices(INTAKE_FORM,
                               "appeal_type")), now=clock.now())


def _back() -> str:
    """Where the dispatch page returns to: the page it was opened from (`next`, the inbox when
    the task was opened there), else the dispatch queue."""
    return local_target(request.args.get("next"), url_for("intake.dispatch_queue"))


def _dispatch_page(task_id: str, values: dict, errors: dict | None = None, status: int = 200):
    back = _back()
    with get_db().read() as session:
        try:
            context = intake.dispatch_context(session, task_id, current_user())
        except Forbidden:
            abort(403)
        except NotFound:
            abort(404)
        except Conflict:
            flash(_("该任务已被处理，请刷新列表。"), "error")
            return redirect(back)
        if not values:
            top = context["suggestions"][0]["unit_id"] if context["suggestions"] else None
            values = {"lead_unit_id": str(top or ""), "co_unit_ids": [], "return_decision": "redispatch"}
        return render_template("intake/dispatch.html", c=context, values=values, errors=errors or {},
                               types=dict(choices(INTAKE_FORM, "appeal_type")),
                               channels=dict(choices(INTAKE_FORM, "channel")), back=back,
                               back_label=_back_label(back)), status


def _back_label(back: str) -> str:
    if back == url_for("intake.dispatch_queue"):
        return _("派单队列")
    return _("我的待办") if back.split("?")[0] == url_for("inbox.index") else _("返回")


@bp.route("/intake/dispatch/<task_id>", methods=["GET", "POST"])
@page_login_required("dispatch")
def dispatch(task_id):
    if len(task_id) > 36 or "\x00" in task_id:
        abort(404)
    if request.method == "GET":
        return _dispatch_page(task_id, {})
    values = {"lead_unit_id": request.form.get("lead_unit_id", ""),
              "co_unit_ids": request.form.getlist("co_unit_ids"),
              "note": request.form.get("note", "").strip(),
              "return_decision": request.form.get("return_decision", ""),
              "dispatch_action": request.form.get("dispatch_action", "dispatch"),
              "transfer_reason": request.form.get("transfer_reason", "").strip(),
              "related_region_codes": request.form.getlist("related_region_codes")}
    with get_db().read() as session:
        try:
            reviews_return = tasks.get(session, task_id, current_user()).reaches(intake.RETURN_REVIEWED)
        except NotFound:
            abort(404)
        except Forbidden:
            abort(403)
    try:
        data = _dispatch_data(reviews_return, values)
        check_storable(data)
        tasks.complete(get_db(), task_id, data, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _dispatch_page(task_id, values, readable(err.fields), 400)
    except Forbidden:
        abort(403)
    except (NotFound, Conflict) as err:
        flash(_("派单未完成：%(message)s", message=str(err)), "error")
        return redirect(_back())
    if not reviews_return and values["dispatch_action"] in ("escalate", "coordinate"):
        flash(_("已上报省级中心。") if values["dispatch_action"] == "escalate" else _("已提请上级中心协调。"), "success")
    else:
        flash(_("已派单。") if not reviews_return or values["return_decision"] == "redispatch"
              else _("已转兜底单位办理。"), "success")
    return redirect(_back())


def _dispatch_data(reviews_return: bool, values: dict) -> dict:
    """The task's form data from the page: a dispatch's, or a return review's (the task reaches
    the `return_reviewed` milestone). Raises InvalidInput for ids that are not numbers."""
    try:
        lead = int(values["lead_unit_id"]) if values["lead_unit_id"] else None
        co = [int(v) for v in values["co_unit_ids"]]
    except ValueError as err:
        raise InvalidInput("unit ids are numbers", {"lead_unit_id": ["请选择单位"]}) from err
    if not reviews_return:
        if values.get("dispatch_action") in ("escalate", "coordinate"):  # to another centre (Art. 8, 9)
            data = {"dispatch_action": values["dispatch_action"], "transfer_reason": values["transfer_reason"]}
            if values["dispatch_action"] == "coordinate":
                data["related_region_codes"] = values["related_region_codes"]
            return data
        data = {"co_unit_ids": co}
        if lead is not None:
            data["lead_unit_id"] = lead
        if values["note"]:
            data["dispatch_note"] = values["note"]
        return data
    data = {"return_decision": values["return_decision"]}
    if values["return_decision"] == "redispatch":
        data["co_unit_ids"] = co
        if lead is not None:
            data["lead_unit_id"] = lead
    if values["note"]:
        data["note"] = values["note"]
    return data
