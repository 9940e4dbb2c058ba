"""The inbox (my tasks, my unit's tasks) and the task page: the appeal's case file beside the
task's form, rendered from its JSON Schema; claim, unclaim, complete, upload, comment.

After an error the task page is shown again with what was typed and each message by its
field (400); a task changed by someone else meanwhile answers 409 the same way. An upload
keeps what was typed as the user's draft (hotline.task_drafts) and sends the browser back to
the task's address. A dispatcher opening a dispatch or return review lands on the dispatch page."""
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug import exceptions as http

from hotline import casefile, comments, extension_requests, inbox, intake, task_drafts
from hotline.access import can
from hotline.models import APPEAL_TYPES
from runtime import tasks
from runtime.errors import Conflict, InvalidInput, ProcessError
from runtime.models import UserTask

from .. import form_render, get_db, statuses
from ..api import check_storable
from ..auth import current_user, page_login_required
from ..urls import local_target
from .appeal import INTAKE_FORM, option_label, task_label, timeline

bp = Blueprint("inbox", __name__)

SCOPE_LABELS = {"mine": _l("待我办理"), "claimed": _l("我已认领"), "unit": _l("本单位全部")}
DUE_LABELS = {"overdue": _l("已超期"), "soon": _l("即将到期")}
SORT_LABELS = {"due": _l("到期时间从早到晚"), "-due": _l("到期时间从晚到早"), "created": _l("最新到达在前")}


@bp.errorhandler(http.RequestEntityTooLarge)
def _too_large(_err):
    flash(_("文件不能超过 %(n)s MB", n=current_app.config["MAX_ATTACHMENT_MB"]), "error")
    return redirect(request.path.rsplit("/", 1)[0], 303)


@bp.get("/inbox")
@page_login_required("work_tasks")
def index():
    args = request.args
    filters = {"scope": _pick(args.get("scope"), inbox.SCOPES) or "mine",
               "task_kind": _pick(args.get("task"), None), "appeal_type": _pick(args.get("type"), APPEAL_TYPES),
               "status": _pick(args.get("status"), statuses.catalogue()), "due": _pick(args.get("due"), inbox.DUE_FILTERS),
               "q": args.get("q", "").replace("\x00", "").strip()[:50], "sort": _pick(args.get("sort"), inbox.SORTS) or "due"}
    user = current_user()
    with get_db().read() as session:
        result = inbox.search(session, user, **filters)
    scopes = dict(SCOPE_LABELS, unit=_l("本单位全部") if user.unit_id else _l("全部待办"))
    return render_template("inbox/index.html", result=result, filters=filters, scopes=scopes, due_labels=DUE_LABELS,
                           sort_labels=SORT_LABELS, appeal_types=APPEAL_TYPES, statuses=list(statuses.catalogue()), user=user,
                           urls=_filter_urls(filters), status_labels=statuses.labels(),
                           type_labels={t: option_label(INTAKE_FORM, "appeal_type", t) for t in APPEAL_TYPES})


@bp.get("/tasks/<task_id>")
@page_login_required("work_tasks")
def task(task_id):
    dispatch_page = _dispatch_page(task_id)
    if dispatch_page:
        return redirect(dispatch_page)
    return _render_task(task_id)


def _dispatch_page(task_id: str) -> str | None:
    """The dispatch page, for an open dispatch or return-review task a dispatcher opens from the
    inbox: one screen (unit tree, the unit's return reason) wherever the task is opened from,
    which comes back to the inbox when done."""
    user = current_user()
    if not can(user, "dispatch"):
        return None
    with get_db().read() as session:
        found = session.get(UserTask, task_id)
        if found is None or found.state != "open" or not intake.is_dispatch(found):
            return None
    return url_for("intake.dispatch", task_id=task_id, next=url_for(".index"))


@bp.post("/tasks/<task_id>/claim")
@page_login_required("work_tasks")
def claim(task_id):
    try:
        tasks.claim(get_db(), task_id, current_user())
        flash(_("已认领，其他人将不能办理此任务"), "success")
    except Conflict as err:
        flash(_conflict_message(err), "error")
    return redirect(_back(url_for(".task", task_id=task_id)), 303)


@bp.post("/tasks/<task_id>/unclaim")
@page_login_required("work_tasks")
def unclaim(task_id):
    try:
        tasks.unclaim(get_db(), task_id, current_user())
        flash(_("已释放，本单位其他人可以认领"), "success")
    except Conflict as err:
        flash(_conflict_message(err), "error")
    return redirect(_back(url_for(".task", task_id=task_id)), 303)


@bp.post("/tasks/<task_id>/complete")
@page_login_required("work_tasks")
def complete(task_id):
    user, values = current_user(), request.form.to_dict(flat=False)
    with get_db().read() as session:
        found = tasks.get(session, task_id, user)
        schema, ui = tasks.form_of(session, found)
        data, unconverted = form_render.parse(schema, ui, request.form)
        try:
            if unconverted:
                tasks.validate_form(session, found, data)  # report every other problem at the same time
        except InvalidInput as err:
            unconverted = form_render.merge_errors(err.fields, unconverted)
    try:
        if unconverted:
            raise InvalidInput("values that cannot be converted", unconverted)
        done = tasks.complete(get_db(), task_id, check_storable(data), user,
                              after=lambda session, _task: task_drafts.drop(session, task_id, user.id))
    except InvalidInput as err:
        return _render_task(task_id, values, form_render.merge_errors(err.fields, unconverted), status=400)
    except Conflict as err:
        flash(_conflict_message(err), "error")
        return _render_task(task_id, values, status=409)
    except ProcessError:
        flash(_("流程执行出错，提交未生效。请稍后重试，或联系系统管理员。"), "error")
        return _render_task(task_id, values, status=422)
    flash(_("已提交“%(task)s”", task=task_label(found.name, found.form)), "success")
    for notice in done.notices:  # what the steps it ran have to tell the user (e.g. why a request was refused)
        flash(notice["en"] if str(get_locale()).startswith("en") else notice["zh"], "warning")
    return redirect(url_for(".index"), 303)


@bp.post("/tasks/<task_id>/upload")
@page_login_required("work_tasks")
def upload(task_id):
    """Store the file, keep what was typed as the user's draft with the file ticked as evidence
    (in the upload's transaction), and send the browser back to the task (a reload uploads nothing)."""
    user, values = current_user(), _typed(request.form)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_task(task_id, values, upload_errors=[_("请选择要上传的文件")], status=400)
    evidence = _evidence_names(task_id, user)

    def keep_draft(session, stored):
        task_drafts.keep(session, task_id, user.id,
                         {**values, **{name: [*values.get(name, []), str(stored.id)] for name in evidence}})
    try:
        stored = casefile.attach(get_db(), task_id, user, Path(current_app.config["ATTACHMENT_DIR"]),
                                 upload.filename.replace("\x00", ""), upload.stream, user_limit(), after=keep_draft)
    except InvalidInput as err:
        return _render_task(task_id, values, upload_errors=[_(m) for m in err.fields.get("file", [str(err)])],
                            status=400)
    except Conflict as err:
        flash(_conflict_message(err), "error")
        return _render_task(task_id, values, status=409)
    flash(_("已上传“%(name)s”", name=stored.filename), "success")
    return redirect(url_for(".task", task_id=task_id, _anchor="f-upload"), 303)


def _typed(form) -> dict[str, list[str]]:
    """The form's fields as sent (every value of each), without the CSRF token."""
    return {name: values for name, values in form.to_dict(flat=False).items() if name != "csrf_token"}


def _evidence_names(task_id: str, user) -> list[str]:
    """The task form's attachment fields: a file just uploaded is ticked in them."""
    with get_db().read() as session:
        schema, ui = tasks.form_of(session, tasks.get(session, task_id, user))
    fields, _errors = form_render.build(schema, ui)
    return [f.name for f in form_render.flatten(fields) if f.widget == "attachments"]


@bp.post("/tasks/<task_id>/comment")
@page_login_required("work_tasks")
def comment(task_id):
    appeal_id = request.form.get("appeal_id", type=int)
    if appeal_id is None:
        return _render_task(task_id, comment_errors=[_("请求有误，请刷新页面后重试")], status=400)
    try:
        comments.add(get_db(), appeal_id, request.form.get("body", ""), current_user(), task_id=task_id)
    except InvalidInput as err:
        return _render_task(task_id, comment_errors=[_(m) for ms in err.fields.values() for m in ms],
                            comment_body=request.form.get("body", ""), status=400)
    flash(_("意见已发表"), "success")
    return redirect(url_for(".task", task_id=task_id, _anchor="comments"), 303)


def user_limit() -> int:
    return current_app.config["MAX_ATTACHMENT_MB"] << 20


def _render_task(task_id, values=None, errors=None, status=200, **extra):
    """The task page; with no `values` (not a submission shown again), the user's draft if any."""
    page = casefile.task_page(get_db(), task_id, current_user())
    task = page["task"]
    with get_db().read() as session:
        schema, ui = tasks.form_of(session, task)
        panels = _panels(session, task, ui)
        if values is None:
            values = task_drafts.read(session, task, current_user().id)
    fields, form_errors = form_render.build(schema, ui, values, errors, page["unit_choices"], page["attachments"],
                                            page["unit_members"], page["sub_unit_choices"])
    evidence = [f for f in form_render.flatten(fields) if f.widget == "attachments"]
    return render_template("inbox/task.html", page=page, task=task, fields=fields, form_errors=form_errors,
                           form_title=form_render.title(schema, ui) if schema else task.name,
                           submitted=values is not None, evidence_fields=evidence, entries=timeline(page),
                           all_fields=form_render.flatten(fields),
                           max_mb=current_app.config["MAX_ATTACHMENT_MB"], user=current_user(),
                           error_count=sum(len(f.errors) for f in form_render.flatten(fields)) + len(form_errors),
                           panels=panels, **extra), status


# What a form's UI schema may ask the page to show beside it (`ui:panels`): what the task decides.
PANELS = {"extension_request": extension_requests.asked}


def _panels(session, task, ui: dict) -> dict:
    if task.state != "open":
        return {}
    return {name: PANELS[name](session, task) for name in ui.get("ui:panels", []) if name in PANELS}


@bp.app_template_filter("capped")
def capped(count: int) -> str:
    """A count as the inbox shows it: up to inbox.COUNT_CAP, then "999+"."""
    return f"{inbox.COUNT_CAP}+" if count > inbox.COUNT_CAP else str(count)


def _pick(value, allowed):
    """A filter value, if it is one of `allowed` (any short identifier when None)."""
    if not value:
        return None
    if allowed is None:
        return value if len(value) <= 100 and value.replace("_", "").isalnum() else None
    return value if value in allowed else None


def _filter_urls(filters: dict) -> dict:
    """Links for the scope tabs (keeping the other filters) and the overdue / due-soon chips
    (toggling that filter)."""
    query = {"scope": filters["scope"], "task": filters["task_kind"], "type": filters["appeal_type"],
             "status": filters["status"], "due": filters["due"], "q": filters["q"] or None,
             "sort": filters["sort"] if filters["sort"] != "due" else None}

    def link(**changes):
        return url_for(".index", **{k: v for k, v in {**query, **changes}.items() if v})
    return {"scope": {key: link(scope=key) for key in inbox.SCOPES},
            "due": {key: link(due=None if filters["due"] == key else key) for key in inbox.DUE_FILTERS}}


def _back(default: str) -> str:
    return local_target(request.form.get("next"), default)


def _conflict_message(err: Conflict) -> str:
    """The engine's reason for a refused change, in the page's language."""
    return {"task_claimed": _("该任务已被他人认领"),
            "concurrent_change": _("诉求已被他人同时修改，请刷新后重试"),
            "process_not_running": _("该诉求的办理流程已暂停或结束，暂不能提交")}.get(
        err.reason, _("该任务已办结或已不在当前环节"))
