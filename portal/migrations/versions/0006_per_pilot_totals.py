"""per-pilot totals

`pilot_total` holds per pilot and staff-level metric the sum of `daily_entry.value` over all
the pilot's reports. The triggers that keep `report_total` (0005) keep it too, in the same
statement: the pilot comes from the entry's report. Head office's portfolio then reads a
pilot's totals to date as one row per metric instead of summing every report (national scale:
456,000 report totals for 2,000 pilots at every visit). Existing reports are back-filled.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Row triggers on SQLite: each statement of 0005's triggers, plus the same change one level up.
_REPORT_ADD = """INSERT INTO report_total (report_id, metric, value) VALUES (NEW.report_id, NEW.metric, NEW.value)
        ON CONFLICT (report_id, metric) DO UPDATE SET value = value + excluded.value;"""
_REPORT_SUB = """UPDATE report_total SET value = value - OLD.value WHERE report_id = OLD.report_id AND metric = OLD.metric;"""
_PILOT_ADD = """INSERT INTO pilot_total (pilot_id, metric, value)
        SELECT pilot_id, NEW.metric, NEW.value FROM daily_report WHERE id = NEW.report_id
        ON CONFLICT (pilot_id, metric) DO UPDATE SET value = value + excluded.value;"""
_PILOT_SUB = """UPDATE pilot_total SET value = value - OLD.value
        WHERE metric = OLD.metric AND pilot_id = (SELECT pilot_id FROM daily_report WHERE id = OLD.report_id);"""
SQLITE_TRIGGERS = {
    "daily_entry_total_ins": f"CREATE TRIGGER daily_entry_total_ins AFTER INSERT ON daily_entry BEGIN\n"
                             f"        {_REPORT_ADD}\n        {_PILOT_ADD}\n    END",
    "daily_entry_total_del": f"CREATE TRIGGER daily_entry_total_del AFTER DELETE ON daily_entry BEGIN\n"
                             f"        {_REPORT_SUB}\n        {_PILOT_SUB}\n    END",
    "daily_entry_total_upd": f"CREATE TRIGGER daily_entry_total_upd AFTER UPDATE OF report_id, metric, value "
                             f"ON daily_entry BEGIN\n        {_REPORT_SUB}\n        {_PILOT_SUB}\n"
                             f"        {_REPORT_ADD}\n        {_PILOT_ADD}\n    END",
}
SQLITE_TRIGGERS_0005 = {
    "daily_entry_total_ins": f"CREATE TRIGGER daily_entry_total_ins AFTER INSERT ON daily_entry BEGIN\n"
                             f"        {_REPORT_ADD}\n    END",
    "daily_entry_total_del": f"CREATE TRIGGER daily_entry_total_del AFTER DELETE ON daily_entry BEGIN\n"
                             f"        {_REPORT_SUB}\n    END",
    "daily_entry_total_upd": f"CREATE TRIGGER daily_entry_total_upd AFTER UPDATE OF report_id, metric, value "
                             f"ON daily_entry BEGIN\n        {_REPORT_SUB}\n        {_REPORT_ADD}\n    END",
}
# PostgreSQL: 0005's statement triggers call report_total_apply(); replacing the function
# changes what they do, the triggers stay.
PG_FUNCTION = """CREATE OR REPLACE FUNCTION report_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE report_total t SET value = t.value - d.v
        FROM (SELECT report_id, metric, SUM(value) AS v FROM old_rows GROUP BY report_id, metric) d
        WHERE t.report_id = d.report_id AND t.metric = d.metric;
        UPDATE pilot_total t SET value = t.value - d.v
        FROM (SELECT r.pilot_id, o.metric, SUM(o.value) AS v FROM old_rows o JOIN daily_report r ON r.id = o.report_id
              GROUP BY r.pilot_id, o.metric) d
        WHERE t.pilot_id = d.pilot_id AND t.metric = d.metric;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_total (report_id, metric, value)
        SELECT report_id, metric, SUM(value) FROM new_rows GROUP BY report_id, metric
        ON CONFLICT (report_id, metric) DO UPDATE SET value = report_total.value + EXCLUDED.value;
        INSERT INTO pilot_total (pilot_id, metric, value)
        SELECT r.pilot_id, n.metric, SUM(n.value) FROM new_rows n JOIN daily_report r ON r.id = n.report_id
        GROUP BY r.pilot_id, n.metric
        ON CONFLICT (pilot_id, metric) DO UPDATE SET value = pilot_total.value + EXCLUDED.value;
    END IF;
    RETURN NULL;
END $$"""
PG_FUNCTION_0005 = """CREATE OR REPLACE FUNCTION report_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE report_total t SET value = t.value - d.v
        FROM (SELECT report_id, metric, SUM(value) AS v FROM old_rows GROUP BY report_id, metric) d
        WHERE t.report_id = d.report_id AND t.metric = d.metric;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_total (report_id, metric, value)
        SELECT report_id, metric, SUM(value) FROM new_rows GROUP BY report_id, metric
        ON CONFLICT (report_id, metric) DO UPDATE SET value = report_total.value + EXCLUDED.value;
    END IF;
    RETURN NULL;
END $$"""
BACKFILL = ("INSERT INTO pilot_total (pilot_id, metric, value) "
            "SELECT r.pilot_id, t.metric, SUM(t.value) FROM report_total t JOIN daily_report r ON r.id = t.report_id "
            "GROUP BY r.pilot_id, t.metric")


def _sqlite_triggers(ddl: dict[str, str]) -> None:
    for name, sql in ddl.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(sql)


def upgrade() -> None:
    op.create_table('pilot_total',
    sa.Column('pilot_id', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['pilot_id'], ['pilot.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pilot_id', 'metric')
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
    else:
        _sqlite_triggers(SQLITE_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION_0005)
    else:
        _sqlite_triggers(SQLITE_TRIGGERS_0005)
    op.drop_table('pilot_total')
