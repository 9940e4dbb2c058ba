"""Filing an appeal on the public portal (issue 15): the phone is proved by an SMS code read
from the outbox; the appeal enters the process with channel web and waits in 受理研判 like a
call. Codes expire, are used once and stop after five wrong entries; codes and submissions are
limited per number and per client address (429, with a message that says so and when to try
again); bad input is a 400 with each field's message, and leaves no appeal."""
import io
import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hotline import phones, portal, portal_codes
from hotline.models import Appeal, AppellantContact, Attachment, PortalCode, User
from runtime import clock
from runtime.models import Notification

from .test_api_errors import png

_numbers = itertools.count(1)
_addresses = itertools.count(1)


def new_phone() -> str:
    """A mobile number no other test of the module uses."""
    return f"139 0000 {next(_numbers):04d}"


def new_address() -> str:
    return f"203.0.113.{next(_addresses)}"


def post(client, path, data, address, **kw):
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": address}, **kw)


def code_sent(db, phone: str) -> str:
    """The code of the newest SMS to `phone`, from the outbox."""
    with db.read() as session:
        bodies = session.scalars(select(Notification.body).where(
            Notification.recipient == phones.e164(phone)).order_by(Notification.id.desc())).all()
    found = [m for body in bodies for m in re.findall(r"(?:验证码：|verification code: )(\d{6})", body)]
    assert found, bodies
    return found[0]


def ask_code(client, phone, address, path="/public/submit", **extra):
    return post(client, path, {"action": "code", "phone": phone, **extra}, address)


def appeal_form(phone, code, **overrides):
    form = {"action": "submit", "phone": phone, "code": code, "appeal_type": "complaint",
            "content": "小区门口路灯坏了一周，晚上很黑\n请尽快修理，谢谢。", "location": "鼓楼区五四路 100 号",
            "region_code": "350102"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def file_appeal(client, db, phone=None, address=None, **overrides) -> Appeal:
    """Ask for a code, read it from the outbox and file the appeal; returns it."""
    phone, address = phone or new_phone(), address or new_address()
    assert ask_code(client, phone, address).status_code == 200
    resp = post(client, "/public/submit", appeal_form(phone, code_sent(db, phone), **overrides), address)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert resp.headers["Location"].endswith("/public/submitted")
    return newest_appeal(db, phone)


def newest_appeal(db, phone) -> Appeal | None:
    with db.read() as session:
        return session.scalar(select(Appeal).join(AppellantContact, AppellantContact.appeal_id == Appeal.id)
                              .where(AppellantContact.phone == phones.e164(phone)).order_by(Appeal.id.desc()))


def appeals_of(db, phone) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AppellantContact)
                              .where(AppellantContact.phone == phones.e164(phone)))


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def moments():
    """A frozen clock the test moves on: moments(seconds=61)."""
    at = [clock.now()]
    clock.set_now(at[0])

    def later(**delta):
        at[0] += timedelta(**delta)
        clock.set_now(at[0])
    yield later
    clock.set_now(None)


# -- an appeal filed ------------------------------------------------------------------------------

def test_an_appeal_filed_on_the_portal_waits_for_assessment_like_a_call(client, db, walk, browser_as):
    phone = new_phone()
    page = client.get("/public/submit")
    assert page.status_code == 200 and "这些解答也许能帮到您" in text(page)
    sent = ask_code(client, phone, new_address())
    assert sent.status_code == 200 and "验证码已发送" in text(sent)
    assert phone in text(sent)  # what was typed stays in the form
    address = new_address()
    form = appeal_form(phone, code_sent(db, phone), confidential="1", latitude="26.08123", longitude="119.29876",
                       name="李先生")
    form["photos"] = (io.BytesIO(png()), "路灯.png")
    resp = post(client, "/public/submit", form, address, content_type="multipart/form-data")
    assert resp.status_code == 302
    appeal = newest_appeal(db, phone)
    done = text(client.get("/public/submitted"))
    assert appeal.number in done

    assert appeal.channel == "web" and appeal.status == "assessing" and appeal.confidential
    assert appeal.title == "小区门口路灯坏了一周，晚上很黑"  # the content's first line
    assert appeal.location == "鼓楼区五四路 100 号 (26.08123, 119.29876)"
    assert walk.open_tasks(appeal.id) == ["ut_assess"]  # waits in 受理研判 like a call
    with db.read() as session:
        contact = session.scalar(select(AppellantContact).where(AppellantContact.appeal_id == appeal.id))
        assert (contact.phone, contact.name, contact.kind) == (phones.e164(phone), "李先生", "citizen")
        photo = session.scalar(select(Attachment).where(Attachment.appeal_id == appeal.id))
        assert photo.filename == "路灯.png" and photo.content_type == "image/png"
        filer = session.get(User, appeal.created_by_id)
        assert (filer.username, filer.display_name, filer.active) == ("@web", "诉求人（网上）", False)
        sms = session.scalars(select(Notification.body).where(Notification.business_key == appeal.id)).all()
        assert any(appeal.number in body and "/public/track" in body for body in sms)
    history = text(browser_as("supervisor1").get(f"/appeals/{appeal.id}?tab=history"))
    assert "诉求人（网上）" in history  # who filed it
    assert client.post("/login", data={"username": "@web", "password": "x"}).status_code == 401  # no one signs in as it
    admin = browser_as("admin")  # the administrator sees it among the users, inactive
    assert "诉求人（网上）" in text(admin.get("/admin/users"))
    assert admin.get(f"/admin/users/{filer.id}").status_code == 200


def test_the_outbox_keeps_no_code_once_the_sms_is_sent(client, db):
    from runtime import outbox

    class Kept:
        def __init__(self):
            self.bodies = []

        def send(self, notification):
            self.bodies.append(notification.body)

    phone = new_phone()
    ask_code(client, phone, new_address())
    code = code_sent(db, phone)
    sender = Kept()
    outbox.deliver_pending(db, sender, batch=1000)
    assert any(code in body for body in sender.bodies)  # the SMS itself carries it
    with db.read() as session:
        body = session.scalar(select(Notification.body).where(Notification.recipient == phones.e164(phone)))
        row = session.scalar(select(PortalCode).where(PortalCode.phone == phones.e164(phone)))
    assert code not in body and "验证码：…" in body
    assert len(row.code_hash) == 64 and code not in row.code_hash  # only a salted digest is kept


# -- codes ----------------------------------------------------------------------------------------

def test_a_code_expires_after_ten_minutes(client, db, moments):
    phone, address = new_phone(), new_address()
    ask_code(client, phone, address)
    code = code_sent(db, phone)
    moments(minutes=10, seconds=1)
    resp = post(client, "/public/submit", appeal_form(phone, code), address)
    assert resp.status_code == 400 and "验证码已过期，请重新获取" in text(resp)
    assert appeals_of(db, phone) == 0


def test_a_code_is_used_once(client, db):
    phone, address = new_phone(), new_address()
    ask_code(client, phone, address)
    code = code_sent(db, phone)
    assert post(client, "/public/submit", appeal_form(phone, code), address).status_code == 302
    again = post(client, "/public/submit", appeal_form(phone, code), address)
    assert again.status_code == 400 and "验证码已使用" in text(again)
    assert appeals_of(db, phone) == 1


def test_a_wrong_code_is_refused_and_five_void_the_code(client, db):
    phone, address = new_phone(), new_address()
    ask_code(client, phone, address)
    code = code_sent(db, phone)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    resp = post(client, "/public/submit", appeal_form(phone, wrong), address)
    assert resp.status_code == 400 and "验证码不正确" in text(resp)
    assert 'aria-invalid="true" aria-describedby="code-error' in text(resp)
    for _ in range(portal_codes.MAX_ATTEMPTS - 1):
        post(client, "/public/submit", appeal_form(phone, wrong), address)
    resp = post(client, "/public/submit", appeal_form(phone, code), address)  # the right one, too late
    assert resp.status_code == 400 and "错误次数过多" in text(resp)
    assert appeals_of(db, phone) == 0


def test_a_code_proves_only_its_own_phone(client, db):
    mine, theirs, address = new_phone(), new_phone(), new_address()
    ask_code(client, mine, address)
    resp = post(client, "/public/submit", appeal_form(theirs, code_sent(db, mine)), address)
    assert resp.status_code == 400 and "验证码不正确" in text(resp)
    assert appeals_of(db, theirs) == 0


def test_codes_are_limited_per_number(client, db, moments):
    phone = new_phone()
    assert ask_code(client, phone, new_address()).status_code == 200
    again = ask_code(client, phone, new_address())
    assert again.status_code == 429 and "验证码刚刚已发送" in text(again)
    assert 0 < int(again.headers["Retry-After"]) <= 60
    for _ in range(portal_codes.CODES_PER_NUMBER - 1):
        moments(seconds=61)
        assert ask_code(client, phone, new_address()).status_code == 200
    moments(seconds=61)
    refused = ask_code(client, phone, new_address())
    assert refused.status_code == 429 and "该手机号获取验证码的次数过多" in text(refused)
    assert "分钟后再试" in text(refused)
    moments(hours=1)
    assert ask_code(client, phone, new_address()).status_code == 200  # the window has passed


def test_codes_are_limited_per_address(client, db):
    address = new_address()
    for _ in range(portal_codes.CODES_PER_ADDRESS):
        assert ask_code(client, new_phone(), address).status_code == 200
    phone = new_phone()
    refused = ask_code(client, phone, address)
    assert refused.status_code == 429 and "您所在的网络获取验证码的次数过多" in text(refused)
    with db.read() as session:
        assert session.scalar(select(PortalCode.id).where(PortalCode.phone == phones.e164(phone))) is None
    assert ask_code(client, phone, new_address()).status_code == 200  # another network may


def test_submissions_are_limited_per_number(client, db, moments):
    phone = new_phone()
    for _ in range(portal.SUBMISSIONS_PER_NUMBER):
        file_appeal(client, db, phone)
        moments(seconds=61)
    refused = ask_code(client, phone, new_address())
    assert refused.status_code == 429 and "该手机号今天提交的诉求已达上限" in text(refused)
    assert "12345" in text(refused) and int(refused.headers["Retry-After"]) > 3600
    assert appeals_of(db, phone) == portal.SUBMISSIONS_PER_NUMBER


def test_submissions_are_limited_per_address(client, db):
    address = new_address()
    for _ in range(portal.SUBMISSIONS_PER_ADDRESS):
        file_appeal(client, db, address=address)
    phone = new_phone()
    refused = ask_code(client, phone, address)
    assert refused.status_code == 429 and "您所在的网络今天提交的诉求已达上限" in text(refused)
    ask_code(client, phone, new_address())  # a code asked for elsewhere, the appeal sent from here
    late = post(client, "/public/submit", appeal_form(phone, code_sent(db, phone)), address)
    assert late.status_code == 429 and appeals_of(db, phone) == 0


# -- bad input ------------------------------------------------------------------------------------

def test_an_empty_form_is_refused_with_each_fields_message(client, db):
    resp = post(client, "/public/submit", {"action": "submit"}, new_address())
    assert resp.status_code == 400
    page = text(resp)
    for message in ("请选择诉求类型", "请写明诉求内容", "请填写有效的手机号码"):
        assert message in page, message
    assert "Traceback" not in page


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"phone": "0591-8765 4321"}, "phone", "请填写可以接收短信的手机号码"),  # a landline gets no SMS
    ({"content": "灯坏"}, "content", "至少 5 个字"),
    ({"content": "灯" * 5001}, "content", "不超过 5000 字"),
    ({"confidential": "1", "agrees_to_disclose": "1"}, "agrees_to_disclose", "不能同时同意"),
    ({"latitude": "126.1", "longitude": "119.3"}, "point", "坐标无效"),
    ({"latitude": "26.1"}, "point", "两者都要填写"),
    ({"appeal_type": "praise"}, "appeal_type", "请选择诉求类型"),
    ({"region_code": "999999"}, "region_code", "行政区划代码不存在"),
    ({"name": "名" * 51}, "name", "称呼不超过 50 字"),
    ({"name": "李\u202e先生"}, "name", "不能包含控制字符"),
])
def test_bad_input_is_a_400_with_the_fields_message_and_keeps_the_code(client, db, overrides, field, message):
    overrides = dict(overrides)
    phone, address = overrides.pop("phone", None) or new_phone(), new_address()
    if field != "phone":
        ask_code(client, phone, address)
    code = code_sent(db, phone) if field != "phone" else "123456"
    resp = post(client, "/public/submit", appeal_form(phone, code, **overrides), address)
    assert resp.status_code == 400, text(resp)[:500]
    assert f'id="{field}-error"' in text(resp) and message in text(resp)
    assert appeals_of(db, phone) == 0
    if field != "phone":  # a refused form does not use the code
        assert post(client, "/public/submit", appeal_form(phone, code), address).status_code == 302


def test_photos_take_the_checks_of_staff_uploads(client, db):
    phone, address = new_phone(), new_address()
    ask_code(client, phone, address)
    code = code_sent(db, phone)
    form = appeal_form(phone, code)
    form["photos"] = (io.BytesIO(b"MZ\x90\x00 not a photo"), "photo.jpg")
    resp = post(client, "/public/submit", form, address, content_type="multipart/form-data")
    assert resp.status_code == 400 and "仅支持照片" in text(resp) and 'id="photos-error"' in text(resp)
    form = appeal_form(phone, code)
    form["photos"] = [(io.BytesIO(png()), f"{i}.png") for i in range(portal.MAX_PHOTOS + 1)]
    resp = post(client, "/public/submit", form, address, content_type="multipart/form-data")
    assert resp.status_code == 400 and "最多上传 3 张照片" in text(resp)
    form = appeal_form(phone, code)
    form["photos"] = (io.BytesIO(png() + b"\0" * (1 << 20)), "big.png")  # the tests' limit is 1 MB
    resp = post(client, "/public/submit", form, address, content_type="multipart/form-data")
    assert resp.status_code == 400 and "文件不能超过 1 MB" in text(resp)
    assert appeals_of(db, phone) == 0


def test_the_portal_speaks_english(client, db):
    client.get("/lang/en")
    page = text(client.get("/public/submit"))
    assert 'lang="en"' in page and "These answers may already help" in page and "Send me a code" in page
    phone, address = new_phone(), new_address()
    ask_code(client, phone, address)
    with db.read() as session:
        body = session.scalars(select(Notification.body).where(
            Notification.recipient == phones.e164(phone))).first()
    assert body.startswith("[12345] Your verification code:")
    refused = ask_code(client, phone, address)
    assert refused.status_code == 429 and "A code was sent a moment ago" in text(refused)
    wrong = post(client, "/public/submit", appeal_form(phone, "000000", content=""), address)
    assert "Describe your appeal" in text(wrong)
    client.get("/lang/zh_Hans_CN")
