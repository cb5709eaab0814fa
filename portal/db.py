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

from portal.errors import PermissionDenied
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
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_engine(
        url,
        pool_size=pool_size or settings.pool_size,
        max_overflow=2,
        pool_pre_ping=True,
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
            raise
    raise AssertionError("unreachable")


def _audit_denial(engine: Engine, denied: PermissionDenied, actor: object) -> None:
    from portal import audit  # local: audit imports models, keep db importable alone

    with Session(_write_bind(engine)) as session:
        audit.record_denial(session, actor=actor, denied=denied)
        session.commit()
