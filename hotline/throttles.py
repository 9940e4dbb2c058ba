"""Sign-in throttles: failed sign-ins slow down the account they name and the address they come
from, with delays that grow; nothing here ever locks an account.

Rules (hotline.accounts.sign_in applies them; the reply never says which one refused):
- an account is the username as typed, in lower case, whether or not such a user exists (so an
  unknown name behaves exactly like a real one); an address is the client's IP address;
- the first ACCOUNT_FREE - 1 failures of an account cost nothing; the ACCOUNT_FREE-th blocks it
  for BASE_DELAY, each further failure doubles the delay, up to MAX_DELAY (see `delay`);
- an address gets ADDRESS_FREE failures first: a call centre's agents share one address, and a
  stranger guessing many accounts from one address is what this throttle is for;
- while an account or an address is blocked, an attempt is refused without checking the
  password, and it does not count (so it does not extend the block);
- an attempt with an empty password or a username no account can have (hotline.accounts.USERNAME)
  is refused without counting: nothing is being guessed;
- failures are forgotten FORGET_AFTER after the last one;
- a successful sign-in clears its account's row, not its address's: otherwise anyone with one
  valid account could wipe the address throttle between guesses at other accounts;
- an administrator may clear any row (recorded in history).
"""
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from runtime import history
from runtime.errors import NotFound

from .models import SignInThrottle

ACCOUNT_FREE = 3
ADDRESS_FREE = 20
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=5)
FORGET_AFTER = timedelta(hours=1)
KINDS = ("account", "address")


def delay(failures: int, free: int) -> timedelta:
    """How long the failures-th failure in a row blocks the next attempt, with `free` failures
    before the first delay. For the account rule (free = 3):

        failures 1, 2 → none;  3 → 30 s;  4 → 1 min;  5 → 2 min;  6 → 4 min;  7 and more → 5 min
    """
    if failures < free:
        return timedelta(0)
    return min(BASE_DELAY * 2 ** min(failures - free, 16), MAX_DELAY)


def keys(username: str, address: str | None) -> list[tuple[str, str]]:
    """The (kind, key) rows an attempt is counted under."""
    found = [("account", username.strip().lower()[:200])]
    if address:
        found.append(("address", address[:200]))
    return found


def hold(session, found: list[tuple[str, str]], now: datetime) -> bool:
    """Lock the attempt's rows (creating them if need be), so that attempts on one account or
    from one address are checked one after another; True if one of them blocks it now."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for kind, key in found:
        session.execute(insert(SignInThrottle).values(kind=kind, key=key, failures=0)
                        .on_conflict_do_nothing(index_elements=["kind", "key"]))
    rows = _rows(session, found)
    return any(row.blocked_until is not None and row.blocked_until > now for row in rows)


def record_failure(session, found: list[tuple[str, str]], now: datetime) -> None:
    """Count a failed sign-in under each of the attempt's rows (held by `hold`)."""
    for row in _rows(session, found):
        stale = row.last_failure_at is None or now - row.last_failure_at > FORGET_AFTER
        row.failures = 1 if stale else row.failures + 1
        row.last_failure_at = now
        wait = delay(row.failures, ACCOUNT_FREE if row.kind == "account" else ADDRESS_FREE)
        row.blocked_until = now + wait if wait else None


def record_success(session, found: list[tuple[str, str]]) -> None:
    """A successful sign-in: the account's row goes; an address row goes only if it holds no
    failures (it was made by `hold`)."""
    for row in _rows(session, found):
        if row.kind == "account" or not row.failures:
            session.delete(row)


def current(session, now: datetime, limit: int = 200) -> list[SignInThrottle]:
    """Rows that still count: blocked now, or with failures not yet forgotten; blocked ones
    first, then the latest failure first."""
    query = (select(SignInThrottle)
             .where(or_(SignInThrottle.blocked_until > now,
                        (SignInThrottle.failures > 0) & (SignInThrottle.last_failure_at >= now - FORGET_AFTER)))
             .order_by(SignInThrottle.last_failure_at.desc(), SignInThrottle.id.desc()).limit(limit))
    rows = list(session.scalars(query))
    return sorted(rows, key=lambda row: not (row.blocked_until and row.blocked_until > now))  # stable


def for_account(session, username: str) -> SignInThrottle | None:
    return session.scalar(select(SignInThrottle).where(SignInThrottle.kind == "account",
                                                       SignInThrottle.key == username.lower()))


def clear(db, throttle_id: int, actor) -> SignInThrottle:
    """Forget a row's failures at once (an administrator, after making sure who is asking).
    Raises NotFound."""
    with db.transaction() as session:
        row = session.scalar(select(SignInThrottle).where(SignInThrottle.id == throttle_id).with_for_update())
        if row is None:
            raise NotFound(f"sign-in throttle {throttle_id} does not exist")
        history.record(session, "sign_in_throttle_cleared", actor_id=actor.id,
                       detail={"throttle_id": row.id, "kind": row.kind, "key": row.key},
                       before={row.kind: row.key, "failures": row.failures,
                               "blocked_until": row.blocked_until.isoformat() if row.blocked_until else None})
        session.execute(delete(SignInThrottle).where(SignInThrottle.id == row.id))
        return row


def _rows(session, found: list[tuple[str, str]]) -> list[SignInThrottle]:
    return list(session.scalars(select(SignInThrottle)
                                .where(tuple_(SignInThrottle.kind, SignInThrottle.key).in_(found))
                                .order_by(SignInThrottle.kind).with_for_update()))
