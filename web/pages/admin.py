"""Administration pages: user accounts and sign-in throttles, organizer units with each region's
fallback unit, and the working-day calendar (process owners and supervisors may read it)."""
from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline import accounts as directory
from hotline import calendar_changes, centres, throttles
from hotline import units as org_units
from hotline.access import ORGANIZER_ROLES, ROLES, can
from hotline.models import Centre
from runtime import clock
from runtime.errors import InvalidInput, NotFound
from workdays import admin as calendar_admin
from workdays import store as calendar_store
from workdays.calendar import TZ

from .. import get_db
from ..api import MAX_ID
from ..auth import current_user, page_login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
MAX_SCHEDULE = 100_000
ROLE_LABELS = {
    "intake_agent": _l("受理员"), "dispatcher": _l("派单员"), "organizer_staff": _l("承办人"),
    "organizer_leader": _l("承办单位负责人"), "return_visit_staff": _l("回访员"), "supervisor": _l("督办员"),
    "process_owner": _l("流程负责人"), "analyst": _l("业务分析员"), "civilization_office": _l("文明办"),
    "observer": _l("社会监督员"), "admin": _l("系统管理员"),
}
KIND_LABELS = {"government": _l("人民政府"), "department": _l("政府部门"), "public_service": _l("公共服务企事业单位")}
ACTION_LABELS = {
    "user_created": _l("创建用户"), "user_updated": _l("修改用户"), "password_reset": _l("重置密码"),
    "user_unlocked": _l("解除锁定"), "unit_created": _l("新建单位"), "unit_updated": _l("修改单位"),
    "fallback_unit_set": _l("设置兜底单位"), "sign_in_throttle_cleared": _l("解除登录限制"),
    "centre_created": _l("新建热线中心"), "centre_updated": _l("修改热线中心"),
}
THROTTLE_KINDS = {"account": _l("账号"), "address": _l("地址")}


FIELD_LABELS = {
    "username": _l("用户名"), "display_name": _l("姓名"), "role": _l("角色"), "unit_id": _l("所属单位"),
    "centre_id": _l("所属热线中心"),
    "active": _l("状态"), "code": _l("单位代码"), "name": _l("单位名称"), "kind": _l("单位类型"),
    "region_id": _l("所属区域"), "parent_id": _l("上级单位"), "failed_logins": _l("连续登录失败"),
    "locked_until": _l("锁定至"), "account": _l("账号"), "address": _l("地址"), "failures": _l("连续失败"),
    "blocked_until": _l("限制至"), "level": _l("层级"), "name_en": _l("英文名称"),
}


@bp.app_context_processor
def _labels():
    return {"role_labels": ROLE_LABELS, "kind_labels": KIND_LABELS, "action_labels": ACTION_LABELS,
            "readable": readable}


def readable(values: dict | None, names: dict) -> list[tuple[str, str]]:
    """A history event's before/after values as (label, shown value) pairs."""
    shown = []
    for key, value in (values or {}).items():
        if value is None:
            text = "—"
        elif key == "active":
            text = _("在用") if value else _("已停用")
        elif key in ("unit_id", "parent_id", "region_id"):
            text = names["region" if key == "region_id" else "unit"].get(value, str(value))
        elif key in ("role", "kind"):
            text = str((ROLE_LABELS if key == "role" else KIND_LABELS).get(value, value))
        elif key in ("locked_until", "blocked_until"):
            text = format_datetime(datetime.fromisoformat(value), "yyyy-MM-dd HH:mm")
        else:
            text = str(value)
        shown.append((str(FIELD_LABELS.get(key, key)), text))
    return shown


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) <= MAX_ID else None


def _text(name: str, limit: int = 200) -> str:
    return request.form.get(name, "").replace("\x00", "").strip()[:limit]


def _id(value: int) -> int:
    if value > MAX_ID:
        abort(404)
    return value


# ---- users ----

@bp.get("/users")
@page_login_required("administer")
def users():
    typed = {k: request.args.get(k, "")[:100] for k in ("role", "unit", "active", "q")}
    active = {"1": True, "0": False}.get(typed["active"])
    with get_db().read() as session:
        found = directory.list_users(session, role=typed["role"] if typed["role"] in ROLES else None,
                                     unit_id=_int(typed["unit"]), active=active,
                                     text=typed["q"].replace("\x00", "").strip() or None)
        return render_template("admin/users.html", users=found, typed=typed, units=org_units.tree(session))


def _user_form() -> dict:
    return {"username": _text("username", 50).lower(), "display_name": _text("display_name", 100),
            "role": _text("role", 30), "unit_id": _int(request.form.get("unit_id")),
            "centre_id": _int(request.form.get("centre_id")), "active": request.form.get("active") == "1"}


def _editor(template: str, values: dict, errors=None, status=200, **extra):
    with get_db().read() as session:
        return render_template(template, values=values, errors=errors or {}, units=org_units.tree(session),
                               centres=centres.all_(session),
                               organizer_roles=ORGANIZER_ROLES, roles=ROLES,
                               password_min=directory.PASSWORD_MIN, **extra), status


@bp.route("/users/new", methods=["GET", "POST"])
@page_login_required("administer")
def new_user():
    if request.method == "GET":
        return _editor("admin/user_new.html", {"role": "", "unit_id": None, "centre_id": None})
    values = _user_form()
    data = {**values, "password": request.form.get("password", "")[:200],
            "password_confirm": request.form.get("password_confirm", "")[:200]}
    try:
        created = directory.create_user(get_db(), data, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _editor("admin/user_new.html", values, err.fields, 400)
    flash(_("已创建用户 %(name)s，请将初始密码当面或通过安全渠道告知本人。", name=created.username), "success")
    return redirect(url_for("admin.user", user_id=created.id))


def _user_page(user_id: int, values=None, errors=None, status=200, password_errors=None):
    with get_db().read() as session:
        try:
            user = directory.get_user(session, _id(user_id))
        except NotFound:
            abort(404)
        events = directory.changes(session, directory.USER_ACTIONS, "user_id", user.id)
        names = directory.names(session)
        values = values or {"display_name": user.display_name, "role": user.role, "unit_id": user.unit_id,
                            "centre_id": user.centre_id,
                            "active": user.active}
        throttle = throttles.for_account(session, user.username)
    return _editor("admin/user.html", values, errors, status, user=user, events=events, names=names,
                   throttle=throttle, now=clock.now(), password_errors=password_errors or {},
                   myself=user.id == current_user().id)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@page_login_required("administer")
def user(user_id):
    if request.method == "GET":
        return _user_page(user_id)
    values = _user_form()
    try:
        directory.update_user(get_db(), _id(user_id), values, current_user())
    except NotFound:
        abort(404)
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _user_page(user_id, values, err.fields, 400)
    flash(_("用户信息已保存。"), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/password")
@page_login_required("administer")
def reset_password(user_id):
    try:
        directory.reset_password(get_db(), _id(user_id), request.form.get("password", "")[:200],
                                 request.form.get("password_confirm", "")[:200], current_user())
    except NotFound:
        abort(404)
    except InvalidInput as err:
        flash(_("密码未重置，请检查标红的栏目。"), "error")
        return _user_page(user_id, status=400, password_errors=err.fields)
    flash(_("密码已重置；该用户的所有登录会话和接口令牌已失效。"), "success")
    return redirect(url_for("admin.user", user_id=user_id))


# ---- sign-in throttles (hotline.throttles) ----

@bp.get("/throttles")
@page_login_required("administer")
def throttle_list():
    now = clock.now()
    with get_db().read() as session:
        rows = throttles.current(session, now)
        events = directory.changes(session, ("sign_in_throttle_cleared",))
        return render_template("admin/throttles.html", rows=rows, now=now, events=events, kinds=THROTTLE_KINDS,
                               names=directory.names(session))


@bp.post("/throttles/<int:throttle_id>/clear")
@page_login_required("administer")
def clear_throttle(throttle_id):
    try:
        row = throttles.clear(get_db(), _id(throttle_id), current_user())
    except NotFound:
        abort(404)
    flash(_("已解除对%(kind)s %(key)s 的登录限制。", kind=THROTTLE_KINDS[row.kind], key=row.key), "success")
    back_to = _int(request.form.get("user_id"))  # cleared from a user's page: back there
    return redirect(url_for("admin.user", user_id=back_to) if back_to else url_for("admin.throttle_list"))


# ---- units ----

@bp.get("/units")
@page_login_required("administer")
def units():
    with get_db().read() as session:
        rows = org_units.tree(session)
        events = directory.changes(session, org_units.UNIT_ACTIONS)
        return render_template("admin/units.html", rows=rows, events=events, errors={}, line=_fallback_choices(rows),
                               names=directory.names(session))


def _fallback_choices(rows) -> dict:
    """For each region, the active units of it and of the regions above it (nearest first)."""
    by_region = {r["region"].id: r for r in rows}
    choices = {}
    for row in rows:
        region, found = row["region"], []
        while region is not None:
            found += [u["unit"] for u in by_region[region.id]["units"] if u["unit"].active]
            region = by_region[region.parent_id]["region"] if region.parent_id in by_region else None
        choices[row["region"].id] = found
    return choices


@bp.post("/regions/<int:region_id>/fallback")
@page_login_required("administer")
def fallback(region_id):
    try:
        region = org_units.set_fallback(get_db(), _id(region_id), _int(request.form.get("unit_id")), current_user())
    except NotFound:
        abort(404)
    except InvalidInput as err:
        with get_db().read() as session:
            rows = org_units.tree(session)
            events = directory.changes(session, org_units.UNIT_ACTIONS)
            flash(_("兜底单位未更改。"), "error")
            return render_template("admin/units.html", rows=rows, events=events, line=_fallback_choices(rows),
                                   names=directory.names(session),
                                   errors={region_id: err.fields.get("unit_id", [])}), 400
    flash(_("%(region)s 的兜底单位已更新。", region=region.name), "success")
    return redirect(url_for("admin.units") + f"#region-{region_id}")


def _unit_form() -> dict:
    return {"code": _text("code", 32).lower(), "name": _text("name", 100), "kind": _text("kind", 20),
            "region_id": _int(request.form.get("region_id")), "parent_id": _int(request.form.get("parent_id")),
            "active": request.form.get("active") == "1"}


def _unit_editor(values: dict, unit=None, errors=None, status=200):
    with get_db().read() as session:
        rows = org_units.tree(session)
        events = directory.changes(session, org_units.UNIT_ACTIONS, "unit_id", unit.id) if unit else []
        regions = [(r["depth"], r["region"]) for r in rows]
        return render_template("admin/unit.html", values=values, unit=unit, errors=errors or {}, rows=rows,
                               regions=regions, events=events, names=directory.names(session),
                               open_tasks=org_units.open_task_count(session, unit.id) if unit else 0), status


@bp.route("/units/new", methods=["GET", "POST"])
@page_login_required("administer")
def new_unit():
    if request.method == "GET":
        return _unit_editor({"kind": "department", "region_id": _int(request.args.get("region")),
                             "parent_id": None, "active": True})
    values = _unit_form()
    try:
        created = org_units.create_unit(get_db(), values, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _unit_editor(values, errors=err.fields, status=400)
    flash(_("已新建单位 %(name)s。", name=created.name), "success")
    return redirect(url_for("admin.units") + f"#unit-{created.id}")


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@page_login_required("administer")
def unit(unit_id):
    with get_db().read() as session:
        try:
            found = org_units.get_unit(session, _id(unit_id))
        except NotFound:
            abort(404)
    if request.method == "GET":
        return _unit_editor({"code": found.code, "name": found.name, "kind": found.kind, "region_id": found.region_id,
                             "parent_id": found.parent_id, "active": found.active}, found)
    values = _unit_form()
    try:
        org_units.update_unit(get_db(), unit_id, values, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _unit_editor(values, found, err.fields, 400)
    except org_units.UnitInUse as err:
        reasons = []
        if err.open_tasks:
            reasons.append(_("该单位还有 %(n)s 项待办任务未完成，请先办结或改派", n=err.open_tasks))
        if err.fallback_for:
            reasons.append(_("该单位是 %(regions)s 的兜底单位，请先指定其他兜底单位", regions="、".join(err.fallback_for)))
        flash(_("不能停用该单位：%(reasons)s。", reasons="；".join(reasons)), "error")
        return _unit_editor(values, found, {"active": reasons}, 409)
    flash(_("单位信息已保存。"), "success")
    return redirect(url_for("admin.unit", unit_id=unit_id))


# ---- calendar ----

def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        return clock.now().astimezone(TZ).date().replace(day=1)


def _calendar_page(month_text: str, errors=None, typed=None, status=200):
    with get_db().read() as session:
        return render_template("admin/calendar.html", month=calendar_admin.month(session, _month(month_text)),
                               **calendar_admin.overview(session),
                               alerts=calendar_changes.alerts(session, calendar_store.build(session)),
                               errors=errors or {}, typed=typed or {},
                               can_edit=can(current_user(), "administer")), status


@bp.get("/calendar")
@page_login_required("read_calendar")
def calendar():
    return _calendar_page(request.args.get("month", "")[:7])


@bp.post("/calendar/days")
@page_login_required("administer")
def override_day():
    typed = {"day": _text("day", 10), "working": _text("working", 3), "name": _text("name", 200)}
    errors = {}
    try:
        day = date.fromisoformat(typed["day"])
    except ValueError:
        errors["day"] = [_("请选择日期")]
    if typed["working"] not in ("off", "on"):
        errors["working"] = [_("请选择休息日或工作日")]
    if not errors:
        try:
            moved = calendar_changes.override_day(get_db(), day, typed["working"] == "on", typed["name"], current_user())
        except InvalidInput as err:
            errors = err.fields
    if errors:
        flash(_("日期未调整，请检查标红的栏目。"), "error")
        return _calendar_page(typed["day"][:7], errors, typed, 400)
    flash(_("%(day)s 已设为%(kind)s；重新计算了 %(n)s 件诉求的期限。", day=day.isoformat(),
            kind=_("工作日") if typed["working"] == "on" else _("休息日"), n=moved), "success")
    return redirect(url_for("admin.calendar", month=day.strftime("%Y-%m")))


@bp.post("/calendar/years")
@page_login_required("administer")
def load_year():
    upload = request.files.get("file")
    pasted = request.form.get("schedule", "")[:MAX_SCHEDULE]
    text = pasted
    if upload is not None and upload.filename:
        try:
            text = upload.read(MAX_SCHEDULE + 1).decode("utf-8")
        except UnicodeDecodeError:
            text = None
    try:
        if text is None:
            raise InvalidInput("not UTF-8", {"file": ["文件须为 UTF-8 编码的 YAML 文本"]})
        summary = calendar_changes.load_year(get_db(), text.replace("\x00", ""), current_user())
    except InvalidInput as err:
        flash(_("年度节假日安排未加载，请检查标红的栏目。"), "error")
        return _calendar_page(request.args.get("month", "")[:7], err.fields, {"schedule": pasted}, 400)
    flash(_("已加载 %(year)s 年节假日安排（%(days)s 天）；重新计算了 %(n)s 件诉求的期限。",
            year=summary["year"], days=summary["days"], n=summary["recomputed_appeals"]), "success")
    return redirect(url_for("admin.calendar", month=f"{summary['year']}-01"))


# ---- centres (Art. 3, 8, 9) ----

LEVEL_LABELS = {"province": _l("省级中心"), "city": _l("市级中心"), "county": _l("县（区）级中心")}


def _centre_form() -> dict:
    return {"code": _text("code", 32).lower(), "name": _text("name", 100), "name_en": _text("name_en", 100),
            "level": _text("level", 10), "region_id": _int(request.form.get("region_id")),
            "parent_id": _int(request.form.get("parent_id"))}


@bp.get("/centres")
@page_login_required("administer")
def centres_list():
    with get_db().read() as session:
        return render_template("admin/centres.html", centres=centres.all_(session), levels=LEVEL_LABELS,
                               staff=centres.staff_counts(session),
                               events=directory.changes(session, centres.CENTRE_ACTIONS),
                               names=directory.names(session))


def _centre_editor(values: dict, centre=None, errors=None, status=200):
    with get_db().read() as session:
        regions = [(r["depth"], r["region"]) for r in org_units.tree(session)]
        events = directory.changes(session, centres.CENTRE_ACTIONS, "centre_id", centre.id) if centre else []
        return render_template("admin/centre.html", values=values, centre=centre, errors=errors or {},
                               regions=regions, centres=centres.all_(session), levels=LEVEL_LABELS, events=events,
                               names=directory.names(session)), status


@bp.route("/centres/new", methods=["GET", "POST"])
@page_login_required("administer")
def new_centre():
    if request.method == "GET":
        return _centre_editor({"level": "county"})
    values = _centre_form()
    try:
        created = centres.save(get_db(), None, values, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _centre_editor(values, errors=err.fields, status=400)
    flash(_("已新建热线中心 %(name)s。", name=created.name), "success")
    return redirect(url_for("admin.centres_list"))


@bp.route("/centres/<int:centre_id>", methods=["GET", "POST"])
@page_login_required("administer")
def centre(centre_id):
    with get_db().read() as session:
        found = session.get(Centre, _id(centre_id))
        if found is None:
            abort(404)
        session.expunge(found)
    if request.method == "GET":
        return _centre_editor({"code": found.code, "name": found.name, "name_en": found.name_en or "",
                               "level": found.level, "region_id": found.region_id, "parent_id": found.parent_id},
                              found)
    values = _centre_form()
    try:
        centres.save(get_db(), found.id, values, current_user())
    except InvalidInput as err:
        flash(_("请检查标红的栏目。"), "error")
        return _centre_editor(values, found, err.fields, 400)
    flash(_("热线中心信息已保存。"), "success")
    return redirect(url_for("admin.centres_list"))
