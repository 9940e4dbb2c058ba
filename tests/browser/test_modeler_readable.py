"""The modeler opens where an analyst can work (issue 13, items 13 and 15): the decision table
editor on the table, in the page's language; a diagram at a size its labels can be read,
from its left edge."""
import re


def _open(page, live_url, name):
    page.goto(f"{live_url}/modeler/{name}")
    page.wait_for_selector("#modeler[data-ready='1']", timeout=20000)


def test_the_decision_table_opens_on_the_table_in_chinese(open_as, live_url):
    page = open_as("analyst1")
    _open(page, live_url, "time_limits.dmn")
    page.wait_for_selector(".tjs-table")  # the decision table, not the requirements graph
    assert not page.locator(".dmn-drd-container").is_visible()
    text = page.inner_text("#canvas")
    assert "查看决策需求图（DRD）" in text and "命中策略" in text and "当" in text
    for english in ("View DRD", "Hit policy", "When", "Then"):
        assert english not in text, english


def test_the_decision_table_keeps_its_english_labels_in_english(open_as, live_url):
    page = open_as("analyst1")
    page.goto(f"{live_url}/lang/en")
    _open(page, live_url, "time_limits.dmn")
    page.wait_for_selector(".tjs-table")
    assert "View DRD" in page.inner_text("#canvas") and "Hit policy" in page.inner_text("#canvas")


def test_a_diagram_opens_readable_from_its_left_edge(open_as, live_url):
    page = open_as("analyst1")
    _open(page, live_url, "appeal_handling.bpmn")
    transform = page.get_attribute("#canvas .viewport", "transform")
    scale = float(re.match(r"matrix\(([-\d.e]+)", transform).group(1))
    assert 0.8 <= scale <= 1, transform  # the labels can be read
    canvas = page.locator("#canvas").bounding_box()
    start = page.locator("#canvas [data-element-id='start_registered']").bounding_box()
    assert canvas["x"] < start["x"] < canvas["x"] + canvas["width"]  # the start is in view
