"""Demo users and pilots: a county pilot in week 3, plus pilots in other phases."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.org import Branch, Role, Staff
from models.pilot import Pilot, PilotCoach
from portal import users
from portal.access import CLI_ACTOR

MAIN_PILOT_DAY = 17  # day 17 of 28: week 3


def _user(ctx, username: str, role: str, display: str, note: str, **kw) -> int:
    from seed.demo import DEMO_PASSWORD

    uid = users.create_user(ctx.session, actor=CLI_ACTOR, username=username, password=DEMO_PASSWORD,
                            role=role, display_name=display, is_demo=True, **kw)
    ctx.logins.append((role, username, note))
    return uid


def _pilot(ctx, name: str, branch_id: int, phase: str, start_offset: int, coaches: list[int],
           **kw) -> int:
    start = ctx.today - timedelta(days=start_offset)
    pilot = Pilot(name=name, branch_id=branch_id, phase=phase, start_date=start,
                  end_date=start + timedelta(days=27), created_at=_now(), **kw)
    ctx.session.add(pilot)
    ctx.session.flush()
    for uid in coaches:
        ctx.session.add(PilotCoach(pilot_id=pilot.id, user_id=uid))
    return pilot.id


def _now():
    from portal import clock

    return clock.now_utc()


def build(ctx) -> None:
    s = ctx.session
    subs = [s.get(Branch, i) for i in ctx.ids["sub_branches"]]
    county = [b for b in subs if b.is_county]
    main, second = county[0], county[1] if len(county) > 1 else subs[1]
    district = next(b for b in subs if not b.is_county)
    head = ctx.ids["head"]

    _user(ctx, "hq_wang", Role.hq, "王敏（总行零售部）", "总行运营：全部试点、用户与审计", branch_ids=[head])
    li = _user(ctx, "coach_li", Role.coach, "李晨（陪跑教练）", f"{main.name}试点的主教练")
    zhao = _user(ctx, "coach_zhao", Role.coach, "赵雪（陪跑教练）", "第二位驻点教练，同时跟进其他试点")
    _user(ctx, "lead_qinghe", Role.branch_lead, f"{main.name}行长", f"只看{main.name}", branch_ids=[main.id])
    staff = s.exec(select(Staff).where(Staff.branch_id.in_(
        [o for o, sub in ctx.ids["outlet_sub"].items() if sub == main.id])).order_by(Staff.employee_no)).all()
    member = staff[1]
    _user(ctx, "staff_demo", Role.staff, member.name, f"{member.name}，{main.name}的客户经理",
          staff_no=member.employee_no)

    ids = {}
    ids["main"] = _pilot(ctx, f"{main.name}代发客群AUM提升试点", main.id, "pilot", MAIN_PILOT_DAY - 1, [li, zhao],
                         wecom_status="has_customers", goal="aum_growth", segment="payroll",
                         sub_segment="white_collar")
    ids["validating"] = _pilot(ctx, f"{second.name}老年客群开户试点", second.id, "validating", 34, [zhao],
                               wecom_status="none", goal="new_accounts", segment="elderly", sub_segment="active")
    ids["planning"] = _pilot(ctx, f"{district.name}农村客群产品营销试点", district.id, "planning", -7, [zhao],
                             wecom_status="none", goal="product_marketing", segment="rural",
                             sub_segment="self_employed")
    ctx.ids["pilots"] = ids
    ctx.ids["coaches"] = {"li": li, "zhao": zhao}
    ctx.ids["main_branch"] = main.id
