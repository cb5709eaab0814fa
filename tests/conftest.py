"""Fixtures: a fresh SQLite file per test, the same service tests on PostgreSQL when
PORTAL_TEST_POSTGRES_URL is set (one throw-away schema per test), and a demo database
built once per run and copied for each test that needs it."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import models  # noqa: F401
from portal import db, schema, settings
from seed import loader

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PORTAL_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _reset_caches() -> None:
    settings.get_settings.cache_clear()
    db._engine_for.cache_clear()


def _pg_engine(schema_name: str):
    # Room for the 50-writer concurrency tests; search_path isolates this test's tables.
    return create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema_name}"}, pool_size=5,
                         max_overflow=60)


@contextmanager
def _database(backend: str, tmp_path: Path, *, migrations_only: bool):
    """A fresh database: migrated to head, seed content loaded. Unless `migrations_only`,
    tables of models whose migration is not written yet are created too, so a feature can
    be developed before its migration (test_schema proves every model is migrated)."""

    def prepare(eng) -> None:
        schema.upgrade(eng)
        if not migrations_only:
            SQLModel.metadata.create_all(eng)
        loader.load_all(eng)

    if backend == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        prepare(eng)
        yield eng
        eng.dispose()
        return
    if not PG_URL:
        pytest.skip("PORTAL_TEST_POSTGRES_URL not set")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    eng = _pg_engine(name)
    try:
        prepare(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """An empty database with the seed content, on SQLite and (if configured) PostgreSQL."""
    with _database(request.param, tmp_path, migrations_only=False) as eng:
        yield eng


@pytest.fixture(params=BACKENDS)
def migrated_engine(request, tmp_path):
    """Like `engine`, but built by the Alembic migrations alone."""
    with _database(request.param, tmp_path, migrations_only=True) as eng:
        yield eng


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The pilot-scale demo database, built once per test run."""
    from seed import demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    eng = db.make_engine(f"sqlite:///{path}")
    schema.upgrade(eng)
    SQLModel.metadata.create_all(eng)
    loader.load_all(eng)
    demo.build(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture
def demo_db(demo_template, tmp_path, monkeypatch):
    """A private copy of the demo database, configured as the portal's database."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_template, path)
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{path}")
    _reset_caches()
    yield db.get_engine()
    db.get_engine().dispose()
    _reset_caches()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch, tmp_path):
    """No test touches ./data: the default database lives in the test's tmp dir."""
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "data"))
    _reset_caches()
    yield
    _reset_caches()


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: runs against PostgreSQL when PORTAL_TEST_POSTGRES_URL is set")

