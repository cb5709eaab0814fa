"""Head office's programme in the demo: one pilot in every phase, the validated pilot's
scale-out wave, maturity assessments over time, measurements and a capability self-assessment.
At province/national scale the rollout's history is added in bulk: phase decisions, one
scale-out wave per sub-branch and outlet wave, stage assessments and self-assessments."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import select

from models.org import Branch, User
from models.pilot import Phase, Pilot
from models.programme import CapabilityScore, PhaseDecision, ScaleWave, StageAssessment, WavePilot
from portal import capability, clock, lifecycle, maturity, pilots, playbook, scaleout
from portal.access import CLI_ACTOR, load_actor
from seed.demo.bulk import insert_returning_ids, insert_rows

RATIONALE = {Phase.pilot: "方案、资源与培训已就绪，按计划启动四周试点。",
             Phase.validating: "四周试点结束，进入效果验证。",
             Phase.scaling: "目标达成、花费在额度内，同意按模板复制到下辖网点。"}


def _old_pilot(ctx, name: str, branch: Branch, days_ago: int, **kw) -> int:
    return pilots.create_pilot(ctx.session, actor=CLI_ACTOR, name=name, branch_id=branch.id,
                               start_date=ctx.today - timedelta(days=days_ago),
                               coach_user_ids=[ctx.ids["coaches"]["zhao"]], **kw)


def _walk(ctx, pilot_id: int, steps: list[tuple[str, str]]) -> None:
    for phase, why in steps:
        lifecycle.transition(ctx.session, actor=ctx.hq, pilot_id=pilot_id, to_phase=phase, rationale=why)


def build(ctx) -> None:
    s = ctx.session
    ctx.hq = load_actor(s, s.exec(select(User.id).where(User.username == "hq_wang")).one())
    subs = [s.get(Branch, i) for i in ctx.ids["sub_branches"]]
    county = [b for b in subs if b.is_county]
    districts = [b for b in subs if not b.is_county]
    source_branch, wave_branches = districts[-1], county[2:4]

    # A pilot that ran two months ago, was validated and is now being scaled out.
    source = _old_pilot(ctx, f"{source_branch.name}代发客群开户试点", source_branch, 70, wecom_status="none",
                        goal="new_accounts", segment="payroll", sub_segment="blue_collar")
    playbook.adopt_package(s, actor=ctx.hq, pilot_id=source, package_code="payroll_new_accounts")
    _walk(ctx, source, [("pilot", "方案与资源已确认，按计划启动四周试点。"),
                        ("validating", "四周试点结束，进入效果验证。")])
    lifecycle.record_measurement(s, actor=ctx.hq, pilot_id=source, code="uplift_pct", value=23.5,
                                 note="添加企微客户与未添加客户对比，开户及绑卡均提升两成以上。")
    lifecycle.record_measurement(s, actor=ctx.hq, pilot_id=source, code="nps", value=72, note="试点结束客户回访调研")
    _walk(ctx, source, [("scaling", "提升超过 20%、花费在额度内，同意按模板复制到两家县域支行。")])
    wave = scaleout.create_wave(s, actor=ctx.hq, source_pilot_id=source, branch_ids=[b.id for b in wave_branches],
                                start_date=ctx.today + timedelta(days=7), request_key="demo-wave-1",
                                name="代发开户模板·第一批推广")

    # Earlier pilots that ended: one closed normally, one stopped early.
    closed = _old_pilot(ctx, f"{districts[0].name}老年客群激活试点", districts[0], 120, wecom_status="has_customers",
                        goal="product_marketing", segment="elderly", sub_segment="wellness")
    _walk(ctx, closed, [("pilot", "按计划启动四周试点。"), ("validating", "四周结束，进入效果验证。"),
                        ("closed", "效果未达预期：老年客户线上转化偏低，经验已沉淀到问答手册，暂不推广。")])
    stopped = _old_pilot(ctx, f"{wave_branches[0].name}农村客群AUM试点", wave_branches[0], 100, wecom_status="none",
                         goal="aum_growth", segment="rural", sub_segment="farming")
    _walk(ctx, stopped, [("pilot", "按计划启动四周试点。"), ("stopped", "秋收农忙，一线人手不足，经总行同意中止，来年再试。")])

    # The week-3 pilot's branch: stage history and two self-assessments.
    main = s.get(Pilot, ctx.ids["pilots"]["main"])
    maturity.confirm(s, actor=ctx.hq, branch_id=main.branch_id, stage=1, on=main.start_date,
                     note="启动时评估：一线对线上经营的认同度一般。")
    maturity.confirm(s, actor=ctx.hq, branch_id=main.branch_id, stage=2, on=main.start_date + timedelta(days=9),
                     note="驻点培训与账号开通完成，员工已把企微作为日常联系工具。")
    maturity.confirm(s, actor=ctx.hq, branch_id=source_branch.id, stage=3, on=ctx.today - timedelta(days=40),
                     note="批量触达机制已建立，覆盖率达标。")
    codes = [c["code"] for c in capability.capabilities(s, "zh")]
    for offset, base in ((main.start_date, 2), (ctx.today - timedelta(days=1), 3)):
        scores = {code: min(5, base + (i % 3 == 0)) for i, code in enumerate(codes)}
        capability.record(s, actor=ctx.hq, branch_id=main.branch_id, scores=scores, on=offset)
    ctx.ids["pilots"].update(source=source, closed=closed, stopped=stopped)
    ctx.ids["wave"] = wave
    rollout(ctx)


def _moment(ctx, day) -> datetime:
    return min(datetime.combine(day, time(10), tzinfo=clock.SHANGHAI).astimezone(UTC), clock.now_utc())


def _decisions(ctx, plan: list[dict], hq: int) -> list[dict]:
    rows = []
    for p in plan:
        end = p["start_date"] + timedelta(days=27)
        steps = [(Phase.planning, Phase.pilot, p["start_date"])]
        if p["phase"] in (Phase.validating, Phase.scaling):
            steps.append((Phase.pilot, Phase.validating, end + timedelta(days=1)))
        if p["phase"] == Phase.scaling:
            steps.append((Phase.validating, Phase.scaling, end + timedelta(days=7)))
        for before, after, day in steps:
            if p["phase"] == Phase.planning or day > ctx.today:
                continue
            rows.append({"pilot_id": p["pilot_id"], "from_phase": before, "to_phase": after,
                         "decision": "go" if after == Phase.scaling else "", "rationale": RATIONALE[after],
                         "evidence": {"on": day.isoformat(), "phase": before,
                                      "recommendation": "go" if after == Phase.scaling else ""},
                         "decided_by": hq, "decided_at": _moment(ctx, day)})
    return rows


def _stages(ctx, plan: list[dict], hq: int) -> list[dict]:
    rows = []
    for p in plan:
        if p["start_date"] > ctx.today:
            continue
        marks = [(1, p["start_date"]), (2, p["start_date"] + timedelta(days=12))]
        if p["wave"] == 0:
            marks.append((3, p["start_date"] + timedelta(days=34)))
        for stage, day in marks:
            if day <= ctx.today:
                rows.append({"branch_id": p["branch_id"], "pilot_id": p["pilot_id"], "assessed_on": day,
                             "suggested_stage": stage, "stage": stage, "overridden": False, "note": "",
                             "criteria": [], "confirmed_by": hq, "confirmed_at": _moment(ctx, day)})
    return rows


def rollout(ctx) -> None:
    """The rollout's programme history, in bulk (province/national scale only)."""
    s, rng = ctx.session, ctx.rng
    plan = ctx.ids.get("rollout", [])
    if not plan:
        return
    hq = ctx.hq.user_id
    insert_rows(s, PhaseDecision, _decisions(ctx, plan, hq))
    insert_rows(s, StageAssessment, _stages(ctx, plan, hq))
    waves: dict[tuple[int, int], list[dict]] = {}
    for p in plan:
        if p["wave"]:
            waves.setdefault((p["source_id"], p["wave"]), []).append(p)
    keys = sorted(waves)
    ids = insert_returning_ids(s, ScaleWave, [
        {"name": f"{waves[k][0]['name'][:80]}·第{k[1]}批", "source_pilot_id": k[0], "request_key": f"demo-rollout-{k[1]}",
         "start_date": min(p["start_date"] for p in waves[k]), "created_by": hq,
         "created_at": _moment(ctx, min(ctx.today, waves[k][0]["start_date"] - timedelta(days=7)))} for k in keys])
    insert_rows(s, WavePilot, [{"wave_id": wid, "pilot_id": p["pilot_id"]}
                               for wid, k in zip(ids, keys, strict=True) for p in waves[k]])
    codes = [c["code"] for c in capability.capabilities(s, "zh")]
    scores = []
    for p in plan:
        day = p["start_date"] + timedelta(days=27)
        if p["wave"] == 0 and day <= ctx.today:
            scores += [{"branch_id": p["branch_id"], "assessed_on": day, "capability": code,
                        "score": rng.randint(2, 4), "assessed_by": hq} for code in codes]
    insert_rows(s, CapabilityScore, scores)
