"""Demo contest from the guide for the week-3 pilot: points derived from the demo reports,
outlet teams, PK pairs, badges, one manual award booked and one awaiting HQ approval."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.contests import Contest, ContestParticipant
from models.pilot import Pilot
from portal import badges, contests, leaderboard, points
from portal.access import load_actor


def build(ctx) -> None:
    s = ctx.session
    coach = load_actor(s, ctx.ids["coaches"]["li"])
    pilot = s.get(Pilot, ctx.ids["pilots"]["main"])
    contest_id = contests.create_contest(s, actor=coach, name="青禾县支行企微积分PK赛",
                                         pilot_id=pilot.id, kind="individual", start_date=pilot.start_date,
                                         end_date=pilot.end_date)
    contest = s.get(Contest, contest_id)
    points.sync(s, contest, pilot_ids=[pilot.id], start=pilot.start_date, end=ctx.today)
    for weeks_back in (1, 0):
        leaderboard.make_pairs(s, actor=coach, contest_id=contest_id,
                               week_of=ctx.today - timedelta(days=7 * weeks_back))
    staff = s.exec(select(ContestParticipant.staff_id).where(ContestParticipant.contest_id == contest_id)
                   .order_by(ContestParticipant.staff_id)).all()
    points.request_award(s, actor=coach, contest_id=contest_id, staff_id=staff[3], points=10,
                         reason="1对1话术通关考核一次通过", day=ctx.today - timedelta(days=2))
    points.request_award(s, actor=coach, contest_id=contest_id, staff_id=staff[5], points=30,
                         reason="本周最佳话术：代发客户工资定投邀约", day=ctx.today - timedelta(days=1))
    badges.award(s, contest, ctx.today)
    ctx.ids["contest"] = contest_id
