"""The bank-wide rollout behind the `province` and `national` scales (nothing at `pilot` scale).

How the pilots are spread (about 180 at province scale, 1,900 at national scale): every
sub-branch that the story pilots do not use ran its own 4-week pilot at the start of the
history window (wave 0, now `scaling`); after a week of validation its outlets follow as
scale-out pilots of the same package in four waves, one outlet per wave, four weeks apart
(wave 1 starts 7–14 days after wave 0 ended). With 90 days of history (province) wave 1 has
ended (`validating`), wave 2 is running (`pilot`) and waves 3–4 are `planning`; with 120
days (national) waves 1–2 have ended, wave 3 is running and wave 4 is about to start. No staff
member is in two pilots on the same day, so the daily reports and the contest ledger never
count anyone twice. Each city branch gets a regional coach (coach_b01…) for its rollout pilots
and a branch lead (lead_b01…) who sees them all.

Written with bulk inserts; the services still own every rule (see seed.demo.bulk).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.org import Branch, BranchLevel, Role
from models.pilot import Phase, Pilot, PilotCoach
from portal import clock, users
from portal.access import CLI_ACTOR
from seed.demo.bulk import insert_returning_ids, insert_rows

WEEKS = 4
OUTLET_WAVES = 4
VALIDATION_DAYS = 7
PACKAGES = [(goal, segment) for segment in ("payroll", "elderly", "rural")
            for goal in ("new_accounts", "product_marketing", "aum_growth")]
SUB_SEGMENTS = {"payroll": ("white_collar", "blue_collar", "professional"),
                "elderly": ("active", "wellness", "senior"), "rural": ("farming", "migrant_work", "self_employed")}
GOAL_ZH = {"new_accounts": "开户新增", "product_marketing": "产品营销", "aum_growth": "AUM提升"}
SEGMENT_ZH = {"payroll": "代发客群", "elderly": "老年客群", "rural": "农村客群"}


def story_sub_branches(subs: list[Branch]) -> set[int]:
    """Sub-branches the story pilots use (seed.demo.pilots and seed.demo.programme pick the
    first four county sub-branches and the first and last district ones)."""
    county = [b for b in subs if b.is_county]
    districts = [b for b in subs if not b.is_county]
    return {b.id for b in county[:4]} | {districts[0].id, districts[-1].id}


def _phase(start, today) -> str:
    end = start + timedelta(days=WEEKS * 7 - 1)
    if start > today:
        return Phase.planning
    return Phase.pilot if end >= today else Phase.validating


def _people(ctx, cities: list[Branch]) -> dict[int, int]:
    """A regional coach and a branch lead per city branch; returns {city id: coach user id}."""
    from seed.demo import DEMO_PASSWORD

    coaches = {}
    for n, city in enumerate(cities, start=1):
        coaches[city.id] = users.create_user(ctx.session, actor=CLI_ACTOR, username=f"coach_b{n:02d}",
                                             password=DEMO_PASSWORD, role=Role.coach, is_demo=True,
                                             display_name=f"{city.region}区域教练")
        users.create_user(ctx.session, actor=CLI_ACTOR, username=f"lead_b{n:02d}", password=DEMO_PASSWORD,
                          role=Role.branch_lead, is_demo=True, display_name=f"{city.name}负责人",
                          branch_ids=[city.id])
    ctx.logins.append((Role.coach, "coach_b01", f"{cities[0].region}的区域教练（{len(cities)} 位之一）"))
    ctx.logins.append((Role.branch_lead, "lead_b01", f"{cities[0].name}负责人：看全分行的推广试点"))
    return coaches


def build(ctx) -> None:
    s, rng, today = ctx.session, ctx.rng, ctx.today
    if ctx.scale.name == "pilot":
        return
    subs = [s.get(Branch, i) for i in ctx.ids["sub_branches"]]
    reserved = story_sub_branches(subs)
    cities = list(s.exec(select(Branch).where(Branch.level == BranchLevel.branch).order_by(Branch.code)))
    coach_of_city = _people(ctx, cities)
    outlets: dict[int, list[Branch]] = {}
    for outlet in s.exec(select(Branch).where(Branch.level == BranchLevel.outlet).order_by(Branch.code)):
        outlets.setdefault(outlet.parent_id, []).append(outlet)
    now = clock.now_utc()
    first_day = today - timedelta(days=ctx.scale.history_days - 1)
    waves: list[tuple[Branch, dict]] = []
    for sub in subs:
        if sub.id in reserved:
            continue
        goal, segment = rng.choice(PACKAGES)
        kind = {"goal": goal, "segment": segment, "sub_segment": rng.choice(SUB_SEGMENTS[segment]),
                "wecom_status": rng.choice(("none", "has_customers"))}
        start = first_day + timedelta(days=rng.randrange(15))
        waves.append((sub, {**kind, "start_date": start, "phase": Phase.scaling, "wave": 0,
                            "name": f"{sub.name}{SEGMENT_ZH[segment]}{GOAL_ZH[goal]}试点"}))
        first_outlet = start + timedelta(days=WEEKS * 7 + VALIDATION_DAYS + rng.randrange(8))
        for k, outlet in enumerate(outlets.get(sub.id, [])[:OUTLET_WAVES]):
            begin = first_outlet + timedelta(days=WEEKS * 7 * k + rng.randrange(4))
            waves.append((outlet, {**kind, "start_date": begin, "phase": _phase(begin, today), "wave": k + 1,
                                   "name": f"{outlet.name}{GOAL_ZH[goal]}推广（第{k + 1}批）"}))
    city_of = {sub.id: sub.parent_id for sub in subs}
    plan = []
    for number in range(OUTLET_WAVES + 1):  # wave 0 first: the outlets' pilots name it as their source
        batch = [(branch, w) for branch, w in waves if w["wave"] == number]
        source = {p["sub_branch_id"]: p["pilot_id"] for p in plan if p["wave"] == 0}
        rows = [{"name": w["name"][:100], "branch_id": branch.id, "phase": w["phase"],
                 "wecom_status": w["wecom_status"], "goal": w["goal"], "segment": w["segment"],
                 "sub_segment": w["sub_segment"], "start_date": w["start_date"],
                 "end_date": w["start_date"] + timedelta(days=WEEKS * 7 - 1), "budget_cap_fen": 100_000 * 100,
                 "source_pilot_id": source.get(branch.parent_id) if number else None, "created_at": now}
                for branch, w in batch]
        for pid, (branch, w) in zip(insert_returning_ids(s, Pilot, rows), batch, strict=True):
            sub_id = branch.id if number == 0 else branch.parent_id
            plan.append({"pilot_id": pid, "branch_id": branch.id, "sub_branch_id": sub_id,
                         "city_id": city_of[sub_id], "wave": number, "source_id": source.get(sub_id, pid),
                         "goal": w["goal"], "segment": w["segment"], "wecom_status": w["wecom_status"],
                         "package_code": f"{w['segment']}_{w['goal']}", "start_date": w["start_date"],
                         "phase": w["phase"], "name": w["name"][:100]})
    insert_rows(s, PilotCoach, [{"pilot_id": p["pilot_id"], "user_id": coach_of_city[p["city_id"]]} for p in plan])
    ctx.ids["rollout"] = plan
    ctx.ids["region_coaches"] = coach_of_city
