"""Demo budgets, recorded through the budget services so they obey the cap rule.

- main pilot (week 3): the payroll × AUM package's template applied on day 1, then a
  realistic mix of training fees, printed materials, customer gifts within policy, two
  on-site visits by two coaches and a live-stream subscription: about 70 % of the cap
  committed or paid, some lines still planned, one gift order cancelled.
- validating pilot: went over the ¥100,000 cap when the elderly anti-fraud handbooks had to
  be reprinted; HQ (hq_wang) approved an override with a reason first.
- planning pilot: the coach applied its package's template as planned lines.

Each step is recorded "on" its pilot day (frozen clock), so dates and the audit trail read
like a real history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta

from sqlmodel import select

from models.budget import BudgetLine, BudgetStatus
from models.org import User
from models.pilot import Pilot
from portal import access, budget, budget_lines, clock
from portal.access import CLI_ACTOR
from seed.demo.bulk import clone_pilot_rows, update_rows


@contextmanager
def _day(pilot: Pilot, day: int) -> Iterator[None]:
    """Freeze the clock at 10:00 Shanghai on pilot day `day` (never later than now)."""
    target = datetime.combine(pilot.start_date + timedelta(days=day - 1), time(10), tzinfo=clock.SHANGHAI)
    with clock.frozen(min(target, clock.now_utc())):
        yield


def _actors(ctx) -> dict:
    s = ctx.session
    ids = dict(s.exec(select(User.username, User.id).where(
        User.username.in_(["hq_wang", "coach_li", "coach_zhao", "lead_qinghe"]))).all())
    return {name.split("_")[-1]: access.load_actor(s, uid) for name, uid in ids.items()}


def _template_ids(ctx, pilot_id: int) -> list[int]:
    return list(ctx.session.exec(select(BudgetLine.id).where(BudgetLine.pilot_id == pilot_id,
                                                             BudgetLine.template_key.is_not(None))
                                 .order_by(BudgetLine.id)).all())


def _add(ctx, pilot: Pilot, day: int, who, category: str, description: str, amount: str, status: str,
         vendor: str = "", ref: str = "", spend_day: int | None = None) -> int:
    money = {"planned": amount} if status == "planned" else {"actual": amount}
    when = None if spend_day is None else pilot.start_date + timedelta(days=spend_day - 1)
    with _day(pilot, day):
        return budget_lines.add_line(ctx.session, actor=who, pilot_id=pilot.id, category=category,
                                     description=description, status=status, vendor=vendor, attachment_ref=ref,
                                     spend_date=when, **money)


def _move(ctx, pilot: Pilot, day: int, who, line_id: int, to: str, actual: str | None = None, **changes) -> None:
    with _day(pilot, day):
        if changes:
            budget_lines.update_line(ctx.session, actor=who, line_id=line_id, **changes)
        budget_lines.advance_line(ctx.session, actor=who, line_id=line_id, to_status=to, actual=actual)


def _main(ctx, a: dict, pilot: Pilot) -> None:
    li, zhao, lead = a["li"], a["zhao"], a["qinghe"]
    with _day(pilot, 1):
        budget_lines.apply_package_template(ctx.session, actor=li, pilot_id=pilot.id,
                                            package_code="payroll_aum_growth")
    materials, prizes, training, travel, _venue = _template_ids(ctx, pilot.id)
    _add(ctx, pilot, 2, li, "training", "企微经营技能启动培训讲师课酬及场地", "12,600.00", "paid",
         vendor="江川金融培训中心", ref="发票 No.04418826")
    _move(ctx, pilot, 2, zhao, travel, "committed", "9,860", vendor="差旅平台（两位教练两次驻点）")
    _add(ctx, pilot, 3, zhao, "tools", "闭门直播课工具月度订阅", "3600", "paid", vendor="云播互动科技",
         ref="订单 YB-2026-0315")
    _move(ctx, pilot, 4, lead, materials, "paid", "6,850.50", vendor="青禾印务有限公司", attachment_ref="发票 No.10027734")
    cups = _add(ctx, pilot, 6, lead, "incentives", "定制保温杯（单价超出行内礼品标准）", "3,200", "committed",
                vendor="青禾优选商贸")
    with _day(pilot, 7):
        budget_lines.cancel_line(ctx.session, actor=lead, line_id=cups)
    _add(ctx, pilot, 8, lead, "incentives", "训练营打卡礼品第一批（单价50元以内，符合礼品标准）", "9,800", "paid",
         vendor="青禾优选商贸", ref="发票 No.33810452")
    _add(ctx, pilot, 9, lead, "materials", "定投计划步骤图折页加印", "2380", "paid", vendor="青禾印务有限公司")
    _move(ctx, pilot, 12, li, prizes, "committed", "12,500", vendor="青禾优选商贸")
    _move(ctx, pilot, 14, li, training, "committed", "8000", vendor="江川金融培训中心")
    _add(ctx, pilot, 15, li, "incentives", "员工PK赛第一、二周阶段奖励", "4,600", "committed")
    _move(ctx, pilot, 16, zhao, travel, "paid", "9,720.60", attachment_ref="差旅报销单 TR-0916")
    _add(ctx, pilot, 16, li, "training", "转化技巧线上培训讲师费", "4,000", "planned", spend_day=24)
    _add(ctx, pilot, 16, li, "incentives", "员工PK赛总决赛奖励", "6,000", "planned", spend_day=28)
    # The template's graduation set-up line (_venue) stays planned.


def _validating(ctx, a: dict, pilot: Pilot) -> None:
    zhao, hq = a["zhao"], a["wang"]
    with _day(pilot, 1):
        budget_lines.apply_package_template(ctx.session, actor=zhao, pilot_id=pilot.id,
                                            package_code="elderly_new_accounts")
    handbooks, gifts, training, travel, awards = _template_ids(ctx, pilot.id)
    _move(ctx, pilot, 2, zhao, training, "paid", "6,000", vendor="江川金融培训中心")
    _add(ctx, pilot, 2, zhao, "training", "启动培训讲师课酬", "12,000", "paid", vendor="江川金融培训中心")
    _move(ctx, pilot, 2, zhao, travel, "committed", "9,000")
    _move(ctx, pilot, 3, zhao, handbooks, "paid", "5,860", vendor="白沙印刷厂")
    _add(ctx, pilot, 3, zhao, "tools", "企微直播工具订阅", "3,600", "paid", vendor="云播互动科技")
    _move(ctx, pilot, 5, zhao, gifts, "committed", "24,300", vendor="白沙惠民商贸")
    _add(ctx, pilot, 6, zhao, "other", "社区驻点摆摊场地与桌椅租赁", "3,200", "paid")
    _add(ctx, pilot, 12, zhao, "incentives", "养老金账户开户礼品第二批（符合礼品标准）", "23,600", "paid",
         vendor="白沙惠民商贸")
    _add(ctx, pilot, 16, zhao, "training", "社区反诈讲座专家劳务", "4,500", "paid")
    _move(ctx, pilot, 18, zhao, travel, "paid", "9,420.80")
    _move(ctx, pilot, 20, zhao, gifts, "paid")
    with _day(pilot, 21):
        budget.approve_override(ctx.session, actor=hq, pilot_id=pilot.id, amount="12,000",
                                reason="社区驻点反响超预期，老年客户防诈骗手册需加印3,000册，"
                                       "另补一场社区反诈讲座物料；超出上限部分经总行零售部特批。")
    reprint = _add(ctx, pilot, 21, zhao, "materials", "老年客户防诈骗手册加印3,000册", "9,600", "committed",
                   vendor="白沙印刷厂")
    _move(ctx, pilot, 24, zhao, reprint, "paid", attachment_ref="发票 No.55201937")
    _move(ctx, pilot, 27, zhao, awards, "paid", "3,000")


def build(ctx) -> None:
    pilots = ctx.ids.get("pilots", {})
    a = _actors(ctx)
    s = ctx.session
    if "main" in pilots:
        _main(ctx, a, s.get(Pilot, pilots["main"]))
    if "validating" in pilots:
        _validating(ctx, a, s.get(Pilot, pilots["validating"]))
    if "planning" in pilots:
        planning = s.get(Pilot, pilots["planning"])
        budget_lines.apply_package_template(s, actor=a["zhao"], pilot_id=planning.id,
                                            package_code="rural_product_marketing")
    _rollout(ctx)


def _rollout(ctx) -> None:
    """Province/national scale: the package's budget template is applied once per package by
    the budget service and copied to the other rollout pilots; lines of pilots that have started
    are then committed or paid at 60–100 % of plan (never above the plan, so within the cap)."""
    s, rng, today = ctx.session, ctx.rng, ctx.today
    plan = ctx.ids.get("rollout", [])
    by_code: dict[str, list[dict]] = {}
    for p in plan:
        by_code.setdefault(p["package_code"], []).append(p)
    for code, group in by_code.items():
        first = group[0]
        budget_lines.apply_package_template(s, actor=CLI_ACTOR, pilot_id=first["pilot_id"], package_code=code)
        s.flush()
        clone_pilot_rows(s, BudgetLine, first["pilot_id"], [(p["pilot_id"], p["start_date"]) for p in group[1:]],
                         first["start_date"])
    started = {p["pilot_id"]: p for p in plan if p["start_date"] <= today}
    lines = s.exec(select(BudgetLine.id, BudgetLine.pilot_id, BudgetLine.planned_fen)
                   .where(BudgetLine.pilot_id.in_(list(started) or [-1])).order_by(BudgetLine.id)).all()
    changes = []
    for line_id, pilot_id, planned in lines:
        p = started[pilot_id]
        elapsed = min(27, (today - p["start_date"]).days)
        if rng.random() < 0.25 and elapsed < 27:
            continue  # still planned
        status = BudgetStatus.paid if elapsed >= 27 or rng.random() < 0.6 else BudgetStatus.committed
        changes.append({"id_": line_id, "status": status, "actual_fen": int(planned * rng.uniform(0.6, 1.0)),
                        "spend_date": p["start_date"] + timedelta(days=rng.randint(0, max(0, elapsed))),
                        "version": 2})
    update_rows(s, BudgetLine, changes)
