"""Demo daily reports: every pilot that has started gets a report per calendar day from its
start (at most the last `scale.history_days` days) up to yesterday or its end — the main week-3 pilot with ONE
missing working day a few days back (so the missing-report flag and the coach's back-fill show),
the validating pilot for its whole four weeks.

Numbers are plausible and reproducible (fixed seed): staff improve over the pilot, a few tail
performers lag, weekends are quieter, accepted_adds / add_requests ≈ 0.6–0.8, valid_adds ≈
0.85–0.95 of adds, money in fen, the channel split adds up to the day's adds, the branch's WeCom
customer total grows by the valid adds, NPS is surveyed on Fridays.

At province and national scale one rollout pilot in seven also misses a working day.
Written with bulk Core `insert()` executemany: a pilot's reports in one statement, then its
entries in chunks (memory stays flat at national scale: ~1,900 pilots, 40,000 staff). Contest points are not derived here: `report_events` is not
fired for demo reports — the contest demo step derives its ledger in bulk after creating its
contests (portal.points.sync / resync_contest).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlmodel import select

from models.org import Branch
from models.pilot import Pilot, PilotCoach
from models.reports import BranchEntry, DailyEntry, DailyReport
from portal import clock, org
from portal.report_validation import load_catalogue
from seed.demo.bulk import entry_load, insert_returning_ids, insert_rows, refresh_statistics

HIGHLIGHTS = (
    "外呼后加微通过率稳定在七成左右，{name}单日有效添加{n}人，话术已在群内分享。",
    "代发企业午休时段进企宣讲，现场拉群，{n}位员工当场扫码。",
    "晚间一对一回访效果好，多位客户主动咨询定投，已登记跟进名单。",
    "全员完成朋友圈素材发布，素材来自行内素材库，未出现合规问题。",
)
BLOCKERS = (
    "部分客户担心加企业微信后被频繁推销，拒绝添加；需要一段更能打消顾虑的开场话术。",
    "企业微信群发次数受平台限制，重点客户的活动通知发不出去，如何安排触达节奏？",
    "两名柜员对企微标签体系不熟，打标签漏项较多，影响后续分层经营。",
)
NEXT_STEPS = (
    "明日上午复盘外呼名单质量，下午对尾部员工一对一辅导。",
    "周五前完成训练营第二期招募，目标新增打卡客户{n}人。",
    "整理本周成功案例，纳入Q&A手册草稿。",
)
# Channel weights by pilot segment (outbound_add comes from accepted requests separately).
CHANNEL_WEIGHTS = {
    "payroll": {"enterprise_visit": 5, "app_banner": 2, "official_account": 1, "desk_card": 1, "wechat_migration": 2},
    "elderly": {"desk_card": 6, "wechat_migration": 2, "official_account": 1, "app_banner": 1, "enterprise_visit": 1},
    "rural": {"desk_card": 4, "wechat_migration": 3, "enterprise_visit": 2, "app_banner": 1, "official_account": 1},
}
GOAL_METRICS = {
    "aum_growth": ("aum_increase", "product_sales", "camp_checkins"),
    "new_accounts": ("new_accounts", "card_bindings", "campaign_participants"),
    "product_marketing": ("product_sales", "live_viewers", "campaign_participants"),
}


def _days(ctx, pilot: Pilot) -> list[date]:
    """Start (or the last `history_days` of a longer pilot) up to yesterday or the end."""
    last = min(pilot.end_date, ctx.today - timedelta(days=1))
    first = max(pilot.start_date, last - timedelta(days=ctx.scale.history_days - 1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _missing_day(ctx, days: list[date]) -> date | None:
    """The latest working day at least four days back: within a coach's back-fill window."""
    candidates = [d for d in days if d.weekday() < 5 and (ctx.today - d).days >= 4]
    return candidates[-1] if candidates else None


def _day_values(gen: np.random.Generator, pilot: Pilot, level: np.ndarray, pass_p: np.ndarray,
                valid_p: np.ndarray) -> dict[str, np.ndarray]:
    """One day's per-staff values in stored units (money in fen); `level` is each person's
    activity that day (skill × learning ramp × weekday factor)."""
    calls = gen.poisson(14 * level)
    requests = gen.binomial(calls, 0.85) + gen.poisson(1.5 * level)
    accepted = gen.binomial(requests, pass_p)
    adds = accepted + gen.poisson(4 * level)
    values = {
        "outbound_calls": calls, "add_requests": requests, "accepted_adds": accepted, "wecom_adds": adds,
        "valid_adds": gen.binomial(adds, valid_p), "touches_1v1": gen.poisson(30 * level),
        "group_sends": gen.binomial(1, np.clip(0.3 * level, 0, 1)), "moments_posts": gen.poisson(1.2 * level),
    }
    if pilot.wecom_status == "has_customers":
        values["reactivated"] = gen.poisson(2.5 * level)
    for code in GOAL_METRICS.get(pilot.goal, ()):
        if code == "aum_increase":  # yuan → fen; net outflow days reported as 0
            values[code] = (gen.gamma(1.5, 22_000 * level) * (gen.random(len(level)) > 0.25) * 100).round()
        elif code == "product_sales":
            values[code] = (gen.gamma(1.2, 30_000 * level) * (gen.random(len(level)) > 0.6) * 100).round()
        elif code in ("camp_checkins", "campaign_participants"):
            values[code] = gen.poisson(9 * level)
        elif code == "live_viewers":
            values[code] = gen.poisson(15 * level)
        elif code == "new_accounts":
            values[code] = gen.poisson(1.6 * level)
        elif code == "card_bindings":
            values[code] = gen.binomial(values.get("new_accounts", gen.poisson(1.6 * level)), 0.6)
    return values


def _text(ctx, options: tuple[str, ...], name: str) -> str:
    return ctx.rng.choice(options).format(name=name, n=ctx.rng.randint(5, 30))


def _build_pilot(ctx, pilot: Pilot, cat, *, missing: date | None, blocker_days: set[date]) -> int:
    s, rng = ctx.session, ctx.rng
    days = [d for d in _days(ctx, pilot) if d != missing]
    staff = org.staff_of_branch(s, pilot.branch_id)
    if not days or not staff:
        return 0
    gen = np.random.default_rng(rng.randrange(2**32))
    n = len(staff)
    ids = np.array([p.id for p in staff])
    skill = gen.uniform(0.7, 1.3, n)
    tail = gen.choice(n, size=max(1, n // 8), replace=False)
    skill[tail] = gen.uniform(0.25, 0.45, len(tail))  # the tail performers the weekly review follows up
    pass_p, valid_p = gen.uniform(0.6, 0.8, n), gen.uniform(0.85, 0.95, n)
    pass_p[tail] = gen.uniform(0.45, 0.6, len(tail))
    learn = gen.uniform(0.7, 1.3, n)
    limits = {m.code: m.max_value * (100 if m.kind == "money" else 1) for m in cat.staff}
    coach = s.exec(select(PilotCoach.user_id).where(PilotCoach.pilot_id == pilot.id)).first()
    base = s.get(Branch, pilot.branch_id).customer_base or 20_000
    customers = int(base * (0.12 if pilot.wecom_status == "has_customers" else 0.01))
    weights = CHANNEL_WEIGHTS.get(pilot.segment, CHANNEL_WEIGHTS["payroll"])
    span = max(1, (pilot.end_date - pilot.start_date).days)
    nps = int(gen.integers(48, 58))
    reports, staff_rows, branch_rows = [], [], []
    for day in days:
        t = (day - pilot.start_date).days / span
        level = skill * np.clip(0.45 + 0.75 * t * learn, 0.45, 1.2) * (0.4 if day.weekday() >= 5 else 1.0)
        values = _day_values(gen, pilot, level, pass_p, valid_p)
        values = {code: np.minimum(v.astype("int64"), limits[code]) for code, v in values.items()}
        values["valid_adds"] = np.minimum(values["valid_adds"], values["wecom_adds"])
        values["accepted_adds"] = np.minimum(values["accepted_adds"], values["add_requests"])
        moment = min(datetime.combine(day, time(18, rng.randrange(60)), tzinfo=clock.SHANGHAI).astimezone(UTC),
                     clock.now_utc())
        who = staff[int(np.argmax(values["valid_adds"]))].name
        reports.append({"pilot_id": pilot.id, "report_date": day, "author_user_id": coach, "updated_by": coach,
                        "version": 1, "created_at": moment, "updated_at": moment,
                        "highlights": _text(ctx, HIGHLIGHTS, who) if day.weekday() < 5 else "",
                        "blockers": _text(ctx, BLOCKERS, who) if day in blocker_days else "",
                        "next_steps": _text(ctx, NEXT_STEPS, who) if day.weekday() < 5 else ""})
        staff_rows.append(values)
        total_adds = int(values["wecom_adds"].sum())
        outbound = int(values["accepted_adds"].sum())
        split = dict(zip(weights, gen.multinomial(total_adds - outbound, np.array(list(weights.values())) /
                                                  sum(weights.values())).tolist(), strict=True))
        customers += int(values["valid_adds"].sum())
        active = int(((values["touches_1v1"] >= 8) | (values["wecom_adds"] >= 3)).sum())
        branch = [{"metric": "staff_active", "channel": "", "value": active},
                  {"metric": "wecom_customers_total", "channel": "", "value": customers},
                  *({"metric": "wecom_adds", "channel": ch, "value": v} for ch, v in
                    {**split, "outbound_add": outbound}.items())]
        if day.weekday() == 4:
            nps = min(78, nps + int(gen.integers(2, 7)))
            branch.append({"metric": "nps", "channel": "", "value": nps})
        branch_rows.append(branch)
    report_ids = insert_returning_ids(s, DailyReport, reports)
    sids = ids.tolist()
    entries = [{"report_id": rid, "staff_id": sid, "metric": code, "value": v}
               for rid, values in zip(report_ids, staff_rows, strict=True)
               for code, column in values.items() for sid, v in zip(sids, column.tolist(), strict=True)]
    insert_rows(s, DailyEntry, entries)
    insert_rows(s, BranchEntry, [{"report_id": rid, **b} for rid, branch in zip(report_ids, branch_rows, strict=True)
                                 for b in branch])
    return len(days)


def build(ctx) -> None:
    s = ctx.session
    cat = load_catalogue(s)
    main = ctx.ids.get("pilots", {}).get("main")
    rollout = {p["pilot_id"] for p in ctx.ids.get("rollout", [])}
    started = s.exec(select(Pilot).where(Pilot.start_date < ctx.today).order_by(Pilot.id)).all()
    with entry_load(s):
        for n, pilot in enumerate(started):
            ctx.tick(n, len(started))
            days = _days(ctx, pilot)
            working = [d for d in days if d.weekday() < 5]
            gappy = pilot.id == main or (pilot.id in rollout and pilot.id % 7 == 0)
            missing = _missing_day(ctx, days) if gappy else None
            picks = [d for d in working if d != missing]
            blocker_days = {picks[len(picks) // 3], picks[-2]} if len(picks) >= 3 else set()
            _build_pilot(ctx, pilot, cat, missing=missing, blocker_days=blocker_days)
    refresh_statistics(s, "daily_report", "daily_entry", "report_total", "pilot_total", "branch_entry", "staff",
                       "branch", "pilot")
