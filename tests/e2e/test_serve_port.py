"""`PORT=5001 make run` serves on 5001, and the SMS evaluation links (PUBLIC_BASE_URL) follow it."""
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from web import cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(monkeypatch, tmp_path):
    """The host and port `hotline serve` would listen on (the server itself is not started)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    calls = []
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.append(kw))
    return calls


def test_serve_reads_the_port_from_the_environment(served, monkeypatch):
    monkeypatch.setenv("PORT", "5001")
    result = CliRunner().invoke(cli.main, ["serve", "--no-worker"])
    assert result.exit_code == 0, result.output
    assert served[0]["port"] == 5001


def test_an_explicit_port_option_wins_and_the_default_is_5000(served, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    assert CliRunner().invoke(cli.main, ["serve", "--no-worker"]).exit_code == 0
    monkeypatch.setenv("PORT", "5001")
    assert CliRunner().invoke(cli.main, ["serve", "--no-worker", "--port", "5002"]).exit_code == 0
    assert [c["port"] for c in served] == [5000, 5002]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(("env", "expected"), [
    ({"PORT": "5001"}, "PUBLIC_BASE_URL=http://127.0.0.1:5001 .venv/bin/hotline serve --port 5001"),
    ({}, "PUBLIC_BASE_URL=http://127.0.0.1:5000 .venv/bin/hotline serve --port 5000"),
    ({"PORT": "5001", "PUBLIC_BASE_URL": "https://12345.example.cn"},
     "PUBLIC_BASE_URL=https://12345.example.cn .venv/bin/hotline serve --port 5001"),
])
def test_make_run_passes_the_port_and_a_base_url_that_follows_it(env, expected):
    clean = {"PATH": "/usr/bin:/bin", **env}
    out = subprocess.run(["make", "-n", "run"], cwd=ROOT, env=clean, capture_output=True,
                         text=True, check=True).stdout
    assert expected in out.splitlines()
