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

# Row triggers on SQLite: 0005's statements, plus the same change one level up.
_REPORT_ADD = """INSERT INTO report_total (report_id, metric, value) VALUES (NEW.report_id, NEW.metric, NEW.value)
        ON CONFLICT (report_id, metric) DO UPDATE SET value = value + excluded.value;"""
_REPORT_SUB = """UPDATE report_total SET value = value - OLD.value WHERE report_id = OLD.report_id AND metric = OLD.metric;"""
_PILOT_ADD = """INSERT INTO pilot_total (pilot_id, metric, value)
        SELECT pilot_id, NEW.metric, NEW.value FROM daily_report WHERE id = NEW.report_id
        ON CONFLICT (pilot_id, metric) DO UPDATE SET value = value + excluded.value;"""
_PILOT_SUB = """UPDATE pilot_total SET value = value - OLD.value
        WHERE metric = OLD.metric AND pilot_id = (SELECT pilot_id FROM daily_report WHERE id = OLD.report_id);"""

# PostgreSQL: 0005's statement triggers call report_total_apply(); replacing the function
# changes what they do, the triggers stay.
_PG_REPORT_SUB = """UPDATE report_total t SET value = t.value - d.v
        FROM (SELECT report_id, metric, SUM(value) AS v FROM old_rows GROUP BY report_id, metric) d
        WHERE t.report_id = d.report_id AND t.metric = d.metric;"""
_PG_PILOT_SUB = """UPDATE pilot_total t SET value = t.value - d.v
        FROM (SELECT r.pilot_id, o.metric, SUM(o.value) AS v FROM old_rows o JOIN daily_report r ON r.id = o.report_id
              GROUP BY r.pilot_id, o.metric) d
        WHERE t.pilot_id = d.pilot_id AND t.metric = d.metric;"""
_PG_REPORT_ADD = """INSERT INTO report_total (report_id, metric, value)
        SELECT report_id, metric, SUM(value) FROM new_rows GROUP BY report_id, metric
        ON CONFLICT (report_id, metric) DO UPDATE SET value = report_total.value + EXCLUDED.value;"""
_PG_PILOT_ADD = """INSERT INTO pilot_total (pilot_id, metric, value)
        SELECT r.pilot_id, n.metric, SUM(n.value) FROM new_rows n JOIN daily_report r ON r.id = n.report_id
        GROUP BY r.pilot_id, n.metric
        ON CONFLICT (pilot_id, metric) DO UPDATE SET value = pilot_total.value + EXCLUDED.value;"""


def _sqlite_triggers(pilots: bool) -> dict[str, str]:
    """0005's three triggers, with (`pilots`) or without the pilot_total statements."""
    add = [_REPORT_ADD, *([_PILOT_ADD] if pilots else [])]
    sub = [_REPORT_SUB, *([_PILOT_SUB] if pilots else [])]
    body = {"ins": ("AFTER INSERT", add), "del": ("AFTER DELETE", sub),
            "upd": ("AFTER UPDATE OF report_id, metric, value", sub + add)}
    return {f"daily_entry_total_{k}": f"CREATE TRIGGER daily_entry_total_{k} {when} ON daily_entry BEGIN\n        "
            + "\n        ".join(statements) + "\n    END" for k, (when, statements) in body.items()}


def _pg_function(pilots: bool) -> str:
    """report_total_apply() as 0005 made it, with (`pilots`) or without the pilot_total statements."""
    sub = "\n        ".join([_PG_REPORT_SUB, *([_PG_PILOT_SUB] if pilots else [])])
    add = "\n        ".join([_PG_REPORT_ADD, *([_PG_PILOT_ADD] if pilots else [])])
    return ("CREATE OR REPLACE FUNCTION report_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"    IF TG_OP IN ('DELETE', 'UPDATE') THEN\n        {sub}\n    END IF;\n"
            f"    IF TG_OP IN ('INSERT', 'UPDATE') THEN\n        {add}\n    END IF;\n"
            "    RETURN NULL;\nEND $$")


BACKFILL = ("INSERT INTO pilot_total (pilot_id, metric, value) "
            "SELECT r.pilot_id, t.metric, SUM(t.value) FROM report_total t JOIN daily_report r ON r.id = t.report_id "
            "GROUP BY r.pilot_id, t.metric")


def _replace_sqlite_triggers(ddl: dict[str, str]) -> None:
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
        op.execute(_pg_function(pilots=True))
    else:
        _replace_sqlite_triggers(_sqlite_triggers(pilots=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(pilots=False))
    else:
        _replace_sqlite_triggers(_sqlite_triggers(pilots=False))
    op.drop_table('pilot_total')
