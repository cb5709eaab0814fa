"""The demo database at a given scale, built once and reused by every benchmark.

SQLite: a file under bench/results/db/ named by scale and a fingerprint of everything that
shapes the data (demo builder, seed content, models, migrations, today's date — the demo is
dated relative to today); each benchmark works on a throw-away copy of it.
PostgreSQL ($PORTAL_BENCH_POSTGRES_URL): a template database `pp_bench_<scale>_<fingerprint>`
on the same server, built once; each run works on `CREATE DATABASE … TEMPLATE` copy that it
drops at the end. Stale builds of a scale are dropped when a new one is made;
`python -m bench.datasets --drop` removes every benchmark database and file.

`python -m bench.datasets --scale province [--backend postgres]` builds ahead of time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.harness import PG_ENV, RESULTS, ROOT

DB_DIR = RESULTS / "db"
SHAPING = ("seed/demo/*.py", "seed/content/*.toml", "models/*.py", "portal/migrations/versions/*.py")


def fingerprint(scale: str) -> str:
    from portal import clock

    digest = hashlib.sha256(f"{scale}|{clock.today().isoformat()}".encode())
    for pattern in SHAPING:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build(url: str, scale: str, *, progress=None) -> float:  # noqa: ANN001
    """Migrate, load the seed content and build the demo at `scale`; returns seconds."""
    from portal import db, schema
    from seed import demo, loader

    started = time.perf_counter()
    engine = db.make_engine(url)
    try:
        schema.upgrade(engine)
        loader.load_all(engine)
        demo.build(engine, scale=scale, progress=progress)
        if engine.dialect.name == "sqlite":  # as `pilot-portal demo` does
            schema.analyze(engine)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _meta_path(db_file: Path) -> Path:
    return db_file.with_suffix(".json")


def build_info(scale: str, backend: str = "sqlite") -> dict:
    """What the cached build of `scale` recorded (seconds, row counts), if it exists."""
    key = fingerprint(scale)
    path = DB_DIR / f"{scale}-{key}.json" if backend == "sqlite" else DB_DIR / f"pg-{scale}-{key}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _counts(url: str) -> dict:
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in ("branch", "staff", "pilot", "daily_report", "daily_entry", "pointentry", "contestparticipant",
                      "checklist_item", "budgetline"):
            out[table] = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()  # noqa: S608 - fixed names
    engine.dispose()
    return out


def sqlite_file(scale: str, *, progress=None) -> Path:  # noqa: ANN001
    """The cached SQLite database of `scale` (built on first use)."""
    DB_DIR.mkdir(parents=True, exist_ok=True)
    key = fingerprint(scale)
    path = DB_DIR / f"{scale}-{key}.db"
    if path.exists():
        return path
    for stale in DB_DIR.glob(f"{scale}-*.db*"):
        stale.unlink()
    for stale in DB_DIR.glob(f"{scale}-*.json"):
        stale.unlink()
    partial = DB_DIR / f"{scale}-{key}.building.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    seconds = build(f"sqlite:///{partial}", scale, progress=progress)
    partial.rename(path)
    _meta_path(path).write_text(json.dumps({"scale": scale, "backend": "sqlite", "build_seconds": seconds,
                                            "rows": _counts(f"sqlite:///{path}")}, indent=2))
    return path


@contextmanager
def sqlite_copy(scale: str, *, progress=None) -> Iterator[str]:  # noqa: ANN001
    """A throw-away copy of the cached SQLite database: yields its URL."""
    source = sqlite_file(scale, progress=progress)
    folder = Path(tempfile.mkdtemp(prefix="pp-bench-"))
    try:
        target = folder / "bench.db"
        shutil.copy(source, target)
        yield f"sqlite:///{target}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _admin():  # noqa: ANN202
    url = os.environ.get(PG_ENV)
    if not url:
        raise SystemExit(f"{PG_ENV} is not set")
    return create_engine(url, isolation_level="AUTOCOMMIT"), make_url(url)


def _databases(admin) -> list[str]:  # noqa: ANN001
    with admin.connect() as conn:
        return list(conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'pp_bench_%'")).scalars())


def postgres_template(scale: str, *, progress=None) -> str:  # noqa: ANN001
    """The name of the cached PostgreSQL template database of `scale` (built on first use)."""
    admin, base = _admin()
    key = fingerprint(scale)
    name = f"pp_bench_{scale}_{key}"
    try:
        existing = _databases(admin)
        if name in existing:
            return name
        with admin.connect() as conn:
            for stale in existing:
                if stale.startswith(f"pp_bench_{scale}_") or stale == f"{name}_building":
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}_building"'))
        url = base.set(database=f"{name}_building").render_as_string(hide_password=False)
        seconds = build(url, scale, progress=progress)
        rows = _counts(url)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}_building" RENAME TO "{name}"'))
        DB_DIR.mkdir(parents=True, exist_ok=True)
        (DB_DIR / f"pg-{scale}-{key}.json").write_text(json.dumps(
            {"scale": scale, "backend": "postgres", "build_seconds": seconds, "rows": rows}, indent=2))
        return name
    finally:
        admin.dispose()


@contextmanager
def postgres_copy(scale: str, *, progress=None) -> Iterator[str]:  # noqa: ANN001
    """A throw-away copy (CREATE DATABASE … TEMPLATE) of the cached template: yields its URL
    and drops the copy afterwards."""
    template = postgres_template(scale, progress=progress)
    admin, base = _admin()
    name = f"pp_bench_run_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        from portal import db

        db._engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database(scale: str, backend: str, *, progress=None) -> Iterator[str]:  # noqa: ANN001
    """A throw-away database of `scale` on `backend` ("sqlite" | "postgres"): yields its URL."""
    ctx = sqlite_copy if backend == "sqlite" else postgres_copy
    with ctx(scale, progress=progress) as url:
        yield url


@contextmanager
def configured(url: str) -> Iterator[None]:
    """Make `url` the portal's database for this process (settings and engine caches reset)."""
    from portal import db, settings

    before = os.environ.get("PORTAL_DATABASE_URL")
    os.environ["PORTAL_DATABASE_URL"] = url
    settings.get_settings.cache_clear()
    db._engine_for.cache_clear()
    try:
        yield
    finally:
        db.get_engine().dispose()
        if before is None:
            os.environ.pop("PORTAL_DATABASE_URL", None)
        else:
            os.environ["PORTAL_DATABASE_URL"] = before
        settings.get_settings.cache_clear()
        db._engine_for.cache_clear()


def drop_all() -> None:
    shutil.rmtree(DB_DIR, ignore_errors=True)
    if os.environ.get(PG_ENV):
        admin, _ = _admin()
        with admin.connect() as conn:
            for name in _databases(admin):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    from portal.cli.progress import ProgressBar

    p = argparse.ArgumentParser(description="build (or drop) the cached benchmark databases")
    p.add_argument("--scale", choices=["pilot", "province", "national"], default="province")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--drop", action="store_true", help="drop every cached benchmark database and file")
    args = p.parse_args()
    if args.drop:
        drop_all()
        return
    if args.backend == "sqlite":
        print(sqlite_file(args.scale, progress=ProgressBar()))
    else:
        print(postgres_template(args.scale, progress=ProgressBar()))
    print(json.dumps(build_info(args.scale, args.backend), indent=2))


if __name__ == "__main__":
    main()
