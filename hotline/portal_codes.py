"""One-time SMS codes of the public portal: a visitor proves the phone they give before an
appeal is filed with it, or before they read one filed with it (issue 15).

Rules:
- a code is 6 random digits, sent by SMS through the outbox (written in the same transaction
  as the code; the configured sender delivers it, the `log` sender writes it to the log); only a
  salted SHA-256 of it is kept, and the outbox forgets the digits once sent (SECRET_LINKS);
- it serves one purpose (submit | track), one phone and, to track, one appeal; it expires TTL
  after it was sent; a newer code for the same purpose, phone and appeal voids the older one;
- it is used once: a submission or a tracking session consumes it in the transaction it
  allows; MAX_ATTEMPTS wrong entries void it;
- sending is limited per number (one for each purpose every RESEND_AFTER, CODES_PER_NUMBER per
  LIMIT_WINDOW) and per client address (CODES_PER_ADDRESS per LIMIT_WINDOW); a refusal is
  `Limited` (HTTP 429) and says when to try again;
- rows older than KEEP_FOR are deleted when a code is sent: no limit counts them any more, and
  they hold a phone number and an address (PIPL: kept no longer than needed).
The limits on submissions (hotline.portal) count the submit codes used.
"""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import delete, func, select, update

from runtime import clock, history
from runtime.errors import Conflict, EngineError, InvalidInput
from runtime.models import Notification

from . import phones
from .models import PortalCode

PURPOSES = ("submit", "track")
LENGTH = 6
TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
LIMIT_WINDOW = timedelta(hours=1)
CODES_PER_NUMBER = 5
CODES_PER_ADDRESS = 20
KEEP_FOR = timedelta(days=2)
NOT_MOBILE = "请填写可以接收短信的手机号码"
# the page translates these by their text (web/translations/portal)
WRONG = "验证码不正确，请核对短信中的 6 位数字"
EXPIRED = "验证码已过期，请重新获取"
USED = "验证码已使用，请重新获取"
TOO_MANY_WRONG = "验证码输入错误次数过多，请重新获取"
MISSING = "请填写短信验证码"
SMS = {"zh": "【12345】您的验证码：{code}，{minutes} 分钟内有效，仅用于{purpose}。请勿告诉他人。",
       "en": "[12345] Your verification code: {code}. Valid for {minutes} minutes, only to {purpose}. "
             "Do not share it."}
SMS_PURPOSE = {"zh": {"submit": "网上提交诉求", "track": "查询诉求办理进度"},
               "en": {"submit": "file an appeal online", "track": "track your appeal"}}


class Limited(EngineError):
    """Too many codes or submissions (HTTP 429); `retry_after` in seconds, the message says why
    (in zh-CN, translated by the page)."""

    reason = "rate_limited"

    def __init__(self, message: str, reason: str, retry_after: int):
        super().__init__(message, reason)
        self.retry_after = max(int(retry_after), 1)


@dataclass(frozen=True)
class Checked:
    """A code that matched: its row id, to consume in the transaction it allows."""
    code_id: int


def mobile(text, field: str = "phone") -> str:
    """E.164 of a number that can receive an SMS. Raises InvalidInput ({field: [...]})."""
    number = phones.normalise(text, field)
    kind = phonenumbers.number_type(phonenumbers.parse(number))
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidInput("not a mobile number", {field: [NOT_MOBILE]})
    return number


def send(session, purpose: str, phone: str, address: str, appeal_id: int | None = None,
         language: str = "zh", deliver: bool = True) -> PortalCode:
    """Write a new code and its SMS, in the caller's transaction (hotline.portal). `phone` is
    E.164. Without `deliver` the row is written and counted but no SMS leaves: no one knows
    its code (a tracking request whose number and phone do not match looks like any other).
    Raises Limited."""
    now = clock.now()
    session.execute(delete(PortalCode).where(PortalCode.created_at < now - KEEP_FOR))
    _check_limits(session, purpose, phone, address, now)
    session.execute(update(PortalCode).where(
        PortalCode.purpose == purpose, PortalCode.phone == phone, PortalCode.used_at.is_(None),
        PortalCode.expires_at > now,
        PortalCode.appeal_id.is_(None) if appeal_id is None else PortalCode.appeal_id == appeal_id)
        .values(expires_at=now))
    code = f"{secrets.randbelow(10 ** LENGTH):0{LENGTH}d}"
    salt = secrets.token_hex(16)
    row = PortalCode(purpose=purpose, phone=phone, address=address[:64], appeal_id=appeal_id, salt=salt,
                     code_hash=_digest(salt, code), created_at=now, expires_at=now + TTL)
    session.add(row)
    session.flush()
    if not deliver:
        return row
    language = "en" if language == "en" else "zh"
    session.add(Notification(business_key=appeal_id, channel="sms", recipient=phone, body=SMS[language].format(
        code=code, minutes=int(TTL.total_seconds() // 60), purpose=SMS_PURPOSE[language][purpose])))
    history.record(session, "portal_code_sent", business_key=appeal_id,
                   detail={"code_id": row.id, "purpose": purpose, "phone": phones.mask(phone)})
    return row


def _check_limits(session, purpose: str, phone: str, address: str, now: datetime) -> None:
    last = session.scalar(select(func.max(PortalCode.created_at)).where(PortalCode.phone == phone,
                                                                        PortalCode.purpose == purpose))
    if last is not None and now - last < RESEND_AFTER:
        raise Limited("a code was sent to this number a moment ago", "code_just_sent",
                      (last + RESEND_AFTER - now).total_seconds())
    for column, value, most, reason in ((PortalCode.phone, phone, CODES_PER_NUMBER, "codes_per_number"),
                                        (PortalCode.address, address[:64], CODES_PER_ADDRESS, "codes_per_address")):
        sent = list(session.scalars(select(PortalCode.created_at).where(
            column == value, PortalCode.created_at > now - LIMIT_WINDOW).order_by(PortalCode.created_at)))
        if len(sent) >= most:
            raise Limited(f"too many codes ({reason})", reason, (sent[-most] + LIMIT_WINDOW - now).total_seconds())


def check(db, purpose: str, phone: str, code: str, appeal_id: int | None = None) -> Checked:
    """Does `code` match the latest live code for this purpose, phone (E.164) and appeal? A
    wrong code counts against the row (committed whatever the caller does next); a matching
    one is consumed by `consume`. Raises InvalidInput ({"code": [...]}, reasons code_wrong,
    code_expired, code_used, code_attempts)."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("no code", {"code": [MISSING]}, "code_missing")
    with db.transaction() as session:
        query = select(PortalCode).where(PortalCode.purpose == purpose, PortalCode.phone == phone)
        if purpose == "track":  # a submit code names its appeal only once used
            query = query.where(PortalCode.appeal_id == appeal_id)
        row = session.scalar(query
            .order_by(PortalCode.created_at.desc(), PortalCode.id.desc()).limit(1).with_for_update())
        problem = _problem(row, code)
        if problem is not None and problem[1] == "code_wrong" and row is not None:
            row.attempts += 1
    if problem is not None:
        raise InvalidInput("the code does not open this", {"code": [problem[0]]}, problem[1])
    return Checked(row.id)


def _problem(row: PortalCode | None, code: str) -> tuple[str, str] | None:
    if row is None:
        return WRONG, "code_wrong"
    if row.used_at is not None:
        return USED, "code_used"
    if row.expires_at <= clock.now():
        return EXPIRED, "code_expired"
    if row.attempts >= MAX_ATTEMPTS:
        return TOO_MANY_WRONG, "code_attempts"
    if not (len(code) == LENGTH and code.isascii() and code.isdigit()
            and hmac.compare_digest(row.code_hash, _digest(row.salt, code))):
        return (TOO_MANY_WRONG, "code_wrong") if row.attempts + 1 >= MAX_ATTEMPTS else (WRONG, "code_wrong")
    return None


def consume(session, checked: Checked, appeal_id: int | None = None) -> PortalCode:
    """Use the code `check` passed, in the transaction it allows (a submission names the appeal
    it filed). Raises Conflict (code_used: used meanwhile, e.g. the form sent twice)."""
    row = session.scalar(select(PortalCode).where(PortalCode.id == checked.code_id).with_for_update())
    if row is None or row.used_at is not None:
        raise Conflict("this code has been used already", "code_used")
    row.used_at = clock.now()
    if appeal_id is not None:
        row.appeal_id = appeal_id
    return row


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()
