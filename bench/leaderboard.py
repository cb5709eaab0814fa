"""Leaderboard: the service (portal.leaderboard) against the raw SQL aggregate + RANK() on the
same database, for the bank-wide contest of the scale (4,000 / 40,000 participants).

    python -m bench.leaderboard --scale national --backend both

Floor: the hand-written SQL (SUM of the period's ledger rows per participant, RANK() OVER the
points, names joined) through the bare DB-API cursor, rows fetched into Python tuples. Also
shown: the same rows made into a DataFrame by pandas.DataFrame.from_records (`raw_df`), the
cheapest way to the service's result type — what a DataFrame costs at that row count.
Service: leaderboard.standings (the same ranking as a DataFrame), and leaderboard.board (what
the pages show: the ranking plus yesterday's for ▲▼ movement) against two raw queries.
`cold_roster_x`: the service with the contest's roster of names read too (portal.roster_cache
forgotten first), i.e. the first board after the roster's 30 s.
Target (issue 6): the service within 1.2× of the raw aggregate.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from bench import datasets
from bench.harness import backends, machine, measure, parser, print_table, ratio, summary, write_json

TARGET_X = 1.2
RAW_COLUMNS = ["rank", "staff_id", "employee_no", "name", "team_id", "points_c"]
PERIODS = ("today", "week", "contest")
RAW_SQL = """
WITH totals AS (
    SELECT staff_id, SUM(points_c) AS points_c FROM pointentry
    WHERE contest_id = {c} AND day >= {s} AND day <= {e} GROUP BY staff_id)
SELECT RANK() OVER (ORDER BY COALESCE(t.points_c, 0) DESC) AS rank, p.staff_id, s.employee_no, s.name,
       p.team_id, COALESCE(t.points_c, 0) AS points_c
FROM contestparticipant p JOIN staff s ON s.id = p.staff_id LEFT JOIN totals t ON t.staff_id = p.staff_id
WHERE p.contest_id = {c}
ORDER BY COALESCE(t.points_c, 0) DESC, s.employee_no
"""


def raw_standings(engine, contest_id: int, start, end) -> list[tuple]:  # noqa: ANN001
    """The floor: raw SQL through the driver's own cursor."""
    if engine.dialect.name == "sqlite":  # dates are stored as ISO text
        sql, args = RAW_SQL.format(c=":c", s=":s", e=":e"), {"c": contest_id, "s": start.isoformat(),
                                                            "e": end.isoformat()}
    else:
        sql, args = RAW_SQL.format(c="%(c)s", s="%(s)s", e="%(e)s"), {"c": contest_id, "s": start, "e": end}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(sql, args)
        rows = cur.fetchall()
        cur.close()
        raw.rollback()
    finally:
        raw.close()
    return rows


def wide_contest(session) -> int:  # noqa: ANN001
    from sqlalchemy import func
    from sqlmodel import select

    from models.contests import ContestParticipant

    counts = session.exec(select(ContestParticipant.contest_id, func.count()).group_by(ContestParticipant.contest_id)
                          .order_by(func.count().desc())).all()
    return int(counts[0][0])


def run(scale: str, backend: str, repeat: int) -> dict:
    from sqlmodel import Session

    from models.contests import Contest
    from portal import clock, db, leaderboard, roster_cache

    cases = []
    with datasets.database(scale, backend) as url, datasets.configured(url):
        engine = db.get_engine()
        with Session(engine) as session:
            contest_id = wide_contest(session)
            contest = session.get(Contest, contest_id)
            participants = len(leaderboard.standings(session, contest, contest.start_date, contest.start_date))
        today = clock.today()
        for period in PERIODS:
            start, end = leaderboard.period_bounds(contest, period, on=today)
            yesterday = today - timedelta(days=1)
            prev = (yesterday if period == "today" else start, min(end, yesterday))

            def service_standings(start=start, end=end):  # noqa: ANN202
                with Session(engine) as s:  # given the contest, as the raw query is given its id and dates
                    return leaderboard.standings(s, contest, start, end)

            def service_cold_roster(start=start, end=end):  # noqa: ANN202
                roster_cache.forget()  # the first board after the roster's 30 s: names read too
                return service_standings(start, end)

            def service_board(period=period):  # noqa: ANN202
                with Session(engine) as s:
                    return leaderboard.board(s, contest, period, on=today)

            rows = raw_standings(engine, contest_id, start, end)
            check = service_standings()
            same = [(int(r[1]), int(r[5])) for r in rows] == list(zip(check["staff_id"].astype(int),
                                                                      check["points"].mul(100).round().astype(int),
                                                                      strict=True))
            # Interleave the runs so load on the shared machine hits both sides alike.
            raw_t, std_t, board_t, raw2_t, rawdf_t, cold_t = [], [], [], [], [], []
            for _ in range(repeat):
                raw_t += measure(lambda s=start, e=end: raw_standings(engine, contest_id, s, e), repeat=1, warmup=1)
                rawdf_t += measure(lambda s=start, e=end: pd.DataFrame.from_records(
                    raw_standings(engine, contest_id, s, e), columns=RAW_COLUMNS), repeat=1, warmup=0)
                std_t += measure(service_standings, repeat=1, warmup=0)
                cold_t += measure(service_cold_roster, repeat=1, warmup=0)
                raw2_t += measure(lambda s=start, e=end, p=prev: (raw_standings(engine, contest_id, s, e),
                                                                  raw_standings(engine, contest_id, *p)),
                                  repeat=1, warmup=0)
                board_t += measure(service_board, repeat=1, warmup=0)
            raw_s, std_s, raw2_s, board_s, rawdf_s, cold_s = (summary(x) for x in (raw_t, std_t, raw2_t, board_t,
                                                                                     rawdf_t, cold_t))
            cases.append({"period": period, "start": start, "end": end, "rows": len(rows), "same_result": same,
                          "raw": raw_s, "raw_df": rawdf_s, "standings": std_s, "raw_x2": raw2_s, "board": board_s,
                          "standings_cold_roster": cold_s, "cold_roster_x": ratio(cold_s["median"], raw_s["median"]),
                          "standings_x": ratio(std_s["median"], raw_s["median"]),
                          "standings_x_raw_df": ratio(std_s["median"], rawdf_s["median"]),
                          "board_x": ratio(board_s["median"], raw2_s["median"])})
    for c in cases:
        c["ok"] = c["standings_x"] is not None and c["standings_x"] <= TARGET_X and c["board_x"] <= TARGET_X
    return {"scale": scale, "backend": backend, "contest_id": contest_id, "participants": participants,
            "target_x": TARGET_X, "cases": cases}


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    for backend in backends(args.backend):
        info = machine(datasets.os.environ.get(datasets.PG_ENV) if backend == "postgres" else None)
        result = run(args.scale, backend, args.repeat)
        rows = [{"period": c["period"], "rows": c["rows"], "raw_s": c["raw"]["median"],
                 "raw_df_s": c["raw_df"]["median"], "standings_s": c["standings"]["median"],
                 "standings_x": c["standings_x"], "x_raw_df": c["standings_x_raw_df"],
                 "cold_roster_x": c["cold_roster_x"],
                 "raw_x2_s": c["raw_x2"]["median"], "board_s": c["board"]["median"], "board_x": c["board_x"],
                 "same": c["same_result"], "ok": c["ok"]} for c in result["cases"]]
        print_table(f"leaderboard · {args.scale} · {backend} · {result['participants']} participants · "
                    f"target ≤ {TARGET_X}× raw SQL", rows,
                    ["period", "rows", "raw_s", "raw_df_s", "standings_s", "standings_x", "x_raw_df", "cold_roster_x",
                     "raw_x2_s",
                     "board_s", "board_x",
                     "same", "ok"])
        info["loadavg_after"] = list(datasets.os.getloadavg())
        path = write_json(f"leaderboard-{args.scale}-{backend}", {"machine": info, **result}, out_dir=args.out)
        print(f"\n→ {path}")


if __name__ == "__main__":
    main()
