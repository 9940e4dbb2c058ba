"""Knowledge base pages: everyone signed in searches and reads; organizer units write their
own unit's articles, platform staff every article."""
import re

import pytest
from sqlalchemy import select

from hotline.models import KnowledgeArticle


def article_id(db, title):
    with db.read() as session:
        return session.scalar(select(KnowledgeArticle.id).where(KnowledgeArticle.title == title))


def publish(client, title, body="正文内容", **extra):
    return client.post("/knowledge/new", data={"title": title, "body": body, **extra})


@pytest.mark.parametrize("path", ["/knowledge", "/knowledge/1", "/knowledge/new", "/knowledge/1/edit"])
def test_signed_out_goes_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_everyone_signed_in_reads_and_searches(browser_as, db):
    sid = article_id(db, "社会保障卡遗失补办")
    for username in ("analyst1", "gl_urban_staff", "intake1", "owner1"):
        reader = browser_as(username)
        found = reader.get("/knowledge", query_string={"q": "障卡遗失"}).get_data(as_text=True)
        assert "社会保<mark>障卡遗失</mark>补办" in found
        assert "12333" in reader.get(f"/knowledge/{sid}").get_data(as_text=True)
    assert browser_as("analyst1").get("/knowledge/99999").status_code == 404
    assert browser_as("analyst1").get("/knowledge/99999999999").status_code == 404


def test_readers_who_may_not_write_are_refused(browser_as, db):
    analyst = browser_as("analyst1")
    assert analyst.get("/knowledge/new").status_code == 403
    assert publish(analyst, "分析员的文章").status_code == 403
    assert analyst.get(f"/knowledge/{article_id(db, '社会保障卡遗失补办')}/edit").status_code == 403
    assert "新建文章" not in analyst.get("/knowledge").get_data(as_text=True)


def test_an_organizer_unit_writes_and_keeps_its_own_articles(browser_as, db):
    staff = browser_as("gl_urban_staff")
    resp = publish(staff, "占道经营投诉处理", "流动摊贩占道经营由城管执法中队劝离，屡教不改的依法处罚。", category="城市管理")
    assert resp.status_code == 302
    page = staff.get(resp.headers["Location"]).get_data(as_text=True)
    assert "知识库文章已发布" in page and "鼓楼区城市管理局" in page and "城市管理" in page
    new_id = article_id(db, "占道经营投诉处理")
    assert "占道经营投诉处理" in staff.get("/knowledge?q=摊贩").get_data(as_text=True)
    edit = staff.get(f"/knowledge/{new_id}/edit").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([^"]+)"', edit).group(1)
    resp = staff.post(f"/knowledge/{new_id}/edit", data={"title": "占道经营投诉处理流程", "body": "新的正文：早市摊贩。",
                                                         "seen": seen, "active": "1"})
    assert resp.status_code == 302
    assert "占道经营投诉处理流程" in staff.get("/knowledge?q=早市").get_data(as_text=True)
    assert "占道经营投诉处理流程" not in staff.get("/knowledge?q=屡教不改").get_data(as_text=True)
    # another unit may read it but not edit it; platform staff may
    other = browser_as("xm_env_staff")
    assert other.get(f"/knowledge/{new_id}").status_code == 200
    assert other.get(f"/knowledge/{new_id}/edit").status_code == 403
    assert other.post(f"/knowledge/{new_id}/edit", data={"title": "改", "body": "改"}).status_code == 403
    assert browser_as("intake1").get(f"/knowledge/{new_id}/edit").status_code == 200


def test_withdrawn_articles_leave_search_but_stay_with_their_unit(browser_as, db):
    staff = browser_as("sm_market_staff")
    publish(staff, "电动车违规充电整治", "楼道内电动车飞线充电属消防隐患。")
    new_id = article_id(db, "电动车违规充电整治")
    staff.post(f"/knowledge/{new_id}/edit", data={"title": "电动车违规充电整治", "body": "楼道内电动车飞线充电属消防隐患。"})
    assert "电动车违规充电整治" not in staff.get("/knowledge?q=飞线充电").get_data(as_text=True)
    mine = staff.get("/knowledge?q=飞线充电&mine=1").get_data(as_text=True)
    assert "电动车违规充电整治" in mine and "已停用" in mine


def test_errors_are_shown_by_field_and_input_is_kept(browser_as):
    resp = publish(browser_as("fz_housing_staff"), "", "只写了正文")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请检查标红的栏目" in text and "必填项" in text and "只写了正文" in text


def test_a_stale_edit_keeps_the_text_and_shows_the_latest_version(browser_as, db):
    first, second = browser_as("supervisor1"), browser_as("intake2")
    publish(first, "同时编辑的文章", "第一版")
    new_id = article_id(db, "同时编辑的文章")
    form = first.get(f"/knowledge/{new_id}/edit").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([^"]+)"', form).group(1)
    assert second.post(f"/knowledge/{new_id}/edit", data={"title": "同时编辑的文章", "body": "第二版（他人）",
                                                           "seen": seen, "active": "1"}).status_code == 302
    resp = first.post(f"/knowledge/{new_id}/edit", data={"title": "同时编辑的文章", "body": "我的第三版",
                                                         "seen": seen, "active": "1"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "已被他人修改" in text and "我的第三版" in text and "第二版（他人）" in text


def test_platform_staff_choose_the_unit(browser_as, db, unit_id):
    resp = publish(browser_as("supervisor1"), "网约车平台投诉指引", "请提供行程单。", unit_id=str(unit_id("fz_transport")))
    assert resp.status_code == 302
    with db.read() as session:
        assert session.get(KnowledgeArticle, article_id(db, "网约车平台投诉指引")).unit_id == unit_id("fz_transport")


def test_knowledge_base_in_english(browser_as):
    reader = browser_as("gl_urban_leader")
    reader.get("/lang/en?next=/")
    page = reader.get("/knowledge").get_data(as_text=True)
    assert "Government information knowledge base" in page and "New article" in page and "Search" in page
