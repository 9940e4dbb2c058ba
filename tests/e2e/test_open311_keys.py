"""API keys of Open311 client systems (issue 15): an administrator issues one on the admin page
or with `hotline open311 key create NAME`, which prints it; it is shown once, works at once,
and stops working when revoked."""
import re

from click.testing import CliRunner
from sqlalchemy import select

from runtime.models import HistoryEvent
from web import cli

KEY = re.compile(r"o311_[A-Za-z0-9_-]{40,}")
REQUEST = {"service_code": "suggestion", "description": "建议在五一广场增设自行车停放点", "address_id": "350102",
           "phone": "13800001234"}


def _files(client, key) -> int:
    return client.post("/open311/v2/requests.json", data={"api_key": key, **REQUEST}).status_code


def test_the_admin_issues_a_key_shown_once_and_revokes_it(browser_as, client, db):
    admin = browser_as("admin")
    resp = admin.post("/admin/open311", data={"name": "福州市民App"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "密钥只显示这一次" in page
    [key] = KEY.findall(page)
    assert _files(client, key) == 201

    again = admin.get("/admin/open311").get_data(as_text=True)
    assert key not in again and key[:9] in again and "福州市民App" in again  # its first characters only
    assert "/admin/open311" in admin.get("/admin/users").get_data(as_text=True)  # in the administration menu
    client_id = re.search(r'data-client="(\d+)"[^>]*>\s*<td class="data">福州市民App<', again).group(1)
    revoked = admin.post(f"/admin/open311/{client_id}/revoke")
    assert revoked.status_code == 302
    assert "已吊销" in admin.get("/admin/open311").get_data(as_text=True)
    assert _files(client, key) == 403
    with db.read() as session:
        actions = [e.action for e in session.scalars(select(HistoryEvent).where(
            HistoryEvent.action.like("open311_client_%")).order_by(HistoryEvent.id))]
    assert actions[-2:] == ["open311_client_created", "open311_client_revoked"]


def test_a_name_is_required_and_one_working_key_per_name(browser_as):
    admin = browser_as("admin")
    empty = admin.post("/admin/open311", data={"name": "  "})
    assert empty.status_code == 400 and "请填写客户端系统的名称" in empty.get_data(as_text=True)
    assert admin.post("/admin/open311", data={"name": "重名系统"}).status_code == 200
    twice = admin.post("/admin/open311", data={"name": "重名系统"})
    assert twice.status_code == 400 and "已有同名且密钥有效的客户端系统" in twice.get_data(as_text=True)
    assert not KEY.findall(twice.get_data(as_text=True))


def test_the_page_in_english(browser_as):
    admin = browser_as("admin")
    admin.get("/lang/en")
    page = admin.post("/admin/open311", data={"name": "Grid system"}).get_data(as_text=True)
    assert "Open311 client systems" in page and "The key is shown this once" in page and "Revoke key" in page


def test_the_command_line_prints_a_key_that_works_lists_and_revokes_it(app, client, monkeypatch):
    # the commands work on the test database through the test app (an app of their own would keep
    # connections to the file that the next module's fresh copy replaces)
    monkeypatch.setattr(cli, "create_app", lambda: app)
    runner = CliRunner()
    created = runner.invoke(cli.main, ["open311", "key", "create", "区县工单系统", "--by", "ops"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert KEY.fullmatch(key), created.stdout  # the key alone on stdout
    assert _files(client, key) == 201
    listed = runner.invoke(cli.main, ["open311", "key", "list"])
    assert "区县工单系统" in listed.stdout and key[:9] in listed.stdout and key not in listed.stdout
    taken = runner.invoke(cli.main, ["open311", "key", "create", "区县工单系统"])
    assert taken.exit_code != 0 and "已有同名" in taken.output
    revoked = runner.invoke(cli.main, ["open311", "key", "revoke", "区县工单系统", "--by", "ops"])
    assert revoked.exit_code == 0, revoked.output
    assert _files(client, key) == 403
    assert runner.invoke(cli.main, ["open311", "key", "revoke", "区县工单系统"]).exit_code != 0  # none working
