"""Engine factory and transaction runner.

SQLite gets WAL, foreign keys, FULL sync and a busy timeout on every connection; write
transactions begin IMMEDIATE so a read-then-write never dies with "database is locked".
PostgreSQL serialization failures and deadlocks are retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from portal.errors import PermissionDenied, StorageError
from portal.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")
_RETRYABLE_PG = {"40001", "40P01"}
MAX_ATTEMPTS = 6


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    settings = get_settings()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_engine(
        url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=2,
        pool_pre_ping=True,
        hide_parameters=True,  # SQL errors in logs never show values (webhook URLs, hashes)
    )


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        # Take BEGIN out of pysqlite's hands so we decide DEFERRED vs IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@lru_cache(maxsize=4)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return _engine_for(get_settings().resolved_database_url())


def _write_bind(engine: Engine) -> Engine:
    return engine.execution_options(sqlite_begin="IMMEDIATE") if is_sqlite(engine) else engine


@contextmanager
def read_session(engine: Engine | None = None) -> Iterator[Session]:
    engine = engine or get_engine()
    with Session(engine, expire_on_commit=False) as session:
        yield session


def _retryable(exc: DBAPIError) -> bool:
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRYABLE_PG:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def run(fn: Callable[..., T], *, engine: Engine | None = None, write: bool = True, **kwargs) -> T:
    """Call `fn(session=..., **kwargs)` in one transaction; commit if it returns.

    Retries transient concurrency failures from the start. A PermissionDenied rolls the
    transaction back and is then audited in a transaction of its own before re-raising.
    """
    engine = engine or get_engine()
    bind = _write_bind(engine) if write else engine
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with Session(bind, expire_on_commit=False) as session:
                result = fn(session=session, **kwargs)
                if write:
                    session.commit()
                else:
                    session.rollback()
                return result
        except PermissionDenied as denied:
            _audit_denial(engine, denied, kwargs.get("actor"))
            raise
        except DBAPIError as exc:
            if attempt < MAX_ATTEMPTS and _retryable(exc):
                log.info("retrying transaction after %s (attempt %d)", type(exc).__name__, attempt)
                time.sleep(0.02 * attempt)
                continue
            storage = _storage_problem(exc)
            if storage:
                log.error("database storage problem: %s", getattr(exc, "orig", exc))
                raise StorageError(storage) from exc
            raise
    raise AssertionError("unreachable")


def _storage_problem(exc: DBAPIError) -> str | None:
    """A message key when the database cannot be written: read-only file, disk or transaction,
    a file that cannot be opened, or a full disk (SQLite's and PostgreSQL's wording)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig or exc).lower()
    if code in ("53100", "53200") or "database or disk is full" in text or "no space left" in text:
        return "db.err_full"
    if code == "25006" or "readonly database" in text or "unable to open database file" in text \
            or "read-only file system" in text:
        return "db.err_readonly"
    return None


def _audit_denial(engine: Engine, denied: PermissionDenied, actor: object) -> None:
    from portal import audit  # local: audit imports models, keep db importable alone

    with Session(_write_bind(engine)) as session:
        audit.record_denial(session, actor=actor, denied=denied)
        session.commit()
