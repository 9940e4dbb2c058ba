"""A unit asks to see the appellant's contact from the task and appeal pages; a supervisor grants
or refuses it from the list of requests (or the appeal's card); the unit sees the outcome; the
call relay, when configured, is offered next to the masked phone."""
import re

from sqlalchemy import select

from hotline.models import ContactGrant, ContactRequest

PHONE, MASKED, NAME = "13912345678", "139****5678", "王小明"
REASON = "需电话核实井盖位置并告知处理结果"


def text(resp) -> str:
    return resp.get_data(as_text=True)


def full_phone(page: str) -> bool:
    """The whole number, however it is spaced for reading (hotline.phones)."""
    return re.search(r"139\D?1234\D?5678", page) is not None


def private_appeal(walk, unit_id, co=("fz_market",), **overrides):
    """Being handled by gl_urban, fz_market co-handling (or `co`)."""
    appellant = {"kind": "citizen", "name": NAME, "phone": PHONE, **overrides.pop("appellant", {})}
    return walk.to_signed(unit_id=unit_id, lead="gl_urban", co=co, appellant=appellant, **overrides)


def ask(client, appeal_id, reason=REASON, next_url=None):
    return client.post(f"/appeals/{appeal_id}/contact-requests",
                       data={"reason": reason, "next": next_url or f"/appeals/{appeal_id}"})


def request_row(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(ContactRequest).where(ContactRequest.appeal_id == appeal_id)
                              .order_by(ContactRequest.id.desc()))


def actions(walk, appeal_id):
    return [e["action"] for e in walk.detail(appeal_id)["history"]]


# --- the unit asks ------------------------------------------------------------------------------

def test_a_unit_asks_from_the_task_page_and_sees_it_waiting_on_both_pages(browser_as, walk, unit_id, db):
    appeal_id = private_appeal(walk, unit_id, co=())  # gl_urban's staff has the result to record
    task_id = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")["id"]
    staff = browser_as("gl_urban_staff")
    page = text(staff.get(f"/tasks/{task_id}"))
    assert MASKED in page and "申请查看联系方式" in page and f'/appeals/{appeal_id}/contact-requests"' in page
    resp = ask(staff, appeal_id, next_url=f"/tasks/{task_id}")
    assert resp.status_code == 303 and resp.headers["Location"].startswith(f"/tasks/{task_id}")
    for url in (f"/tasks/{task_id}", f"/appeals/{appeal_id}"):
        page = text(staff.get(url))
        assert "待审核" in page and "等待 12345 平台审核" in page and REASON in page, url
        assert f'/appeals/{appeal_id}/contact-requests"' not in page  # no second request while one waits
        assert not full_phone(page)
    again = ask(staff, appeal_id)
    assert again.status_code == 409 and "正在等待 12345 平台审核" in text(again)
    assert ask(browser_as("gl_urban_leader"), appeal_id).status_code == 409  # a colleague is told the same
    row = request_row(db, appeal_id)
    assert row.state == "pending" and row.unit_id == unit_id("gl_urban") and row.reason == REASON
    assert actions(walk, appeal_id).count("contact_requested") == 1
    history = text(staff.get(f"/appeals/{appeal_id}?tab=history"))
    assert "申请查看联系方式" in history and "contact_requested" not in history


def test_a_request_needs_a_reason(browser_as, walk, unit_id, db):
    appeal_id = private_appeal(walk, unit_id)
    resp = ask(browser_as("gl_urban_staff"), appeal_id, reason="   ")
    assert resp.status_code == 400 and "请填写申请理由" in text(resp)
    assert 'name="reason"' in text(resp)  # the form again, to try once more
    assert request_row(db, appeal_id) is None
    resp = ask(browser_as("gl_urban_staff"), appeal_id, reason="长" * 501)
    assert resp.status_code == 400 and "申请理由不能超过 500 个字" in text(resp)


def test_only_staff_of_a_unit_working_the_appeal_may_ask(browser_as, walk, unit_id, client, db):
    appeal_id = private_appeal(walk, unit_id)
    assert ask(browser_as("xm_env_staff"), appeal_id).status_code == 403  # another unit
    for username in ("dispatcher1", "supervisor1", "admin"):  # platform staff see the contact already
        assert ask(browser_as(username), appeal_id).status_code == 403, username
    assert ask(browser_as("gl_urban_staff"), 2147483000).status_code == 404
    resp = ask(client, appeal_id)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert "contact_requested" not in actions(walk, appeal_id)
    # the co-organizing unit works it too, and asks for itself
    assert ask(browser_as("fz_market_staff"), appeal_id, reason="协办需要联系").status_code == 303
    assert request_row(db, appeal_id).unit_id == unit_id("fz_market")


def test_a_confidential_appeal_cannot_be_asked_for(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id, confidential=True)
    staff = browser_as("gl_urban_staff")
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert "诉求人要求保密" in page and f'/appeals/{appeal_id}/contact-requests"' not in page
    resp = ask(staff, appeal_id)
    assert resp.status_code == 409 and "诉求人要求保密，不能申请查看其身份信息" in text(resp)
    assert "contact_requested" not in actions(walk, appeal_id)


# --- the platform decides -----------------------------------------------------------------------

def test_a_supervisor_grants_from_the_list_and_the_unit_sees_the_contact(browser_as, walk, unit_id, db):
    appeal_id = private_appeal(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    assert ask(staff, appeal_id).status_code == 303
    supervisor = browser_as("supervisor1")
    assert "/contact-requests" in text(supervisor.get("/"))  # in the supervisor's menu
    listing = text(supervisor.get("/contact-requests"))
    number = walk.detail(appeal_id)["appeal"]["number"]
    assert number in listing and "鼓楼区城市管理局" in listing and REASON in listing and "待审核 " in listing
    request_id = request_row(db, appeal_id).id
    resp = supervisor.post(f"/contact-requests/{request_id}/grant", data={"next": "/contact-requests"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/contact-requests"
    assert number not in text(supervisor.get("/contact-requests"))
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert full_phone(page) and NAME in page and "经督办员授权" in page
    assert f'/appeals/{appeal_id}/contact-requests"' not in page
    row = request_row(db, appeal_id)
    with db.read() as session:
        grant = session.get(ContactGrant, row.grant_id)
    assert row.state == "granted" and grant.reason == REASON and grant.revoked_at is None
    granted = [e for e in walk.detail(appeal_id)["history"] if e["action"] == "contact_granted"]
    assert granted[-1]["detail"]["request_id"] == request_id
    # a decided request is not decided again
    again = supervisor.post(f"/contact-requests/{request_id}/grant")
    assert again.status_code == 409 and "该申请已处理" in text(again)
    assert supervisor.post(f"/contact-requests/{request_id}/refuse", data={"reason": "x"}).status_code == 409
    # revoking brings the mask back, with the request form and what happened
    assert supervisor.post(f"/appeals/{appeal_id}/grants/{unit_id('gl_urban')}/revoke").status_code == 303
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert not full_phone(page) and "授权已撤销" in page and f'/appeals/{appeal_id}/contact-requests"' in page


def test_a_supervisor_refuses_with_a_reason_the_unit_reads(browser_as, walk, unit_id, db):
    appeal_id = private_appeal(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    assert ask(staff, appeal_id).status_code == 303
    request_id = request_row(db, appeal_id).id
    supervisor = browser_as("supervisor1")
    resp = supervisor.post(f"/contact-requests/{request_id}/refuse", data={"reason": " "})
    assert resp.status_code == 400 and "请填写不予授权的理由" in text(resp)
    assert request_row(db, appeal_id).state == "pending"
    resp = supervisor.post(f"/contact-requests/{request_id}/refuse",
                           data={"reason": "可由平台转达处理结果", "next": f"/appeals/{appeal_id}"})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/appeals/{appeal_id}"
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert "未获授权" in page and "可由平台转达处理结果" in page and "督办员 黄海" in page and not full_phone(page)
    assert "再次申请查看联系方式" in page  # the unit may ask again, with a better reason
    assert "contact_request_refused" in actions(walk, appeal_id)
    assert ask(staff, appeal_id, reason="诉求人要求当面回复，需预约时间").status_code == 303
    assert request_row(db, appeal_id).state == "pending"


def test_supervisors_decide_on_the_appeal_page_too_and_a_direct_grant_answers_the_request(browser_as, walk, unit_id,
                                                                                          db):
    appeal_id = private_appeal(walk, unit_id)
    assert ask(browser_as("gl_urban_staff"), appeal_id).status_code == 303
    supervisor = browser_as("supervisor1")
    page = text(supervisor.get(f"/appeals/{appeal_id}"))
    request_id = request_row(db, appeal_id).id
    assert "待审核的联系方式申请" in page and f"/contact-requests/{request_id}/grant" in page
    resp = supervisor.post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("gl_urban"), "reason": "核实"})
    assert resp.status_code == 303
    assert request_row(db, appeal_id).state == "granted"
    assert "待审核的联系方式申请" not in text(supervisor.get(f"/appeals/{appeal_id}"))


def test_only_supervisors_see_and_decide_requests(browser_as, walk, unit_id, db):
    appeal_id = private_appeal(walk, unit_id)
    assert ask(browser_as("gl_urban_staff"), appeal_id).status_code == 303
    request_id = request_row(db, appeal_id).id
    for username in ("gl_urban_leader", "dispatcher1", "owner1"):
        pages = browser_as(username)
        assert pages.get("/contact-requests").status_code == 403, username
        assert pages.post(f"/contact-requests/{request_id}/grant").status_code == 403, username
        assert pages.post(f"/contact-requests/{request_id}/refuse", data={"reason": "x"}).status_code == 403
        assert "/contact-requests" not in text(pages.get("/")), username
    supervisor = browser_as("supervisor1")
    assert supervisor.post("/contact-requests/2147483000/grant").status_code == 404
    assert supervisor.post("/contact-requests/2147483000/refuse", data={"reason": "x"}).status_code == 404
    assert request_row(db, appeal_id).state == "pending"


# --- the call relay -------------------------------------------------------------------------------

def test_the_call_relay_is_offered_when_configured_and_its_absence_said(browser_as, walk, unit_id, app, monkeypatch):
    appeal_id = private_appeal(walk, unit_id)
    number = walk.detail(appeal_id)["appeal"]["number"]
    staff = browser_as("gl_urban_staff")
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert "未配置隐私中转号码" in page and "请申请查看联系方式" in page
    monkeypatch.setitem(app.config, "CALL_RELAY_NUMBER", "95013-12345")
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert re.search(rf"隐私中转号码 95013-12345 .*诉求编号 {number}", page) and "未配置" not in page
    assert "95013-12345" not in text(browser_as("dispatcher1").get(f"/appeals/{appeal_id}"))  # sees the phone itself


def test_english_mode_translates_the_request_and_the_list(browser_as, walk, unit_id, db):
    appeal_id = private_appeal(walk, unit_id)
    staff = browser_as("gl_urban_staff")
    staff.get("/lang/en")
    page = text(staff.get(f"/appeals/{appeal_id}"))
    assert "Request contact access" in page and "No call relay is configured" in page
    assert ask(staff, appeal_id, reason="need to confirm the address").status_code == 303
    assert "Pending" in text(staff.get(f"/appeals/{appeal_id}"))
    supervisor = browser_as("supervisor1")
    supervisor.get("/lang/en")
    listing = text(supervisor.get("/contact-requests"))
    section = listing[listing.index("<main"):listing.index("</main>")]
    chrome = section[:section.index("<tbody>")]  # heading, help and column names: no data in them
    decide = re.search(r'<div class="decide".*?</form>\s*</div>', section, re.DOTALL).group(0)  # one row's buttons
    assert "Contact requests" in chrome and "Grant access" in decide and "Refuse" in decide
    for part in (chrome, decide):
        assert not re.search(r"[\u4e00-\u9fff]", part), re.findall(r"[\u4e00-\u9fff]+", part)
