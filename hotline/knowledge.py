"""The knowledge base: government information organizer units keep up to date and the
platform answers from (Art. 9(6), 11(3)).

Search works the same on SQLite and PostgreSQL and finds Chinese text by any substring of two
or more characters: on every save the article's normalized title and body are cut into
bigrams (every two-character piece) kept in `knowledge_gram`. A query term of two or more
characters matches the articles holding all its bigrams and containing the term itself; a
one-character term matches by LIKE. Hits in the title rank first, then the newest.
"""
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select

from runtime import clock, history
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound

from .access import ORGANIZER_ROLES, PLATFORM_ROLES
from .models import KnowledgeArticle, KnowledgeGram, OrganizerUnit, User

TITLE_MAX, BODY_MAX, CATEGORY_MAX = 200, 20000, 50
CANDIDATE_CAP = 500  # articles checked in Python per search; enough for a hotline's knowledge base
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass
class Hit:
    article: KnowledgeArticle
    unit_name: str | None
    snippet: str
    title_hit: bool
    score: float = 0.0


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and spaces removed."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or "").lower())


def bigrams(text: str) -> set[str]:
    """Every two-character piece of the normalized text (a one-character text has none)."""
    norm = normalize(text)
    return {norm[i:i + 2] for i in range(len(norm) - 1)}


def may_edit(user, article: KnowledgeArticle | None = None) -> bool:
    """Platform staff edit every article; organizer staff and leaders their own unit's."""
    if user.role in PLATFORM_ROLES:
        return True
    if user.role in ORGANIZER_ROLES and user.unit_id is not None:
        return article is None or article.unit_id == user.unit_id
    return False


def get(session, article_id: int) -> KnowledgeArticle:
    """Raises NotFound."""
    article = session.get(KnowledgeArticle, article_id)
    if article is None:
        raise NotFound(f"knowledge article {article_id} does not exist")
    return article


def detail(session, article_id: int) -> dict:
    """An article with its unit's and last editor's names. Raises NotFound."""
    article = get(session, article_id)
    unit = session.get(OrganizerUnit, article.unit_id) if article.unit_id else None
    editor = session.get(User, article.updated_by_id) if article.updated_by_id else None
    return {"article": article, "unit_name": unit.name if unit else None,
            "editor": editor.display_name if editor else None}


def units(session) -> list[OrganizerUnit]:
    """Units an article may belong to (active ones)."""
    return list(session.scalars(select(OrganizerUnit).where(OrganizerUnit.active).order_by(OrganizerUnit.code)))


def create(db, data: dict, actor) -> KnowledgeArticle:
    """Add an article. Organizer staff always write for their own unit.
    Raises Forbidden, InvalidInput (per field)."""
    if not may_edit(actor):
        raise Forbidden("your role may not write knowledge articles")
    with db.transaction() as session:
        fields = _clean(session, data, actor)
        article = KnowledgeArticle(**fields, updated_at=clock.now(), updated_by_id=actor.id)
        session.add(article)
        session.flush()
        reindex(session, article)
        history.record(session, "knowledge_created", actor_id=actor.id,
                       detail={"article_id": article.id, "title": article.title})
        return article


def update(db, article_id: int, data: dict, actor, seen_updated_at: str | None = None) -> KnowledgeArticle:
    """Change an article. `seen_updated_at` (ISO time the editor loaded) guards against
    overwriting someone else's newer edit. Raises NotFound, Forbidden, InvalidInput, Conflict."""
    with db.transaction() as session:
        article = session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.id == article_id)
                                 .with_for_update())
        if article is None:
            raise NotFound(f"knowledge article {article_id} does not exist")
        if not may_edit(actor, article):
            raise Forbidden("this article belongs to another unit")
        if seen_updated_at and _parse_time(seen_updated_at) != article.updated_at:
            raise Conflict("the article was changed by someone else; reload it and edit again")
        fields = _clean(session, data, actor, current=article)
        before = {"title": article.title, "active": article.active, "public": article.public}
        for name, value in fields.items():
            setattr(article, name, value)
        article.updated_at, article.updated_by_id = clock.now(), actor.id
        reindex(session, article)
        history.record(session, "knowledge_updated", actor_id=actor.id, before=before,
                       detail={"article_id": article.id},
                       after={"title": article.title, "active": article.active, "public": article.public})
        return article


def _parse_time(value: str):
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _clean(session, data: dict, actor, current: KnowledgeArticle | None = None) -> dict:
    title = (data.get("title") or "").strip()
    body = (data.get("body") or "").strip()
    category = (data.get("category") or "").strip() or None
    category_en = (data.get("category_en") or "").strip() or None if category else None
    errors = {}
    if not title:
        errors["title"] = ["必填项"]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"不超过 {TITLE_MAX} 字"]
    if not body:
        errors["body"] = ["必填项"]
    elif len(body) > BODY_MAX:
        errors["body"] = [f"不超过 {BODY_MAX} 字"]
    if category and len(category) > CATEGORY_MAX:
        errors["category"] = [f"不超过 {CATEGORY_MAX} 字"]
    if category_en and len(category_en) > CATEGORY_MAX:
        errors["category_en"] = [f"不超过 {CATEGORY_MAX} 字"]
    elif category and not category_en:  # a category keeps the English name it has elsewhere
        category_en = dict(categories(session)).get(category)
    if actor.role in PLATFORM_ROLES:
        unit_id = data.get("unit_id") or None
        if unit_id is not None and session.get(OrganizerUnit, unit_id) is None:
            errors["unit_id"] = ["承办单位不存在"]
    else:  # an organizer unit keeps its own articles: the unit cannot be changed
        unit_id = current.unit_id if current else actor.unit_id
    # the platform decides what the public portal shows; a unit's edit keeps the flag as it is
    public = bool(current.public) if current else False
    if actor.role in PLATFORM_ROLES and "public" in data:
        public = bool(data["public"])
    if errors:
        raise InvalidInput("the article is incomplete", errors)
    return {"title": title, "body": body, "category": category, "category_en": category_en, "unit_id": unit_id,
            "active": bool(data.get("active", True)), "public": public}


def reindex(session, article: KnowledgeArticle) -> None:
    """Replace the article's bigrams. Title and body are cut apart so no bigram spans both."""
    session.execute(delete(KnowledgeGram).where(KnowledgeGram.article_id == article.id))
    grams = bigrams(article.title) | bigrams(article.body)
    if grams:
        session.execute(insert(KnowledgeGram), [{"article_id": article.id, "gram": g} for g in sorted(grams)])


def search(session, query: str, category: str | None = None, unit_id: int | None = None,
           include_inactive: bool = False, limit: int = 50, public_only: bool = False) -> list[Hit]:
    """Articles matching every term of `query` (terms split on spaces), title hits first,
    then newest. An empty query lists the newest articles. `public_only`: the articles the
    public portal shows (active and marked public)."""
    terms = [normalize(t) for t in (query or "").split()]
    terms = [t for t in terms if t]
    base = select(KnowledgeArticle)
    if not include_inactive or public_only:
        base = base.where(KnowledgeArticle.active)
    if public_only:
        base = base.where(KnowledgeArticle.public)
    if category:
        base = base.where(KnowledgeArticle.category == category)
    if unit_id:
        base = base.where(KnowledgeArticle.unit_id == unit_id)
    for term in terms:
        if len(term) == 1:
            like = f"%{term}%"
            base = base.where(or_(func.lower(KnowledgeArticle.title).like(like),
                                  func.lower(KnowledgeArticle.body).like(like)))
    grams = set().union(*(bigrams(t) for t in terms if len(t) > 1))
    if grams:
        having = (select(KnowledgeGram.article_id).where(KnowledgeGram.gram.in_(grams))
                  .group_by(KnowledgeGram.article_id).having(func.count() == len(grams)))
        base = base.where(KnowledgeArticle.id.in_(having))
    articles = session.scalars(base.order_by(KnowledgeArticle.updated_at.desc()).limit(CANDIDATE_CAP))
    hits = []
    for article in articles:
        title, body = normalize(article.title), normalize(article.body)
        if all(t in title or t in body for t in terms):  # bigrams found apart are no match
            hits.append(Hit(article, None, snippet(article.body, terms),
                            title_hit=bool(terms) and any(t in title for t in terms)))
    hits.sort(key=lambda h: (not h.title_hit, -h.article.updated_at.timestamp()))
    return _with_units(session, hits[:limit])


def suggest(session, text: str, limit: int = 5, public_only: bool = False) -> list[Hit]:
    """Articles that answer a free text (what the caller says): ranked by the bigrams they
    share with it, rare bigrams weighing more (inverse document frequency). A few characters
    are a keyword: searched as such. `public_only`: among the articles the portal shows."""
    if len(normalize(text)) <= 4:
        return search(session, text, limit=limit, public_only=public_only)
    grams = sorted(bigrams(text))[:400]
    if not grams:
        return []
    shown = KnowledgeArticle.active & KnowledgeArticle.public if public_only else KnowledgeArticle.active
    total = session.scalar(select(func.count()).select_from(KnowledgeArticle).where(shown)) or 0
    active = select(KnowledgeArticle.id).where(shown)
    rows = session.execute(select(KnowledgeGram.article_id, KnowledgeGram.gram).where(
        KnowledgeGram.gram.in_(grams), KnowledgeGram.article_id.in_(active))).all()
    frequency: dict[str, int] = {}
    for _, gram in rows:
        frequency[gram] = frequency.get(gram, 0) + 1
    scores: dict[int, float] = {}
    for article_id, gram in rows:
        scores[article_id] = scores.get(article_id, 0.0) + math.log(1 + total / frequency[gram])
    # worth two bigrams found in at most a quarter of the articles: one common word like
    # "办理" shared with the caller's words is no suggestion
    threshold = 2 * math.log(1 + 4)
    best = sorted((i for i in scores if scores[i] > threshold), key=lambda i: -scores[i])[:limit]
    articles = {a.id: a for a in session.scalars(select(KnowledgeArticle).where(KnowledgeArticle.id.in_(best)))}
    hits = []
    for article_id in best:
        article = articles[article_id]
        hits.append(Hit(article, None, snippet(article.body, []), title_hit=False, score=round(scores[article_id], 2)))
    return _with_units(session, hits)


def snippet(body: str, terms: list[str], width: int = 80) -> str:
    """A piece of the body around the first term found (or its start)."""
    flat = " ".join((body or "").split())
    lowered = unicodedata.normalize("NFKC", flat).lower()
    position = min((p for p in (lowered.find(t) for t in terms) if p >= 0), default=0)
    start = max(0, position - width // 4)
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def categories(session) -> list[tuple[str, str | None]]:
    """(category, its English name) of every category in use, by name; the English name is the
    newest article's that gives one."""
    found: dict[str, str | None] = {}
    for name, english in session.execute(select(KnowledgeArticle.category, KnowledgeArticle.category_en)
                                         .where(KnowledgeArticle.category.is_not(None))
                                         .order_by(KnowledgeArticle.updated_at.desc())):
        found[name] = found.get(name) or english
    return sorted(found.items())


def _with_units(session, hits: list[Hit]) -> list[Hit]:
    unit_ids = {h.article.unit_id for h in hits if h.article.unit_id}
    names = dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)
                                 .where(OrganizerUnit.id.in_(unit_ids))).all()) if unit_ids else {}
    for hit in hits:
        hit.unit_name = names.get(hit.article.unit_id)
    return hits
