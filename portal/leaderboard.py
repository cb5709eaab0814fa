"""Leaderboards: one SQL aggregate with window ranking per contest and period; individual,
team and head-to-head views, movement against yesterday, and a staff member's own view."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np
import pandas as pd
from sqlalchemy import and_, bindparam, case, func, insert, literal_column, or_
from sqlmodel import Session, select

from models.contests import BadgeAward, Contest, ContestPair, ContestParticipant, ContestTeam, PointEntry
from models.org import Role, Staff
from models.playbook import Badge, Metric
from portal import audit, clock, contests, roster_cache
from portal.access import Actor, require_role
from portal.errors import ValidationFailed
from portal.query_frame import frame

PERIODS = ("today", "week", "chosen_week", "contest")
STANDING_COLUMNS = ["rank", "staff_id", "employee_no", "name", "team_id", "points"]
# Written into the SQL, not bound: with `coalesce(x, ?)` SQLite cannot tell that the ORDER BY
# repeats the window's ORDER BY and sorts 40,000 rows twice (national today-board 2x slower).
ZERO = literal_column("0")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def period_bounds(contest: Contest, period: str, *, on: date | None = None,
                  week_of: date | None = None) -> tuple[date, date]:
    """Inclusive dates of a period, clipped to the contest. Default view: this week."""
    on = on or clock.today()
    if period == "today":
        start = end = on
    elif period == "week":
        start, end = week_start(on), week_start(on) + timedelta(days=6)
    elif period == "chosen_week":
        if week_of is None:
            raise ValidationFailed("contests.err_week")
        start, end = week_start(week_of), week_start(week_of) + timedelta(days=6)
    elif period == "contest":
        start, end = contest.start_date, contest.end_date
    else:
        raise ValidationFailed("contests.err_period")
    return max(start, contest.start_date), min(end, contest.end_date, on)


@cache
def _ranking_statement(with_before: bool, from_start: bool):  # noqa: ANN202
    """The ranking query, built once per shape with bound parameters (contest, now_lo, now_hi
    and, with_before, before_lo, before_hi, span_lo, span_hi): a board is read on every rerun
    of every viewer's page, and building the statement costs as much as reading a small contest.
    Without `before` it is the plain SUM … GROUP BY + RANK(): CASE sums cost ~2× on a whole
    contest. With it, one scan of the span of both periods gives both sums and both ranks.
    `from_start`: the span starts at the contest's start, so no lower bound on the day — the
    planner then reads ix_pointentry_key in staff order (no sort), ~2× faster over a whole
    contest than the day range of ix_pointentry_board, which wins for a day or a week.
    Numbers only: names come from portal.roster_cache, and the order among equal ranks
    (by employee number) is applied with them."""
    contest = bindparam("contest")
    lo_name = "now_lo" if not with_before else "span_lo"
    hi_name = "now_hi" if not with_before else "span_hi"
    bounds = [PointEntry.contest_id == contest, PointEntry.day <= bindparam(hi_name)]
    if not from_start:
        bounds.append(PointEntry.day >= bindparam(lo_name))
    if not with_before:
        totals = (select(PointEntry.staff_id, func.sum(PointEntry.points_c).label("now_c"))
                  .where(*bounds).group_by(PointEntry.staff_id).subquery())
        points = func.coalesce(totals.c.now_c, ZERO)
        ranks = [func.rank().over(order_by=points.desc()).label("rank")]
    else:
        def within(lo: str, hi: str):  # noqa: ANN202
            return func.sum(case((and_(PointEntry.day >= bindparam(lo), PointEntry.day <= bindparam(hi)),
                                  PointEntry.points_c), else_=0))

        totals = (select(PointEntry.staff_id, within("now_lo", "now_hi").label("now_c"),
                         within("before_lo", "before_hi").label("before_c"))
                  .where(*bounds).group_by(PointEntry.staff_id).subquery())
        points, earlier = func.coalesce(totals.c.now_c, ZERO), func.coalesce(totals.c.before_c, ZERO)
        ranks = [func.rank().over(order_by=points.desc()).label("rank"),
                 func.rank().over(order_by=earlier.desc()).label("before_rank")]
    return (select(*ranks, ContestParticipant.staff_id, ContestParticipant.team_id, points.label("points_c"))
            .outerjoin(totals, totals.c.staff_id == ContestParticipant.staff_id)
            .where(ContestParticipant.contest_id == contest))


def _ranked(session: Session, contest: Contest, now: tuple[date, date],
            before: tuple[date, date] | None = None) -> pd.DataFrame:
    """Every participant with the points of `now` and RANK() over them (ties share a rank),
    ordered by rank then employee number; with `before` also `before_rank`, the rank over that
    period (else equal to `rank`). Ledger days never precede the contest's start (points.py
    books reports and awards within it)."""
    params = {"contest": contest.id, "now_lo": now[0], "now_hi": now[1]}
    columns = ["rank", "staff_id", "team_id", "points_c"]
    lo = now[0]
    if before is not None:
        lo = min(now[0], before[0])
        params.update(before_lo=before[0], before_hi=before[1], span_lo=lo, span_hi=max(now[1], before[1]))
        columns.insert(1, "before_rank")
    stmt = _ranking_statement(before is not None, lo <= contest.start_date)
    ranks = frame(session, stmt, columns, params=params, stream=False)  # one row per participant
    roster, rows = roster_cache.positions(session, contest.id, ranks["staff_id"].to_numpy())
    rank = ranks["rank"].to_numpy()
    order = np.lexsort((roster["order"].to_numpy()[rows], rank))
    rows = rows[order]
    points_c = ranks["points_c"].to_numpy()[order]
    return pd.DataFrame({  # built once from arrays: each pandas insert/select costs ~0.1 ms
        "rank": rank[order],
        "before_rank": (ranks["before_rank"].to_numpy() if before is not None else rank)[order],
        "staff_id": ranks["staff_id"].to_numpy()[order],
        "employee_no": roster["employee_no"].array.take(rows), "name": roster["name"].array.take(rows),
        "team_id": ranks["team_id"].to_numpy()[order], "points_c": points_c, "points": points_c / 100})


def standings(session: Session, contest: Contest, start: date, end: date) -> pd.DataFrame:
    """Every participant with points in [start, end] and RANK() (ties share a rank).
    No permission check: callers check the viewer first (this result is shareable/cached)."""
    return _ranked(session, contest, (start, end))[STANDING_COLUMNS]


def with_movement(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Add `move`: places gained since yesterday (positive = up), 0 when unchanged."""
    prev = before.set_index("staff_id")["rank"]
    out = now.copy()
    out["move"] = (out["staff_id"].map(prev).fillna(out["rank"]) - out["rank"]).astype(int)
    return out


def board(session: Session, contest: Contest, period: str, *, on: date | None = None,
          week_of: date | None = None) -> pd.DataFrame:
    """The period's standings with `move` against the ranking as of yesterday (the same
    period up to yesterday; for "today", yesterday itself), from one ledger query."""
    on = on or clock.today()
    start, end = period_bounds(contest, period, on=on, week_of=week_of)
    yesterday = on - timedelta(days=1)
    prev_start = yesterday if period == "today" else start
    before = (prev_start, min(end, yesterday)) if prev_start <= yesterday else None
    ranked = _ranked(session, contest, (start, end), before)
    ranked["move"] = (ranked["before_rank"] - ranked["rank"]).astype(int)
    return ranked[[*STANDING_COLUMNS, "move"]]


def shows_last_week(week: pd.DataFrame, on: date) -> bool:
    """Early on Monday and Tuesday, before anyone has points this week, every board shows last
    week instead of a table of zeros."""
    return not week.empty and week["points"].max() <= 0 and on.weekday() < 2


def hide_names(df: pd.DataFrame, show_top: int, actor: Actor) -> pd.DataFrame:
    """Staff see names only for the top N (HQ's switch) and themselves."""
    if actor.role != Role.staff or not show_top:
        return df
    out = df.copy()
    hidden = (out["rank"] > show_top) & (out["staff_id"] != actor.staff_id)
    out.loc[hidden, "name"] = "—"
    out.loc[hidden, "employee_no"] = ""
    return out


def shared_board(session: Session, *, contest_id: int, period: str, week_of: date | None, on: date) -> pd.DataFrame:
    """The unfiltered board, safe to share across viewers in a short-lived cache: callers
    check the viewer with contests.require_contest and apply hide_names per viewer."""
    return board(session, session.get(Contest, contest_id), period, on=on, week_of=week_of)


def shared_teams(session: Session, *, contest_id: int, people: pd.DataFrame) -> pd.DataFrame:
    """teams_of an unfiltered board, shareable like it (team names and per-member points only)."""
    return teams_of(session, session.get(Contest, contest_id), people)


def leaderboard(session: Session, *, actor: Actor, contest_id: int, period: str = "week",
                week_of: date | None = None) -> pd.DataFrame:
    contest = contests.require_contest(session, actor, contest_id, action="contests.leaderboard")
    return hide_names(board(session, contest, period, week_of=week_of), contest.show_names_top, actor)


def team_board(session: Session, *, actor: Actor, contest_id: int, period: str = "week",
               week_of: date | None = None) -> pd.DataFrame:
    """Teams ranked by points per member (fair across outlets of different size)."""
    contest = contests.require_contest(session, actor, contest_id, action="contests.leaderboard")
    return teams_of(session, contest, board(session, contest, period, week_of=week_of))


def teams_of(session: Session, contest: Contest, people: pd.DataFrame) -> pd.DataFrame:
    names = dict(session.exec(select(ContestTeam.id, ContestTeam.name)
                              .where(ContestTeam.contest_id == contest.id)).all())
    cols = ["rank", "team_id", "team", "members", "points", "per_member"]
    df = people.dropna(subset=["team_id"])
    if df.empty:
        return pd.DataFrame(columns=cols)
    grouped = df.groupby("team_id").agg(members=("staff_id", "count"), points=("points", "sum")).reset_index()
    grouped["per_member"] = (grouped["points"] / grouped["members"]).round(2)
    grouped["rank"] = grouped["per_member"].rank(method="min", ascending=False).astype(int)
    grouped["team"] = grouped["team_id"].map(names)
    return grouped.sort_values(["rank", "team"])[cols].reset_index(drop=True)


def breakdown(session: Session, *, actor: Actor, contest_id: int, staff_id: int, period: str = "week",
              week_of: date | None = None) -> pd.DataFrame:
    """Points per rule (and manual awards) for one participant: explainable scores."""
    contest = contests.require_contest(session, actor, contest_id, action="contests.breakdown")
    if actor.role == Role.staff and staff_id != actor.staff_id and contest.show_names_top:
        rank = board(session, contest, period, week_of=week_of).set_index("staff_id")["rank"].get(staff_id)
        if rank is None or rank > contest.show_names_top:
            raise ValidationFailed("contests.err_hidden")
    start, end = period_bounds(contest, period, week_of=week_of)
    stmt = (select(PointEntry.metric, func.sum(PointEntry.quantity), func.sum(PointEntry.points_c))
            .where(PointEntry.contest_id == contest_id, PointEntry.staff_id == staff_id,
                   PointEntry.day >= start, PointEntry.day <= end)
            .group_by(PointEntry.metric).order_by(PointEntry.metric))
    df = frame(session, stmt, ["metric", "quantity", "points_c"])
    names = {code: (zh, en) for code, zh, en in session.exec(select(Metric.code, Metric.name_zh, Metric.name_en))}
    names[""] = ("手动奖励", "Manual awards")
    df["name_zh"] = df["metric"].map(lambda m: names.get(m, (m, m))[0])
    df["name_en"] = df["metric"].map(lambda m: names.get(m, (m, m))[1])
    df["points"] = df["points_c"] / 100
    return df[["metric", "name_zh", "name_en", "quantity", "points"]]


# ---------------------------------------------------------------- head-to-head


def make_pairs(session: Session, *, actor: Actor, contest_id: int, week_of: date | None = None) -> int:
    """Weekly PK pairs: neighbours in last week's ranking (1v2, 3v4…), so every pair is a close
    match; an odd one out gets a bye. Idempotent per week."""
    contest = contests.require_contest(session, actor, contest_id, manage=True, action="contests.pairs")
    monday = week_start(week_of or clock.today())
    if session.exec(select(ContestPair.id).where(ContestPair.contest_id == contest_id,
                                                 ContestPair.week_start == monday)).first():
        return 0
    last = standings(session, contest, monday - timedelta(days=7), monday - timedelta(days=1))
    ids = [int(i) for i in last["staff_id"]]
    rows = [{"contest_id": contest_id, "week_start": monday, "staff_a": ids[i],
             "staff_b": ids[i + 1] if i + 1 < len(ids) else None} for i in range(0, len(ids), 2)]
    if rows:
        session.connection().execute(insert(ContestPair.__table__), rows)
    count = len(rows)
    audit.record(session, actor=actor, action="contests.pairs", entity="contest", entity_id=contest_id,
                 after={"week": monday, "pairs": count})
    return count


def pairs_board(session: Session, *, actor: Actor, contest_id: int, week_of: date | None = None) -> pd.DataFrame:
    contest = contests.require_contest(session, actor, contest_id, action="contests.leaderboard")
    monday = week_start(week_of or clock.today())
    people = hide_names(board(session, contest, "chosen_week", week_of=monday), contest.show_names_top, actor)
    points = people.set_index("staff_id")["points"]
    names = people.set_index("staff_id")["name"]
    rows = []
    for pair in session.exec(select(ContestPair).where(ContestPair.contest_id == contest_id,
                                                       ContestPair.week_start == monday)).all():
        a, b = points.get(pair.staff_a, 0.0), points.get(pair.staff_b, 0.0) if pair.staff_b else None
        rows.append({"staff_a": pair.staff_a, "name_a": names.get(pair.staff_a, ""), "points_a": a,
                     "staff_b": pair.staff_b, "name_b": names.get(pair.staff_b, "") if pair.staff_b else "",
                     "points_b": b, "leader": "a" if b is None or a > b else ("b" if b > a else "tie")})
    return pd.DataFrame(rows, columns=["staff_a", "name_a", "points_a", "staff_b", "name_b", "points_b", "leader"])


# ---------------------------------------------------------------- the staff member's own view


def my_contests(session: Session, *, actor: Actor) -> dict[int, str]:
    require_role(actor, Role.staff, action="contests.mine")
    return contests.contest_choices(session, actor=actor)


def my_standing(session: Session, *, actor: Actor, contest_id: int, top: int = 10, around: int = 2,
                week: pd.DataFrame | None = None, today: pd.DataFrame | None = None,
                teams: pd.DataFrame | None = None) -> dict:
    """Rank, points today / this week, gap to the next place, top N plus me ± 2, my team,
    this week's opponent, my badges. Defaults to this week; names beyond top N hidden.
    `week`/`today` and the teams of `week` may be passed in from the shared board cache."""
    require_role(actor, Role.staff, action="contests.mine")
    contest = contests.require_contest(session, actor, contest_id, action="contests.mine")
    if week is not None and not (week["staff_id"] == actor.staff_id).any():
        # Added to the contest after the shared boards were made (they live 30 s): rank afresh.
        week = today = teams = None
    week = board(session, contest, "week") if week is None else week
    me = week[week["staff_id"] == actor.staff_id].iloc[0]
    above = week[week["points"] > me["points"]]
    gap = float(above["points"].min() - me["points"]) if not above.empty else 0.0
    today = board(session, contest, "today") if today is None else today
    mine_today = today.loc[today["staff_id"] == actor.staff_id, "points"]
    position = int(week.index[week["staff_id"] == actor.staff_id][0])
    near = week.iloc[max(0, position - around): position + around + 1]
    visible = hide_names(pd.concat([week.head(top), near]).drop_duplicates("staff_id"), contest.show_names_top,
                         actor)
    teams = teams_of(session, contest, week) if teams is None else teams
    team_row = teams[teams["team_id"] == me["team_id"]] if pd.notna(me["team_id"]) else teams.iloc[0:0]
    opponent = None
    monday = week_start(clock.today())
    for pair in session.exec(select(ContestPair).where(
            ContestPair.contest_id == contest_id, ContestPair.week_start == monday,
            or_(ContestPair.staff_a == actor.staff_id, ContestPair.staff_b == actor.staff_id))).all():
        if actor.staff_id in (pair.staff_a, pair.staff_b):
            other = pair.staff_b if pair.staff_a == actor.staff_id else pair.staff_a
            if other is not None:
                row = week[week["staff_id"] == other].iloc[0]
                opponent = {"name": session.get(Staff, other).name, "points": float(row["points"])}
    badges = session.exec(select(Badge.code, Badge.name_zh, Badge.name_en, BadgeAward.period)
                          .join(BadgeAward, BadgeAward.badge_code == Badge.code)
                          .where(BadgeAward.contest_id == contest_id, BadgeAward.staff_id == actor.staff_id)
                          .order_by(BadgeAward.awarded_on)).all()
    return {
        "contest": contest.name, "rank": int(me["rank"]), "participants": len(week),
        "points_week": float(me["points"]), "points_today": float(mine_today.iloc[0]) if len(mine_today) else 0.0,
        "gap_to_next": gap, "move": int(me["move"]), "board": visible.sort_values(["rank", "employee_no"]),
        "team": team_row.iloc[0].to_dict() if not team_row.empty else None, "teams": len(teams),
        "opponent": opponent,
        "badges": [{"code": c, "name_zh": zh, "name_en": en, "period": p} for c, zh, en, p in badges],
    }
