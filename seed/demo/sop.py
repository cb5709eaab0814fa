"""Demo SOP checklists: the week-3 main pilot with a realistic mix (done with evidence, a few
late, one blocked, upcoming open), the validating pilot nearly all done, the planning pilot
instantiated and untouched. Written through the SOP services (so the audit log is real),
with the clock set back to when each item was done."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import select

from models.org import User
from models.pilot import Pilot
from models.sop import ChecklistItem, ItemStatus
from portal import access, clock, playbook, sop, sop_items
from portal.access import Actor
from seed.demo.bulk import update_rows

NOTES = (
    "已按计划完成，纪要与材料已归档至试点共享盘“{pilot}/第{week}周”。",
    "已完成，参与客户经理 {n} 人，签到表与现场照片已上传。",
    "已与支行负责人逐项确认，产出物见共享文档，后续调整在周复盘中跟进。",
    "完成情况良好：{n} 名员工已按要求执行，个别问题已在陪跑群中答复。",
    "已完成并通报全员，执行要点已同步到Q&A手册草稿。",
)
BLOCKED_REASON = "三名客户经理本周轮岗参加分行集中培训，一人一策面谈需顺延至下周二，已与支行负责人确认。"
SKIP_REASON = "该支行场景已由分行统一组织，本项不在试点内重复执行（总行已确认）。"
LATE = 2  # overdue, still open items of the main pilot


def _actor(ctx, username: str) -> Actor:
    uid = ctx.session.exec(select(User.id).where(User.username == username)).one()
    return access.load_actor(ctx.session, uid)


def _ensure_checklist(ctx, actor: Actor, pilot_id: int) -> None:
    """The package-adoption step normally instantiates the checklist; without it, instantiate
    the templates the guide matches to this pilot (idempotent either way)."""
    s = ctx.session
    if s.exec(select(ChecklistItem.id).where(ChecklistItem.pilot_id == pilot_id).limit(1)).first() is not None:
        return
    pilot = s.get(Pilot, pilot_id)
    codes = playbook.match(s, actor=actor, wecom_status=pilot.wecom_status, goal=pilot.goal,
                           segment=pilot.segment)["template_codes"]
    sop.instantiate(s, actor=actor, pilot_id=pilot_id, template_codes=codes)


def _items(ctx, pilot_id: int) -> list[ChecklistItem]:
    return list(ctx.session.exec(select(ChecklistItem).where(ChecklistItem.pilot_id == pilot_id)
                                 .order_by(ChecklistItem.due_date, ChecklistItem.sort_order, ChecklistItem.id)))


def _at(ctx, day, hour: int) -> datetime:
    """A moment on `day` (Shanghai), never later than now."""
    moment = datetime.combine(day, time(hour, ctx.rng.randrange(60)), tzinfo=clock.SHANGHAI).astimezone(UTC)
    return min(moment, clock.now_utc())


def _complete(ctx, actor: Actor, item: ChecklistItem, pilot: Pilot, *, late_days: int = 0) -> None:
    week = max(1, (item.due_date - pilot.start_date).days // 7 + 1)
    note = ctx.rng.choice(NOTES).format(pilot=pilot.name, week=week, n=ctx.rng.randint(6, 18))
    link = f"https://pan.example.com/pilot/{pilot.id}/item/{item.id}" if ctx.rng.random() < 0.3 else ""
    with clock.frozen(_at(ctx, item.due_date + timedelta(days=late_days), ctx.rng.randint(9, 18))):
        sop_items.complete(ctx.session, actor=actor, item_id=item.id, evidence_note=note, evidence_link=link)


def _move(ctx, actor: Actor, item: ChecklistItem, status: str, reason: str, day) -> None:
    with clock.frozen(_at(ctx, day, ctx.rng.randint(9, 17))):
        sop_items.set_status(ctx.session, actor=actor, item_id=item.id, status=status, reason=reason)


def _main(ctx, hq: Actor, coaches: list[Actor], lead: Actor, pilot_id: int) -> None:
    s = ctx.session
    pilot = s.get(Pilot, pilot_id)
    items = _items(ctx, pilot_id)
    for item in items:  # the branch lead's own items
        if item.owner_role == "branch_lead":
            sop_items.update_item(s, actor=hq, item_id=item.id, due_date=item.due_date,
                                  assignee_user_id=lead.user_id)
    today = ctx.today
    past = [i for i in items if i.due_date < today]
    old = [i for i in past if i.due_date <= today - timedelta(days=3)]
    late = set(ctx.rng.sample([i.id for i in old if (i.due_date - pilot.start_date).days >= 5], LATE))
    recent = [i for i in past if i not in old]
    blocked = next((i for i in recent if i.template_item_code == "rhythm.s5.one_plan_per_person"),
                   recent[-1] if recent else None)
    for n, item in enumerate(past):
        if item.id in late or item is blocked:
            continue
        if item in recent and n % 2:
            continue  # due in the last days and not done yet: overdue
        _complete(ctx, coaches[n % len(coaches)], item, pilot, late_days=ctx.rng.choice((0, 0, 0, 1)))
    if blocked is not None:
        _move(ctx, coaches[0], blocked, ItemStatus.blocked, BLOCKED_REASON, today - timedelta(days=1))
    upcoming = [i for i in items if i.due_date >= today]
    if upcoming:
        _move(ctx, coaches[0], upcoming[0], ItemStatus.doing, "", today)


def _validating(ctx, hq: Actor, coach: Actor, pilot_id: int) -> None:
    pilot = ctx.session.get(Pilot, pilot_id)
    items = _items(ctx, pilot_id)
    skipped = next((i for i in items if i.template_code not in sop.BASE_TEMPLATES), items[0])
    still_open = items[-2] if len(items) > 2 else None
    for item in items:
        if item is skipped or item is still_open:
            continue
        _complete(ctx, coach, item, pilot, late_days=ctx.rng.choice((0, 0, 1)))
    _move(ctx, hq, skipped, ItemStatus.skipped, SKIP_REASON, skipped.due_date)


def build(ctx) -> None:
    ids = ctx.ids["pilots"]
    hq, lead = _actor(ctx, "hq_wang"), _actor(ctx, "lead_qinghe")
    li, zhao = (access.load_actor(ctx.session, ctx.ids["coaches"][k]) for k in ("li", "zhao"))
    for key, coach in (("main", li), ("validating", zhao), ("planning", zhao)):
        _ensure_checklist(ctx, coach, ids[key])
    ctx.session.flush()
    _main(ctx, hq, [li, zhao], lead, ids["main"])
    _validating(ctx, hq, zhao, ids["validating"])
    _rollout(ctx)


def _rollout(ctx) -> None:
    """Province/national scale, in bulk: items due before today are mostly done (on the day or
    a day late, with a note), a few are still open (overdue) and some skipped; later ones open."""
    s, rng, today = ctx.session, ctx.rng, ctx.today
    plan = {p["pilot_id"]: p for p in ctx.ids.get("rollout", []) if p["start_date"] <= today}
    coaches = ctx.ids.get("region_coaches", {})
    rows = s.exec(select(ChecklistItem.id, ChecklistItem.pilot_id, ChecklistItem.due_date)
                  .where(ChecklistItem.pilot_id.in_(list(plan) or [-1]), ChecklistItem.due_date < today)
                  .order_by(ChecklistItem.id)).all()
    changes = []
    for item_id, pilot_id, due in rows:
        p, luck = plan[pilot_id], rng.random()
        if luck < 0.06:
            continue  # still open: overdue
        if luck < 0.09:
            changes.append({"id_": item_id, "status": ItemStatus.skipped, "reason": SKIP_REASON, "done_by": None,
                            "done_at": None, "evidence_note": "", "version": 2, "updated_at": _at(ctx, due, 17)})
            continue
        week = max(1, (due - p["start_date"]).days // 7 + 1)
        moment = _at(ctx, min(today, due + timedelta(days=rng.choice((0, 0, 0, 1)))), rng.randint(9, 18))
        changes.append({"id_": item_id, "status": ItemStatus.done, "reason": "", "done_by": coaches[p["city_id"]],
                        "done_at": moment, "version": 2, "updated_at": moment,
                        "evidence_note": rng.choice(NOTES).format(pilot=p["name"], week=week,
                                                                  n=rng.randint(6, 18))})
    update_rows(s, ChecklistItem, changes)
