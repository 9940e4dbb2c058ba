"""Users and API tokens: argon2 password hashes; tokens stored only as SHA-256 digests."""
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from . import clock
from .calendar import TZ
from .errors import Forbidden
from .models import ApiToken, User

TOKEN_LIFETIME = timedelta(hours=12)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-password")


def use_fast_hashing() -> None:
    """Cheap argon2 parameters for test suites only."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def sign_in(db, username: str, password: str) -> User:
    """Check a password in its own transaction. Five failures in a row lock the account for
    15 minutes (the failures are kept even though the attempt is refused).

    Raises Forbidden with the same message for an unknown user and a wrong password, and a
    separate message while the account is locked.
    """
    now = clock.now()
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username).with_for_update())
        if user is not None and user.locked_until is not None and user.locked_until > now:
            raise Forbidden(f"登录失败次数过多，账号已锁定至 {user.locked_until.astimezone(TZ):%H:%M}")
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
            ok = user is not None and user.active
        except (VerificationError, InvalidHashError):
            ok = False
        if ok:
            user.failed_logins, user.locked_until = 0, None
            return user
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins, user.locked_until = 0, now + LOCKOUT
    raise Forbidden("用户名或密码错误")


def issue_token(session, user: User) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(token_hash=_digest(token), user_id=user.id, expires_at=clock.now() + TOKEN_LIFETIME)
    session.add(row)
    return token, row


def user_for_token(session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.expires_at <= clock.now() or not row.user.active:
        return None
    return row.user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
