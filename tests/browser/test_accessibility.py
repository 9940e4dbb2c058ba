"""WCAG 2.1 AA on the pages people use all day (issue 15, item 3): axe-core, installed from npm
into web/node_modules and injected from there (nothing fetched at run time), checks the intake
console (empty and showing a refused submission), the inbox, a sign-for and a record-result task
form, an appeal page and the public portal's submit, track and FAQ pages, in zh-CN and English.
A serious or critical violation fails the test with its rule, its help text and the elements.
A second test files an appeal on the portal with the keyboard alone."""
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline import phones
from hotline.models import Appeal, OrganizerUnit, Region
from runtime.models import Notification

from ..conftest import Api, Walker

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
LOCALES = ["zh-CN", "en"]


def _axe(page) -> list[dict]:
    """The serious and critical violations axe finds on the page as it stands."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE} (run 'make install': npm ci --prefix web)")
    page.wait_for_load_state("networkidle")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [v for v in found["violations"] if v["impact"] in BLOCKING]


def _report(name: str, violations: list[dict]) -> str:
    lines = [f"{name}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"      {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def _check(pages: dict) -> None:
    """pages: {name: violations}; fails listing every page that has any."""
    failing = {name: found for name, found in pages.items() if found}
    assert not failing, "\n".join(_report(name, found) for name, found in failing.items())


@pytest.fixture
def open_page(browser, live_url):
    """open_page(locale, username=None) -> a page in that language, signed in as the demo user if
    one is named. The pages' Content-Security-Policy allows no inline script, so the context
    lets Playwright insert axe's script tag (bypass_csp); the pages' own scripts are unchanged."""
    contexts = []

    def open_(locale, username=None, viewport=None):
        context = browser.new_context(locale=locale, bypass_csp=True,
                                      viewport=viewport or {"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        if username:
            page.goto(f"{live_url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "demo12345")
            page.click("button[type=submit]")
            page.wait_for_url(f"{live_url}/")
        if locale == "en":
            page.goto(f"{live_url}/lang/en")
            assert page.locator("html").get_attribute("lang") == "en"
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def tasks(app):
    """A sign-for and a record-result task waiting for gl_urban_staff, and the appeal of the second."""
    from web import get_db
    walk = Walker(Api(app.test_client()))
    with get_db(app).read() as session:
        units = dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())
    signing = walk.register(title="无障碍检查 待签收")["id"]
    walk.complete(signing, "intake1", "ut_assess", {"assessment": "dispatch"})
    walk.complete(signing, "dispatcher1", "ut_dispatch", {"lead_unit_id": units["gl_urban"], "co_unit_ids": []})
    handling = walk.to_signed(unit_id=units.__getitem__, title="无障碍检查 待办理")
    return {"ut_sign_for": walk.task(signing, "gl_urban_staff", "ut_sign_for")["id"],
            "ut_record_result": walk.task(handling, "gl_urban_staff", "ut_record_result")["id"],
            "appeal": handling}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_intake_console_meets_wcag_aa(open_page, live_url, walk, locale):
    walk.register(title="社保卡补办咨询")  # an earlier call from the same phone (13800001234)
    page = open_page(locale, "intake1")
    page.goto(f"{live_url}/intake")
    found = {"/intake (empty)": _axe(page)}
    page.fill("#f-phone", "13800001234")  # the caller of earlier appeals: the duplicate check lists them
    page.fill("#f-content", "社保卡丢了，想问怎么补办")  # the knowledge panel suggests an article
    page.wait_for_selector("#dup-list li", timeout=10000)
    page.wait_for_selector("#kb-list li", timeout=10000)
    found["/intake (duplicates and articles listed)"] = _axe(page)
    page.fill("#f-content", "")
    page.click("#f-submit")  # no type, content or location: the page names what is missing
    page.wait_for_selector(".field-error", timeout=10000)
    found["/intake (refused submission)"] = _axe(page)
    _check(found)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_unit_staff_pages_meet_wcag_aa(open_page, live_url, tasks, locale):
    page = open_page(locale, "gl_urban_staff")
    found = {}
    for name, path in [("inbox", "/inbox"), ("sign-for task", f"/tasks/{tasks['ut_sign_for']}"),
                       ("record-result task", f"/tasks/{tasks['ut_record_result']}"),
                       ("appeal", f"/appeals/{tasks['appeal']}"),
                       ("appeal history", f"/appeals/{tasks['appeal']}?tab=history")]:
        page.goto(live_url + path)
        found[path] = _axe(page)
    page.goto(f"{live_url}/tasks/{tasks['ut_record_result']}")
    page.check("input[name=result_action][value=apply_extension]")
    page.click("form.task-form button[type=submit].primary")  # no days, no reason
    page.wait_for_selector(".field-error", timeout=10000)
    found["record-result task (refused extension)"] = _axe(page)
    _check(found)


PHONE_VIEWPORT = {"width": 390, "height": 844}


def _code(db, phone) -> str:
    """The newest SMS code the outbox holds for the phone (what the log sender would show)."""
    with db.read() as session:
        body = session.scalars(select(Notification.body).where(Notification.recipient == phones.e164(phone))
                               .order_by(Notification.id.desc())).first()
    return re.search(r"(?:验证码：|verification code: )(\d{6})", body).group(1)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_portal_meets_wcag_aa(open_page, live_url, db, walk, unit_id, locale):
    phone = {"zh-CN": "139 1234 0101", "en": "139 1234 0102"}[locale]
    replied = walk.to_signed(unit_id=unit_id, appellant={"kind": "citizen", "name": "林女士", "phone": phone})
    walk.to_replied(replied)
    with db.read() as session:
        number = session.get(Appeal, replied).number
    page = open_page(locale, viewport=PHONE_VIEWPORT)
    found = {}

    def check(name, url=None):
        if url:
            page.goto(live_url + url)
        found[name] = _axe(page)

    check("landing", "/public")
    check("FAQ", "/public/faq?q=社保卡")
    page.locator(".p-results a").first.click()
    page.wait_for_url(re.compile(r".*/public/faq/\d+$"))
    check("FAQ article")
    check("submit (empty)", "/public/submit")
    page.fill("#f-phone", phone)
    page.click("button[value=code]")
    page.wait_for_selector(".p-alert-ok")
    check("submit (code sent)")
    page.click("button.p-wide")  # no type, no content, no code
    page.wait_for_selector(".p-error")
    check("submit (refused)")
    check("track (empty)", "/public/track")
    page.click("button.p-wide")
    page.wait_for_selector(".p-error")
    check("track (refused)")
    page.fill("#t-number", number)
    page.fill("#t-phone", phone)
    page.click("button[value=code]")
    page.wait_for_selector(".p-alert-ok")
    page.fill("#t-code", _code(db, phone))
    page.click("button.p-wide")
    page.wait_for_selector("#evaluate-title")
    check("tracking (replied, evaluation open)")
    page.click("section[aria-labelledby=evaluate-title] button[type=submit]")  # no evaluation chosen
    page.wait_for_selector(".p-error")
    check("tracking (evaluation refused)")
    _check(found)


def _tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus: it must be reachable from
    the keyboard, in the page's order (fails after `limit` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"{selector} never got the keyboard focus in {limit} presses of Tab")


def test_an_appeal_is_filed_on_the_portal_with_the_keyboard_alone(open_page, live_url, db):
    """No mouse: Tab moves between the fields, typing fills them, Space picks the type and the
    consent, Enter asks for the code and submits; the appeal enters the process with channel web."""
    phone = "139 1234 0109"
    page = open_page("zh-CN", viewport=PHONE_VIEWPORT)
    page.goto(f"{live_url}/public")
    _tab_to(page, "a.p-skip")  # the first stop skips the header and the menu
    page.keyboard.press("Enter")
    _tab_to(page, "a[href$='/public/submit']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_url}/public/submit")

    _tab_to(page, "#f-phone")
    page.keyboard.type(phone)
    _tab_to(page, "button[value=code]")
    page.keyboard.press("Enter")  # the code goes out through the outbox; the page comes back with the phone kept
    page.wait_for_selector(".p-alert-ok")
    assert page.input_value("#f-phone") == phone
    _tab_to(page, "#f-code")
    page.keyboard.type(_code(db, phone))
    _tab_to(page, "input[name=appeal_type]")
    page.keyboard.press("Space")  # the first type in the group; arrows move within it
    page.keyboard.press("ArrowRight")
    chosen = page.evaluate("() => document.querySelector('input[name=appeal_type]:checked').value")
    _tab_to(page, "#f-content")
    page.keyboard.type("路灯坏了\n小区门口的路灯坏了一周，晚上很黑，请尽快修。")
    _tab_to(page, "#f-location")
    page.keyboard.type("鼓楼区东街口")
    _tab_to(page, "#f-region")
    page.keyboard.press("ArrowDown")  # the first region after 不清楚
    region = page.input_value("#f-region")
    _tab_to(page, "input[name=agrees_to_disclose]")
    page.keyboard.press("Space")
    _tab_to(page, "button.p-wide")
    page.keyboard.press("Enter")
    page.wait_for_selector("#done-title")
    number = page.locator(".p-number").inner_text()

    with db.read() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.number == number))
        assert (appeal.channel, appeal.appeal_type, appeal.title) == ("web", chosen, "路灯坏了")
        assert appeal.location.startswith("鼓楼区东街口") and appeal.status == "assessing"  # waits in 受理研判
        assert session.get(Region, appeal.region_id).code == region
