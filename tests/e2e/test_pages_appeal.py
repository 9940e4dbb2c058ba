"""The appeal page: tabs, who may open it, what units see of the appellant, a supervisor's
contact grant and its revocation, the audit of personal-data reads, and file downloads."""
import io
import re

import pytest

from .test_api_errors import png

PHONE, MASKED, NAME = "13912345678", "139****5678", "王小明"
SHOWN, E164 = "139 1234 5678", "+8613912345678"  # how pages show the number, how it is stored (hotline.phones)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def private_appeal(walk, unit_id, **overrides):
    """Being handled by gl_urban with fz_market co-handling."""
    appellant = {"kind": "citizen", "name": NAME, "phone": PHONE, **overrides.pop("appellant", {})}
    return walk.to_signed(unit_id=unit_id, lead="gl_urban", co=("fz_market",), appellant=appellant, **overrides)


def reads(walk, appeal_id):
    return [e for e in walk.detail(appeal_id)["history"] if e["action"] == "appellant_viewed"]


def staff_upload(api, appeal_id):
    resp = api.as_("gl_urban_staff").post(f"/appeals/{appeal_id}/attachments", content_type="multipart/form-data",
                                          data={"file": (io.BytesIO(png()), "井盖.png")})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


# --- who may open what ---------------------------------------------------------------------------

def test_signed_out_users_are_sent_to_sign_in(client, walk, unit_id, api):
    appeal_id = private_appeal(walk, unit_id)
    file_id = staff_upload(api, appeal_id)
    for resp in (client.get(f"/appeals/{appeal_id}"), client.get(f"/attachments/{file_id}"),
                 client.post(f"/appeals/{appeal_id}/comments", data={"body": "x"}),
                 client.post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("gl_urban"), "reason": "x"}),
                 client.post(f"/appeals/{appeal_id}/grants/{unit_id('gl_urban')}/revoke")):
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_only_platform_staff_and_the_appeals_units_may_open_it(browser_as, walk, unit_id, api):
    appeal_id = private_appeal(walk, unit_id)
    file_id = staff_upload(api, appeal_id)
    for username in ("gl_urban_staff", "gl_urban_leader", "fz_market_staff", "supervisor1", "dispatcher1", "owner1"):
        assert browser_as(username).get(f"/appeals/{appeal_id}").status_code == 200, username
    for username in ("analyst1", "xm_env_staff", "gl_gov_leader"):
        pages = browser_as(username)
        assert pages.get(f"/appeals/{appeal_id}").status_code == 403, username
        assert pages.get(f"/appeals/{appeal_id}?tab=history").status_code == 403, username
        assert pages.get(f"/attachments/{file_id}").status_code == 403, username
        assert pages.post(f"/appeals/{appeal_id}/comments", data={"body": "看看"}).status_code == 403, username
    assert browser_as("supervisor1").get("/appeals/2147483000").status_code == 404


def test_only_supervisors_grant_or_revoke(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id)
    for username in ("gl_urban_leader", "dispatcher1", "analyst1"):
        pages = browser_as(username)
        assert pages.post(f"/appeals/{appeal_id}/grants",
                          data={"unit_id": unit_id("gl_urban"), "reason": "想看"}).status_code == 403, username
        assert pages.post(f"/appeals/{appeal_id}/grants/{unit_id('gl_urban')}/revoke").status_code == 403
    assert "联系方式授权" not in text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}"))


# --- what units see of the appellant ------------------------------------------------------------

def test_units_see_a_masked_phone_and_no_name_and_each_read_is_recorded(browser_as, walk, unit_id, user):
    appeal_id = private_appeal(walk, unit_id)
    for username in ("gl_urban_staff", "fz_market_leader"):
        page = text(browser_as(username).get(f"/appeals/{appeal_id}"))
        assert MASKED in page and "（已脱敏）" in page and "（未公开）" in page
        assert SHOWN not in page and NAME not in page
        assert "每次查看诉求人信息都会被记录" in page
    supervisor = text(browser_as("supervisor1").get(f"/appeals/{appeal_id}"))
    assert SHOWN in supervisor and NAME in supervisor
    assert [e["actor_id"] for e in reads(walk, appeal_id)] == [user("gl_urban_staff").id, user("fz_market_leader").id]
    # tabs that do not show the appellant record nothing
    for tab in ("history", "attachments", "audit"):
        page = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}?tab={tab}"))
        assert MASKED not in page
    assert len(reads(walk, appeal_id)) == 2


def test_a_confidential_appeal_shows_units_no_identity_at_all(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id, confidential=True, appellant={"agrees_to_disclose": True})
    page = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}"))
    assert "诉求人要求保密" in page and SHOWN not in page and MASKED not in page and NAME not in page
    supervisor = text(browser_as("supervisor1").get(f"/appeals/{appeal_id}"))
    assert SHOWN in supervisor and "不能授权承办单位查看身份信息" in supervisor
    assert f'/appeals/{appeal_id}/grants"' not in supervisor  # no form to grant what may not be granted


# --- contact grants -------------------------------------------------------------------------------

def test_a_supervisor_grants_one_unit_contact_access_and_revokes_it(browser_as, walk, unit_id, user):
    appeal_id = private_appeal(walk, unit_id)
    supervisor = browser_as("supervisor1")
    page = text(supervisor.get(f"/appeals/{appeal_id}"))
    assert "授权 鼓楼区城市管理局 查看联系方式" in page and "授权 福州市市场监督管理局 查看联系方式" in page
    resp = supervisor.post(f"/appeals/{appeal_id}/grants",
                           data={"unit_id": unit_id("gl_urban"), "reason": "需上门核实，诉求人同意"})
    assert resp.status_code == 303
    granted = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}"))
    assert SHOWN in granted and NAME in granted and "经督办员授权" in granted
    co_unit = text(browser_as("fz_market_staff").get(f"/appeals/{appeal_id}"))
    assert SHOWN not in co_unit and NAME not in co_unit  # the grant is for one unit only
    last = reads(walk, appeal_id)[-2]
    assert last["actor_id"] == user("gl_urban_staff").id and last["detail"]["shown"] == ["name", "phone"]
    assert last["detail"]["grant_id"]
    page = text(supervisor.get(f"/appeals/{appeal_id}"))
    assert "已授权：督办员 黄海" in page and "需上门核实，诉求人同意" in page and "撤销授权" in page
    # granting twice is refused; revoking brings the mask back
    resp = supervisor.post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("gl_urban"), "reason": "再次"})
    assert resp.status_code == 409 and "该单位已获授权" in text(resp)
    assert supervisor.post(f"/appeals/{appeal_id}/grants/{unit_id('gl_urban')}/revoke").status_code == 303
    again = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}"))
    assert MASKED in again and SHOWN not in again and NAME not in again
    assert supervisor.post(f"/appeals/{appeal_id}/grants/{unit_id('gl_urban')}/revoke").status_code == 404
    actions = [e["action"] for e in walk.detail(appeal_id)["history"]]
    assert "contact_granted" in actions and "contact_revoked" in actions


def test_a_grant_needs_a_reason_and_a_unit_working_the_appeal(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id)
    supervisor = browser_as("supervisor1")
    resp = supervisor.post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("gl_urban"), "reason": "  "})
    assert resp.status_code == 400 and "请填写授权理由" in text(resp)
    resp = supervisor.post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("xm_env"), "reason": "想看"})
    assert resp.status_code == 400 and "该单位未承办此诉求" in text(resp)
    assert SHOWN not in text(browser_as("xm_env_staff").get(f"/appeals/{appeal_id}"))  # still 403 page


def test_a_grant_never_overrides_confidentiality(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id, confidential=True)
    resp = browser_as("supervisor1").post(f"/appeals/{appeal_id}/grants",
                                          data={"unit_id": unit_id("gl_urban"), "reason": "需上门"})
    assert resp.status_code == 409 and "诉求人要求保密" in text(resp)
    page = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}"))
    assert SHOWN not in page and MASKED not in page and NAME not in page


def test_the_api_honours_a_grant_too(browser_as, walk, unit_id, api):
    appeal_id = private_appeal(walk, unit_id)
    browser_as("supervisor1").post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("gl_urban"),
                                                                          "reason": "需上门核实"})
    assert api.as_("gl_urban_staff").get(f"/appeals/{appeal_id}").get_json()["appellant"] == {
        "kind": "citizen", "name": NAME, "phone": E164, "masked": False}
    assert api.as_("fz_market_staff").get(f"/appeals/{appeal_id}").get_json()["appellant"]["phone"] == MASKED


# --- the audit tab ----------------------------------------------------------------------------------

def test_units_see_their_own_reads_and_platform_staff_see_all(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id)
    browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}")
    browser_as("fz_market_leader").get(f"/appeals/{appeal_id}")
    browser_as("supervisor1").post(f"/appeals/{appeal_id}/grants", data={"unit_id": unit_id("gl_urban"),
                                                                          "reason": "需上门核实"})
    browser_as("gl_urban_leader").get(f"/appeals/{appeal_id}")
    audit = text(browser_as("supervisor1").get(f"/appeals/{appeal_id}?tab=audit"))
    rows = re.findall(r"<tr>.*?</tr>", audit[audit.index("<tbody>"):], re.DOTALL)
    assert len(rows) == 4
    assert "鼓楼区城市管理局 承办人" in rows[0] and "脱敏电话" in rows[0]
    assert "福州市市场监督管理局 负责人" in rows[1]
    assert "授权 鼓楼区城市管理局 查看联系方式" in rows[2] and "需上门核实" in rows[2]
    assert "鼓楼区城市管理局 负责人" in rows[3] and "经授权" in rows[3] and "完整电话" in rows[3]
    unit_view = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}?tab=audit"))
    assert "福州市市场监督管理局 负责人" not in unit_view and "鼓楼区城市管理局 负责人" in unit_view
    co_view = text(browser_as("fz_market_staff").get(f"/appeals/{appeal_id}?tab=audit"))
    assert "福州市市场监督管理局 负责人" in co_view and "鼓楼区城市管理局 承办人" not in co_view
    assert "授权 鼓楼区城市管理局" not in co_view


# --- history, attachments, comments ---------------------------------------------------------------

def test_history_tab_reads_like_a_case_record(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id)
    page = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}?tab=history"))
    for expected in ("登记诉求", "受理研判", "研判结果", "派单办理", "牵头单位", "鼓楼区城市管理局",
                     "福州市市场监督管理局", "签收或退回", "处理方式", "签收", "承办科室", "执法科", "派单员 王强"):
        assert expected in page, expected
    assert "查看诉求人信息" not in page  # reads are on the audit tab


def test_attachments_tab_shows_thumbnails_and_downloads_work(browser_as, walk, unit_id, api):
    appeal_id = private_appeal(walk, unit_id)
    file_id = staff_upload(api, appeal_id)
    page = text(browser_as("fz_market_staff").get(f"/appeals/{appeal_id}?tab=attachments"))
    assert f'<img src="/attachments/{file_id}"' in page and "井盖.png" in page
    resp = browser_as("fz_market_staff").get(f"/attachments/{file_id}")
    assert resp.status_code == 200 and resp.mimetype == "image/png" and resp.data.startswith(b"\x89PNG")
    assert "inline" in resp.headers["Content-Disposition"]
    resp = browser_as("supervisor1").get(f"/attachments/{file_id}?download=1")
    assert "attachment" in resp.headers["Content-Disposition"]
    assert browser_as("gl_urban_staff").get("/attachments/2147483000").status_code == 404


def test_comments_on_the_appeal_page(browser_as, walk, unit_id):
    appeal_id = private_appeal(walk, unit_id)
    supervisor = browser_as("supervisor1")
    resp = supervisor.post(f"/appeals/{appeal_id}/comments", data={"body": ""})
    assert resp.status_code == 400 and "请填写意见内容" in text(resp)
    resp = supervisor.post(f"/appeals/{appeal_id}/comments", data={"body": "请加快办理，注意回访"})
    assert resp.status_code == 303
    page = text(browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}"))
    assert "请加快办理，注意回访" in page and "督办员 黄海" in page


@pytest.mark.parametrize("tab", ["summary", "history", "attachments", "audit"])
def test_tabs_in_english(browser_as, walk, unit_id, tab):
    appeal_id = private_appeal(walk, unit_id)
    pages = browser_as("supervisor1")
    pages.get("/lang/en")
    page = text(pages.get(f"/appeals/{appeal_id}?tab={tab}"))
    assert "Summary" in page and "History" in page and "Personal data access log" in page
    assert "Being handled" in page


def test_supervisors_can_put_an_appeal_under_supervision_from_its_page(walk, unit_id, browser_as):
    appeal_id = walk.to_signed(unit_id=unit_id)
    page = browser_as("supervisor1").get(f"/appeals/{appeal_id}").get_data(as_text=True)
    assert f"/supervision/new?appeal={appeal_id}" in page and "列入督办" in page
    assert "列入督办" not in browser_as("gl_urban_leader").get(f"/appeals/{appeal_id}").get_data(as_text=True)


# --- a repeat call: urge or withdraw from the appeal page ----------------------------------------------

def test_an_agent_urges_and_records_a_withdrawal_from_the_appeal_page(walk, unit_id, browser_as):
    appeal_id = walk.to_signed(unit_id=unit_id)
    agent = browser_as("intake1")
    page = agent.get(f"/appeals/{appeal_id}").get_data(as_text=True)
    assert "诉求人再次来电" in page and "催办当前办理单位" in page and "记录撤单" in page
    assert "诉求人再次来电" not in browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}").get_data(as_text=True)
    empty = agent.post(f"/appeals/{appeal_id}/urge", data={"note": " "})
    assert empty.status_code == 400 and "请填写来电催办的内容" in empty.get_data(as_text=True)
    done = agent.post(f"/appeals/{appeal_id}/urge", data={"note": "问进展"}, follow_redirects=True)
    assert "已催办（第 1 次）" in done.get_data(as_text=True)
    gone = agent.post(f"/appeals/{appeal_id}/withdraw", data={"reason": "已自行协商解决"}, follow_redirects=True)
    assert "已撤单，撤单原因已记录。" in gone.get_data(as_text=True)
    history = agent.get(f"/appeals/{appeal_id}?tab=history").get_data(as_text=True)
    assert "来电催办" in history and "问进展" in history and "已自行协商解决" in history
    assert walk.detail(appeal_id)["appeal"]["status"] == "withdrawn"
    assert "诉求人再次来电" not in agent.get(f"/appeals/{appeal_id}").get_data(as_text=True)  # closed now


def test_a_withdrawal_after_the_reply_is_refused_on_the_page(walk, unit_id, browser_as):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    resp = browser_as("intake1").post(f"/appeals/{appeal_id}/withdraw", data={"reason": "不想等了"},
                                      follow_redirects=True)
    assert "不能撤单" in resp.get_data(as_text=True)
    assert walk.detail(appeal_id)["appeal"]["status"] == "verifying"
