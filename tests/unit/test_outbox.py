"""Notifications leave through the outbox: sent once, retried while the gateway is down."""
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from runtime import clock, outbox
from runtime.models import Notification


class Gateway(BaseHTTPRequestHandler):
    received, fail = [], False

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Gateway.fail:
            self.send_response(503)
        else:
            Gateway.received.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    Gateway.received, Gateway.fail = [], False
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/sms"
    server.shutdown()


def _pending(db):
    with db.transaction() as session:
        for n in session.scalars(select(Notification).where(Notification.sent_at.is_(None))):
            n.sent_at = clock.now()  # other tests' messages are not this test's business
        note = Notification(channel="sms", recipient="13800001234", body="您的诉求已受理")
        session.add(note)
        session.flush()
        return note.id


def _row(db, note_id):
    with db.read() as session:
        return session.get(Notification, note_id)


def test_the_http_sender_posts_each_message_once(db, gateway):
    note_id = _pending(db)
    sender = outbox.HttpSender(gateway)
    assert outbox.deliver_pending(db, sender) == 1
    assert outbox.deliver_pending(db, sender) == 0
    assert [(m["id"], m["recipient"], m["body"]) for m in Gateway.received] == [(note_id, "13800001234", "您的诉求已受理")]
    assert _row(db, note_id).sent_at is not None


def test_a_message_is_kept_and_retried_while_the_gateway_is_down(db, gateway):
    note_id = _pending(db)
    sender = outbox.HttpSender(gateway)
    Gateway.fail = True
    assert outbox.deliver_pending(db, sender) == 0
    row = _row(db, note_id)
    assert row.sent_at is None and row.attempts == 1 and "503" in row.last_error
    assert outbox.deliver_pending(db, sender) == 0  # backing off: not tried again at once
    assert _row(db, note_id).attempts == 1
    Gateway.fail = False
    clock.set_now(row.next_attempt_at + timedelta(seconds=1))
    try:
        assert outbox.deliver_pending(db, sender) == 1
    finally:
        clock.set_now(None)
    assert _row(db, note_id).attempts == 2 and len(Gateway.received) == 1


def test_an_unreachable_gateway_is_a_retry_not_a_crash(db):
    note_id = _pending(db)
    assert outbox.deliver_pending(db, outbox.HttpSender("http://127.0.0.1:9/nothing", timeout=1)) == 0
    assert _row(db, note_id).sent_at is None


def test_the_sender_comes_from_configuration():
    assert isinstance(outbox.sender_from_config({}), outbox.LoggingSender)
    sender = outbox.sender_from_config({"NOTIFICATION_SENDER": "http", "SMS_GATEWAY_URL": "http://gw/sms"})
    assert isinstance(sender, outbox.HttpSender) and sender.url == "http://gw/sms"


def test_a_sent_message_keeps_no_one_time_link(db, gateway):
    note_id = _pending(db)
    link = "http://127.0.0.1:5000/e/Qm9xZXJfdG9rZW5fZm9yX3Rlc3Q"
    with db.transaction() as session:
        session.get(Notification, note_id).body = f"请评价办理结果：{link}"
    assert outbox.deliver_pending(db, outbox.HttpSender(gateway)) == 1
    assert Gateway.received[0]["body"] == f"请评价办理结果：{link}"  # the appellant gets the link
    assert _row(db, note_id).body == "请评价办理结果：http://127.0.0.1:5000/e/…"  # the table keeps none
