"""Delivering the notification outbox. Rows are written by state changes in their own
transaction; here a worker sends them and marks them sent. A sender that fails leaves the
row unsent (attempts and last error recorded), so nothing is lost while a gateway is down."""
import logging

from sqlalchemy import select

from . import clock
from .models import Notification

log = logging.getLogger("hotline.outbox")
MAX_ATTEMPTS = 10


class LoggingSender:
    """The default sender: writes each message to the log (a real SMS gateway plugs in here)."""

    def send(self, notification: Notification) -> None:
        log.info("notify %s %s: %s", notification.channel, notification.recipient, notification.body)


class SendError(Exception):
    """A sender could not deliver; the notification is retried later."""


def deliver_pending(db, sender, batch: int = 100) -> int:
    """Send up to `batch` unsent notifications; returns how many were sent."""
    sent = 0
    with db.transaction() as session:
        query = (select(Notification).where(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
                 .order_by(Notification.id).limit(batch))
        if db.is_postgres:  # several workers: each takes different rows
            query = query.with_for_update(skip_locked=True)
        for notification in session.scalars(query):
            notification.attempts += 1
            try:
                sender.send(notification)
            except SendError as err:
                notification.last_error = str(err)[:2000]
                continue
            notification.sent_at = clock.now()
            sent += 1
    return sent
