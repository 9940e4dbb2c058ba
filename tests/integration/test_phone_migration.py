"""Migration 0013 puts the phone numbers stored before E.164 into E.164, the appellants' and the
SMS outbox's alike, and leaves what it cannot read as it was."""
from sqlalchemy import inspect, text

from runtime import schema

from .test_migrations import _an_appeal_being_handled

CONTACTS = {  # id: (stored before 0013, after)
    1: ("138-0000-1234", "+8613800001234"),
    2: ("0591-87654321", "+8659187654321"),
    3: ("+8613900001111", "+8613900001111"),
    4: ("12345", "12345"),  # no one's number: kept as it was, for a person to look at
    5: ("0591-1234", "0591-1234"),
    6: ("已匿名", "已匿名"),  # anonymised long ago (hotline.privacy)
}


def test_stored_numbers_become_e164_and_the_others_stay(empty_database):
    db = empty_database
    schema.upgrade(db, "0012")
    with db.engine.begin() as conn:
        _an_appeal_being_handled(conn, simple="false")
        for i, (phone, _) in CONTACTS.items():
            appeal = 40 + i
            if appeal != 41:
                _copy_of_appeal_41(conn, appeal)
            conn.execute(text("INSERT INTO appellant_contact (id, appeal_id, kind, phone, agrees_to_disclose) "
                              "VALUES (:id, :appeal, 'citizen', :phone, false)"), {"id": i, "appeal": appeal, "phone": phone})
        for i, recipient in ((1, "138 0000 1234"), (2, "unit:3:leader"), (3, "12345")):
            conn.execute(text("INSERT INTO notification (id, business_key, channel, recipient, body, created_at, "
                              "attempts) VALUES (:id, 41, 'sms', :to, 'b', '2026-12-01 02:00:00', 0)"),
                         {"id": i, "to": recipient})
        conn.execute(text("INSERT INTO notification (id, business_key, channel, recipient, body, created_at, attempts) "
                          "VALUES (4, 41, 'in_app', '13800001234', 'b', '2026-12-01 02:00:00', 0)"))
    schema.upgrade(db, "0013")
    with db.engine.connect() as conn:
        phones = dict(conn.execute(text("SELECT id, phone FROM appellant_contact")).all())
        recipients = dict(conn.execute(text("SELECT id, recipient FROM notification")).all())
    assert phones == {i: after for i, (_, after) in CONTACTS.items()}
    assert recipients == {1: "+8613800001234", 2: "unit:3:leader", 3: "12345", 4: "13800001234"}


def _copy_of_appeal_41(conn, appeal_id):
    """Another appeal like 41 (each appeal has one contact row)."""
    columns = [c["name"] for c in inspect(conn).get_columns("appeal") if c["name"] not in ("id", "number")]
    listed = ", ".join(columns)
    conn.execute(text(f"INSERT INTO appeal (id, number, {listed}) SELECT :id, :number, {listed} FROM appeal WHERE id = 41"),
                 {"id": appeal_id, "number": f"FJ20261201-{appeal_id:06d}"})
