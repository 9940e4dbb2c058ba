"""Issue 13, items 3 to 5 in the browser, as the people concerned: the appellant opens the SMS
link after the appeal was closed by a phone return visit; a shared workstation changes hands
at the sign-in page and someone types /logout; an intake agent forgets the content."""
import re

from sqlalchemy import select

from runtime.models import Notification


def _token(db, appeal_id):
    with db.read() as session:
        bodies = session.scalars(select(Notification.body).where(
            Notification.business_key == appeal_id, Notification.channel == "sms",
            Notification.recipient == "+8613800001234")).all()
    links = [m for b in bodies for m in re.findall(r"/e/([A-Za-z0-9_-]+)", b)]
    assert len(links) == 1, bodies  # one SMS at reply time, with the link
    return links[0]


def test_the_sms_link_after_a_phone_return_visit_says_why_it_records_nothing(browser, live_url, walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id)
    walk.to_replied(appeal_id)
    token = _token(db, appeal_id)
    walk.complete(appeal_id, "revisit1", "ut_return_visit",
                  {"visit_method": "phone", "evaluation": "satisfied", "resolved": True})
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # the appellant's phone
    try:
        page = context.new_page()
        page.goto(f"{live_url}/e/{token}")
        text = page.inner_text("main")
        assert "评价已关闭" in text and "不会被记录" in text
        assert page.locator("input[name=evaluation]").count() == 0  # no empty form to fill in for nothing
    finally:
        context.close()


def test_a_shared_workstation_changes_hands_at_sign_in_and_a_typed_logout_signs_out(browser, live_url):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        for username in ("intake1", "dispatcher1"):  # the second signs in over the first, in one step
            page.goto(f"{live_url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "demo12345")
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{live_url}/")
        assert "派单员" in page.inner_text(".account") or "dispatcher" in page.inner_text(".account").lower()
        assert page.goto(f"{live_url}/intake/dispatch").status == 200  # the dispatcher's page, not the agent's
        answer = page.goto(f"{live_url}/logout")  # typed in the address bar
        assert answer.status == 200  # not a 405: it asks, with one button
        page.click("main button[type=submit]")
        assert "已退出登录" in page.content()
        assert page.goto(f"{live_url}/inbox").url.startswith(f"{live_url}/login")  # nobody signed in now
    finally:
        context.close()


def test_the_intake_form_names_one_mistake_once(open_as, live_url):
    intake = open_as("intake1")
    intake.goto(f"{live_url}/intake")
    intake.fill("input[name='appellant.phone']", "13912345678")
    intake.check("input[name=appeal_type][value=complaint]")
    intake.fill("input[name=location]", "鼓楼区五四路 100 号")
    intake.check("input[name=assessment][value=dispatch]")
    intake.click("#f-submit")  # no content (and no title, which is optional)
    intake.wait_for_selector(".field-error", timeout=10000)
    flagged = intake.eval_on_selector_all(".field-error", "els => els.map(e => e.innerText)")
    assert len(flagged) == 1 and "诉求内容" in flagged[0], flagged  # one mistake, one message
    assert "诉求标题" not in " ".join(flagged)
