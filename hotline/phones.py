"""Appellants' phone numbers: read as people write them, stored in E.164, shown as people read them.

Rules (Google's libphonenumber metadata via `phonenumbers`, default region CN):
- accepted: a Chinese mobile (138 0000 1234) or a landline with its area code (0591-8765 4321,
  (0591) 8765 4321), with or without +86 / 0086 / 86, spaces, dashes, dots, parentheses and
  full-width characters; a valid mobile or landline of another country written with its +code
  (appellants from Hong Kong, Macao, Taiwan and abroad call the hotline too);
- refused: what the metadata says is no valid number (1380001234, 12345 — the hotline's own
  short number is no one's contact), a landline without its area code, service numbers
  (400/800, 95xxx), letters and extensions (E.164 has no place for them);
- stored: E.164 (+8613800001234), so the same number is one string however it was typed;
- shown: 138 0000 1234, 0591-8765 4321 (area code, dash, subscriber number), other countries in
  international format; masked for units as 138****1234 / 0591****4321.
Anything stored before these rules that does not parse is shown and masked as it is.
"""
import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from runtime.errors import InvalidInput

REGION = "CN"
MAX_LENGTH = 32  # what a person may type, spaces and all (the form's maxLength)
INVALID = "请填写有效的手机号码或带区号的固定电话，如 138 0000 1234 或 0591-8765 4321"
CHINA = 86
LANDLINE_DIGITS = 10  # a 2-3 digit area code (without the 0) and a 7-8 digit subscriber number
KINDS = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# after NFKC (full-width digits, ＋, （）, － become ASCII): digits and the separators people use
_WRITTEN = re.compile(r"^\+?[0-9\s().\-\u2010-\u2015\u2212]+$")


def _parse(text) -> phonenumbers.PhoneNumber | None:
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    if not _WRITTEN.match(text):
        return None
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        return None
    kind = phonenumbers.number_type(number)
    if not phonenumbers.is_valid_number(number) or kind not in KINDS:
        return None
    if (number.country_code == CHINA and kind != PhoneNumberType.MOBILE
            and len(phonenumbers.national_significant_number(number)) < LANDLINE_DIGITS):
        return None  # the metadata lets a few short local numbers pass (0591-1234): no area code + subscriber
    return number


def e164(text) -> str | None:
    """The E.164 form of a number written any accepted way, or None if it is not one."""
    number = _parse(text)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if number else None


def normalise(text, field: str = "phone") -> str:
    """E.164 of `text` for storing. Raises InvalidInput ({field: [INVALID]}) if it is no
    valid mobile or area-coded landline."""
    found = e164(text)
    if found is None:
        raise InvalidInput("not a valid phone number", {field: [INVALID]})
    return found


def display(value) -> str:
    """As people read it: 138 0000 1234, 0591-8765 4321, +852 9123 4567; anything that does not
    parse (a masked or legacy value) unchanged."""
    number = _parse(value)
    if number is None:
        return "" if value is None else str(value)
    if number.country_code != CHINA:
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if phonenumbers.length_of_geographical_area_code(number):
        national = national.replace(" ", "-", 1)  # 0591-8765 4321: the area code stands apart
    return national


def mask(value: str) -> str:
    """What a unit sees: the mobile's first three digits or the landline's area code, and the
    last four digits (138****1234, 0591****4321, +852****4567)."""
    number = _parse(value)
    if number is None:  # stored before these rules: the old cut
        return value[:3] + "****" + value[-4:] if value and len(value) >= 8 else "****"
    subscriber = phonenumbers.national_significant_number(number)
    if number.country_code != CHINA:
        return f"+{number.country_code}" + "*" * (len(subscriber) - 4) + subscriber[-4:]
    area = phonenumbers.length_of_geographical_area_code(number)
    digits, kept = ("0" + subscriber, area + 1) if area else (subscriber, 3)
    return digits[:kept] + "*" * (len(digits) - kept - 4) + digits[-4:]
