"""Badges and milestones, defined as data (seed/content/badges.toml) and awarded idempotently:
each (contest, staff, badge, period) is awarded at most once."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import insert
from sqlmodel import Session, select

from models.contests import BadgeAward, Contest, ContestParticipant
from models.playbook import Badge, Metric
from portal import leaderboard, metrics


def _working_days_back(on: date, count: int) -> list[date]:
    days, day = [], on
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


def _completed_weeks(contest: Contest, on: date) -> list[date]:
    monday, weeks = leaderboard.week_start(contest.start_date), []
    while monday + timedelta(days=6) < on and monday <= contest.end_date:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def earned(session: Session, contest: Contest, on: date) -> set[tuple[int, str, str]]:
    """(staff_id, badge_code, period) every participant has earned by `on`."""
    from models.pilot import Pilot

    badges = session.exec(select(Badge)).all()
    money = set(session.exec(select(Metric.code).where(Metric.kind == "money")).all())
    participants = set(session.exec(select(ContestParticipant.staff_id)
                                    .where(ContestParticipant.contest_id == contest.id)).all())
    pilot_ids = [contest.pilot_id] if contest.pilot_id else list(session.exec(select(Pilot.id)).all())
    end = min(on, contest.end_date)
    values = metrics.staff_daily_values(session, pilot_ids=pilot_ids, start=contest.start_date, end=end)
    values = values[values["staff_id"].isin(participants)]
    out: set[tuple[int, str, str]] = set()
    for badge in badges:
        if badge.kind == "threshold" and badge.metric:
            scale = 100 if badge.metric in money else 1
            totals = values[values["metric"] == badge.metric].groupby("staff_id")["value"].sum()
            out |= {(int(s), badge.code, "") for s, v in totals.items() if v >= (badge.threshold or 0) * scale}
        elif badge.kind == "streak" and badge.metric and badge.days:
            days = _working_days_back(end, badge.days)
            hits = values[(values["metric"] == badge.metric) & (values["value"] >= (badge.threshold or 1))
                          & values["report_date"].isin(days)]
            counts = hits.groupby("staff_id")["report_date"].nunique()
            out |= {(int(s), badge.code, "") for s, n in counts.items() if n >= badge.days}
        elif badge.kind in ("weekly_champion", "top_team"):
            for monday in _completed_weeks(contest, on):
                board = leaderboard.board(session, contest, "chosen_week", on=on, week_of=monday)
                period = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
                if board.empty or board["points"].max() <= 0:
                    continue
                if badge.kind == "weekly_champion":
                    winners = board.loc[board["rank"] == 1, "staff_id"]
                else:
                    teams = leaderboard.teams_of(session, contest, board)
                    top = set(teams.loc[teams["rank"] == 1, "team_id"])
                    winners = board.loc[board["team_id"].isin(top), "staff_id"]
                out |= {(int(s), badge.code, period) for s in winners}
    return out


def award(session: Session, contest: Contest, on: date) -> int:
    """Insert the badges earned and not yet awarded. Returns how many were added."""
    have = set(session.exec(select(BadgeAward.staff_id, BadgeAward.badge_code, BadgeAward.period)
                            .where(BadgeAward.contest_id == contest.id)).all())
    new = sorted(earned(session, contest, on) - have)
    if new:
        session.execute(insert(BadgeAward), [
            {"contest_id": contest.id, "staff_id": s, "badge_code": code, "period": period, "awarded_on": on}
            for s, code, period in new])
    return len(new)


def badge_table(session: Session, contest_id: int) -> pd.DataFrame:
    rows = session.exec(select(BadgeAward.staff_id, BadgeAward.badge_code, BadgeAward.period)
                        .where(BadgeAward.contest_id == contest_id)).all()
    return pd.DataFrame(rows, columns=["staff_id", "badge_code", "period"])
