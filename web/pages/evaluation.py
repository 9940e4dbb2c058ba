"""Unit evaluation (考核评价, Art. 25, 26, 28): the ranking of organizer units per period with
every figure linked to the appeals behind it, red and black lists, commendations, charts drawn
as inline SVG on the server, and CSV / XLSX exports. Process owners and supervisors see every
unit; an organizer leader sees only the own unit's row and rank. Per centre (`centre`, an id or a
code): staff of a city or county centre pick among their own centre's subtree, the provincial
centre and users without a centre among all. Every indicator is shown with its article and
formula (hotline.evaluation.INDICATORS), the ranking within each appeal type, the people named in
commendations and accountability records, and each unit's annual appraisal export."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import evaluation as ev
from hotline import evaluation_report as reports
from hotline import exports
from hotline.access import UNIT_LEADER
from hotline.models import APPEAL_TYPES
from runtime import clock
from runtime.errors import Forbidden, InvalidInput, NotFound
from workdays.calendar import TZ

from .. import get_db
from ..auth import current_user, page_login_required

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")

PICKER = (("month", 24), ("quarter", 8), ("year", 5))  # how many past periods the picker offers
TYPE_LABELS = {"consultation": _l("咨询"), "complaint": _l("投诉"), "suggestion": _l("建议"), "help": _l("求助")}
EVALUATION_LABELS = {"satisfied": _l("满意"), "basically_satisfied": _l("基本满意"), "dissatisfied": _l("不满意"),
                     "no_evaluation": _l("未评价")}
METRICS = {
    "received": _l("派给该单位的诉求"), "late_sign": _l("签收超期的诉求"), "returned": _l("该单位退回的诉求"),
    "handled": _l("该单位办理的诉求"), "on_time": _l("按时办结的诉求"), "late": _l("办理超期的诉求"),
    "extended": _l("获批延期的诉求"), "rehandled": _l("重新办理的诉求"), "valid": _l("有效回访的诉求"),
    "urged": _l("被催办的诉求"), "visit_problems": _l("回访发现问题的诉求"), "co_received": _l("作为协办单位的诉求"), "co_late": _l("协办反馈超期的诉求"),
    "rejected": _l("办结审核被驳回的诉求"), "explained": _l("已解释、暂不能解决的诉求"),
    "contacted": _l("已联系诉求人的诉求"), "not_contacted": _l("未联系诉求人的诉求"), "resolved": _l("已解决的诉求"),
    "unresolved": _l("未解决的诉求"), "satisfied": _l("满意的诉求"), "basically_satisfied": _l("基本满意的诉求"),
    "dissatisfied": _l("不满意的诉求"), "late_contact": _l("首次联系超期的诉求"), "open": _l("未办结的诉求"),
    "not_visited": _l("已办结未回访的诉求"),
}
# the indicators' names, articles and formulas as the page shows them (defined in hotline.evaluation)
INDICATOR_NAMES = {"sign_for_rate": _l("签收及时率"), "contact_rate": _l("先行联系率"), "completion_rate": _l("办结率"),
                   "on_time_rate": _l("按时办结率"), "visit_rate": _l("回访率"), "resolution_rate": _l("解决率"),
                   "satisfaction_rate": _l("满意率"), "return_rate": _l("退单率"), "overdue_rate": _l("超期率")}
ARTICLES = {"第十七条": _l("第十七条"), "第十九条": _l("第十九条"), "第二十条": _l("第二十条"), "第二十一条": _l("第二十一条"),
            "第二十三条": _l("第二十三条")}
FORMULAS = {
    "sign_for_rate": _l("（派给本单位 − 签收超期）÷ 派给本单位"),
    "contact_rate": _l("（有首次联系时限 − 首次联系超期）÷ 有首次联系时限"),
    "completion_rate": _l("已办结 ÷ 本单位办理"),
    "on_time_rate": _l("按时办结 ÷（按时办结 + 办理超期 + 未办结已过期限）"),
    "visit_rate": _l("已回访 ÷ 已办结"),
    "resolution_rate": _l("已解决 ÷ 有效回访"),
    "satisfaction_rate": _l("（满意 + 系数 × 基本满意）÷ 有效回访"),
    "return_rate": _l("退回 ÷ 派给本单位（扣分）"),
    "overdue_rate": _l("（办理超期 + 未办结已过期限）÷ 本单位办理（扣分）"),
}
# (figure, column title, drill metric): each figure links to the appeals that explain it
COLUMNS = [
    ("volume", _l("办件量"), "received"),
    *((i.key, INDICATOR_NAMES[i.key], i.drill) for i in ev.INDICATORS
      if i.key not in ("resolution_rate", "satisfaction_rate")),
    ("extension_rate", _l("延期率"), "extended"), ("rehandle_rate", _l("重办率"), "rehandled"),
    ("closure_rejection_rate", _l("办结审核驳回率"), "rejected"), ("co_on_time_rate", _l("协办及时率"), "co_late"),
    ("urge_rate", _l("催办率"), "urged"), ("visit_problems", _l("回访发现问题"), "visit_problems"), ("not_solvable", _l("暂不能解决"), "explained"),
    ("valid", _l("有效回访"), "valid"), ("response_rate", _l("响应率"), "not_contacted"),
    ("resolution_rate", _l("解决率"), "unresolved"), ("satisfaction_rate", _l("满意率"), "dissatisfied"),
    ("score", _l("综合得分"), "valid"),
]


@bp.context_processor
def _labels():
    return {"metric_labels": METRICS, "type_labels": TYPE_LABELS, "evaluation_labels": EVALUATION_LABELS,
            "columns": COLUMNS, "indicators": ev.INDICATORS, "indicator_names": INDICATOR_NAMES,
            "article_labels": ARTICLES, "formulas": FORMULAS,
            "kind_labels": {"commendation": _("表扬"), "accountability": _("问责")},
            "has_appeal_page": "appeal.show" in current_app.view_functions}


@bp.app_template_filter("evaluation_time")
def _local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(TZ).strftime(fmt) if value else ""


def _scope() -> int | None:
    """The unit an organizer leader is limited to; None for platform roles."""
    user = current_user()
    return user.unit_id if user.role == UNIT_LEADER else None


def _period(config) -> tuple[ev.Period, str, str | None]:
    """(period, what was typed, error): the last complete month unless one is asked for."""
    default = ev.default_period(clock.now(), config.window_start_day)
    typed = request.args.get("period", "").strip()[:10]
    if not typed:
        return default, default.key, None
    try:
        return ev.parse_period(typed), typed, None
    except InvalidInput as err:
        return default, typed, _(err.fields["period"][0])


def _choices(selected: ev.Period, config) -> list[tuple[str, list[ev.Period]]]:
    groups = []
    for kind, n in PICKER:
        last = ev.default_period(clock.now(), config.window_start_day, kind)
        periods = [ev.shift(last, -i) for i in range(n)]
        if selected.kind == kind and selected not in periods:
            periods.append(selected)
        groups.append((kind, periods))
    return groups


def _centre(session):
    """The centre asked for (`centre`), checked against the user's; aborts 403 / 404."""
    try:
        return reports.pick_centre(session, current_user(), request.args.get("centre"))
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


@bp.get("")
@page_login_required("read_evaluation")
def index():
    config = ev.load_config()
    period, typed, error = _period(config)
    if error:
        flash(_("考核期无效：%(message)s", message=error), "error")
    with get_db().read() as session:
        centre = _centre(session)
        report = reports.unit_report(session, period, config, unit_id=_scope(),
                                     centre_id=centre.id if centre else None)
        centres = reports.centres_for(session, current_user())
    return render_template("evaluation/index.html", r=report, typed=typed, error=error,
                           choices=_choices(period, config), own_unit=_scope(), charts=_charts(report),
                           centres=centres, centre=centre, centre_key=centre.code if centre else None,
                           years=_years(config)), \
        400 if error else 200


def _years(config) -> list[int]:
    last = ev.default_period(clock.now(), config.window_start_day, "year").year
    return [last + 1 - i for i in range(PICKER[2][1] + 1)]


@bp.get("/drill")
@page_login_required("read_evaluation")
def drill():
    config = ev.load_config()
    period, _typed, error = _period(config)
    metric = request.args.get("metric", "")
    unit_id = request.args.get("unit", type=int)
    appeal_type = request.args.get("type") or None
    if error or metric not in METRICS or appeal_type not in (None, *APPEAL_TYPES):
        abort(400, description=error or _("未知的考核指标或诉求类型"))
    if _scope() is not None:
        if unit_id not in (None, _scope()):
            abort(403)
        unit_id = _scope()
    with get_db().read() as session:
        centre = _centre(session)
        try:
            found = reports.drill(session, period, metric, unit_id, config, appeal_type=appeal_type,
                                  centre_id=centre.id if centre else None)
        except NotFound:
            abort(404)
    return render_template("evaluation/drill.html", d=found, metric=metric, period=period, unit_id=unit_id,
                           appeal_type=appeal_type, limit=reports.DRILL_LIMIT, centre_key=centre.code if centre else None)


def _download(done):
    return Response(done.content, mimetype=done.mimetype, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(done.filename)}"})


@bp.get("/export.<any(csv, xlsx):fmt>")
@page_login_required("export_all_units")
def export(fmt):
    period, _typed, error = _period(ev.load_config())
    if error:
        abort(400, description=error)
    with get_db().read() as session:
        centre = _centre(session)
    return _download(exports.export_ranking(get_db(), period, fmt, current_user(),
                                            centre_id=centre.id if centre else None))


@bp.get("/annual.<any(csv, xlsx):fmt>")
@page_login_required("export_all_units")
def annual(fmt):
    """A unit's annual appraisal (Art. 25): `year` and `unit` required."""
    year, unit_id = request.args.get("year", type=int), request.args.get("unit", type=int)
    if year is None or not 2000 <= year <= 2100 or unit_id is None:
        abort(400, description=_("请选择考核年度和承办单位"))
    with get_db().read() as session:
        centre = _centre(session)
    try:
        done = exports.export_annual(get_db(), year, unit_id, fmt, current_user(),
                                     centre_id=centre.id if centre else None)
    except NotFound:
        abort(404)
    return _download(done)


# -- charts: coordinates for inline SVG (templates/evaluation/_charts.html) --------------------

def _charts(report) -> dict:
    return {"trend": _trend(report.trend), "ranking": _bars(report), "types": _types(report.categories)}


def _trend(points: list[dict], width=640, height=220, left=44, bottom=28, top=12) -> dict:
    values = [p[k] for p in points for k in ("satisfaction_rate", "on_time_rate") if p[k] is not None]
    low = min([0.5, *values])
    low = int(low * 10) / 10  # the axis starts at a round 10 %
    step = (width - left - 24) / max(len(points) - 1, 1)

    def y(v):
        return top + (1 - (v - low) / (1 - low or 1)) * (height - top - bottom)

    lines = {}
    for key in ("satisfaction_rate", "on_time_rate"):
        segments, current = [], []
        for i, p in enumerate(points):
            if p[key] is None:  # no data that period: break the line
                if current:
                    segments.append(current)
                current = []
                continue
            current.append({"x": round(left + i * step, 1), "y": round(y(p[key]), 1), "v": p[key],
                            "period": p["period"].key})
        segments.append(current)
        lines[key] = [s for s in segments if s]
    ticks = [{"y": round(y(v / 10), 1), "label": f"{v * 10}%"} for v in range(int(low * 10), 11)]
    labels = [{"x": round(left + i * step, 1), "label": p["period"].key} for i, p in enumerate(points)]
    return {"width": width, "height": height, "left": left, "bottom": height - bottom, "lines": lines,
            "ticks": ticks, "labels": labels}


def _bars(report, row_height=22, left=200, width=900) -> dict:
    red = {r.unit_id for r in report.lists["red"]}
    black = {r.unit_id for r in report.lists["black"]}
    ranked = [r for r in report.rows if r.rank is not None]
    bars = [{"y": i * row_height, "w": round((width - left - 60) * r.figures["score"] / 100, 1), "row": r,
             "tone": "red" if r.unit_id in red else "black" if r.unit_id in black else "plain"}
            for i, r in enumerate(ranked)]
    return {"bars": bars, "left": left, "width": width, "height": max(len(bars), 1) * row_height + 4,
            "row_height": row_height}


def _types(categories: list[dict], row_height=26, left=70, width=640) -> dict:
    most = max([c["volume"] for c in categories] or [1])
    bars = [{"y": i * row_height, "w": round((width - left - 170) * c["volume"] / most, 1), **c}
            for i, c in enumerate(categories)]
    return {"bars": bars, "left": left, "width": width, "height": max(len(bars), 1) * row_height + 4}
