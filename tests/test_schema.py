"""Migrations match the models, and `init` is idempotent, on both databases."""

from sqlalchemy import inspect, text

from portal import schema
from seed import loader


def test_migrated_schema_matches_models(engine):
    assert schema.pending_differences(engine) == []


def _fingerprint(engine) -> dict[str, list]:
    out = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608 (table names from inspect)
            out[table] = sorted(map(repr, rows))
    return out


def test_init_twice_changes_nothing(engine):
    before = _fingerprint(engine)
    schema.upgrade(engine)
    loader.load_all(engine)
    assert _fingerprint(engine) == before
    assert schema.current_revision(engine) is not None


def test_sqlite_connections_are_configured(tmp_path):
    from portal import db

    eng = db.make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with eng.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    eng.dispose()
    assert pragmas["journal_mode"] == "wal" and pragmas["foreign_keys"] == 1
    assert pragmas["synchronous"] == 2 and pragmas["busy_timeout"] >= 5000
