"""The public portal on a phone (issue 15, "Done when"): a visitor not signed in opens the site,
files an appeal with the SMS code the outbox holds, its point sent by the phone's location and
a photo; tracks it with a second code; sees it dispatched, then replied, as staff act (through
the API); and evaluates it on the portal. Once in Chinese, once in English (no Chinese left
outside data). Screenshots go to artifacts/."""
import re

import pytest
from sqlalchemy import select

from hotline import phones
from hotline.models import Appeal
from runtime.models import Notification

from .conftest import screenshot
from .test_appeal_journey import _png
from .test_english_everywhere import CJK, VISIBLE_TEXT

PHONE = {"zh": "139 1234 0001", "en": "139 1234 0002"}
WORDS = {  # what each step looks for, in the language of the test
    "zh": {"file": "我要反映", "sent": "验证码已发送", "submitted": "诉求已提交", "track": "查询进度",
           "waiting": "诉求已登记，等待平台受理研判", "dispatched": "已派发至", "replied": "承办单位已答复",
           "satisfied": "满意", "thanks": "感谢您的评价", "closed": "诉求已办结", "located": "已填入手机定位的坐标"},
    "en": {"file": "File an appeal", "sent": "A code has been sent", "submitted": "Appeal submitted",
           "track": "Track an appeal", "waiting": "waits for the platform's assessment", "dispatched": "Sent to",
           "replied": "The handling unit has replied", "satisfied": "Satisfied", "thanks": "Thank you",
           "closed": "The appeal is closed", "located": "coordinates have been filled in"},
}
CONTENT = "鼓楼区五四路人行道上的井盖缺失三天了，晚上很危险\n请尽快补上井盖。"
REPLY = "已电话告知处理结果"


def _code(db, phone) -> str:
    with db.read() as session:
        body = session.scalars(select(Notification.body).where(Notification.recipient == phones.e164(phone))
                               .order_by(Notification.id.desc())).first()
    return re.search(r"(?:验证码：|verification code: )(\d{6})", body).group(1)


def _no_chinese_outside_data(page, where):
    left = sorted({t["text"] for t in page.evaluate(VISIBLE_TEXT) if CJK.search(t["text"])})
    assert not left, f"{where}: {left}"


@pytest.fixture
def phone_page(browser, live_url):
    contexts = []

    def open_page(locale):
        context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}, is_mobile=True,
                                      has_touch=True, device_scale_factor=2, permissions=["geolocation"],
                                      geolocation={"latitude": 26.08123, "longitude": 119.29876})
        contexts.append(context)
        return context.new_page()
    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_files_tracks_and_evaluates_an_appeal_on_a_phone(phone_page, live_url, db, walk, unit_id,
                                                                  tmp_path, language):
    words, phone = WORDS[language], PHONE[language]
    page = phone_page("zh-CN" if language == "zh" else "en-GB")
    page.goto(f"{live_url}/")
    assert page.url == f"{live_url}/public"  # a visitor lands on the portal
    if language == "en":
        page.click("a[href^='/lang/en']")
    page.click(f"a.p-button:has-text('{words['file']}')")
    assert page.locator("#help-title").is_visible()  # answers that may help, before anything is typed

    page.fill("#f-phone", phone)
    page.click("button[value=code]")
    page.wait_for_selector(f".p-alert-ok:has-text('{words['sent']}')")
    page.check("input[name=appeal_type][value=complaint]")
    page.fill("#f-content", CONTENT)
    page.fill("#f-location", "鼓楼区五四路 88 号")
    page.select_option("#f-region", "350102")
    page.click("#f-locate")  # the phone sends its position; no map tiles are fetched
    page.wait_for_selector(f"#f-locate-status:has-text('{words['located']}')")
    assert page.input_value("#f-lat") == "26.08123" and page.input_value("#f-lon") == "119.29876"
    page.set_input_files("#f-photos", str(_png(tmp_path / "井盖.png")))
    page.check("input[name=agrees_to_disclose]")
    page.fill("#f-code", _code(db, phone))
    if language == "en":
        _no_chinese_outside_data(page, "submit page")
    screenshot(page, f"portal-submit-{language}")
    page.click("button.p-wide")
    page.wait_for_selector(f"h1:has-text('{words['submitted']}')")
    number = page.inner_text(".p-number").strip()
    with db.read() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.number == number))
    assert appeal.channel == "web" and appeal.location.endswith("(26.08123, 119.29876)")
    screenshot(page, f"portal-submitted-{language}")

    page.click(f"a.p-button:has-text('{words['track']}')")
    assert page.input_value("#t-number") == number
    page.fill("#t-phone", phone)
    page.click("button[value=code]")
    page.wait_for_selector(".p-alert-ok")
    page.fill("#t-code", _code(db, phone))
    page.click("button.p-wide")
    page.wait_for_selector(f"text={words['waiting']}")

    walk.complete(appeal.id, walk.staff(appeal.id, "intake"), "ut_assess", {"assessment": "dispatch"})
    walk.complete(appeal.id, walk.staff(appeal.id, "dispatcher"), "ut_dispatch", {"lead_unit_id": unit_id("gl_urban"), "co_unit_ids": []})
    page.reload()
    assert f"{words['dispatched']} 鼓楼区城市管理局" in page.inner_text(".p-timeline")
    walk.complete(appeal.id, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    walk.complete(appeal.id, "gl_urban_leader", "ut_assign_handler", walk.assignment())
    walk.to_replied(appeal.id)
    page.reload()
    assert words["replied"] in page.inner_text(".p-timeline")
    assert REPLY in page.inner_text("#reply-title + p")
    if language == "en":
        _no_chinese_outside_data(page, "tracking page")
    screenshot(page, f"portal-tracking-{language}")

    page.check("input[name=evaluation][value=satisfied]")
    page.check("input[name=resolved][value=yes]")
    page.click("section[aria-labelledby=evaluate-title] button[type=submit]")
    page.wait_for_selector(f".p-alert-ok:has-text('{words['thanks']}')")
    assert words["closed"] in page.inner_text(".p-timeline")
    assert page.locator("#evaluate-title").count() == 0
    with db.read() as session:
        assert session.get(Appeal, appeal.id).satisfaction == "satisfied"
    screenshot(page, f"portal-evaluated-{language}")
