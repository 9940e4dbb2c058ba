"""Published evaluation periods (Art. 26, 27), in the evaluation area: the list of what was
published, the form a process owner publishes a period with (for the province or a centre), and
a publication's page with its frozen table and what recomputing it now gives differently.
Process owners, supervisors and the civilization office read them (who reads the evaluation
and its publications); observers read the published figures on their own page (web/pages/observe.py)."""
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import centre_statistics, centres, publication
from hotline import evaluation as ev
from hotline.access import can
from hotline.models import User
from runtime.errors import Conflict, InvalidInput, NotFound

from .. import get_db
from ..api import MAX_ID
from ..auth import current_user, page_login_required

bp = Blueprint("publication", __name__, url_prefix="/evaluation/publications")

# the exported table's columns (hotline.exports.COLUMNS) by key: the indicators by the names
# hotline.evaluation.INDICATORS gives them, the other columns here; any other key shows its stored title
COLUMN_LABELS = {
    "rank": _l("排名"), "name": _l("承办单位"), "volume": _l("办件量"), "extension_rate": _l("延期率"),
    "rehandle_rate": _l("重办率"), "closure_rejection_rate": _l("办结审核驳回率"), "co_on_time_rate": _l("协办及时率"),
    "urge_rate": _l("催办率"), "visit_problems": _l("回访发现问题"), "not_solvable": _l("暂不能解决"),
    "valid": _l("有效回访"), "response_rate": _l("响应率"), "score": _l("综合得分"),
}
TYPE_LABELS = {"consultation": _l("咨询"), "complaint": _l("投诉"), "suggestion": _l("建议"), "help": _l("求助")}
CHANNEL_LABELS = {"phone": _l("电话"), "web": _l("网站"), "wechat": _l("微信"), "app": _l("移动应用"),
                  "email": _l("电子邮件"), "letter": _l("信件"), "visit": _l("来访"), "open311": _l("Open311 接口")}
STATISTIC_LABELS = {"total": _l("受理量"), "on_time": _l("按时办结"), "late": _l("办理超期"),
                    "on_time_rate": _l("按时办结率")}
KINDS = {"month": _l("月度"), "quarter": _l("季度"), "year": _l("年度")}


def column_labels() -> dict:
    english = str(get_locale()) == "en"
    return {**{i.key: i.en if english else i.zh for i in ev.INDICATORS}, **COLUMN_LABELS}


def labels() -> dict:
    """What the publication templates (here and on the observers' page) name things with."""
    return {"column_labels": column_labels(), "type_labels": TYPE_LABELS, "channel_labels": CHANNEL_LABELS,
            "statistic_labels": STATISTIC_LABELS, "kind_labels": KINDS}


@bp.context_processor
def _labels():
    return labels()


def readers_only(view):
    """Those who read the evaluation and its publications: both capabilities (observers read
    only what is published, a unit's leader only the own unit's row)."""
    @wraps(view)
    @page_login_required("read_published_evaluation")
    def wrapper(*args, **kwargs):
        if not can(current_user(), "read_evaluation"):
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _render_index(status=200, values=None, errors=None):
    user = current_user()
    config = ev.load_config()
    with get_db().read() as session:
        rows = publication.list_all(session)
        province_wide = centres.sees_all(session, user)  # a city or county: its own centre and those under it
        choices = centre_statistics.in_scope(session, None if province_wide else user.centre_id)
    default = publication.last_ended(config).key
    return render_template("publication/index.html", rows=rows, centres=choices, province_wide=province_wide,
                           values=values or {"period": default, "centre": ""}, errors=errors or {},
                           can_publish=can(user, "publish_evaluation")), status


@bp.get("")
@readers_only
def index():
    return _render_index()


@bp.post("")
@page_login_required("publish_evaluation")
def publish():
    values = {"period": request.form.get("period", "").strip()[:10], "centre": request.form.get("centre", "").strip()}
    typed = values["centre"]
    if typed and not (typed.isdigit() and int(typed) <= MAX_ID):
        flash(_("请检查标红的栏目。"), "error")
        return _render_index(400, values, {"centre": [_("没有这个中心")]})
    try:
        done = publication.publish(get_db(), values["period"], int(typed) if typed else None, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _render_index(400, values, {k: [_(m) for m in v] for k, v in err.fields.items()})
    except Conflict:
        flash(_("该考核期已经发布，已发布的考核结果不再改动。"), "error")
        return _render_index(409, values)
    flash(_("考核结果已发布，文明办已收到通知。"), "success")
    return redirect(url_for(".show", publication_id=done.id), 303)


@bp.get("/<int:publication_id>")
@readers_only
def show(publication_id):
    if publication_id > MAX_ID:
        abort(404)
    with get_db().read() as session:
        try:
            found = publication.get(session, publication_id)
        except NotFound:
            abort(404)
        changed = publication.difference(session, found)
        publisher = session.get(User, found.published_by_id)
    return render_template("publication/show.html", p=found, s=found.snapshot, changed=changed,
                           publisher=publisher.display_name if publisher else "")
