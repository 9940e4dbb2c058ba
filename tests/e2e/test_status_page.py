"""The public status page shows the administrator alert for unpublished years."""
from datetime import datetime

from hotline import appeals
from runtime import clock
from workdays.calendar import TZ

from ..conftest import intake_data


def test_status_page_warns_about_provisional_deadlines(client, db, user):
    clock.set_now(datetime(2028, 12, 29, 10, 0, tzinfo=TZ))  # Friday: the dispatch limit falls in 2029
    try:
        appeals.register(db, intake_data(urgent=False), user("intake1"))
    finally:
        clock.set_now(None)
    page = client.get("/status").get_data(as_text=True)
    assert "2029" in page and "临时计算" in page and "hotline calendar load" in page
    assert "appeal_handling v" in page
    assert "138" not in page  # no personal data on a public page
