"""Delivering the notification outbox. Rows are written by state changes in their own
transaction; a worker sends them afterwards. A sender that fails leaves the row unsent with
the error and a later retry time (backing off up to an hour), so nothing is lost while a
gateway is down.

Senders are pluggable: NOTIFICATION_SENDER=log (default) writes each message to the log;
NOTIFICATION_SENDER=http with SMS_GATEWAY_URL posts JSON to an SMS gateway.
"""
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import or_, select

from . import clock, registry
from .models import Notification

log = logging.getLogger("runtime.outbox")
MAX_BACKOFF = timedelta(hours=1)


class SendError(Exception):
    """A sender could not deliver; the notification is retried later."""


class LoggingSender:
    """The default sender: writes each message to the log."""

    def send(self, notification: Notification) -> None:
        log.info("notify %s %s: %s", notification.channel, notification.recipient, notification.body)


class HttpSender:
    """Posts {"id", "channel", "recipient", "body"} as JSON to a gateway; any non-2xx is a failure."""

    def __init__(self, url: str, timeout: float = 5.0):
        self.url, self.timeout = url, timeout

    def send(self, notification: Notification) -> None:
        payload = json.dumps({"id": notification.id, "channel": notification.channel,
                              "recipient": notification.recipient, "body": notification.body},
                             ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=payload, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError) as err:  # HTTPError is a URLError
            raise SendError(f"gateway {self.url}: {err}") from err


def sender_from_config(config) -> object:
    if config.get("NOTIFICATION_SENDER", "log") == "http":
        return HttpSender(config["SMS_GATEWAY_URL"])
    return LoggingSender()


def deliver_pending(db, sender, batch: int = 100) -> int:
    """Send up to `batch` due notifications; returns how many were sent."""
    sent, now = 0, clock.now()
    with db.transaction() as session:
        query = (select(Notification).where(Notification.sent_at.is_(None), or_(
            Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
                 .order_by(Notification.id).limit(batch))
        if db.is_postgres:  # several workers: each takes different rows
            query = query.with_for_update(skip_locked=True)
        for notification in session.scalars(query):
            notification.attempts += 1
            try:
                sender.send(notification)
            except SendError as err:
                notification.last_error = str(err)[:2000]
                notification.next_attempt_at = now + min(timedelta(seconds=10 * 2 ** notification.attempts),
                                                         MAX_BACKOFF)
                continue
            notification.sent_at = now
            # one-time links are their recipient's secrets: once sent, the outbox keeps the
            # message without them, so no one reading the table can answer in their name
            if (secrets := registry.current().secret_links) is not None:
                notification.body = secrets.sub(r"\1…", notification.body)
            sent += 1
    return sent
