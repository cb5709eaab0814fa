"""Migrations match the models, and `init` is idempotent, on both databases."""

from sqlalchemy import inspect, text

from portal import schema
from seed import loader


def test_migrated_schema_matches_models(migrated_engine):
    assert schema.pending_differences(migrated_engine) == []


def _fingerprint(engine) -> dict[str, list]:
    out = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608 (table names from inspect)
            out[table] = sorted(map(repr, rows))
    return out


def test_init_twice_changes_nothing(migrated_engine):
    before = _fingerprint(migrated_engine)
    schema.upgrade(migrated_engine)
    assert loader.load_all(migrated_engine) == []
    assert _fingerprint(migrated_engine) == before
    assert schema.current_revision(migrated_engine) is not None


def test_sqlite_connections_are_configured(tmp_path):
    from portal import db

    eng = db.make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with eng.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    eng.dispose()
    assert pragmas["journal_mode"] == "wal" and pragmas["foreign_keys"] == 1
    assert pragmas["synchronous"] == 2 and pragmas["busy_timeout"] >= 5000
