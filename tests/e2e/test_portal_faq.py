"""The public FAQ (issue 15): knowledge articles the platform marks public, found with the
knowledge base's two-character Chinese search, shown before an appeal is submitted; articles
not marked public, or no longer active, are not."""
from sqlalchemy import select

from hotline import knowledge
from hotline.models import KnowledgeArticle
from web import get_db

from .test_portal import ask_code, new_address, new_phone, post, text


def article_id(db, title):
    with db.read() as session:
        return session.scalar(select(KnowledgeArticle.id).where(KnowledgeArticle.title == title))


def edit(client, article, **changes):
    assert client.get(f"/knowledge/{article}/edit").status_code == 200
    with get_db(client.application).read() as session:
        current = knowledge.get(session, article)
        form = {"title": current.title, "body": current.body, "category": current.category or "",
                "unit_id": str(current.unit_id or ""), "active": "1" if current.active else "",
                "public": "1" if current.public else "", "seen": current.updated_at.isoformat()}
    form.update(changes)
    return client.post(f"/knowledge/{article}/edit", data={k: v for k, v in form.items() if v})


def test_the_faq_shows_the_public_articles_found_by_two_characters(client, db):
    landing = text(client.get("/public"))
    assert landing.count('href="/public/faq/') == 5 and "噪音投诉处理流程" not in landing
    found = text(client.get("/public/faq?q=补办"))
    assert "社会保障卡遗失补办" in found and "噪音投诉处理流程" not in found
    assert "噪音投诉处理流程" not in text(client.get("/public/faq?q=噪音"))  # written for the agents
    public = client.get(f"/public/faq/{article_id(db, '社会保障卡遗失补办')}")
    assert public.status_code == 200 and "12333" in text(public)
    assert "editor" not in text(public) and "最近更新" not in text(public)  # no staff name
    assert client.get(f"/public/faq/{article_id(db, '噪音投诉处理流程')}").status_code == 404
    assert client.get("/public/faq/999999").status_code == 404


def test_the_platform_decides_what_the_faq_shows(client, db, browser_as):
    noise = article_id(db, "噪音投诉处理流程")
    supervisor = browser_as("supervisor1")
    assert 'name="public"' in text(supervisor.get(f"/knowledge/{noise}/edit"))
    assert edit(supervisor, noise, public="1").status_code == 302
    assert "噪音投诉处理流程" in text(client.get("/public/faq?q=噪音"))

    unit = browser_as("gl_urban_staff")  # the article's own unit edits it, but not its publication
    assert 'name="public"' not in text(unit.get(f"/knowledge/{noise}/edit"))
    assert edit(unit, noise, body="夜间施工噪音由城管执法部门查处。", public="").status_code == 302
    assert "城管执法部门查处" in text(client.get("/public/faq?q=噪音"))  # still public, as edited

    assert edit(supervisor, noise, active="").status_code == 302  # withdrawn: gone from the FAQ too
    assert "噪音投诉处理流程" not in text(client.get("/public/faq?q=噪音"))
    assert client.get(f"/public/faq/{noise}").status_code == 404


def test_answers_that_may_help_are_shown_before_submitting(client, db):
    page = text(client.get("/public/submit"))
    assert "这些解答也许能帮到您" in page
    phone = new_phone()
    asked = ask_code(client, phone, new_address(), content="我的社保卡丢了，想问一下社保卡怎么挂失和补办")
    assert "社会保障卡遗失补办" in text(asked)  # suggested from what was written so far
    resp = post(client, "/public/submit", {"action": "submit", "content": "住房公积金提取需要什么材料"}, new_address())
    assert resp.status_code == 400 and "住房公积金提取条件与办理流程" in text(resp)
