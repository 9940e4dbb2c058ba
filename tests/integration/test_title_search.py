"""Finding an appeal by a word of its title through the two-character index (issue 14), the
same way on SQLite and PostgreSQL: a word of two or more characters, in any letter case or
width, through the index; one character by a substring scan; an appeal written by any code
path is indexed."""
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from hotline import monitor, title_search
from hotline.models import Appeal, AppealGram
from runtime import clock


def _titles(db, text):
    """What the monitor's instance list finds (registered appeals, with their instances)."""
    with db.read() as session:
        return {row["title"] for row in monitor.list_instances(session, monitor.InstanceFilter(text=text),
                                                               clock.now()).rows}


def _matching(db, text):
    """Every appeal row the title condition holds for."""
    with db.read() as session:
        return set(session.scalars(select(Appeal.title).where(title_search.condition(session, text))))


def test_a_title_word_is_found_through_its_pieces(db, walk):
    token = uuid.uuid4().hex[:6].upper()
    walk.register(title=f"楼道堆物占用消防通道{token}")
    walk.register(title=f"消防栓漏水{token}")
    with db.read() as session:
        appeal_id = session.scalar(select(Appeal.id).where(Appeal.title == f"楼道堆物占用消防通道{token}"))
        grams = set(session.scalars(select(AppealGram.gram).where(AppealGram.appeal_id == appeal_id)))
    assert {"楼道", "消防", "通道", token[:2].lower()} <= grams  # normalised: lower case
    assert _titles(db, f"消防通道{token.lower()}") == {f"楼道堆物占用消防通道{token}"}
    assert _titles(db, f"消防{token}") == set()  # pieces found apart are no match
    assert len(_titles(db, token)) == 2


def test_an_appeal_written_directly_is_indexed_and_a_title_change_reindexed(db):
    token = uuid.uuid4().hex[:6]
    with db.transaction() as session:
        appeal = Appeal(number=f"FJ20190105-{uuid.uuid4().int % 900000 + 100000}", appeal_type="help",
                        channel="phone", status="archived", title=f"井盖缺失{token}", content="-",
                        accepted_at=clock.now() - timedelta(days=3))
        session.add(appeal)
    assert _matching(db, f"井盖缺失{token}") == {f"井盖缺失{token}"}
    with db.transaction() as session:
        session.get(Appeal, appeal.id).title = f"路灯损坏{token}"
    assert _matching(db, f"井盖缺失{token}") == set() and _matching(db, f"损坏{token}") == {f"路灯损坏{token}"}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AppealGram)
                              .where(AppealGram.appeal_id == appeal.id, AppealGram.gram == "井盖")) == 0
