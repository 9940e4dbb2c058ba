"""The Open311 mapping's pure parts (hotline.open311, hotline.open311_queries): GET requests'
date window and a POST's fields as the intake form's data."""
from datetime import datetime, timedelta

import pytest

from hotline import open311
from hotline.open311_queries import parse_query
from runtime.errors import InvalidInput, NotFound
from workdays.calendar import TZ

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=TZ)


@pytest.mark.parametrize(("args", "start", "end"), [
    ({}, NOW - timedelta(days=90), NOW),  # nothing given: the last 90 days
    ({"start_date": "2026-11-01"}, datetime(2026, 11, 1, tzinfo=TZ), NOW),  # from a day, up to now
    ({"start_date": "2026-01-01T00:00:00Z"},  # 90 days from a start
     datetime(2026, 1, 1, 8, tzinfo=TZ), datetime(2026, 4, 1, 8, tzinfo=TZ)),
    ({"end_date": "2026-06-30"},  # a day as an end: to its last instant, 90 days back
     datetime(2026, 7, 1, tzinfo=TZ) - timedelta(days=90, microseconds=1),
     datetime(2026, 7, 1, tzinfo=TZ) - timedelta(microseconds=1)),
    ({"start_date": "2026-12-01", "end_date": "2026-12-01"},  # one day in Asia/Shanghai
     datetime(2026, 12, 1, tzinfo=TZ), datetime(2026, 12, 2, tzinfo=TZ) - timedelta(microseconds=1)),
])
def test_the_date_window(args, start, end):
    query = parse_query(args, NOW)
    assert (query.start, query.end) == (start, end)


def test_ids_override_every_other_filter():
    query = parse_query({"service_request_id": "FJ20261203-000001, FJ20261203-000002", "status": "bogus",
                         "start_date": "nonsense"}, NOW)
    assert query.numbers == ("FJ20261203-000001", "FJ20261203-000002") and query.start is None


@pytest.mark.parametrize(("args", "field"), [
    ({"start_date": "2026-01-01", "end_date": "2026-05-01"}, "end_date"),  # more than 90 days
    ({"start_date": "2026-05-01", "end_date": "2026-04-01"}, "end_date"),  # backwards
    ({"start_date": "2026-05-01T08:00"}, "start_date"),  # no offset
    ({"status": "open,pending"}, "status"),
    ({"service_code": "complaint,pothole"}, "service_code"),
    ({"page_size": "1001"}, "page_size"),
    ({"service_request_id": ",".join(f"FJ20261203-{n:06d}" for n in range(101))}, "service_request_id"),
])
def test_bad_filters_name_their_parameter(args, field):
    with pytest.raises(InvalidInput) as refused:
        parse_query(args, NOW)
    assert field in refused.value.fields


def test_a_post_becomes_the_intake_forms_data():
    data = open311.intake_data({
        "service_code": "help", "description": "独居老人家中停水\n已两天", "lat": "26.0745", "long": "119.2965",
        "address_string": "鼓楼区", "address_id": "350102", "first_name": "小明", "last_name": "林", "phone": "13800001234",
        "attribute[urgent]": "true", "attribute[appellant_kind]": "citizen", "email": "x@example.cn"})
    assert data == {"channel": "open311", "appeal_type": "help", "title": "独居老人家中停水",
                    "content": "独居老人家中停水\n已两天", "location": "鼓楼区（坐标 26.074500, 119.296500）",
                    "region_code": "350102", "urgent": True,
                    "appellant": {"kind": "citizen", "agrees_to_disclose": False, "name": "林小明",
                                  "phone": "13800001234"}}


def test_a_long_first_line_is_cut_for_the_title_and_latin_names_keep_their_order():
    data = open311.intake_data({"service_code": "complaint", "description": "路" * 40, "address_id": "350102",
                                "first_name": "John", "last_name": "Smith", "phone": "13800001234"})
    assert data["title"] == "路" * 30 + "…" and data["appellant"]["name"] == "John Smith"


def test_an_unknown_service_is_not_found():
    with pytest.raises(NotFound):
        open311.intake_data({"service_code": "pothole"})
