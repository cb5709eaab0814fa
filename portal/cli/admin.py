"""init, demo, serve and backup."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from portal import PACKAGE_DIR, db, schema
from portal.cli.progress import ProgressBar
from portal.settings import get_settings


def register(sub) -> None:  # noqa: ANN001
    p = sub.add_parser("init", help="create/upgrade the schema and load the seed content")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("demo", help="init, load demo data if empty, print log-ins, serve")
    p.add_argument("--no-serve", action="store_true")
    p.add_argument("--scale", choices=["pilot", "province", "national"], default="pilot")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("serve", help="run the portal web server")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="0.0.0.0")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("backup", help="consistent online copy of the database")
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_backup)


def init_database() -> None:
    from seed import loader

    engine = db.get_engine()
    schema.upgrade(engine)
    loader.load_all(engine)
    schema.analyze(engine)


def cmd_init(args) -> int:  # noqa: ANN001
    init_database()
    print(f"数据库已就绪 / database ready: {_safe_url()}")
    return 0


def cmd_demo(args) -> int:  # noqa: ANN001
    from seed import demo

    init_database()
    engine = db.get_engine()
    if demo.has_data(engine):
        print("数据库已有数据，跳过演示数据 / database not empty: demo data not loaded")
    else:
        progress = ProgressBar() if args.scale != "pilot" else None
        logins = demo.build(engine, scale=args.scale, progress=progress)
        schema.analyze(engine)
        print(f"演示数据已生成 / demo data loaded ({args.scale})")
        print(f"\n演示账户（密码均为 / password for all: {demo.DEMO_PASSWORD}）:")
        for role, username, note in logins:
            print(f"  {role:<12} {username:<14} {note}")
    if args.no_serve:
        return 0
    return serve(args.port, "0.0.0.0")


def cmd_serve(args) -> int:  # noqa: ANN001
    return serve(args.port, args.address)


def streamlit_flags() -> list[str]:
    """Production defaults shipped with the package (same file as .streamlit/config.toml)."""
    config = tomllib.loads((PACKAGE_DIR / "streamlit_config.toml").read_text(encoding="utf-8"))
    flags = []
    for section, values in config.items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def serve(port: int, address: str) -> int:
    cmd = [sys.executable, "-m", "streamlit", "run", str(PACKAGE_DIR / "server.py"),
           f"--server.port={port}", f"--server.address={address}", *streamlit_flags()]
    print(f"门户地址 / portal at http://localhost:{port}", flush=True)
    return subprocess.call(cmd, env=os.environ.copy())


def _safe_url() -> str:
    return make_url(get_settings().resolved_database_url()).render_as_string(hide_password=True)


def cmd_backup(args) -> int:  # noqa: ANN001
    url = make_url(get_settings().resolved_database_url())
    out: Path = args.out
    if url.get_backend_name() != "sqlite":
        print("PostgreSQL: 请使用 pg_dump 做在线一致性备份 / use pg_dump for a consistent online copy:\n"
              f"  pg_dump --format=custom --file {out} '{url.render_as_string(hide_password=True)}'\n"
              "恢复 / restore: pg_restore --clean --dbname <url> FILE")
        if shutil.which("pg_dump"):
            # The password goes through the environment: a command line is visible to every
            # local user (ps, /proc) and ends up in process accounting.
            env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
            plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
            return subprocess.call(["pg_dump", "--format=custom", "--file", str(out), plain], env=env)
        return 2
    result = backup_sqlite(Path(url.database), out)
    print(f"备份完成 / backup written: {out} (integrity_check: {result})")
    return 0 if result == "ok" else 1


def backup_sqlite(source: Path, out: Path) -> str:
    """Online copy with SQLite's backup API (consistent while writers continue), verified."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".partial")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)  # quoted: "#", "?" in paths
    dst = sqlite3.connect(tmp)
    try:
        # One step: the copy is one read transaction of the source, which in WAL mode never
        # blocks writers. Copying in slices restarts whenever a writer commits in between, so
        # under steady write load a sliced backup never finishes.
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if result == "ok":
        tmp.replace(out)
    return result
