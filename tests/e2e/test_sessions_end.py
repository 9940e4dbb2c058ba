"""Sessions that end and sign-in delays that cannot be used against a user (issue 12, items 1
and 2): signing out, a password reset, a change of role or unit and deactivation end every page
session and API token of the user at once; signing in as someone else on a shared workstation
takes one step; wrong passwords slow an account and an address down (hotline.throttles) but
never lock the real user out, and a throttled attempt gets the reply a wrong password gets."""
import itertools
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline import accounts, throttles
from hotline.models import SignInThrottle, User
from runtime import clock
from runtime.models import HistoryEvent

STRONG = "Hotline#2026x"


def _csrf(client, path="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def csrf(app):
    """Page clients with CSRF checks on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def frozen():
    """Freeze the engine clock at now; frozen.move(seconds) moves it on."""
    class Frozen:
        def __init__(self):
            self.at = clock.now()
            clock.set_now(self.at)

        def move(self, seconds):
            self.at += timedelta(seconds=seconds)
            clock.set_now(self.at)
    yield Frozen()
    clock.set_now(None)


@pytest.fixture
def person(db, user, unit_id):
    """person(role="intake_agent", unit=None) -> the username of a new active user (password STRONG)."""
    def make(role="intake_agent", unit=None, display_name="会话 测试"):
        name = f"s{uuid.uuid4().hex[:8]}"
        accounts.create_user(db, {"username": name, "display_name": display_name, "role": role,
                                  "unit_id": unit_id(unit) if unit else None, "password": STRONG,
                                  "password_confirm": STRONG}, user("admin"))
        return name
    return make


_ADDRESSES = itertools.count(uuid.uuid4().int % 1_000_000)


def _address():
    """A client address of a test's own (never one handed out before in this run), so that
    address counts do not spill over."""
    n = next(_ADDRESSES)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _page(app, username, password=STRONG, address="127.0.0.1"):
    client = app.test_client()
    resp = _sign_in(client, username, password, address)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def _sign_in(client, username, password=STRONG, address="127.0.0.1"):
    data = {"username": username, "password": password}
    if client.application.config["WTF_CSRF_ENABLED"]:
        data["csrf_token"] = _csrf(client)
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def _token(client, username, password=STRONG, address="127.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _api_ok(client, token) -> bool:
    resp = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code in (200, 401), resp.status_code
    return resp.status_code == 200


def _to_login(resp) -> bool:
    return resp.status_code == 302 and resp.headers["Location"].split("?")[0].endswith("/login")


def _replay(app, cookie):
    """A new browser that sends an old session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


# ---- sessions that end ------------------------------------------------------------------------

def test_logout_ends_the_session_and_a_replayed_cookie_lands_on_the_sign_in_page(app, csrf, client, person):
    name = person()
    browser = _page(app, name)
    cookie = browser.get_cookie("session").value
    token = _token(client, name).get_json()["token"]
    assert browser.get("/inbox").status_code == 200 and _api_ok(client, token)

    asked = browser.get("/logout")  # a link to /logout asks; it signs no one out
    assert asked.status_code == 200 and 'action="/logout"' in asked.get_data(as_text=True)
    assert browser.get("/inbox").status_code == 200
    assert browser.post("/logout").status_code == 400  # no CSRF token: refused, still signed in
    assert browser.get("/inbox").status_code == 200

    resp = browser.post("/logout", data={"csrf_token": _csrf(browser, "/inbox")})
    assert _to_login(resp)
    assert _to_login(browser.get("/inbox"))
    replayed = _replay(app, cookie).get("/inbox")
    assert _to_login(replayed)  # the cookie from before the logout is void
    assert not _api_ok(client, token)  # and so is the token (signing out signs out everywhere)
    assert "您尚未登录" in app.test_client().get("/logout").get_data(as_text=True)


def test_a_password_reset_ends_the_users_page_sessions_and_tokens(app, client, browser_as, person, db):
    name = person()
    browser, token = _page(app, name), _token(client, name).get_json()["token"]
    uid = _user_id(db, name)
    new = "Another$Pass99"
    assert browser_as("admin").post(f"/admin/users/{uid}/password",
                                    data={"password": new, "password_confirm": new}).status_code == 302
    assert _to_login(browser.get("/inbox")) and not _api_ok(client, token)
    assert _page(app, name, new).get("/inbox").status_code == 200


@pytest.mark.parametrize("change", ["role", "unit", "deactivate"])
def test_a_role_or_unit_change_and_deactivation_end_the_users_sessions(app, client, browser_as, person, db,
                                                                        unit_id, change):
    name = person("organizer_staff", "gl_urban")
    browser, token = _page(app, name), _token(client, name).get_json()["token"]
    form = {"display_name": "会话 测试", "role": "organizer_staff", "unit_id": str(unit_id("gl_urban")), "active": "1"}
    admin, uid = browser_as("admin"), _user_id(db, name)
    renamed = admin.post(f"/admin/users/{uid}", data={**form, "display_name": "只改姓名"})
    assert renamed.status_code == 302
    assert browser.get("/inbox").status_code == 200 and _api_ok(client, token)  # a new name ends nothing
    changed = {"role": {"role": "organizer_leader"}, "unit": {"unit_id": str(unit_id("fz_gov"))},
               "deactivate": {"active": ""}}[change]
    assert admin.post(f"/admin/users/{uid}", data={**form, **changed}).status_code == 302
    assert _to_login(browser.get("/inbox")) and not _api_ok(client, token)
    assert (_sign_in(app.test_client(), name).status_code == 401) == (change == "deactivate")


def test_signing_in_as_someone_else_on_a_shared_workstation_takes_one_step(app, csrf, client, person):
    first, second = person(display_name="甲 先用"), person("dispatcher", display_name="乙 后用")
    workstation = _page(app, first)
    first_cookie = workstation.get_cookie("session").value
    first_token = _token(client, first).get_json()["token"]
    page = workstation.get("/login").get_data(as_text=True)
    assert "当前已以 甲 先用 的身份登录" in page

    assert _sign_in(workstation, second, "wrong-password").status_code == 401  # a failed switch changes nothing
    assert workstation.get("/inbox").status_code == 200 and _api_ok(client, first_token)

    resp = _sign_in(workstation, second)
    assert resp.status_code == 302 and not _to_login(resp)
    home = workstation.get("/").get_data(as_text=True)
    assert "乙 后用" in home and "甲 先用" not in home
    assert _to_login(_replay(app, first_cookie).get("/inbox"))  # the one who walked away is signed out
    assert not _api_ok(client, first_token)


# ---- sign-in delays -----------------------------------------------------------------------------

def test_five_wrong_passwords_do_not_lock_the_real_user_out(app, client, person, frozen):
    name, address = person(), _address()
    for _ in range(5):
        assert _token(client, name, "wrong-password", address).status_code == 401
    assert _token(client, name, address=address).status_code == 401  # the right one, too soon
    frozen.move(throttles.BASE_DELAY.total_seconds() + 1)
    assert _token(client, name, address=address).status_code == 201
    assert _sign_in(app.test_client(), name, address=address).status_code == 302  # the row was reset


def test_wrong_password_unknown_user_and_throttled_get_the_same_reply(app, client, person, frozen):
    name, address = person(), _address()
    for _ in range(throttles.ACCOUNT_FREE):
        _token(client, name, "wrong-password", _address())
    api = {"wrong password": _token(client, person(), "wrong-password", address),
           "unknown user": _token(client, f"nobody{uuid.uuid4().hex[:6]}", STRONG, address),
           "throttled": _token(client, name, STRONG, address)}
    for case, resp in api.items():
        assert resp.status_code == 401, case
        assert "Retry-After" not in resp.headers, case
        assert resp.get_json() == {"error": {"code": "unauthorized", "message": "用户名或密码错误"}}, case
    assert len({tuple(sorted(r.headers.keys())) for r in api.values()}) == 1

    for lang, message in (("zh_Hans_CN", "用户名或密码错误"), ("en", "Wrong username or password")):
        browser = app.test_client()
        browser.get(f"/lang/{lang}")
        pages = {"wrong password": _sign_in(browser, person(), "wrong-password", address),
                 "unknown user": _sign_in(browser, f"nobody{uuid.uuid4().hex[:6]}", STRONG, address),
                 "throttled": _sign_in(browser, name, STRONG, address)}
        bodies = set()
        for case, resp in pages.items():
            body = resp.get_data(as_text=True)
            assert resp.status_code == 401 and message in body, (lang, case)
            assert "锁定" not in body and "locked" not in body.lower() and "Retry-After" not in resp.headers
            bodies.add(re.sub(r'name="(username|csrf_token)" value="[^"]*"', "", body))  # the typed name is echoed
        assert len(bodies) == 1, lang


def test_an_address_that_fails_too_often_is_delayed_for_every_account(app, client, person, frozen):
    address, name = _address(), person()
    for _ in range(throttles.ADDRESS_FREE):  # a stranger trying many names from one address
        assert _token(client, f"guess{uuid.uuid4().hex[:6]}", "wrong-password", address).status_code == 401
    refused = _token(client, name, STRONG, address)
    assert refused.status_code == 401 and refused.get_json()["error"]["message"] == "用户名或密码错误"
    assert _token(client, name, STRONG, _address()).status_code == 201  # elsewhere the account is fine
    frozen.move(throttles.BASE_DELAY.total_seconds() + 1)
    assert _token(client, name, STRONG, address).status_code == 201


def test_attempts_that_guess_nothing_do_not_count(client, person):
    """An empty password or a username no account can have cannot succeed: refused alike, not counted."""
    name, address = person(), _address()
    for typed, password in [("", "x"), ("Bad Name", "x"), ("1abc", "x"), (name, "")] * 10:
        resp = _token(client, typed, password, address)
        assert resp.status_code in (400, 401)  # the API's schema refuses an empty name or password first
    for typed in ("Bad Name", name.upper()):
        assert _token(client, typed, STRONG, address).get_json()["error"]["message"] == "用户名或密码错误"
    assert _token(client, name, STRONG, address).status_code == 201


def test_an_administrator_sees_and_clears_a_throttle(app, csrf, client, person, db, frozen):
    name, address = person(), _address()
    for _ in range(throttles.ACCOUNT_FREE):
        _token(client, name, "wrong-password", address)
    admin = _page(app, "admin", "demo12345")
    page = admin.get("/admin/throttles").get_data(as_text=True)
    row = re.search(rf'<tr data-throttle="account:{name}">(.*?)</tr>', page, re.DOTALL)
    assert row and "解除登录限制" in row.group(1) and "badge overdue" in row.group(1)
    assert f'data-throttle="address:{address}"' in page
    with db.read() as session:
        throttle_id = session.scalar(select(SignInThrottle.id).where(SignInThrottle.kind == "account",
                                                                    SignInThrottle.key == name))
    assert admin.post(f"/admin/throttles/{throttle_id}/clear").status_code == 400  # no CSRF token
    resp = admin.post(f"/admin/throttles/{throttle_id}/clear", data={"csrf_token": _csrf(admin, "/admin/throttles")},
                      follow_redirects=True)
    shown = resp.get_data(as_text=True)
    assert resp.status_code == 200 and f"已解除对账号 {name} 的登录限制" in shown
    assert f'data-throttle="account:{name}"' not in shown
    assert f'<span class="muted">账号</span> {name}' in shown  # the change is listed
    assert _token(client, name, STRONG, address).status_code == 201  # at once, no waiting
    with db.read() as session:
        event = session.scalar(select(HistoryEvent).where(HistoryEvent.action == "sign_in_throttle_cleared")
                               .order_by(HistoryEvent.id.desc()))
    assert event.detail["key"] == name and event.before["failures"] == throttles.ACCOUNT_FREE
    assert event.actor_id == _user_id(db, "admin")


def _user_id(db, username):
    with db.read() as session:
        return session.scalar(select(User.id).where(User.username == username))
