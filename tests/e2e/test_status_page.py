"""The public status page shows the administrator alert for unpublished years; it is a page of
the site (its header and menu), in Beijing time and in the reader's language (issue 13, item 12)."""
import re
from datetime import datetime

from sqlalchemy import select

from hotline import appeals
from runtime import clock
from runtime.models import Deployment
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
    assert "<code>appeal_handling</code> v" in page
    assert "138" not in page  # no personal data on a public page


def test_status_page_is_a_page_of_the_site_with_its_menu(browser_as, db):
    page = browser_as("owner1").get("/status").get_data(as_text=True)
    assert 'class="topbar"' in page and 'class="mainnav"' in page  # the site's header and menu
    assert 'href="/monitor"' in page and "app.css" in page
    assert "运行状态" in page and "工作日历" in page


def test_status_page_shows_beijing_time(client, db):
    with db.read() as session:
        deployment = session.scalars(select(Deployment).order_by(Deployment.id.desc())).first()
    local = deployment.deployed_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    page = client.get("/status").get_data(as_text=True)
    assert f"<code>{deployment.process_key}</code> v{deployment.version}" in page and local in page
    assert "UTC" not in page


def test_status_page_in_english(client):
    client.get("/lang/en")
    page = client.get("/status").get_data(as_text=True)
    assert "Working calendar" in page and "Process definitions" in page
    assert "Every deadline is counted on a published holiday schedule." in page or "provisional" in page
    body = page.split("<main", 1)[1]
    assert not re.search(r"[\u4e00-\u9fff]", body), re.findall(r"[^<>]*[\u4e00-\u9fff][^<>]*", body)
