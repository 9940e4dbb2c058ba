"""The `hotline` command line."""
import json

from click.testing import CliRunner

from web import cli


def test_deadline_prints_dispatch_sign_for_and_handling():
    result = CliRunner().invoke(cli.main, ["deadline", "--type", "complaint", "--accepted-at", "2026-03-02T10:00+08:00"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["deadlines"] == {"dispatch": "2026-03-03T17:30:00+08:00", "sign_for": "2026-03-03T17:30:00+08:00",
                                "handling": "2026-03-16T17:30:00+08:00"}
    assert out["provisional"] == []


def test_deadline_on_the_convenience_list_and_into_an_unpublished_year():
    result = CliRunner().invoke(cli.main, ["deadline", "--type", "complaint", "--convenience-list",
                                           "--accepted-at", "2026-12-30T09:00+08:00"])
    out = json.loads(result.output)
    assert out["deadlines"]["handling"] == "2027-01-04T17:30:00+08:00"
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
    assert demo.exit_code == 0 and "'units': 12" in demo.output
    assert "'users': 0" in runner.invoke(cli.main, ["load-demo"]).output  # idempotent
