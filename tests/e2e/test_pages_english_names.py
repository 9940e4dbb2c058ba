"""English pages name things in English (issue 13, items 13 and 15): tasks and timers by the
English name their diagram gives them (nameEn), people's role words in their names, knowledge
categories by their English name, which the article's editor sets; and a long menu is grouped."""
import re

from sqlalchemy import select

from hotline.models import KnowledgeArticle
from runtime.models import ProcessInstance

from .test_pages_monitor_labels import visible_text


def _english(client):
    client.get("/lang/en")
    return client


def test_task_and_timer_names_follow_the_diagram_in_english(walk, unit_id, db, browser_as):
    appeal_id = walk.to_signed(unit_id=unit_id)
    with db.read() as session:
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == appeal_id,
                                                                       ProcessInstance.process_key == "appeal_handling"))
    owner = _english(browser_as("owner1"))
    monitor = visible_text(owner.get(f"/monitor/instances/{instance_id}").get_data(as_text=True))
    assert "Record the handling result" in monitor  # the open task, by its nameEn
    assert "Handling reminder" in monitor and "Handling overdue" in monitor  # its timers
    assert "Task completed · Sign for or return" in monitor  # the history
    for chinese in ("填报办理结果", "办理提醒", "签收或退回"):
        assert chinese not in monitor
    staff = _english(browser_as("gl_urban_staff"))
    inbox = staff.get("/inbox").get_data(as_text=True)
    assert "Record the handling result" in inbox
    history = visible_text(staff.get(f"/appeals/{appeal_id}?tab=history").get_data(as_text=True))
    assert "Task completed · Assign department and handler" in history
    task = walk.task(appeal_id, "gl_urban_staff", "ut_record_result")
    page = staff.get(f"/tasks/{task['id']}").get_data(as_text=True)
    assert re.search(r"<title>[^<]*Record the handling result", page)
    chinese = browser_as("owner1").get(f"/monitor/instances/{instance_id}").get_data(as_text=True)
    assert "填报办理结果" in chinese and "办理提醒" in chinese


def test_role_words_in_names_are_in_english(browser_as):
    home = _english(browser_as("dispatcher1")).get("/").get_data(as_text=True)
    assert 'Dispatcher <span class="data">王强</span>' in home
    unit = _english(browser_as("gl_urban_staff")).get("/").get_data(as_text=True)
    assert '<span class="data">鼓楼区城市管理局</span> Organizer staff' in unit
    assert "派单员 王强" in browser_as("dispatcher1").get("/").get_data(as_text=True)  # Chinese as written


def test_knowledge_categories_have_english_names(browser_as, db):
    reader = _english(browser_as("intake1"))
    index = reader.get("/knowledge").get_data(as_text=True)
    assert "Social security" in index and "Household registration and IDs" in index
    with db.read() as session:
        article_id = session.scalar(select(KnowledgeArticle.id).where(KnowledgeArticle.title == "社会保障卡遗失补办"))
    assert "Social security" in reader.get(f"/knowledge/{article_id}").get_data(as_text=True)

    staff = browser_as("gl_urban_staff")
    resp = staff.post("/knowledge/new", data={"title": "共享单车乱停放", "body": "由城管部门联系运营企业清理。",
                                              "category": "市容环境", "category_en": "City appearance"})
    assert resp.status_code == 302
    resp = staff.post("/knowledge/new", data={"title": "沿街晾晒", "body": "由社区劝导。", "category": "市容环境"})
    assert resp.status_code == 302  # the same category, its English name left empty
    with db.read() as session:
        names = set(session.scalars(select(KnowledgeArticle.category_en)
                                    .where(KnowledgeArticle.category == "市容环境")))
    assert names == {"City appearance"}  # the second article keeps the category's English name
    edit = staff.get(resp.headers["Location"].replace("/knowledge/", "/knowledge/", 1) + "/edit")
    assert 'name="category_en" value="City appearance"' in edit.get_data(as_text=True)
    english = _english(browser_as("gl_urban_staff")).get("/knowledge").get_data(as_text=True)
    assert "City appearance" in english
    too_long = staff.post("/knowledge/new", data={"title": "标题", "body": "正文", "category": "市容环境",
                                                  "category_en": "x" * 51})
    assert too_long.status_code == 400 and "field-error" in too_long.get_data(as_text=True)


def test_a_long_menu_is_grouped_and_a_short_one_is_not(browser_as):
    owner = browser_as("owner1").get("/").get_data(as_text=True)
    nav = owner.split('<nav class="mainnav">', 1)[1].split("</nav>", 1)[0]
    assert nav.count('<details class="menu-group') == 2  # processes; supervision and evaluation
    top = re.sub(r"<details.*?</details>", "", nav, flags=re.DOTALL)
    assert top.count("<a ") + nav.count("<details") <= 6
    for path in ("/monitor", "/monitor/instances", "/monitor/processes", "/status", "/modeler", "/evaluation"):
        assert f'href="{path}"' in nav, path
    leader = browser_as("gl_urban_leader").get("/").get_data(as_text=True)
    assert "menu-group" not in leader.split('<nav class="mainnav">', 1)[1].split("</nav>", 1)[0]
