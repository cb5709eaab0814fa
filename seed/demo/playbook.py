"""Demo: the main pilot and the validating pilot adopt their real packages through the adopt
service, and coach Li writes Q&A entries during the main pilot (some still drafts)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from models.pilot import Pilot, PilotTarget
from models.sop import ChecklistItem
from portal import access, playbook, qa
from portal.access import CLI_ACTOR
from seed.demo.bulk import clone_pilot_rows

# (days ago, category, status, question, answer, tags) — what came up in the pilot's first weeks.
QA_ENTRIES = [
    (14, "unwilling", "published",
     "代发客户觉得工资卡只用来收工资，员工担心加企微会被客户嫌烦，不愿意主动加，怎么办？",
     "先别急着推产品，第一句话讲清楚加企微能帮客户省什么事，比如工资到账提醒、业务预约不用排队。"
     "可以先从关系好的老客户加起，每个网点挑两三位员工把通过率和客户反馈晒出来，让其他同事看到真实效果。"
     "日报里只记数字，不要求截图。",
     ["代发", "员工顾虑", "通过率"]),
    (11, "scenario_aum", "published",
     "工资定投训练营第二天打卡人数掉了一半，怎么把人拉回来？",
     "第二天流失很常见，关键是让客户觉得“再坚持一天就有收获”。"
     "当晚在群里公布前十名积分和一道简单的抢答题，对未打卡的客户私聊一句轻提醒，不要群里点名。"
     "把每天的内容压缩到五分钟以内，配一张图讲清一个知识点。",
     ["训练营", "打卡", "AUM"]),
    (9, "operations", "published",
     "企业专属群里有人发广告和无关链接，客户经理可以直接移出群吗？",
     "可以，但先按群公告私聊提醒一次，再次发布再移出，并在群里简短说明是为保护大家的信息安全。"
     "建议开启企微的防广告设置，群公告写明“不发广告、不发个人信息”的规则。",
     ["客户群", "群管理"]),
    (6, "compliance", "draft",
     "客户在群里问工资定投能不能保本，员工该怎么回答才合规？",
     "直接说明定投是分批买入基金的方式，不保证收益，也不承诺保本。"
     "引导客户先做风险测评，再根据结果推荐合适的产品，具体产品说明以产品资料概要为准。",
     ["定投", "合规", "风险提示"]),
    (4, "unable", "draft",
     "员工在企微和个人微信之间来回切换，经常漏回客户消息，有什么办法？",
     "",
     ["消息提醒", "操作"]),
    (2, "scenario_reactivate", "draft",
     "沉默超过90天的代发老客户，节日问候后仍然不回复，还要继续触达吗？",
     "同一位客户一周不超过两次触达；连续两次无回复就转入下月的售后类提醒（如积分兑换），不要反复群发。",
     ["激活", "触达频次"]),
]


def build(ctx) -> None:
    s = ctx.session
    pilots, coaches = ctx.ids["pilots"], ctx.ids["coaches"]
    li = access.load_actor(s, coaches["li"])
    zhao = access.load_actor(s, coaches["zhao"])
    playbook.adopt_package(s, actor=li, pilot_id=pilots["main"], package_code="payroll_aum_growth")
    playbook.adopt_package(s, actor=zhao, pilot_id=pilots["validating"], package_code="elderly_new_accounts")
    entries = []
    for days_ago, category, status, question, answer, tags in QA_ENTRIES:
        entries.append(qa.create_entry(s, actor=li, category=category, question_zh=question, answer_zh=answer,
                                       tags=tags, status=status, source_pilot_id=pilots["main"],
                                       source_date=ctx.today - timedelta(days=days_ago)))
    ctx.ids["qa_entries"] = entries
    adopt_rollout(ctx)


def adopt_rollout(ctx) -> None:
    """Province/national scale: the adoption service runs once per package × WeCom status (its
    flow decides the SOP templates); the other rollout pilots of that variant get copies of its
    targets and checklist, dated from their own start."""
    plan = ctx.ids.get("rollout", [])
    variants: dict[tuple[str, str], list[dict]] = {}
    for p in plan:
        variants.setdefault((p["package_code"], p["wecom_status"]), []).append(p)
    for (code, _status), group in variants.items():
        first, rest = group[0], group[1:]
        playbook.adopt_package(ctx.session, actor=CLI_ACTOR, pilot_id=first["pilot_id"], package_code=code)
        targets = [(p["pilot_id"], p["start_date"]) for p in rest]
        clone_pilot_rows(ctx.session, PilotTarget, first["pilot_id"], targets, first["start_date"])
        clone_pilot_rows(ctx.session, ChecklistItem, first["pilot_id"], targets, first["start_date"],
                         date_columns=("due_date",))
        ctx.session.connection().execute(update(Pilot.__table__).where(
            Pilot.__table__.c.id.in_([p["pilot_id"] for p in rest] or [-1])).values(package_code=code))
