"""The process owners' monitor: an overview, the instance list (filters, keyset paging), one
instance with its diagram, tasks, timers, incidents and history, and suspend / resume /
terminate / retry; the process definitions page is open to analysts too (no appeal data)."""
import dataclasses
from datetime import date, datetime, time, timedelta
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import centres, monitor
from hotline.access import can
from hotline.models import APPEAL_TYPES, Appeal
from runtime import clock, jobs, repository
from runtime import diagrams as monitor_diagram
from runtime import instances as process_instances
from runtime.errors import Conflict, Forbidden, NotFound
from runtime.models import ProcessInstance
from workdays.calendar import TZ

from .. import get_db, statuses, variables
from ..api import MAX_ID
from ..auth import current_user, page_login_required
from .appeal import history_entries

bp = Blueprint("monitor", __name__, url_prefix="/monitor")

BPMN_JS = Path(__file__).resolve().parent.parent / "node_modules" / "bpmn-js" / "dist"
TYPE_LABELS = {"consultation": _l("咨询"), "complaint": _l("投诉"), "suggestion": _l("建议"), "help": _l("求助")}
STATE_LABELS = {"running": _l("运行中"), "suspended": _l("已挂起"), "completed": _l("已完成"),
                "terminated": _l("已终止")}
DEADLINES = {"overdue": _l("已超期"), "due_today": _l("今日到期")}
ACTIONS = {"suspend": (process_instances.suspend, _l("流程已挂起")),
           "resume": (process_instances.resume, _l("流程已恢复")),
           "terminate": (process_instances.terminate, _l("流程已终止"))}
REASON_MAX = 500


@bp.app_template_filter("monitor_time")
def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(TZ).strftime(fmt) if value else ""


@bp.context_processor
def _labels():
    return {"status_labels": statuses.labels(), "type_labels": TYPE_LABELS, "state_labels": STATE_LABELS,
            "deadline_labels": DEADLINES, "now": clock.now(),
            "can_operate": can(current_user(), "operate_instances")}


@bp.get("")
@page_login_required("monitor")
def overview():
    with get_db().read() as session:
        return render_template("monitor/overview.html",
                               o=monitor.overview(session, clock.now(), _own_centre(session)))


def _own_centre(session) -> int | None:
    """A city's or county's process owner and supervisor watch their own centre's appeals;
    the provincial centre watches all (hotline.centres)."""
    user = current_user()
    return None if centres.sees_all(session, user) else user.centre_id


def _filters(args) -> tuple[monitor.InstanceFilter, dict, dict]:
    """The list's filters from the query string: (filter, the values as typed, errors by field).
    A bad value is reported and left out, the rest still apply."""
    typed = {k: args.get(k, "").strip()[:100] for k in ("status", "state", "type", "unit", "deadline", "from", "to",
                                                         "q")}
    errors, chosen = {}, {}
    for name, allowed in (("status", statuses.catalogue()), ("state", STATE_LABELS), ("type", APPEAL_TYPES),
                          ("deadline", DEADLINES)):
        chosen[name] = typed[name] if typed[name] in allowed else None
        if typed[name] and chosen[name] is None:
            errors[name] = _("无效的选项")
    unit_id = None
    if typed["unit"]:
        unit_id = int(typed["unit"]) if typed["unit"].isdigit() else None
        if unit_id is None:
            errors["unit"] = _("无效的选项")
    days = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(typed[name]) if typed[name] else None
        except ValueError:
            errors[name] = _("日期格式应为 YYYY-MM-DD")
            days[name] = None
    if days["from"] and days["to"] and days["from"] > days["to"]:
        errors["to"] = _("结束日期不能早于开始日期")
        days["to"] = None
    f = monitor.InstanceFilter(
        status=chosen["status"], state=chosen["state"], appeal_type=chosen["type"], unit_id=unit_id,
        deadline=chosen["deadline"], text=typed["q"] or None,
        accepted_from=datetime.combine(days["from"], time(), TZ) if days["from"] else None,
        accepted_before=datetime.combine(days["to"] + timedelta(days=1), time(), TZ) if days["to"] else None)
    return f, typed, errors


@bp.get("/instances")
@page_login_required("monitor")
def instances():
    f, typed, errors = _filters(request.args)
    with get_db().read() as session:
        f = dataclasses.replace(f, centre_id=_own_centre(session))
        page = monitor.list_instances(session, f, clock.now(), after=request.args.get("after"),
                                      before=request.args.get("before"))
        return render_template("monitor/instances.html", page=page, typed=typed, errors=errors,
                               units=monitor.units(session), query={k: v for k, v in typed.items() if v}), \
            400 if errors else 200


def _render_instance(instance_id: int, status: int = 200, errors: dict | None = None, reasons: dict | None = None):
    with get_db().read() as session:
        try:
            view = monitor.instance_view(session, instance_id, clock.now(), current_user())
        except NotFound:
            abort(404)
        except Forbidden:
            abort(403)
        bundle = repository.forms_of(view["instance"].deployment)
        entries = history_entries([h["event"] for h in view["history"]], view["people"], view["task_forms"],
                                  view["unit_names"], view["files"], {})
        return render_template("monitor/instance.html", v=view, errors=errors or {}, reasons=reasons or {},
                               entries=entries, variables=variables.rows(view["data"], bundle, view["unit_names"],
                                                                         view["people"])), status


@bp.get("/instances/<int:instance_id>")
@page_login_required("monitor")
def instance(instance_id):
    return _render_instance(instance_id)


@bp.get("/instances/<int:instance_id>/diagram.json")
@page_login_required("monitor")
def instance_diagram(instance_id):
    with get_db().read() as session:
        _of_own_centre(session, instance_id)
        try:
            return monitor_diagram.node_states(session, instance_id, clock.now())
        except NotFound:
            abort(404)


def _of_own_centre(session, instance_id: int) -> None:
    """403 for an instance whose appeal another centre holds (hotline.centres); 404 for none."""
    row = session.get(ProcessInstance, instance_id) if instance_id <= MAX_ID else None
    if row is None:
        abort(404)
    appeal = session.get(Appeal, row.business_key)
    if appeal is not None and not centres.may_read(session, current_user(), appeal):
        abort(403)


@bp.post("/instances/<int:instance_id>/<any(suspend, resume, terminate):action>")
@page_login_required("operate_instances")
def change_state(instance_id, action):
    reason = request.form.get("reason", "").strip()
    if not reason or len(reason) > REASON_MAX:
        message = _("请填写原因") if not reason else _("原因不能超过 %(n)s 字", n=REASON_MAX)
        return _render_instance(instance_id, 400, {action: message}, {action: reason})
    operation, done = ACTIONS[action]
    with get_db().read() as session:
        _of_own_centre(session, instance_id)
    try:
        operation(get_db(), instance_id, reason, current_user())
    except NotFound:
        abort(404)
    except Conflict as err:
        flash(_("操作未执行：%(message)s", message=str(err)), "error")
        return _render_instance(instance_id, 409, reasons={action: reason})
    flash(str(done), "success")
    return redirect(url_for("monitor.instance", instance_id=instance_id))


@bp.post("/incidents/<int:job_id>/retry")
@page_login_required("operate_instances")
def retry_incident(job_id):
    try:
        job = jobs.retry_incident(get_db(), job_id, current_user())
    except NotFound:
        flash(_("该故障已处理或不存在"), "error")
        return redirect(url_for("monitor.overview"))
    flash(_("已重新排队，定时任务将在几秒内重试"), "success")
    return redirect(url_for("monitor.instance", instance_id=job.instance_id))


@bp.get("/processes")
@page_login_required("read_definitions")
def processes():
    with get_db().read() as session:
        return render_template("monitor/processes.html", deployments=monitor.deployments(session))


@bp.get("/processes/<int:deployment_id>")
@page_login_required("read_definitions")
def process(deployment_id):
    with get_db().read() as session:
        found = [d for d in monitor.deployments(session) if d["id"] == deployment_id]
        if not found:
            abort(404)
        return render_template("monitor/process.html", d=found[0])


@bp.get("/processes/<int:deployment_id>/diagram.json")
@page_login_required("read_definitions")
def process_diagram(deployment_id):
    with get_db().read() as session:
        try:
            return monitor_diagram.deployment_diagrams(session, deployment_id)
        except NotFound:
            abort(404)


@bp.get("/vendor/bpmn-js/<path:filename>")
def bpmn_js(filename):
    """bpmn-js from web/node_modules (npm, installed by `make install`), never from a CDN."""
    if not BPMN_JS.is_dir():
        abort(404, description="bpmn-js is not installed: run `make install` (npm install --prefix web)")
    return send_from_directory(BPMN_JS, filename, max_age=86400)
