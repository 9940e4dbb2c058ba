"""Idempotency keys (the `Idempotency-Key` header of an API call, the form token of a page): a
client that retries a request whose answer it never received gets the first answer again, and
nothing is done twice.

The key is kept in the same transaction as the change it guards, so either both are saved or
neither. Two requests with the same key at the same moment: the second one's insert breaks the
unique (scope, key) constraint, its whole transaction rolls back, and it answers with the first
one's result. The same key with a different request body is a Conflict.
"""
import hashlib
import json
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .errors import Conflict, InvalidInput
from .models import IdempotencyKey

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces: a UUID, a ULID, a counter


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict | None
    replayed: bool = False  # the answer given to the first request with this key


def checked_key(key: str | None) -> str | None:
    """The header's value, or None when there is none. Raises InvalidInput when it is not 1 to 200
    printable ASCII characters."""
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidInput("bad Idempotency-Key", {"Idempotency-Key": ["应为 1 至 200 个可打印 ASCII 字符"]})
    return key


def fingerprint(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def earlier(session, scope: str, key: str, request_hash: str) -> Answer | None:
    """The answer given to this key before, or None. Raises Conflict (reason
    `idempotency_key_reused`) when the key came with another request."""
    row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Conflict("this Idempotency-Key was used with a different request", "idempotency_key_reused")
    return Answer(row.status_code, row.body, replayed=True)


def remember(session, scope: str, key: str, request_hash: str, answer: Answer) -> None:
    """Keep the answer, in the caller's transaction (flushed now, so a concurrent twin fails here)."""
    session.add(IdempotencyKey(scope=scope, key=key, request_hash=request_hash, status_code=answer.status_code,
                               body=answer.body))
    session.flush()


def once(db, scope: str, key: str | None, payload, perform) -> Answer:
    """Run `perform(remember_in)` at most once per (scope, key): `perform` does the change in its
    own transaction and calls `remember_in(session, answer)` inside it. Without a key it simply
    runs. Returns the answer (the earlier one for a retry)."""
    if key is None:
        return perform(lambda session, answer: None)
    request_hash = fingerprint(payload)
    with db.read() as session:
        found = earlier(session, scope, key, request_hash)
    if found is not None:
        return found
    try:
        return perform(lambda session, answer: remember(session, scope, key, request_hash, answer))
    except (IntegrityError, Conflict):
        with db.read() as session:  # a twin request with this key committed first (the key, or the task done)
            found = earlier(session, scope, key, request_hash)
        if found is None:
            raise
        return found
