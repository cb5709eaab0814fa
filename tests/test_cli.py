import io
import shutil
import sqlite3
import subprocess
import sys

import pytest

from portal import cli, db
from portal.cli import admin


def run_cli(monkeypatch, *argv, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(list(argv))


def test_demo_no_serve_then_user_commands(monkeypatch, capsys):
    assert run_cli(monkeypatch, "demo", "--no-serve") == 0
    out = capsys.readouterr().out
    for username in ("hq_wang", "coach_li", "coach_zhao", "lead_qinghe", "staff_demo"):
        assert username in out
    assert run_cli(monkeypatch, "demo", "--no-serve") == 0  # second run keeps the data
    assert "跳过" in capsys.readouterr().out
    assert run_cli(monkeypatch, "user", "add", "new_coach", "--role", "coach", "--name", "新教练",
                   stdin="Stdin-Password-1\n") == 0
    assert run_cli(monkeypatch, "user", "disable", "new_coach") == 0
    assert run_cli(monkeypatch, "user", "list") == 0
    listing = capsys.readouterr().out
    assert "new_coach" in listing and "Stdin-Password-1" not in listing
    assert run_cli(monkeypatch, "user", "add", "weak", "--role", "coach", stdin="12345678\n") == 2
    assert "常见" in capsys.readouterr().err


def test_password_is_never_an_argument():
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["user", "add", "x", "--role", "hq", "--password", "Secret-123"])


def test_backup_is_consistent_and_verified(monkeypatch, tmp_path, capsys):
    assert run_cli(monkeypatch, "demo", "--no-serve") == 0
    out = tmp_path / "backup" / "copy.db"
    assert run_cli(monkeypatch, "backup", "--out", str(out)) == 0
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM user").fetchone()[0] == 5
    con.close()
    db.get_engine().dispose()


def test_serve_passes_production_flags():
    flags = admin.streamlit_flags()
    assert "--server.enableXsrfProtection=true" in flags
    assert "--client.showErrorDetails=none" in flags and "--server.maxUploadSize=10" in flags


def test_console_script_runs_from_another_directory(tmp_path):
    script = shutil.which("pilot-portal")
    assert script, "the console script is installed by pip install"
    env = {"PATH": "/usr/bin:/bin", "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "HOME": str(tmp_path)}
    result = subprocess.run([script, "init"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").exists()
