"""Upgrades lose nothing: a database created at the first migration (0001) and filled with
data is upgraded one revision at a time to head — filling every table a revision adds — and
every row of every stage must come out at head with the same values, on SQLite (batch mode
rebuilds tables) and PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, datetime, time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    func,
    select,
    text,
)

from portal import db, schema
from tests.conftest import BACKENDS, PG_URL, _pg_engine

ROWS = 3


@pytest.fixture(params=BACKENDS)
def blank(request, tmp_path: Path):
    """An empty database (no tables at all)."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        pytest.skip("PORTAL_TEST_POSTGRES_URL not set")
    name = f"u_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine = _pg_engine(name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(schema.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def reflect(engine: Engine) -> MetaData:
    meta = MetaData()
    meta.reflect(engine)
    meta.remove(meta.tables["alembic_version"])
    return meta


def value(table: Table, column, i: int) -> object:
    """A distinct, valid value of the column's type for row i (1-based)."""
    for fk in column.foreign_keys:
        if fk.column.table is table:
            return None if i == 1 and column.nullable else 1  # a tree: row 1 is the root
        return i
    kind = column.type
    if isinstance(kind, Boolean):
        return i % 2 == 0
    if isinstance(kind, Integer):
        return i if column.primary_key else 100 + i
    if isinstance(kind, Float | Numeric):
        return i + 0.25
    if isinstance(kind, DateTime):
        return datetime.combine(date(2026, 1, i), time(8, 30, i))
    if isinstance(kind, Date):
        return date(2026, 1, i)
    if isinstance(kind, JSON):
        return {"row": i, "text": f"第{i}行", "list": [i, "数据"]}
    if isinstance(kind, String):
        return f"{i}·{column.name}·数据"[: kind.length or 200]
    raise AssertionError(f"no test value for {table.name}.{column.name}: {kind!r}")


def fill(engine: Engine, meta: MetaData, tables: set[str]) -> None:
    """ROWS rows in each of `tables` still empty (a table a migration or trigger filled from
    others, e.g. derived totals, keeps its own rows)."""
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            if table.name in tables and not conn.execute(select(func.count()).select_from(table)).scalar():
                conn.execute(table.insert(), [{c.name: value(table, c, i) for c in table.columns}
                                              for i in range(1, ROWS + 1)])


def snapshot(engine: Engine, meta: MetaData) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in meta.sorted_tables}


def test_a_filled_database_from_the_first_migration_upgrades_to_head_without_losing_a_row(blank):
    steps = revisions()
    assert steps[0] == "0001" and len(steps) >= 2
    seen: dict[str, set[str]] = {}  # table → columns that held data before head
    expected: dict[str, list[dict]] = {}
    for revision in steps:
        schema.upgrade(blank, revision)  # what `pilot-portal init` runs
        meta = reflect(blank)
        fill(blank, meta, {t for t in meta.tables if t not in seen})  # the tables this revision added
        for table, rows in snapshot(blank, meta).items():
            seen.setdefault(table, set(rows[0]) if rows else set())
            expected.setdefault(table, rows)
    assert schema.current_revision(blank) == steps[-1]
    final = snapshot(blank, reflect(blank))
    lost = {}
    for table, rows in expected.items():
        assert table in final, f"table {table} disappeared"
        kept = [{k: v for k, v in row.items() if k in seen[table]} for row in final[table]]
        if kept != rows:
            lost[table] = (rows, kept)
    assert not lost, lost
    assert all(final.values()), [t for t, r in final.items() if not r]  # every table held data
    assert not schema.pending_differences(blank)  # head matches the models


REBUILD = '''
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff") as batch:  # SQLite cannot alter a column: copy, drop, rename
        batch.alter_column("position", existing_type=sa.String(length=32), type_=sa.String(length=48))


def downgrade():
    pass
'''


def test_a_migration_that_rebuilds_a_referenced_table_works_on_a_filled_database(blank, tmp_path, monkeypatch):
    """SQLite batch mode rebuilds a table to change a column; with foreign keys on, dropping
    the old `staff` table fails once other rows point at it (users, report entries …).
    portal.schema.upgrade switches them off while migrating and checks them before commit."""
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(schema.PACKAGE_DIR) / "migrations", scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_rebuild_staff.py").write_text(REBUILD.format(head=revisions()[-1]))
    real = schema.alembic_config

    def config():
        cfg = real()
        cfg.set_main_option("script_location", str(scripts))
        return cfg

    schema.upgrade(blank)
    meta = reflect(blank)
    fill(blank, meta, set(meta.tables))
    before = snapshot(blank, meta)
    monkeypatch.setattr(schema, "alembic_config", config)
    schema.upgrade(blank)
    assert schema.current_revision(blank) == "9999"
    assert snapshot(blank, reflect(blank)) == before


def test_per_pilot_totals_down_and_up_again(migrated_engine):
    """0006 down: pilot_total goes, the report triggers keep report_total alone; up again: the
    table is back-filled from the reports and kept by the triggers once more."""
    from alembic import command
    from sqlmodel import Session

    from models.reports import DailyEntry, DailyReport, PilotTotal, ReportTotal
    from portal import clock
    from tests import factories

    def migrate(fn, revision: str) -> None:
        cfg = schema.alembic_config()
        with migrated_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, revision)

    ids = factories.org(migrated_engine)
    pilot = factories.pilot(migrated_engine, ids["subs"][0], start=date(2026, 11, 2))
    staff = ids["staff"]["A"][0]
    with Session(migrated_engine) as s:
        report = DailyReport(pilot_id=pilot, report_date=date(2026, 11, 3), created_at=clock.now_utc(),
                             updated_at=clock.now_utc())
        s.add(report)
        s.commit()
        rid = report.id
    migrate(command.downgrade, "0005")
    with Session(migrated_engine) as s:
        s.add(DailyEntry(report_id=rid, staff_id=staff, metric="wecom_adds", value=5))
        s.commit()
        assert s.exec(select(ReportTotal.value)).scalars().all() == [5]  # 0005's triggers still work without the table
        tables = set(s.connection().dialect.get_table_names(s.connection()))
    assert "pilot_total" not in tables
    migrate(command.upgrade, "head")
    with Session(migrated_engine) as s:
        assert s.exec(select(PilotTotal.pilot_id, PilotTotal.value)).all() == [(pilot, 5)]  # back-filled
        s.add(DailyEntry(report_id=rid, staff_id=ids["staff"]["A"][1], metric="wecom_adds", value=2))
        s.commit()
        assert s.exec(select(PilotTotal.value)).scalars().all() == [7]
