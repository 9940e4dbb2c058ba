"""Issue 12 item 8 (PIPL Art. 19, 47): the appellant of a closed appeal is kept no longer than the
retention period: then name, phone and ID number are anonymised, where the outbox addressed
them too, recorded in history; open appeals and the handling record are untouched."""
from datetime import timedelta

from sqlalchemy import select

from hotline import privacy
from hotline.models import AppellantContact
from runtime import clock
from runtime.models import Notification

SATISFIED = {"visit_method": "phone", "evaluation": "satisfied", "resolved": True}


def _contact(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(AppellantContact).where(AppellantContact.appeal_id == appeal_id))


def test_closed_appeals_past_the_retention_period_lose_the_appellants_identity(db, walk, unit_id):
    closed = walk.to_signed(unit_id=unit_id, appellant={"kind": "citizen", "name": "王五", "phone": "13700001111",
                                                        "id_number": "350102199001011234"})
    walk.to_replied(closed)
    walk.complete(closed, "revisit1", "ut_return_visit", SATISFIED)
    still_open = walk.to_signed(unit_id=unit_id)
    with db.read() as session:
        assert session.scalars(select(Notification).where(Notification.business_key == closed,
                                                          Notification.recipient == "+8613700001111")).all()
    now = clock.now()
    privacy.anonymise_expired(db, 30, now + timedelta(days=29))  # the demo's older appeals go, not this one yet
    assert _contact(db, closed).name == "王五"
    assert privacy.anonymise_expired(db, 30, now + timedelta(days=31)) >= 1
    contact = _contact(db, closed)
    assert (contact.name, contact.phone, contact.id_number) == (None, privacy.ANONYMISED, None)
    assert contact.anonymized_at is not None
    assert _contact(db, still_open).phone == "+8613800001234"  # an open appeal keeps its appellant
    with db.read() as session:
        assert not session.scalars(select(Notification).where(Notification.recipient == "+8613700001111")).all()
    history = walk.detail(closed)["history"]
    assert next(e for e in history if e["action"] == "appellant_anonymised")["detail"] == {"retention_days": 30}
    assert walk.detail(closed)["appeal"]["handling_result"]  # the handling record stays for evaluation
    assert privacy.anonymise_expired(db, 30, now + timedelta(days=31)) == 0  # done once


def test_the_worker_anonymises_every_hour_with_the_configured_period(app):
    """The job loop runs it (web/cli.py), with RETENTION_DAYS from the environment (default 730)."""
    from web.cli import _scheduler
    assert app.config["RETENTION_DAYS"] == 730
    job = _scheduler(app, background=True).get_job("retention")
    assert job.func.__name__ == privacy.anonymise_expired.__name__ and job.args[1] == 730
    assert job.func.__wrapped__ is privacy.anonymise_expired  # wrapped only to log what it did
