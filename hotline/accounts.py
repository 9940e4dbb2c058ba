"""Accounts: signing in (argon2 password hashes; failures slow down, never lock, see
hotline.throttles), sessions that end, API tokens (stored only as SHA-256 digests), and the user
directory administrators keep. Organizer units
and regions' fallback units are in hotline.units. Every change is one transaction with its
history event (no business key); passwords never reach the history.

Rules checked here, not in the pages:
- organizer staff and leaders belong to an active unit; every other role to none;
- a password has at least PASSWORD_MIN characters of three kinds (upper case, lower case,
  digits, symbols) and does not contain the username;
- administrators never deactivate or demote themselves (so one active administrator remains);
- signing out, a password reset, a change of role or unit and deactivation end every session and
  token of the user at once: `end_sessions` raises the user's auth_version (page sessions carry
  the version they were opened under, web.auth checks it on every request) and deletes the
  user's API tokens, in the transaction of the change. (A throttle ends nothing: a stranger can
  cause one.)
"""
import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select

from runtime import clock, history
from runtime.errors import Forbidden, InvalidInput, NotFound
from runtime.models import HistoryEvent

from . import texts, throttles
from .access import ORGANIZER_ROLES, ROLES
from .models import ApiToken, Centre, OrganizerUnit, Region, User

TOKEN_LIFETIME = timedelta(hours=12)
WRONG_CREDENTIALS = "用户名或密码错误"  # the one reply to a wrong password, an unknown user, a throttle
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


def sign_in(db, username: str, password: str, address: str | None = None, replacing: int | None = None) -> User:
    """Check a password in its own transaction, throttled per account and per client address
    (hotline.throttles; the failure is kept even though the attempt is refused). `replacing`:
    the user signed in on this browser until now; signing in as someone else ends that user's
    sessions in the same transaction (a shared workstation changes hands in one step).

    Raises Forbidden with one message for an unknown user, a wrong password, a deactivated
    account and a throttled attempt.
    """
    with db.transaction() as session:
        user = _check(session, username, password, address)
        if user is not None and replacing is not None and replacing != user.id:
            previous = session.scalar(select(User).where(User.id == replacing).with_for_update())
            if previous is not None:
                end_sessions(session, previous)
    if user is None:
        raise Forbidden(WRONG_CREDENTIALS)
    return user


def issue_api_token(db, username: str, password: str, address: str | None = None) -> tuple[str, ApiToken, User]:
    """Sign in and issue an API token in the same transaction (so a password reset cannot fall
    between the check and the token). Raises Forbidden as sign_in does."""
    with db.transaction() as session:
        user = _check(session, username, password, address)
        if user is not None:
            token, row = issue_token(session, user)
    if user is None:
        raise Forbidden(WRONG_CREDENTIALS)
    return token, row, user


def _check(session, username: str, password: str, address: str | None) -> User | None:
    """The user if the password is theirs and the attempt is not throttled; None otherwise
    (the failure counted; a throttled attempt is refused before the password is looked at)."""
    if not password or not USERNAME.fullmatch(username):
        return None  # no account can have this name or password: nothing is guessed, nothing counted
    now, keys = clock.now(), throttles.keys(username, address)
    if throttles.hold(session, keys, now):
        return None
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        throttles.record_failure(session, keys, now)
        return None
    throttles.record_success(session, keys)
    return user


def end_sessions(session, user: User) -> None:
    """Void every page session and API token of the user (call with the user row locked)."""
    user.auth_version = (user.auth_version or 0) + 1
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def sign_out(db, user_id: int) -> None:
    """End every session and token of the user (signing out anywhere signs out everywhere)."""
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        if user is not None:
            end_sessions(session, user)


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


PASSWORD_MIN = 10
USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,49}")
USER_ACTIONS = ("user_created", "user_updated", "password_reset", "user_unlocked")  # unlocks: before 0012


def password_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with a new password (empty when it is acceptable)."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append("密码至少 10 个字符")
    kinds = sum(bool(re.search(p, password)) for p in (r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if kinds < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    return problems


def list_users(session, role=None, unit_id=None, active=None, text=None) -> list[User]:
    """Users matching every filter given (text: part of the username or display name)."""
    query = select(User).order_by(User.role, User.username)
    if role:
        query = query.where(User.role == role)
    if unit_id:
        query = query.where(User.unit_id == unit_id)
    if active is not None:
        query = query.where(User.active.is_(active))
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.username.ilike(like, escape="\\"), User.display_name.ilike(like, escape="\\")))
    return list(session.scalars(query))


def get_user(session, user_id: int, lock: bool = False) -> User:
    """Raises NotFound."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update() if lock
                          else select(User).where(User.id == user_id))
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _check_profile(session, data: dict, errors: dict) -> None:
    if not 1 <= len(data.get("display_name") or "") <= 100:
        errors.setdefault("display_name", []).append("请填写姓名（不超过 100 个字符）")
    for problem in texts.line_problems(data.get("display_name")):
        errors.setdefault("display_name", []).append(problem)
    role, unit_id = data.get("role"), data.get("unit_id")
    if role not in ROLES:
        errors.setdefault("role", []).append("请选择角色")
    elif role in ORGANIZER_ROLES:
        unit = session.get(OrganizerUnit, unit_id) if unit_id else None
        if unit is None:
            errors.setdefault("unit_id", []).append("承办人和承办单位负责人必须选择所属单位")
        elif not unit.active:
            errors.setdefault("unit_id", []).append("该单位已停用")
    elif unit_id:
        errors.setdefault("unit_id", []).append("平台角色不属于承办单位，请不要选择单位")
    centre_id = data.get("centre_id")
    if centre_id is not None:
        if role in ORGANIZER_ROLES:
            errors.setdefault("centre_id", []).append("承办单位人员不属于热线中心，请不要选择中心")
        elif session.get(Centre, centre_id) is None:
            errors.setdefault("centre_id", []).append("热线中心不存在")


def _check_password(data: dict, errors: dict) -> None:
    password = data.get("password") or ""
    problems = password_problems(password, data.get("username", ""))
    if problems:
        errors["password"] = problems
    elif "password_confirm" in data and data["password_confirm"] != password:
        errors["password_confirm"] = ["两次输入的密码不一致"]


def _profile(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "unit_id": user.unit_id, "centre_id": user.centre_id, "active": user.active}


def create_user(db, data: dict, actor) -> User:
    """data: username, display_name, role, unit_id, centre_id (platform staff: the centre they
    work at), password (and password_confirm).
    Raises InvalidInput (per field, including a username already taken)."""
    with db.transaction() as session:
        errors = {}
        username = data.get("username") or ""
        if not USERNAME.fullmatch(username):
            errors["username"] = ["用户名为 3–50 位小写字母、数字、下划线、点或连字符，以字母开头"]
        elif session.scalar(select(User.id).where(func.lower(User.username) == username)):
            errors["username"] = ["该用户名已被使用"]
        _check_profile(session, data, errors)
        _check_password(data, errors)
        if errors:
            raise InvalidInput("invalid user", errors)
        user = User(username=username, display_name=data["display_name"], role=data["role"],
                    unit_id=data.get("unit_id") if data["role"] in ORGANIZER_ROLES else None,
                    centre_id=None if data["role"] in ORGANIZER_ROLES else data.get("centre_id"),
                    password_hash=hash_password(data["password"]), active=True, failed_logins=0)
        session.add(user)
        session.flush()
        history.record(session, "user_created", actor_id=actor.id, detail={"user_id": user.id},
                       after=_profile(user))
        return user


def update_user(db, user_id: int, data: dict, actor) -> User:
    """data: display_name, role, unit_id, centre_id (left as it is when absent), active.
    Deactivating or a new role, unit or centre ends the
    user's sessions and tokens (end_sessions).
    Raises NotFound, InvalidInput (per field; also for changing one's own role or active flag)."""
    with db.transaction() as session:
        user = get_user(session, user_id, lock=True)
        errors = {}
        _check_profile(session, data, errors)
        if user.id == actor.id and data.get("role") != user.role:
            errors.setdefault("role", []).append("不能更改自己的角色")
        if user.id == actor.id and not data.get("active"):
            errors.setdefault("active", []).append("不能停用自己的账号")
        if errors:
            raise InvalidInput("invalid user", errors)
        before = _profile(user)
        user.display_name, user.role, user.active = data["display_name"], data["role"], bool(data.get("active"))
        user.unit_id = data.get("unit_id") if user.role in ORGANIZER_ROLES else None
        if "centre_id" in data:
            user.centre_id = None if user.role in ORGANIZER_ROLES else data["centre_id"]
        after = _profile(user)
        if any(after[k] != before[k] for k in ("role", "unit_id", "centre_id", "active")):
            end_sessions(session, user)
        if after != before:
            history.record(session, "user_updated", actor_id=actor.id, detail={"user_id": user.id},
                           before={k: v for k, v in before.items() if after[k] != v},
                           after={k: v for k, v in after.items() if before[k] != v})
        return user


def reset_password(db, user_id: int, password: str, confirm: str, actor) -> User:
    """Set a new password; every session and API token of the user ends (end_sessions).
    Raises NotFound, InvalidInput (password, password_confirm)."""
    with db.transaction() as session:
        user = get_user(session, user_id, lock=True)
        errors = {}
        _check_password({"password": password, "password_confirm": confirm, "username": user.username}, errors)
        if errors:
            raise InvalidInput("invalid password", errors)
        user.password_hash = hash_password(password)
        end_sessions(session, user)
        history.record(session, "password_reset", actor_id=actor.id,
                       detail={"user_id": user.id, "username": user.username})
        return user


def changes(session, actions: tuple, key: str | None = None, value: int | None = None, limit=20) -> list[dict]:
    """The latest administration events of these kinds, newest first, each as {event, actor}
    (the actor's display name); with key/value only those whose detail[key] == value."""
    rows = session.execute(select(HistoryEvent, User.display_name).outerjoin(User, User.id == HistoryEvent.actor_id)
                           .where(HistoryEvent.business_key.is_(None), HistoryEvent.action.in_(actions))
                           .order_by(HistoryEvent.id.desc()).limit(limit if key is None else 2000)).all()
    found = [{"event": e, "actor": name} for e, name in rows if key is None or (e.detail or {}).get(key) == value]
    return found[:limit]


def names(session) -> dict:
    """Unit and region names by id, to show the ids that history keeps."""
    return {"unit": dict(session.execute(select(OrganizerUnit.id, OrganizerUnit.name)).all()),
            "region": dict(session.execute(select(Region.id, Region.name)).all())}
