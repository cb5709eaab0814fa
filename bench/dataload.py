"""Data load: building the demo at a scale from scratch, and importing a 1,000-row daily-report
workbook.

    python -m bench.dataload --scale province [--backend postgres]

Build: migrate, load the seed content and run every demo step (seed.demo.build) into a new
database, timed end to end. Floor: the driver's own executemany of as many rows as the build
wrote to its two largest tables (daily_entry and the points ledger), into bare copies of those
tables with the same indexes, in the same run — the cost of the rows alone.
Import: a new pilot on a sub-branch of 100 staff, the report template for 10 days (exports.
report_template via portal.report_import.template_workbook; at pilot scale the largest
sub-branch, 19 staff × 28 days) filled in like a coach would, and
portal.report_import.import_reports committing it (1,000 staff rows + 10 branch rows).
Floor: reading the same workbook with openpyxl (read-only, every row) — the parse any import
must do.
Targets (issue 10): province build < 120 s; import of 1,000 rows < 5 s.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bench import datasets
from bench.harness import backends, machine, measure, parser, print_table, ratio, summary, write_json

BUILD_TARGET_S = {"province": 120.0}
IMPORT_TARGET_S = 5.0
IMPORT_ROWS = 1000
FILL = {"wecom_adds": 8, "valid_adds": 7, "add_requests": 10, "accepted_adds": 7, "touches_1v1": 25,
        "aum_increase": "1,234.56"}


def build_once(scale: str, backend: str) -> tuple[float, dict]:
    """Seconds to build `scale` into a brand-new database, and its row counts."""
    from portal.cli.progress import ProgressBar

    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="pp-load-"))
        try:
            url = f"sqlite:///{folder / 'build.db'}"
            seconds = datasets.build(url, scale, progress=ProgressBar())
            return seconds, datasets._counts(url)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    admin, base = datasets._admin()
    name = f"pp_bench_load_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = base.set(database=name).render_as_string(hide_password=False)
        seconds = datasets.build(url, scale, progress=ProgressBar())
        return seconds, datasets._counts(url)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def raw_rows_seconds(entries: int, ledger: int) -> float:
    """The floor of a build: executemany of that many rows into bare SQLite tables shaped and
    indexed like daily_entry and pointentry (values generated up front, not timed)."""
    folder = Path(tempfile.mkdtemp(prefix="pp-floor-"))
    try:
        con = sqlite3.connect(folder / "floor.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, report_id INT, staff_id INT, metric TEXT, value INT, "
                    "UNIQUE (report_id, staff_id, metric))")
        con.execute("CREATE INDEX e_ms ON e (metric, staff_id)")
        con.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, contest_id INT, staff_id INT, day TEXT, metric TEXT, "
                    "quantity INT, points_c INT, source TEXT)")
        con.execute("CREATE INDEX p_board ON p (contest_id, day, staff_id, points_c)")
        con.execute("CREATE INDEX p_key ON p (contest_id, staff_id, day, metric, source, quantity, points_c)")
        e_rows = [(i // 1200, i % 100, f"m{(i // 100) % 12}", i % 37) for i in range(entries)]
        p_rows = [(2, i % 4000, f"2026-{1 + (i // 40000) % 12:02d}-{1 + i % 28:02d}", f"m{i % 5}", i % 9, i % 50,
                   "report") for i in range(ledger)]
        started = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO e (report_id, staff_id, metric, value) VALUES (?, ?, ?, ?)", e_rows)
        con.executemany("INSERT INTO p (contest_id, staff_id, day, metric, quantity, points_c, source) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", p_rows)
        con.execute("COMMIT")
        seconds = time.perf_counter() - started
        con.close()
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def import_case(scale: str, backend: str, repeat: int) -> dict:
    from openpyxl import load_workbook
    from sqlmodel import select

    from models.org import Branch, BranchLevel
    from portal import clock, db, org, pilots, report_import
    from portal.access import CLI_ACTOR

    def subbranch_with_staff(session) -> int:  # noqa: ANN001
        """The first sub-branch with 100 active staff (or, at pilot scale, the largest)."""
        sizes = {b: len(org.staff_of_branch(session, b)) for b in session.exec(
            select(Branch.id).where(Branch.level == BranchLevel.sub_branch).order_by(Branch.id)).all()}
        return next((b for b, n in sizes.items() if n >= 100), max(sizes, key=sizes.get))

    def new_pilot(session, branch_id: int, days: int) -> int:  # noqa: ANN001
        start = clock.today() - timedelta(days=days - 1)
        return pilots.create_pilot(session, actor=CLI_ACTOR, name=f"导入基准 {uuid.uuid4().hex[:6]}",
                                   branch_id=branch_id, start_date=start, phase="pilot")

    def filled(data: bytes) -> bytes:
        wb = load_workbook(io.BytesIO(data))
        ws = wb.worksheets[0]
        col = {report_import.header_code(c.value): c.column for c in ws[1]}
        for r in range(2, ws.max_row + 1):
            for code, value in FILL.items():
                ws.cell(r, col[code]).value = value
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def parse(data: bytes) -> int:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = sum(1 for ws in wb.worksheets for _ in ws.iter_rows(values_only=True))
        wb.close()
        return rows

    with datasets.database(scale, backend) as url, datasets.configured(url):
        branch = db.run(subbranch_with_staff, write=False)
        staff = db.run(lambda session: len(org.staff_of_branch(session, branch)), write=False)
        days = min(28, -(-IMPORT_ROWS // staff))  # 10 days of 100 staff; fewer people → more days
        import_t, parse_t, rows = [], [], 0
        for _ in range(repeat):  # a new pilot each time: every import writes new reports
            pilot = db.run(new_pilot, branch_id=branch, days=days)
            today = clock.today()
            data = filled(db.run(report_import.template_workbook, write=False, actor=CLI_ACTOR, pilot_id=pilot,
                                 start=today - timedelta(days=days - 1), end=today))
            parse_t += measure(lambda data=data: parse(data), repeat=1, warmup=1)
            started = time.perf_counter()
            result = db.run(report_import.import_reports, actor=CLI_ACTOR, pilot_id=pilot, data=data,
                            filename="日报.xlsx")
            import_t.append(time.perf_counter() - started)
            if not result["committed"]:
                raise RuntimeError(f"import refused: {result['errors'].head(3).to_dict('records')}")
            rows = result["rows"]
    imp, floor = summary(import_t), summary(parse_t)
    return {"staff": staff, "days": days, "rows": rows, "import": imp, "parse": floor,
            "import_x_parse": ratio(imp["median"], floor["median"]), "target_s": IMPORT_TARGET_S,
            "ok": imp["median"] < IMPORT_TARGET_S}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--skip-build", action="store_true", help="only the import")
    args = p.parse_args()
    for backend in backends(args.backend):
        info = machine(os.environ.get(datasets.PG_ENV) if backend == "postgres" else None)
        result: dict = {"scale": args.scale, "backend": backend}
        if not args.skip_build:
            seconds, counts = build_once(args.scale, backend)
            floor = raw_rows_seconds(counts["daily_entry"], counts["pointentry"])
            target = BUILD_TARGET_S.get(args.scale)
            result["build"] = {"seconds": seconds, "rows": counts, "floor_s": floor, "x_floor": ratio(seconds, floor),
                               "target_s": target, "ok": None if target is None else seconds < target}
        result["import"] = import_case(args.scale, backend, max(1, min(args.repeat, 5)))
        rows = []
        if "build" in result:
            b = result["build"]
            rows.append({"step": f"build {args.scale}", "seconds": b["seconds"], "floor_s": b["floor_s"],
                         "x_floor": b["x_floor"], "target_s": b["target_s"], "ok": b["ok"],
                         "detail": f"{b['rows']['daily_entry']} entries, {b['rows']['pointentry']} ledger rows"})
        i = result["import"]
        rows.append({"step": f"import {i['rows']} rows", "seconds": i["import"]["median"],
                     "floor_s": i["parse"]["median"], "x_floor": i["import_x_parse"], "target_s": i["target_s"],
                     "ok": i["ok"], "detail": f"{i['staff']} staff × {i['days']} days"})
        print_table(f"data load · {args.scale} · {backend}", rows,
                    ["step", "seconds", "floor_s", "x_floor", "target_s", "ok", "detail"])
        info["loadavg_after"] = list(os.getloadavg())
        path = write_json(f"dataload-{args.scale}-{backend}", {"machine": info, **result}, out_dir=args.out)
        print(f"\n→ {path}")


if __name__ == "__main__":
    main()
