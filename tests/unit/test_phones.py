"""Appellants' phone numbers (hotline.phones): read as people write them, stored in E.164,
shown as people read them, masked for units."""
import json
from pathlib import Path

import pytest

from hotline import phones
from runtime.errors import InvalidInput

FORMS = Path(__file__).resolve().parents[2] / "forms"

ACCEPTED = [  # (as written, E.164)
    ("+86 138 0000 1234", "+8613800001234"),
    ("138-0000-1234", "+8613800001234"),
    ("13800001234", "+8613800001234"),
    ("0086 138 0000 1234", "+8613800001234"),
    ("１３８ ００００ １２３４", "+8613800001234"),  # full-width digits from a Chinese IME
    ("0591-87654321", "+8659187654321"),
    ("(0591) 8765 4321", "+8659187654321"),
    ("（０５９１）８７６５－４３２１", "+8659187654321"),
    ("0591—87654321", "+8659187654321"),  # an em dash
    ("+86 591 8765 4321", "+8659187654321"),  # the area code without its trunk 0, after +86
    ("010-12345678", "+861012345678"),  # Beijing: a two-digit area code
    ("+852 9123 4567", "+85291234567"),  # a Hong Kong mobile, with its country code
]

REFUSED = [
    "1380001234",  # a mobile number one digit short
    "138000012345678901",  # far too long
    "0591-1234",  # an area code and too short a subscriber number
    "12345",  # the hotline's own short number is no one's contact
    "87654321",  # a landline without its area code
    "400-810-8888",  # a company service number, not a person's line
    "95588",
    "138 0000 1234 转 8",  # an extension has no place in E.164
    "138abcd1234",  # letters (phone keypads would turn them into digits)
    "",
    "   ",
]


@pytest.mark.parametrize(("written", "stored"), ACCEPTED)
def test_numbers_written_as_people_write_them_are_stored_in_e164(written, stored):
    assert phones.normalise(written) == stored
    assert phones.e164(stored) == stored  # normalising twice changes nothing


@pytest.mark.parametrize("written", REFUSED)
def test_numbers_that_are_no_mobile_or_area_coded_landline_are_refused(written):
    assert phones.e164(written) is None
    with pytest.raises(InvalidInput) as err:
        phones.normalise(written, "appellant.phone")
    assert err.value.fields == {"appellant.phone": [phones.INVALID]}


@pytest.mark.parametrize(("stored", "shown"), [
    ("+8613800001234", "138 0000 1234"),
    ("+8659187654321", "0591-8765 4321"),
    ("+861012345678", "010-1234 5678"),
    ("+85291234567", "+852 9123 4567"),
    ("0591-1234", "0591-1234"),  # stored before these rules and not a number: shown as it is
    ("139****5678", "139****5678"),  # already masked
    (None, ""),
])
def test_numbers_are_shown_as_people_read_them(stored, shown):
    assert phones.display(stored) == shown


@pytest.mark.parametrize(("stored", "masked"), [
    ("+8613912345678", "139****5678"),
    ("+8659187654321", "0591****4321"),
    ("+861012345678", "010****5678"),
    ("+85291234567", "+852****4567"),
    ("13912345678", "139****5678"),  # a row stored before E.164 masks the same
    ("12345", "****"),
])
def test_units_see_the_prefix_and_the_last_four_digits(stored, masked):
    assert phones.mask(stored) == masked


def test_the_intake_form_says_what_hotline_phones_says():
    schema = json.loads((FORMS / "register_appeal.schema.json").read_text(encoding="utf-8"))
    field = schema["properties"]["appellant"]["properties"]["phone"]
    assert field["x-message"] == phones.INVALID and field["maxLength"] == phones.MAX_LENGTH
