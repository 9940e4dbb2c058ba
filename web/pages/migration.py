"""Version migration for process owners: pick a newer deployment, see which running instances
can move to it and why others cannot, move a selection or every eligible one, and revert a
past move while the instance has not moved on since."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from runtime import migration
from runtime.errors import Conflict, NotFound

from .. import get_db
from ..auth import current_user, page_login_required

bp = Blueprint("migration", __name__, url_prefix="/monitor/migrations")

SHOWN = 500  # preview rows on the page; the summary and "all eligible" count every instance
PROBLEM_LABELS = {"removed": _l("当前环节「%(name)s」在新版本中已删除"),
                  "changed": _l("当前环节「%(name)s」在新版本中已修改"),
                  "subprocess_removed": _l("所在子流程「%(name)s」在新版本中已删除"),
                  "history_removed": _l("已办理的环节「%(name)s」在新版本中已删除")}
STAGE_LABELS = {"dispatch": _l("派单"), "sign_for": _l("签收"), "first_contact": _l("首次联系"), "handling": _l("办理"),
                "co_feedback": _l("协办反馈")}


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _render(to_id: int | None, status: int = 200, errors: dict | None = None, chosen=()):
    with get_db().read() as session:
        targets = migration.targets(session)
        if to_id is None and targets:
            to_id = targets[0].id
        target = next((t for t in targets if t.id == to_id), None)
        if to_id is not None and target is None:
            abort(404)
        candidates = migration.preview(session, to_id) if target else []
        past, batches = migration.list_migrations(session), migration.list_batches(session)
    return render_template("migration/index.html", targets=targets, target=target, candidates=candidates,
                           past=past, batches=batches, errors=errors or {}, chosen={str(c) for c in chosen},
                           problem_labels=PROBLEM_LABELS, stage_labels=STAGE_LABELS, shown=SHOWN), status


@bp.get("")
@page_login_required("migrate_instances")
def index():
    to_id = _int(request.args.get("to"))
    if request.args.get("to") and to_id is None:
        abort(404)
    return _render(to_id)


@bp.post("/migrate")
@page_login_required("migrate_instances")
def migrate():
    to_id = _int(request.form.get("to"))
    every = request.form.get("all") == "1"
    chosen = [i for i in (_int(v) for v in request.form.getlist("instance")) if i is not None]
    if to_id is None:
        flash(_("请选择目标版本"), "error")
        return _render(None, 400, {"to": _("请选择目标版本")})
    if not every and not chosen:
        return _render(to_id, 400, {"instance": _("请勾选要迁移的流程实例，或选择“全部可迁移实例”")}, chosen)
    apply_limits = request.form.get("apply_limits") == "1"
    try:
        if every:  # thousands may be eligible: the worker moves them, the page shows the progress
            migration.request_all(get_db(), to_id, current_user(), apply_limits)
            flash(_("已开始在后台迁移全部可迁移实例，进度见下方“批量迁移”"), "success")
            return redirect(url_for("migration.index", to=to_id))
        moved, refused = migration.migrate(get_db(), to_id, chosen, current_user(), apply_limits=apply_limits)
    except NotFound:
        abort(404)
    except Conflict as err:
        flash(_("未开始：%(message)s", message=str(err)), "error")
        return _render(to_id, 409)
    if moved:
        flash(_("已迁移 %(n)s 个流程实例", n=len(moved)), "success")
    for instance_id, reason in refused.items():
        flash(_("流程实例 %(id)s 未迁移：%(reason)s", id=instance_id, reason=reason), "error")
    if not moved and not refused:
        flash(_("没有可迁移的流程实例"), "error")
    return redirect(url_for("migration.index", to=to_id))


@bp.post("/<int:migration_id>/revert")
@page_login_required("migrate_instances")
def revert(migration_id):
    try:
        done = migration.revert(get_db(), migration_id, current_user())
    except NotFound:
        abort(404)
    except Conflict as err:
        flash(_("撤销未执行：%(message)s", message=str(err)), "error")
        return _render(_int(request.form.get("to")), 409)
    flash(_("已撤销迁移，流程实例 %(id)s 回到原版本", id=done.instance_id), "success")
    return redirect(url_for("migration.index", to=_int(request.form.get("to"))))
