"""Every page in English (issue 13, "Done when"): each role signs in, switches to English and visits
the pages its menu offers, an appeal page with its tabs, a task page of each kind it has open, a
monitor instance page (the roles that monitor) and the status page. What a reader sees there has
no Chinese outside data values (names of units and people, appeal titles and texts, addresses:
marked class="data" or lang="zh…" in the templates), no Python literals and no raw keys. A
failure lists every string left, by page."""
import re

import pytest
from sqlalchemy import select

from hotline.models import Appeal
from runtime.models import ProcessInstance

from ..conftest import Api, Walker

ROLES = ["intake1", "dispatcher1", "gl_urban_staff", "gl_urban_leader", "revisit1", "supervisor1", "owner1", "admin"]
MONITORS = ("supervisor1", "owner1", "admin")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
PYTHON = re.compile(r"\b(True|False|None)\b")
RAW_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}
DISSATISFIED = {"visit_method": "phone", "evaluation": "dissatisfied", "resolved": False}

# What a reader sees: text nodes that render, the selected and listed options of select boxes,
# placeholders; nothing inside data (.data, [lang^=zh]) or code the page quotes (<code>, except a
# variable the monitor could not label: .raw-key).
VISIBLE_TEXT = """() => {
  const data = '.data, [lang^="zh"], script, style, noscript, template';
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement, text = node.textContent.trim();
    if (!text || !el || el.closest(data) || el.closest('option, select')) continue;
    if (!shown(el)) continue;
    found.push({text: text, code: !!el.closest('code:not(.raw-key), pre, kbd')});
  }
  document.querySelectorAll('select').forEach(select => {
    if (select.closest(data) || !shown(select)) return;
    select.querySelectorAll('option, optgroup').forEach(o => {
      const text = (o.tagName === 'OPTGROUP' ? o.label : o.textContent).trim();
      if (text && !o.closest(data)) found.push({text: text, code: false});
    });
  });
  document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(input => {
    if (!input.closest(data) && shown(input) && input.placeholder.trim())
      found.push({text: input.placeholder.trim(), code: false});
  });
  return found;
}"""


def _walk(app, db):
    """Appeals standing at every step the roles work, and a closed one with a full history."""
    walk = Walker(Api(app.test_client()))
    units = _unit_ids(db)
    unit_id = units.__getitem__
    made = {}

    def assessed(**overrides):
        appeal = walk.register(**overrides)
        walk.complete(appeal["id"], "intake1", "ut_assess", {"assessment": "dispatch"})
        return appeal["id"]

    def dispatched(lead="gl_urban", co=()):
        appeal_id = assessed()
        walk.complete(appeal_id, "dispatcher1", "ut_dispatch",
                      {"lead_unit_id": unit_id(lead), "co_unit_ids": [unit_id(c) for c in co]})
        return appeal_id

    made["assess"] = walk.register(title="英文页面检查 待研判")["id"]
    made["dispatch"] = assessed()
    made["sign_for"] = dispatched()
    returned = dispatched()
    walk.complete(returned, "gl_urban_staff", "ut_sign_for",
                  {"sign_decision": "return", "return_reason": "不属于本单位职责范围"})
    made["handle_return"] = returned
    signed = dispatched()
    walk.complete(signed, "gl_urban_staff", "ut_sign_for", {"sign_decision": "sign"})
    made["assign_handler"] = signed
    made["co_sign_for"] = walk.to_signed(lead="fz_market", co=("gl_urban",), unit_id=unit_id)
    co_handle = walk.to_signed(lead="fz_market", co=("gl_urban",), unit_id=unit_id)
    walk.complete(co_handle, "gl_urban_staff", "ut_co_sign_for", {"co_sign_decision": "sign"})
    made["co_handle"] = co_handle
    made["first_contact"] = walk.to_signed(unit_id=unit_id, appeal_type="help")  # Art. 20: help is contacted first
    made["record_result"] = walk.to_signed(unit_id=unit_id)
    review = walk.to_signed(unit_id=unit_id)
    walk.complete(review, "gl_urban_staff", "ut_record_result",
                  {"result_action": "submit_result", "result": "已现场处理", "resolved": True})
    made["leader_review"] = review
    reply = walk.to_signed(unit_id=unit_id)
    walk.complete(reply, "gl_urban_staff", "ut_record_result",
                  {"result_action": "submit_result", "result": "已现场处理", "resolved": True})
    walk.complete(reply, "gl_urban_leader", "ut_leader_review", {"review_decision": "approve"})
    made["reply"] = reply
    extension = walk.to_signed(unit_id=unit_id)
    walk.complete(extension, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 3, "extension_reason": "需多部门协调"})
    made["leader_consent"] = extension
    approval = walk.to_signed(unit_id=unit_id)
    walk.complete(approval, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 2, "extension_reason": "需现场复核"})
    walk.complete(approval, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    made["platform_approval"] = approval
    closure = walk.to_signed(unit_id=unit_id)
    walk.to_replied(closure, closure_review=False)
    made["closure_review"] = closure
    visit = walk.to_signed(unit_id=unit_id)
    walk.to_replied(visit)
    made["return_visit"] = visit
    fault = walk.to_signed(unit_id=unit_id)
    walk.to_replied(fault)
    walk.complete(fault, "revisit1", "ut_return_visit", DISSATISFIED)
    made["find_responsibility"] = fault
    closed = walk.to_signed(unit_id=unit_id)
    walk.complete(closed, "gl_urban_staff", "ut_record_result",
                  {"result_action": "apply_extension", "extension_days": 2, "extension_reason": "需现场复核"})
    walk.complete(closed, "gl_urban_leader", "ut_leader_consent", {"extension_consented": True})
    walk.complete(closed, "dispatcher1", "ut_platform_approval", {"extension_approved": True, "approved_days": 2})
    walk.to_replied(closed)
    walk.complete(closed, "revisit1", "ut_return_visit", SATISFIED)
    made["closed"] = closed
    return walk, made


def _unit_ids(db):
    from hotline.models import OrganizerUnit
    with db.read() as session:
        return dict(session.execute(select(OrganizerUnit.code, OrganizerUnit.id)).all())


@pytest.fixture(scope="module")
def appeals(app):
    from web import get_db
    return _walk(app, get_db(app))


def _leftovers(page) -> list[str]:
    problems = []
    for item in page.evaluate(VISIBLE_TEXT):
        text = item["text"]
        if CJK.search(text):
            problems.append(f"Chinese: {text[:120]!r}")
        if PYTHON.search(text):
            problems.append(f"Python literal: {text[:120]!r}")
        if not item["code"] and (keys := RAW_KEY.findall(text)):
            problems.append(f"raw key {keys}: {text[:120]!r}")
    return problems


def _visit(page, url, found, wait_for=None):
    response = page.goto(url)
    assert response.status < 500, url
    if wait_for:
        page.wait_for_selector(wait_for, timeout=20000)
    page.wait_for_load_state("networkidle")
    for problem in _leftovers(page):
        found.setdefault(url.split("//", 1)[1].split("/", 1)[1], []).append(problem)


def _task_pages(walk, username) -> dict[str, str]:
    """One open task of each kind the user has: {bpmn id: task id}."""
    found = {}
    for scope in ("mine", "claimed"):  # a task assigned to the user is theirs already
        for task in walk.api.as_(username).get(f"/tasks?scope={scope}").get_json()["items"]:
            found.setdefault(task["bpmn_id"], task["id"])
    return found


@pytest.mark.parametrize("username", ROLES)
def test_every_page_in_english(open_as, live_url, db, appeals, username):
    walk, made = appeals
    page = open_as(username)
    page.goto(f"{live_url}/lang/en")
    assert page.locator("html").get_attribute("lang") == "en"
    found: dict[str, list[str]] = {}
    menu = page.eval_on_selector_all("nav.mainnav a", "links => links.map(a => a.getAttribute('href'))")
    assert menu, "the menu is empty"
    for path in ["/", *dict.fromkeys(menu), "/status"]:
        _visit(page, live_url + path, found)
    tasks = _task_pages(walk, username)
    for task_id in tasks.values():
        _visit(page, f"{live_url}/tasks/{task_id}", found)
    appeal_id = made["closed"] if username not in ("intake1",) else made["assess"]
    for tab in ("", "?tab=history", "?tab=attachments", "?tab=audit"):
        _visit(page, f"{live_url}/appeals/{appeal_id}{tab}", found)
    if username in MONITORS:
        with db.read() as session:
            for key in ("closed", "leader_consent"):
                instance_id = session.scalar(select(ProcessInstance.id).where(
                    ProcessInstance.business_key == made[key], ProcessInstance.process_key == "appeal_handling"))
                _visit(page, f"{live_url}/monitor/instances/{instance_id}", found, wait_for=".djs-element")
    assert not found, "\n".join(f"{url}:\n  " + "\n  ".join(sorted(set(p))) for url, p in found.items())


def test_the_walk_left_tasks_of_every_kind(appeals, db):
    """The English walk opens task pages of these kinds (so a new kind is not missed silently)."""
    walk, made = appeals
    kinds = set()
    for username in ROLES:
        kinds |= set(_task_pages(walk, username))
    assert {"ut_assess", "ut_dispatch", "ut_sign_for", "ut_handle_return", "ut_assign_handler", "ut_co_sign_for",
            "ut_co_handle", "ut_first_contact", "ut_record_result", "ut_leader_review", "ut_leader_consent",
            "ut_platform_approval", "ut_reply", "ut_closure_review", "ut_return_visit",
            "ut_find_responsibility"} <= kinds, kinds
    with db.read() as session:
        assert session.get(Appeal, made["closed"]).status == "archived"
