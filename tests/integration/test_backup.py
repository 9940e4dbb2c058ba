"""Issue 12, item 9: `hotline backup FILE` and `hotline restore FILE`. A backup of the test
database restored into an empty database holds the same rows and passes `hotline audit verify`
(item 7); a restore refuses a database that is not empty; a missing pg_dump is said plainly."""
import pytest
from sqlalchemy import func, select

from hotline import appeals
from hotline.models import Appeal
from runtime import backup, history
from runtime.models import HistoryEvent

from ..conftest import intake_data


def _counts(db) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(Appeal)),
                session.scalar(select(func.count()).select_from(HistoryEvent)))


def test_a_backup_restored_into_an_empty_database_verifies(db, user, empty_database, tmp_path, hotline):
    appeals.register(db, intake_data(), user("intake1"))
    file = tmp_path / "hotline.backup"
    code, out = hotline(db, "backup", str(file))
    assert code == 0, out
    assert "backed up" in out and file.stat().st_size > 0
    code, out = hotline(empty_database, "restore", str(file))
    assert code == 0, out
    assert "restored" in out
    assert _counts(empty_database) == _counts(db)
    code, out = hotline(empty_database, "audit", "verify")
    assert code == 0, out
    assert f"chain tip #{history.verify(db).tip_id} {history.verify(db).tip_seal}" in out  # the same chain


def test_restore_refuses_a_database_that_is_not_empty(db, tmp_path, hotline):
    file = tmp_path / "again.backup"
    assert hotline(db, "backup", str(file))[0] == 0
    code, out = hotline(db, "restore", str(file))
    assert code == 1
    assert "恢复失败 / restore failed" in out and "not empty" in out


def test_backup_refuses_to_overwrite_a_file(db, tmp_path, hotline):
    file = tmp_path / "taken.backup"
    file.write_text("something else")
    code, out = hotline(db, "backup", str(file))
    assert code == 1 and "exists already" in out
    assert file.read_text() == "something else"


def test_a_missing_pg_dump_is_said_plainly(db, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(backup.BackupFailed, match="pg_dump not found on PATH"):
        backup._run(db, "pg_dump", "--version")
