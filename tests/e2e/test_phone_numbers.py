"""The appellant's phone through the API and the intake console: numbers written as people
write them are accepted and stored in E.164, others refused with a message on the field; the
duplicate search finds a number however it is typed; pages show it as people read it; the SMS
outbox writes to E.164."""
import re

import pytest
from sqlalchemy import select

from hotline import phones
from hotline.models import Appeal, AppellantContact
from runtime.models import Notification

from ..conftest import intake_data
from .test_pages_intake import call

BAD = ["1380001234", "138000012345678901", "0591-1234", "12345"]


def stored_phone(db, appeal_id):
    with db.read() as session:
        return session.scalar(select(AppellantContact.phone).where(AppellantContact.appeal_id == appeal_id))


def person(phone):
    return {"kind": "citizen", "name": "赵六", "phone": phone}


@pytest.mark.parametrize("phone", BAD)
def test_the_api_refuses_what_is_no_phone_number_with_a_field_message(api, phone):
    resp = api.as_("intake1").post("/appeals", json=intake_data(appellant=person(phone)))
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["fields"] == {"appellant.phone": [phones.INVALID]}


def test_the_api_names_the_phone_beside_the_other_mistakes(api):
    resp = api.as_("intake1").post("/appeals", json=intake_data(title="x" * 101, appellant=person("12345")))
    fields = resp.get_json()["error"]["fields"]
    assert resp.status_code == 400 and set(fields) == {"title", "appellant.phone"}


@pytest.mark.parametrize(("written", "stored"), [("+86 138 0000 1234", "+8613800001234"),
                                                 ("0591-87654321", "+8659187654321"),
                                                 ("(0591) 8765 4321", "+8659187654321"),
                                                 ("138-0000-1234", "+8613800001234")])
def test_the_api_stores_and_returns_e164(api, walk, db, written, stored):
    resp = api.as_("intake1").post("/appeals", json=intake_data(appellant=person(written)))
    assert resp.status_code == 201, resp.get_json()
    appeal_id = resp.get_json()["id"]
    assert stored_phone(db, appeal_id) == stored
    assert walk.detail(appeal_id)["appellant"]["phone"] == stored


def test_the_console_refuses_a_short_number_by_its_field_and_keeps_what_was_typed(browser_as):
    resp = browser_as("intake1").post("/intake", data=call("12345", content="电话只留了12345"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert re.search(r'field-error[^"]*">联系电话.*?' + re.escape(phones.INVALID), page, re.DOTALL)
    assert 'value="12345"' in page and "电话只留了12345" in page


def test_the_console_message_is_in_english_in_english_mode(browser_as):
    agent = browser_as("intake1")
    agent.get("/lang/en?next=/")
    page = agent.post("/intake", data=call("0591-1234")).get_data(as_text=True)
    assert "Enter a valid mobile number or a landline with its area code" in page
    assert phones.INVALID not in page


def test_the_console_stores_a_landline_in_e164_and_the_pages_show_it_as_read(browser_as, db):
    agent = browser_as("intake1")
    resp = agent.post("/intake", data=call("（0591）8765-4301", content="路口信号灯不亮"), follow_redirects=True)
    number = re.search(r"FJ\d{8}-\d{6}", resp.get_data(as_text=True)).group(0)
    with db.read() as session:
        contact = session.scalar(select(AppellantContact).join(Appeal, Appeal.id == AppellantContact.appeal_id)
                                 .where(Appeal.number == number))
    assert contact.phone == "+8659187654301"
    page = browser_as("supervisor1").get(f"/appeals/{contact.appeal_id}").get_data(as_text=True)
    assert "0591-8765 4301" in page and "+8659187654301" not in page


def test_a_number_typed_differently_finds_the_earlier_appeal(browser_as):
    agent = browser_as("intake1")
    saved = agent.post("/intake", data=call("139 0591 3333", content="小区垃圾清运不及时"), follow_redirects=True)
    number = re.search(r"FJ\d{8}-\d{6}", saved.get_data(as_text=True)).group(0)
    for typed in ("+86 139-0591-3333", "13905913333", "0086 139 0591 3333"):
        found = agent.get("/intake/duplicates", query_string={"phone": typed}).get_json()["items"]
        assert [d["number"] for d in found if "same_phone" in d["reasons"]] == [number], typed
    assert agent.get("/intake/duplicates", query_string={"phone": "139059"}).get_json()["items"] == []


def test_units_see_the_number_masked_and_platform_staff_as_people_read_it(walk, browser_as, unit_id):
    appeal_id = walk.to_signed(unit_id=unit_id, appellant=person("+86 139 1234 0011"))
    platform = browser_as("supervisor1").get(f"/appeals/{appeal_id}").get_data(as_text=True)
    assert "139 1234 0011" in platform
    unit = browser_as("gl_urban_staff").get(f"/appeals/{appeal_id}").get_data(as_text=True)
    assert "139****0011" in unit and "139 1234 0011" not in unit and "+8613912340011" not in unit


def test_the_sms_to_the_appellant_is_addressed_in_e164(walk, unit_id, db):
    appeal_id = walk.to_signed(unit_id=unit_id, appellant=person("0086 (139) 1234-0022"))
    walk.to_replied(appeal_id)
    with db.read() as session:
        recipients = set(session.scalars(select(Notification.recipient).where(
            Notification.business_key == appeal_id, Notification.channel == "sms",
            Notification.recipient.like("+%"))))
    assert recipients == {"+8613912340022"}
