"""Knowledge base search: Chinese found by any substring of two or more characters through
the bigram index, on SQLite and PostgreSQL alike; title hits first, then the newest."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from hotline import knowledge
from hotline.models import KnowledgeArticle
from runtime import clock
from runtime.errors import Conflict, Forbidden, InvalidInput


@pytest.mark.parametrize(("text", "grams"), [
    ("社保卡", {"社保", "保卡"}),
    ("卡", set()),
    ("社保 卡！", {"社保", "保卡"}),          # spaces and punctuation are not indexed
    ("ＡＢ社", {"ab", "b社"}),                # full-width letters fold to half-width, lower case
])
def test_bigrams(text, grams):
    assert knowledge.bigrams(text) == grams


@pytest.mark.parametrize(("a", "b", "low", "high"), [
    ("小区旁工地每晚22点后仍在施工，噪音很大", "小区旁工地每晚22点后仍在施工噪音很大！", 0.9, 1.0),
    ("小区旁工地每晚22点后仍在施工，噪音很大", "工地晚上22点后还在施工，噪音大", 0.5, 0.9),
    ("小区旁工地每晚22点后仍在施工，噪音很大", "社保卡丢了怎么补办", 0.0, 0.1),
])
def test_similarity(a, b, low, high):
    from hotline.intake import similarity
    assert low <= similarity(a, b) <= high


def _article(db, user, title, body, **extra):
    return knowledge.create(db, {"title": title, "body": body, **extra}, user("supervisor1"))


def _titles(db, query, **kw):
    with db.read() as session:
        return [h.article.title for h in knowledge.search(session, query, **kw)]


def test_any_substring_of_two_or_more_characters_finds_the_article(db, user):
    _article(db, user, "蝴蝶兰冬季养护要点", "室温保持在十五度以上，浇水见干见湿。")
    for query in ("蝴蝶", "蝴蝶兰", "兰冬季", "养护要点", "见干见湿", "十五度"):
        assert "蝴蝶兰冬季养护要点" in _titles(db, query), query
    assert "蝴蝶兰冬季养护要点" not in _titles(db, "蝶蝴")


def test_bigrams_found_apart_are_no_match(db, user):
    _article(db, user, "甲乙丙条目", "乙丁戊己。")
    assert "甲乙丙条目" in _titles(db, "甲乙丙")
    assert "甲乙丙条目" not in _titles(db, "甲乙丁")  # 甲乙 and 乙丁 are both there, not together


def test_one_character_matches_by_like_and_terms_combine(db, user):
    _article(db, user, "鸢尾花的栽培", "鸢尾喜光照，耐寒。")
    assert "鸢尾花的栽培" in _titles(db, "鸢")
    assert "鸢尾花的栽培" in _titles(db, "鸢尾 耐寒")
    assert "鸢尾花的栽培" not in _titles(db, "鸢尾 耐热")


def test_title_hits_first_then_newest(db, user):
    old_title = _article(db, user, "琵琶鱼的标题命中", "正文一。")
    new_body = _article(db, user, "无关标题甲", "正文提到琵琶鱼。")
    newer_title = _article(db, user, "琵琶鱼第二篇", "正文二。")
    with db.transaction() as session:
        session.execute(update(KnowledgeArticle).where(KnowledgeArticle.id == old_title.id)
                        .values(updated_at=clock.now() - timedelta(days=30)))
    assert _titles(db, "琵琶鱼") == ["琵琶鱼第二篇", "琵琶鱼的标题命中", "无关标题甲"]
    assert newer_title.id and new_body.id


def test_an_update_reindexes_and_inactive_articles_are_hidden(db, user):
    article = _article(db, user, "旧的芍药标题", "芍药正文。")
    knowledge.update(db, article.id, {"title": "新的牡丹标题", "body": "牡丹正文。"}, user("supervisor1"))
    assert "新的牡丹标题" in _titles(db, "牡丹")
    assert _titles(db, "芍药") == []
    knowledge.update(db, article.id, {"title": "新的牡丹标题", "body": "牡丹正文。", "active": False},
                     user("supervisor1"))
    assert _titles(db, "牡丹") == []
    assert _titles(db, "牡丹", include_inactive=True) == ["新的牡丹标题"]


def test_suggest_finds_articles_for_what_the_caller_says(db):
    with db.read() as session:
        titles = [h.article.title for h in knowledge.suggest(session, "你好，我的社保卡丢了，请问怎么补办？")]
        assert titles[0] == "社会保障卡遗失补办"
        assert knowledge.suggest(session, "今天天气怎么样") == []


def test_who_may_write(db, user, unit_id):
    staff = user("gl_urban_staff")
    mine = knowledge.create(db, {"title": "本单位文章", "body": "内容", "unit_id": unit_id("xm_env")}, staff)
    assert mine.unit_id == unit_id("gl_urban")  # an organizer unit always writes for itself
    other = knowledge.create(db, {"title": "厦门环境文章", "body": "内容"}, user("xm_env_staff"))
    with pytest.raises(Forbidden):
        knowledge.update(db, other.id, {"title": "改", "body": "改"}, staff)
    with pytest.raises(Forbidden):
        knowledge.create(db, {"title": "分析", "body": "内容"}, user("analyst1"))
    with pytest.raises(InvalidInput) as err:
        knowledge.create(db, {"title": " ", "body": ""}, staff)
    assert set(err.value.fields) == {"title", "body"}


def test_a_stale_edit_is_refused(db, user):
    article = _article(db, user, "并发编辑文章", "第一版")
    seen = article.updated_at.isoformat()
    knowledge.update(db, article.id, {"title": "并发编辑文章", "body": "第二版"}, user("intake1"), seen)
    with pytest.raises(Conflict):
        knowledge.update(db, article.id, {"title": "并发编辑文章", "body": "第三版"}, user("intake2"), seen)
