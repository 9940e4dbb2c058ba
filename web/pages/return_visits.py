"""Return-visit checks (Art. 23): the sample to call, checks a supervisor ordered, results."""
from datetime import date
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from hotline import attachments
from hotline import return_visits as sampling
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound

from .. import get_db
from ..auth import current_user, page_login_required

bp = Blueprint("return_visits", __name__, url_prefix="/revisits")


@bp.get("")
@page_login_required("return_visits")
def index():
    with get_db().read() as session:
        todo = sampling.pending(session, current_user())
        done = sampling.recent(session)
    return render_template("return_visits/index.html", todo=todo, done=done, user=current_user(),
                           methods=sampling.METHODS, evaluations=sampling.EVALUATIONS, today=date.today())


@bp.post("/sample")
@page_login_required("order_checks")
def draw():
    try:
        start = date.fromisoformat(request.form.get("start", ""))
        end = date.fromisoformat(request.form.get("end", ""))
        chosen = sampling.draw_sample(get_db(), start, end, request.form.get("seed", "")[:50], current_user())
    except ValueError:
        flash(_("请填写正确的起止日期。"), "error")
    except InvalidInput as err:
        flash("；".join(m for ms in err.fields.values() for m in ms), "error")
    else:
        flash(_("已抽取 %(n)s 件诉求电话回访。", n=len(chosen)), "success")
    return redirect(url_for("return_visits.index"))


@bp.post("/order")
@page_login_required("order_checks")
def order():
    number = request.form.get("number", "").strip()[:20]
    db = get_db()
    try:
        with db.read() as session:
            appeal = sampling.appeal_by_number(session, number)
    except NotFound:
        flash(_("诉求编号 %(number)s 不存在。", number=number), "error")
        return redirect(url_for("return_visits.index"))
    try:
        sampling.order_check(db, appeal.id, request.form.get("method", ""), request.form.get("note", ""), current_user())
    except InvalidInput:
        flash(_("请选择核查方式。"), "error")
    else:
        flash(_("已安排对 %(number)s 的核查。", number=number), "success")
    return redirect(url_for("return_visits.index"))


@bp.post("/<int:sample_id>/record")
@page_login_required("return_visits")
def record(sample_id):
    db, user = get_db(), current_user()
    form = request.form
    resolved = {"yes": True, "no": False}.get(form.get("resolved", ""))
    ids = [int(i) for i in form.getlist("attachment_ids") if i.isdigit()]
    file = request.files.get("file")
    upload = attachments.Upload(Path(current_app.config["ATTACHMENT_DIR"]), file.filename.replace("\x00", ""),
                                file.stream, current_app.config["MAX_ATTACHMENT_MB"] << 20) \
        if file is not None and file.filename else None
    try:
        sampling.record_result(db, sample_id, form.get("evaluation", ""), resolved,
                               form.get("comment", "").strip(), ids, user, upload,
                               problem_found=form.get("problem_found") == "yes")
    except InvalidInput as err:
        flash("；".join(m for ms in err.fields.values() for m in ms), "error")
    except (Conflict, NotFound, Forbidden):
        flash(_("该核查已记录或不存在。"), "error")
    else:
        flash(_("核查结果已记录。"), "success")
    return redirect(url_for("return_visits.index"))
