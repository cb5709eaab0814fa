"""Bulk writes for the demo builder at province and national scale: SQLAlchemy Core insert()
executemany in chunks (no per-row ORM objects), and cloning of rows a service created for one
pilot onto many similar pilots, so the rules stay in the services and run once per variant."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import JSON, func, insert, select, text, update
from sqlmodel import Session

CHUNK = 20_000


def _copy_rows(session: Session, table, rows: Sequence[dict]) -> bool:  # noqa: ANN001
    """PostgreSQL: load `rows` with COPY … FROM STDIN inside the session's transaction (a
    national build writes 21 million daily entries: executemany renders every value into SQL
    text, COPY streams them ~10× faster, and the statement triggers run once). False where
    COPY does not apply (other databases, JSON columns) and nothing was written."""
    conn = session.connection()
    names = list(rows[0])
    if conn.dialect.name != "postgresql" or any(isinstance(table.c[n].type, JSON) for n in names):
        return False
    columns = ", ".join(f'"{n}"' for n in names)
    with conn.connection.driver_connection.cursor() as cur, \
            cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:  # names from the model, not input
        for row in rows:
            copy.write_row([row[n] for n in names])
    return True


def insert_rows(session: Session, model, rows: Sequence[dict], *, chunk: int = CHUNK) -> int:  # noqa: ANN001
    """INSERT many rows of `model` (dicts with the same keys), `chunk` rows per executemany
    (COPY on PostgreSQL)."""
    table = model.__table__
    if not rows:
        return 0
    session.flush()
    if _copy_rows(session, table, rows):
        return len(rows)
    conn = session.connection()
    for i in range(0, len(rows), chunk):
        conn.execute(insert(table), list(rows[i:i + chunk]))
    return len(rows)


def insert_returning_ids(session: Session, model, rows: Sequence[dict]) -> list[int]:  # noqa: ANN001
    """INSERT many rows and return their new ids in the order of `rows`."""
    if not rows:
        return []
    table = model.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    conn = session.connection()
    out: list[int] = []
    for i in range(0, len(rows), CHUNK):
        out.extend(conn.execute(stmt, list(rows[i:i + CHUNK])).scalars().all())
    return out


def update_rows(session: Session, model, rows: Sequence[dict], *, chunk: int = CHUNK) -> int:  # noqa: ANN001
    """UPDATE many rows by id (executemany): each dict holds `id_` and the new values."""
    from sqlalchemy import bindparam

    if not rows:
        return 0
    table = model.__table__
    values = {k: bindparam(k) for k in rows[0] if k != "id_"}
    stmt = update(table).where(table.c.id == bindparam("id_")).values(values)
    conn = session.connection()
    for i in range(0, len(rows), chunk):
        conn.execute(stmt, list(rows[i:i + chunk]))
    return len(rows)


def clone_pilot_rows(session: Session, model, source_pilot_id: int, targets: Iterable[tuple[int, date]],  # noqa: ANN001
                     source_start: date, *, date_columns: tuple[str, ...] = ()) -> int:
    """Copy every `model` row of the source pilot onto each target (pilot_id, start_date),
    shifting `date_columns` by the difference of the start dates. The source rows were made by
    the service that owns the rule (e.g. the package adoption), so the copies follow it."""
    session.flush()
    table = model.__table__
    source = [dict(r._mapping) for r in session.connection().execute(
        select(table).where(table.c.pilot_id == source_pilot_id).order_by(table.c.id))]
    rows = []
    for pilot_id, start in targets:
        shift = timedelta(days=(start - source_start).days)
        for row in source:
            copy = {k: v for k, v in row.items() if k != "id"}
            copy["pilot_id"] = pilot_id
            for column in date_columns:
                if copy.get(column) is not None:
                    copy[column] = copy[column] + shift
            rows.append(copy)
    return insert_rows(session, model, rows)


def refresh_statistics(session: Session, *tables: str) -> None:
    """PostgreSQL: ANALYZE tables this build has just filled. The whole build is one
    transaction, which autovacuum cannot see into; without statistics on millions of new rows
    the later steps' reads pick nested loops (the national build took over an hour).
    ANALYZE inside the transaction sees its own rows. SQLite: nothing (`pilot-portal demo`
    analyzes after the build)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")  # table names from the code, not input


@contextmanager
def entry_load(session: Session) -> Iterator[None]:
    """Bulk-load daily entries. On SQLite the row triggers that keep `report_total` and
    `pilot_total` (migrations 0005, 0006) would run once per entry, so they are set aside for
    the load, both are filled once from the new entries and the very same triggers are
    re-created; PostgreSQL's statement triggers aggregate each INSERT once anyway."""
    from models.reports import DailyEntry, ReportTotal

    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name = 'daily_entry' ORDER BY name")).all()
    first = (conn.execute(select(func.max(DailyEntry.id))).scalar() or 0) + 1
    for name, _ in triggers:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    entries = DailyEntry.__table__
    conn.execute(insert(ReportTotal.__table__).from_select(
        ["report_id", "metric", "value"],
        select(entries.c.report_id, entries.c.metric, func.sum(entries.c.value))
        .where(entries.c.id >= first).group_by(entries.c.report_id, entries.c.metric)))
    conn.execute(text(  # pilot_total (migration 0006): pilots may already have reports
        "INSERT INTO pilot_total (pilot_id, metric, value) "
        "SELECT r.pilot_id, e.metric, SUM(e.value) FROM daily_entry e JOIN daily_report r ON r.id = e.report_id "
        "WHERE e.id >= :first GROUP BY r.pilot_id, e.metric "
        "ON CONFLICT (pilot_id, metric) DO UPDATE SET value = pilot_total.value + excluded.value"), {"first": first})
    for _, ddl in triggers:
        conn.execute(text(ddl))
