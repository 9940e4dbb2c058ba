"""Finding appeals by a word of their title at a million appeals (issue 14): every two-character
piece of each title is kept in `appeal_gram` (written whenever an appeal row is inserted or its
title changes, by whatever code does it), so a rare word is looked up by its rarest piece on
that index and then checked whole; a common word or a single character is a substring test
along the list's own order, which meets enough matches soon."""
from sqlalchemy import delete, event, func, insert, inspect, select

from .knowledge import bigrams
from .models import Appeal, AppealGram

RARE = 5000  # a word whose rarest piece is in at most this many titles is looked up by that piece


def condition(session, text: str):
    """A WHERE condition on Appeal: its title contains `text` (case-insensitively). A rare word
    is looked up by the appeals holding its rarest two-character piece (one capped count per
    piece tells which); a common one is found soon enough by the substring test walking the
    newest appeals, which a lookup of its many appeals would only slow down."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    contains = Appeal.title.ilike(f"%{escaped}%", escape="\\")
    grams = sorted(bigrams(text))
    if not grams:
        return contains
    counts = session.execute(select(*(
        select(func.count()).select_from(select(AppealGram.appeal_id).where(AppealGram.gram == g)
                                         .limit(RARE + 1).subquery()).scalar_subquery() for g in grams))).one()
    rarest, found = min(zip(grams, counts, strict=True), key=lambda pair: pair[1])
    if found > RARE:
        return contains
    return Appeal.id.in_(select(AppealGram.appeal_id).where(AppealGram.gram == rarest)) & contains


def rows(appeal_id: int, title: str) -> list[dict]:
    return [{"gram": g, "appeal_id": appeal_id} for g in sorted(bigrams(title))]


def install() -> None:
    """Keep `appeal_gram` in step with every appeal row written through the ORM (idempotent)."""
    for name, listener in (("after_insert", _inserted), ("after_update", _updated)):
        if not event.contains(Appeal, name, listener):
            event.listen(Appeal, name, listener)


def _inserted(_mapper, connection, appeal):
    if found := rows(appeal.id, appeal.title):
        connection.execute(insert(AppealGram), found)


def _updated(_mapper, connection, appeal):
    if not inspect(appeal).attrs.title.history.has_changes():
        return
    connection.execute(delete(AppealGram).where(AppealGram.appeal_id == appeal.id))
    if found := rows(appeal.id, appeal.title):
        connection.execute(insert(AppealGram), found)
