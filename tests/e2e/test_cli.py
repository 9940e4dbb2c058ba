"""The `hotline` command line."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from web import cli
from workdays import calendar


@pytest.fixture
def unpublished_from_2027(monkeypatch):
    """2027 stays a year without a published schedule even after an upgrade of chinese_calendar
    brings its real one."""
    covers = calendar.library_covers
    monkeypatch.setattr(calendar, "library_covers", lambda year: year < 2027 and covers(year))


def test_deadline_prints_dispatch_sign_for_and_handling():
    result = CliRunner().invoke(cli.main, ["deadline", "--type", "complaint", "--accepted-at", "2026-03-02T10:00+08:00"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["deadlines"] == {"dispatch": "2026-03-03T17:30:00+08:00", "sign_for": "2026-03-03T17:30:00+08:00",
                                "handling": "2026-03-16T17:30:00+08:00"}
    assert out["provisional"] == []


def test_deadline_on_the_convenience_list_and_into_an_unpublished_year(tmp_path, monkeypatch,
                                                                      unpublished_from_2027):
    # An empty database of its own: the suite's (or a developer's) may have 2027 loaded by now.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(cli.main, ["deadline", "--type", "complaint", "--convenience-list",
                                           "--accepted-at", "2026-12-30T09:00+08:00"])
    out = json.loads(result.output)
    # 3 working days: Thu 12-31, then Mon 01-04 and Tue 01-05 (New Year's Day Fri 2027-01-01 is off by law)
    assert out["deadlines"]["handling"] == "2027-01-05T17:30:00+08:00"
    assert out["provisional"] == ["handling"]


def test_deadline_refuses_a_time_without_offset():
    result = CliRunner().invoke(cli.main, ["deadline", "--type", "help", "--accepted-at", "2026-03-02T10:00"])
    assert result.exit_code != 0 and "+08:00" in result.output


def test_init_deploy_and_demo_on_a_fresh_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    assert runner.invoke(cli.main, ["init-db"]).exit_code == 0
    first = runner.invoke(cli.main, ["deploy"])
    assert first.exit_code == 0 and "appeal_handling v1 (deployed" in first.output
    assert "v1 (unchanged" in runner.invoke(cli.main, ["deploy"]).output
    demo = runner.invoke(cli.main, ["load-demo"])
    assert demo.exit_code == 0 and "'units': 13" in demo.output and "'open_appeals': 11" in demo.output
    again = runner.invoke(cli.main, ["load-demo"]).output
    assert "'users': 0" in again and "'open_appeals': 0" in again  # idempotent


def test_calendar_show_marks_holidays_and_make_up_days():
    result = CliRunner().invoke(cli.main, ["calendar", "show", "2026-10"])
    assert result.exit_code == 0, result.output
    assert " 1休" in result.output and " 8班" in result.output and "10调" in result.output
    assert "未发布" not in result.output
    unpublished = CliRunner().invoke(cli.main, ["calendar", "show", "2031-01"])
    assert "未发布" in unpublished.output and " 6?" in unpublished.output
    assert CliRunner().invoke(cli.main, ["calendar", "show", "october"]).exit_code != 0


def test_calendar_load_and_set_on_a_fresh_database(tmp_path, monkeypatch, unpublished_from_2027):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cal.db'}")
    runner = CliRunner()
    assert runner.invoke(cli.main, ["init-db"]).exit_code == 0
    before = json.loads(runner.invoke(cli.main, ["deadline", "--type", "complaint",
                                                 "--accepted-at", "2026-12-24T10:00+08:00"]).output)
    # 10 working days from Thu 12-24, New Year's Day (Fri 2027-01-01) off by law: provisional
    assert before["deadlines"]["handling"] == "2027-01-08T17:30:00+08:00" and before["provisional"] == ["handling"]
    data = Path(__file__).resolve().parents[1] / "data" / "calendar_2027.yaml"
    loaded = runner.invoke(cli.main, ["calendar", "load", str(data)])
    assert loaded.exit_code == 0 and "loaded 2027" in loaded.output
    after = json.loads(runner.invoke(cli.main, ["deadline", "--type", "complaint",
                                                "--accepted-at", "2026-12-24T10:00+08:00"]).output)
    # The loaded file also has 01-01 off (its make-up Saturday 01-09 comes after the tenth working
    # day), so the date stays the same; what changes is that it is no longer provisional.
    assert after["deadlines"]["handling"] == before["deadlines"]["handling"] and after["provisional"] == []
    assert runner.invoke(cli.main, ["calendar", "set", "2027-01-05", "--off", "--name", "台风停工"]).exit_code == 0
    typhoon = json.loads(runner.invoke(cli.main, ["deadline", "--type", "complaint",
                                                  "--accepted-at", "2026-12-24T10:00+08:00"]).output)
    assert typhoon["deadlines"]["handling"] == "2027-01-09T17:30:00+08:00"  # 01-05 off; Sat 01-09 is a make-up day
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nholidays:\n  - {from: 2028-01-01}\n", encoding="utf-8")
    refused = runner.invoke(cli.main, ["calendar", "load", str(bad)])
    assert refused.exit_code != 0 and "2028-01-01" in refused.output


def test_the_worker_logs_one_line_for_a_job_that_did_something_and_nothing_for_idle_polls(app, db, caplog):
    import logging

    from runtime.models import Notification
    CliRunner().invoke(cli.main, ["deadline", "--type", "help", "--accepted-at", "2026-03-02T10:00+08:00"])
    assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING  # two lines per poll, quieted
    polls = [job for job in cli._scheduler(app, background=True).get_jobs() if job.id != "retention"]
    for job in polls:  # whatever the demo left due is done now
        job.func(*job.args)
    caplog.clear()
    caplog.set_level(logging.INFO)
    for job in polls:
        job.func(*job.args)
    assert [r for r in caplog.records if r.name == "hotline.worker"] == []

    with db.transaction() as session:
        session.add(Notification(channel="sms", recipient="+8613800001234", body="测试"))
    outbox_job = next(job for job in polls if job.id == "outbox")
    outbox_job.func(*outbox_job.args)
    lines = [r.getMessage() for r in caplog.records if r.name == "hotline.worker"]
    assert len(lines) == 1 and lines[0].startswith("notifications sent: 1 in ")
