"""Administration pages: users (create, edit, reset password, clear a sign-in delay), organizer units with
each region's fallback unit, and the working-day calendar (override a day, load a year)."""
import io
import re
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import delete, select

from hotline import recompute
from hotline.models import Appeal, OrganizerUnit, Region, User
from runtime import clock
from runtime.models import HistoryEvent
from workdays.calendar import TZ
from workdays.models import CalendarDay, CalendarYear

STRONG = "Hotline#2026x"


def _name(prefix="u"):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _user(db, username):
    with db.read() as session:
        return session.scalar(select(User).where(User.username == username))


def _create(admin, username, **over):
    data = {"username": username, "display_name": "测试 用户", "role": "intake_agent", "unit_id": "",
            "password": STRONG, "password_confirm": STRONG, **over}
    return admin.post("/admin/users/new", data=data)


def _signs_in(app, username, password):
    return app.test_client().post("/login", data={"username": username, "password": password}).status_code == 302


@pytest.fixture
def admin(browser_as):
    return browser_as("admin")


def test_who_may_open_which_page(client, browser_as, user, unit_id):
    routes = {"users": "/admin/users", "new_user": "/admin/users/new", "user": f"/admin/users/{user('intake1').id}",
              "units": "/admin/units", "new_unit": "/admin/units/new", "unit": f"/admin/units/{unit_id('gl_urban')}",
              "calendar": "/admin/calendar", "throttles": "/admin/throttles"}
    for path in routes.values():
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    allowed = {"admin": set(routes), "owner1": {"calendar"}, "supervisor1": {"calendar"},
               "intake1": set(), "analyst1": set(), "gl_urban_leader": set()}
    for username, pages in allowed.items():
        browser = browser_as(username)
        for name, path in routes.items():
            assert browser.get(path).status_code == (200 if name in pages else 403), (username, path)


def test_only_admins_change_anything(client, browser_as, user, unit_id, db):
    posts = [f"/admin/users/{user('intake1').id}", f"/admin/users/{user('intake1').id}/password",
             "/admin/throttles/1/clear", "/admin/users/new", "/admin/units/new",
             f"/admin/units/{unit_id('gl_urban')}", "/admin/regions/1/fallback", "/admin/calendar/days",
             "/admin/calendar/years"]
    for path in posts:
        resp = client.post(path, data={})
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    for username in ("owner1", "supervisor1", "gl_urban_leader"):
        browser = browser_as(username)
        for path in posts:
            assert browser.post(path, data={"day": "2026-05-06", "working": "off", "name": "x"}).status_code == 403
    assert _user(db, "intake1").active


def test_menu_shows_admin_pages_to_whom_they_belong(browser_as):
    page = browser_as("admin").get("/admin/users").get_data(as_text=True)
    assert all(f'href="/admin/{p}"' in page for p in ("users", "units", "calendar"))
    page = browser_as("owner1").get("/admin/calendar").get_data(as_text=True)
    assert 'href="/admin/calendar"' in page and 'href="/admin/users"' not in page
    assert 'name="schedule"' not in page and "调整某一天" not in page  # readers cannot edit


def test_list_filters_by_role_unit_state_and_text(admin, unit_id):
    page = admin.get("/admin/users", query_string={"role": "organizer_leader", "unit": unit_id("gl_urban")}).get_data(
        as_text=True)
    assert "gl_urban_leader" in page and "gl_urban_staff" not in page and "fz_gov_leader" not in page
    page = admin.get("/admin/users", query_string={"q": "dispatch"}).get_data(as_text=True)
    assert "dispatcher1" in page and "intake1" not in page
    page = admin.get("/admin/users", query_string={"active": "0", "q": "intake1"}).get_data(as_text=True)
    assert "没有符合条件的用户" in page


def test_create_user_checks_every_field_and_keeps_input(admin, db, unit_id):
    name = _name()
    resp = _create(admin, name, role="organizer_staff", display_name="新承办人", password="short",
                   password_confirm="short")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "承办人和承办单位负责人必须选择所属单位" in page and "密码至少 10 个字符" in page
    assert f'value="{name}"' in page and 'value="新承办人"' in page
    assert "field-error" in page and _user(db, name) is None

    resp = _create(admin, name, role="dispatcher", unit_id=str(unit_id("gl_urban")))
    assert "平台角色不属于承办单位" in resp.get_data(as_text=True)
    resp = _create(admin, name, password=STRONG, password_confirm=STRONG + "y")
    assert "两次输入的密码不一致" in resp.get_data(as_text=True)
    resp = _create(admin, name, password=f"Aa1{name}xyz", password_confirm=f"Aa1{name}xyz")
    assert "密码不能包含用户名" in resp.get_data(as_text=True)
    resp = _create(admin, "intake1")
    assert resp.status_code == 400 and "该用户名已被使用" in resp.get_data(as_text=True)
    resp = _create(admin, "Bad Name")
    assert "用户名为 3–50 位小写字母" in resp.get_data(as_text=True)


def test_created_user_signs_in_with_the_initial_password(app, admin, db, unit_id):
    name = _name()
    resp = _create(admin, name, role="organizer_staff", unit_id=str(unit_id("gl_urban")))
    assert resp.status_code == 302
    created = _user(db, name)
    assert created.unit_id == unit_id("gl_urban") and created.role == "organizer_staff"
    assert created.password_hash.startswith("$argon2")
    assert _signs_in(app, name, STRONG)
    with db.read() as session:
        event = session.scalar(select(HistoryEvent).where(HistoryEvent.action == "user_created")
                               .order_by(HistoryEvent.id.desc()))
    assert event.detail == {"user_id": created.id} and STRONG not in str(event.after)
    assert name in admin.get(resp.headers["Location"]).get_data(as_text=True)


def test_edit_user_and_deactivate(app, admin, db, unit_id):
    name = _name()
    _create(admin, name)
    uid = _user(db, name).id
    resp = admin.post(f"/admin/users/{uid}", data={"display_name": "改名 后", "role": "organizer_leader",
                                                   "unit_id": str(unit_id("fz_gov")), "active": "1"})
    assert resp.status_code == 302
    changed = _user(db, name)
    assert (changed.display_name, changed.role, changed.unit_id) == ("改名 后", "organizer_leader", unit_id("fz_gov"))
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "修改用户" in page  # the change is in the user's history
    admin.post(f"/admin/users/{uid}", data={"display_name": "改名 后", "role": "organizer_leader",
                                            "unit_id": str(unit_id("fz_gov"))})
    assert not _user(db, name).active and not _signs_in(app, name, STRONG)


def test_an_admin_cannot_deactivate_or_demote_themselves(admin, db, user):
    me = user("admin")
    resp = admin.post(f"/admin/users/{me.id}", data={"display_name": me.display_name, "role": "admin"})
    assert resp.status_code == 400 and "不能停用自己的账号" in resp.get_data(as_text=True)
    resp = admin.post(f"/admin/users/{me.id}", data={"display_name": me.display_name, "role": "analyst",
                                                      "active": "1"})
    assert resp.status_code == 400 and "不能更改自己的角色" in resp.get_data(as_text=True)
    assert _user(db, "admin").active and _user(db, "admin").role == "admin"


def test_reset_password_replaces_the_old_one(app, admin, db):
    name = _name()
    _create(admin, name)
    uid = _user(db, name).id
    resp = admin.post(f"/admin/users/{uid}/password", data={"password": "weak", "password_confirm": "weak"})
    assert resp.status_code == 400 and "密码至少 10 个字符" in resp.get_data(as_text=True)
    new = "Another$Pass99"
    resp = admin.post(f"/admin/users/{uid}/password", data={"password": new, "password_confirm": new})
    assert resp.status_code == 302
    assert not _signs_in(app, name, STRONG) and _signs_in(app, name, new)
    with db.read() as session:
        event = session.scalar(select(HistoryEvent).where(HistoryEvent.action == "password_reset")
                               .order_by(HistoryEvent.id.desc()))
    assert event.detail["user_id"] == uid and new not in str(event.detail)


def test_the_user_page_shows_a_sign_in_delay_and_clears_it(app, admin, db):
    name = _name()
    _create(admin, name)
    for _ in range(3):  # hotline.throttles.ACCOUNT_FREE: the third failure delays the next attempt
        assert not _signs_in(app, name, "wrong-password")
    delayed = _user(db, name)
    assert delayed.locked_until is None and not _signs_in(app, name, STRONG)  # delayed, not locked
    page = admin.get(f"/admin/users/{delayed.id}").get_data(as_text=True)
    assert "3 次" in page and "解除登录限制" in page and "已锁定" not in page
    throttle_id = int(re.search(r'/admin/throttles/(\d+)/clear', page).group(1))
    resp = admin.post(f"/admin/throttles/{throttle_id}/clear", data={"user_id": str(delayed.id)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/users/{delayed.id}")
    assert _signs_in(app, name, STRONG)
    assert admin.post(f"/admin/throttles/{throttle_id}/clear").status_code == 404  # already gone


def test_unknown_records_are_404(admin):
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.get("/admin/units/999999").status_code == 404
    assert admin.get("/admin/users/99999999999").status_code == 404
    assert admin.post("/admin/regions/999999/fallback", data={"unit_id": "1"}).status_code == 404


def _unit_form(**over):
    return {"code": _name("t_"), "name": "测试单位" + uuid.uuid4().hex[:6], "kind": "department",
            "region_id": "", "parent_id": "", "active": "1", **over}


def _region(db, code):
    with db.read() as session:
        return session.scalar(select(Region).where(Region.code == code))


def test_units_tree_create_and_edit(admin, db, unit_id):
    page = admin.get("/admin/units").get_data(as_text=True)
    assert "福建省" in page and "鼓楼区城市管理局" in page and "兜底单位" in page
    gulou = _region(db, "350102")
    resp = admin.post("/admin/units/new", data=_unit_form(code="gl_urban", region_id=""))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "该单位代码已被使用" in page and "请选择所属区域" in page
    resp = admin.post("/admin/units/new", data=_unit_form(region_id=str(gulou.id), parent_id=str(unit_id("xm_gov"))))
    assert "上级单位须属于本区域或上级区域" in resp.get_data(as_text=True)
    form = _unit_form(region_id=str(gulou.id), parent_id=str(unit_id("gl_gov")))
    assert admin.post("/admin/units/new", data=form).status_code == 302
    assert form["name"] in admin.get("/admin/units").get_data(as_text=True)
    with db.read() as session:
        created = session.scalar(select(OrganizerUnit).where(OrganizerUnit.code == form["code"]))
    resp = admin.post(f"/admin/units/{unit_id('gl_gov')}", data=_unit_form(
        code="gl_gov", name="鼓楼区人民政府", kind="government", region_id=str(gulou.id),
        parent_id=str(created.id)))
    assert "上级单位不能是本单位或其下级单位" in resp.get_data(as_text=True)
    resp = admin.post(f"/admin/units/{created.id}", data={**form, "name": form["name"] + "改", "active": ""})
    assert resp.status_code == 302
    with db.read() as session:
        changed = session.get(OrganizerUnit, created.id)
    assert changed.name == form["name"] + "改" and not changed.active


def test_a_unit_with_open_tasks_or_fallback_duty_stays_active(admin, walk, db, unit_id):
    appeal = walk.register(title=_name("停用测试"))
    walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("sm_market")})
    sm = _region(db, "350203")
    form = {"code": "sm_market", "name": "思明区市场监督管理局", "kind": "department", "region_id": str(sm.id),
            "parent_id": str(unit_id("sm_gov")), "active": ""}
    resp = admin.post(f"/admin/units/{unit_id('sm_market')}", data=form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "不能停用该单位" in page and "待办任务未完成" in page
    with db.read() as session:
        assert session.get(OrganizerUnit, unit_id("sm_market")).active
    resp = admin.post(f"/admin/units/{unit_id('sm_gov')}", data={**form, "code": "sm_gov", "name": "思明区人民政府",
                                                                  "kind": "government", "parent_id": str(unit_id("xm_gov"))})
    assert resp.status_code == 409 and "思明区 的兜底单位" in resp.get_data(as_text=True)


def test_fallback_rules(admin, db, unit_id):
    taijiang = _region(db, "350103")
    resp = admin.post(f"/admin/regions/{taijiang.id}/fallback", data={"unit_id": str(unit_id("xm_gov"))})
    assert resp.status_code == 400 and "兜底单位须属于本区域或上级区域" in resp.get_data(as_text=True)
    province = _region(db, "350000")
    resp = admin.post(f"/admin/regions/{province.id}/fallback", data={"unit_id": ""})
    assert resp.status_code == 400 and "省级区域必须指定兜底单位" in resp.get_data(as_text=True)
    assert _region(db, "350103").fallback_unit_id == unit_id("tj_gov")


def test_a_new_fallback_unit_takes_later_fallback_returns(admin, walk, db, unit_id):
    taijiang = _region(db, "350103")
    assert taijiang.fallback_unit_id == unit_id("tj_gov")
    try:
        resp = admin.post(f"/admin/regions/{taijiang.id}/fallback", data={"unit_id": str(unit_id("fz_gov"))})
        assert resp.status_code == 302
        appeal = walk.register(region_code="350103", title=_name("兜底测试"))
        walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
        walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("fz_market")})
        walk.complete(appeal["id"], "fz_market_staff", "ut_sign_for",
                      {"sign_decision": "return", "return_reason": "不属于本单位职责"})
        walk.complete(appeal["id"], "dispatcher1", "ut_handle_return", {"return_decision": "fallback"})
        with db.read() as session:
            assert session.get(Appeal, appeal["id"]).lead_unit_id == unit_id("fz_gov")
        page = admin.get("/admin/units").get_data(as_text=True)
        assert "设置兜底单位" in page and "台江区" in page
    finally:
        admin.post(f"/admin/regions/{taijiang.id}/fallback", data={"unit_id": str(unit_id("tj_gov"))})
    assert _region(db, "350103").fallback_unit_id == unit_id("tj_gov")


# ---- calendar ----

def test_month_view_marks_holidays_and_make_up_days(browser_as):
    page = browser_as("supervisor1").get("/admin/calendar", query_string={"month": "2026-10"}).get_data(as_text=True)
    assert "2026 年 10 月" in page and "国庆节" in page
    assert 'data-day="2026-10-01"' in page and "mark-off" in page and "mark-makeup" in page
    assert 'href="/admin/calendar?month=2026-09"' in page and 'href="/admin/calendar?month=2026-11"' in page
    page = browser_as("owner1").get("/admin/calendar", query_string={"month": "2031-03"}).get_data(as_text=True)
    assert "2031 年节假日安排尚未发布" in page and "mark-unknown" in page
    assert browser_as("owner1").get("/admin/calendar", query_string={"month": "nonsense"}).status_code == 200


def _at(text):
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_override_day_recomputes_a_pending_deadline(admin, walk, db, unit_id):
    clock.set_now(_at("2026-05-11 10:00"))  # Monday: sign for by Tue 05-12 17:30
    day = date(2026, 5, 12)
    try:
        appeal = walk.register(title=_name("日历测试"))
        walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
        walk.complete(appeal["id"], "dispatcher1", "ut_dispatch", {"lead_unit_id": unit_id("gl_urban")})
        with db.read() as session:
            assert session.get(Appeal, appeal["id"]).sign_for_due_at == _at("2026-05-12 17:30")
        resp = admin.post("/admin/calendar/days", data={"day": "2026-05-12", "working": "off", "name": ""})
        page = resp.get_data(as_text=True)
        assert resp.status_code == 400 and "请填写原因" in page and 'value="2026-05-12"' in page
        resp = admin.post("/admin/calendar/days", data={"day": "2026-05-12", "working": "off", "name": "台风停工"},
                          follow_redirects=True)
        page = resp.get_data(as_text=True)
        assert "重新计算了" in page and "台风停工" in page and "管理员调整" in page
        with db.read() as session:
            assert session.get(Appeal, appeal["id"]).sign_for_due_at == _at("2026-05-13 17:30")
            row = session.get(CalendarDay, day)
        assert (row.working, row.source, row.updated_by) == (False, "admin", "admin")
        assert walk.task(appeal["id"], "gl_urban_staff", "ut_sign_for")["due_at"].startswith("2026-05-13T17:30")
    finally:
        with db.transaction() as session:  # the day gone and the deadlines back, as one change
            session.execute(delete(CalendarDay).where(CalendarDay.day == day))
            recompute.recompute_all_in(session, day)
        clock.set_now(None)


def test_bad_yaml_is_shown_by_the_field_and_kept(admin):
    bad = "year: [2027\nholidays: {"
    resp = admin.post("/admin/calendar/years", data={"schedule": bad})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "年度节假日安排格式错误" in page and "year: [2027" in page
    resp = admin.post("/admin/calendar/years", data={"schedule": "year: 2027\nholidays:\n  - {name: x, from: 2026-01-01}\n"})
    assert resp.status_code == 400 and "日期不属于 2027 年" in resp.get_data(as_text=True)
    resp = admin.post("/admin/calendar/years", data={"schedule": "  "})
    assert resp.status_code == 400 and "请上传或粘贴年度节假日安排" in resp.get_data(as_text=True)


def test_loading_a_year_from_a_file(admin, db):
    schedule = "year: 2040\nsource: 测试 2040\nholidays:\n  - {name: 元旦, from: 2040-01-01, to: 2040-01-02}\n"
    try:
        resp = admin.post("/admin/calendar/years", data={"file": (io.BytesIO(schedule.encode()), "2040.yaml")},
                          content_type="multipart/form-data", follow_redirects=True)
        page = resp.get_data(as_text=True)
        assert "已加载 2040 年节假日安排（2 天）" in page and "测试 2040" in page and "元旦" in page
        assert "尚未发布" not in page
    finally:
        with db.transaction() as session:
            session.execute(delete(CalendarDay).where(CalendarDay.day.between(date(2040, 1, 1), date(2040, 12, 31))))
            session.execute(delete(CalendarYear).where(CalendarYear.year == 2040))
