"""An intake agent types the caller's number as it is said: `+86 138 0000 1234` is registered
and the appeal page shows it as people read it; `12345` (the hotline's own number) gets a
message on the phone field and nothing is registered."""
import uuid

from sqlalchemy import func, select

from hotline import phones
from hotline.models import Appeal, AppellantContact

from .conftest import screenshot


def _fill_call(page, live_url, phone, title):
    page.goto(f"{live_url}/intake")
    page.fill("input[name='appellant.phone']", phone)
    page.fill("input[name='appellant.name']", "林女士")
    page.check("input[name=appeal_type][value=complaint]")
    page.fill("textarea[name=content]", f"东街口人行道砖块松动多处，雨天踩踏溅水，老人容易摔倒。{title}")
    page.fill("input[name=title]", title)
    page.select_option("select[name=region_code]", "350102")
    page.check("input[name=assessment][value=dispatch]")
    page.click("#f-submit")


def test_a_number_said_with_its_country_code_is_registered_and_shown_as_read(open_as, live_url, db):
    title = f"人行道砖块松动 {uuid.uuid4().hex[:6]}"
    intake = open_as("intake1")
    _fill_call(intake, live_url, "+86 138 0000 1234", title)
    if intake.locator("#f-dup-checked").is_visible():  # other tests called from the same number
        intake.check("#f-dup-checked")
        intake.click("#f-submit")
    assert "已登记" in intake.locator(".flash-success").inner_text()
    with db.read() as session:
        appeal = session.scalar(select(Appeal).where(Appeal.title == title))
        stored = session.scalar(select(AppellantContact.phone).where(AppellantContact.appeal_id == appeal.id))
    assert stored == "+8613800001234"

    intake.goto(f"{live_url}/appeals/{appeal.id}")
    assert intake.locator(".phone").first.inner_text() == "138 0000 1234"
    screenshot(intake, "phone-shown-as-read")


def test_the_hotline_short_number_gets_the_field_message(open_as, live_url, db):
    title = f"电话只留了短号 {uuid.uuid4().hex[:6]}"
    intake = open_as("intake1")
    _fill_call(intake, live_url, "12345", title)
    field = intake.locator("label.field-error:has(input[name='appellant.phone'])")
    assert phones.INVALID in field.inner_text()
    assert intake.input_value("input[name='appellant.phone']") == "12345"  # kept, to be corrected
    screenshot(intake, "phone-refused")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Appeal).where(Appeal.title == title)) == 0
