"""Demo contest from the guide for the week-3 pilot: points derived from the demo reports,
outlet teams, PK pairs, badges, one manual award booked and one awaiting HQ approval.

At province and national scale head office also runs a bank-wide contest over the whole
history window for every active staff member (4,000 / 40,000 participants, one outlet team
each), its ledger derived pilot by pilot from the reports (points.sync), with weekly PK pairs
and badges: the leaderboard the benchmarks load."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.contests import Contest, ContestParticipant
from models.org import Branch, BranchLevel, User
from models.pilot import Pilot
from portal import badges, contests, leaderboard, points
from portal.access import load_actor
from seed.demo.bulk import refresh_statistics

WIDE_NAME = {"province": "江川银行全省企微经营积分赛", "national": "江川银行全行企微经营积分赛"}


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
    build_wide(ctx)


def build_wide(ctx) -> int | None:
    """The bank-wide contest of the province/national scale (None at pilot scale)."""
    s, today = ctx.session, ctx.today
    if ctx.scale.name not in WIDE_NAME:
        return None
    hq = load_actor(s, s.exec(select(User.id).where(User.username == "hq_wang")).one())
    start = today - timedelta(days=ctx.scale.history_days - 1)
    contest_id = contests.create_contest(s, actor=hq, name=WIDE_NAME[ctx.scale.name], branch_ids=[ctx.ids["head"]],
                                         start_date=start, end_date=today + timedelta(days=27))
    contest = s.get(Contest, contest_id)
    # One sync per sub-branch: its staff are only ever in its own and its outlets' pilots, so
    # each call sees every report and every ledger row of the people it syncs.
    sub_of = dict(s.exec(select(Branch.id, Branch.parent_id).where(Branch.level == BranchLevel.outlet)).all())
    groups: dict[int, list[Pilot]] = {}
    for pilot in s.exec(select(Pilot).where(Pilot.start_date < today).order_by(Pilot.id)).all():
        groups.setdefault(sub_of.get(pilot.branch_id, pilot.branch_id), []).append(pilot)
    for n, group in enumerate(groups.values()):
        ctx.tick(n, len(groups) * 1.5)  # the last third of the step: pairs and badges
        if n % 25 == 1:  # the ledger this loop reads keeps growing
            refresh_statistics(s, "pointentry", "contestparticipant")
        points.sync(s, contest, pilot_ids=[p.id for p in group], start=min(p.start_date for p in group),
                    end=min(max(p.end_date for p in group), today))
    for weeks_back in (1, 0):
        leaderboard.make_pairs(s, actor=hq, contest_id=contest_id, week_of=today - timedelta(days=7 * weeks_back))
    badges.award(s, contest, today)
    ctx.ids["wide_contest"] = contest_id
    return contest_id
