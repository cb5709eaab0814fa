"""Demo bank: head office → city branches → county/district sub-branches → outlets, staff."""

from __future__ import annotations

from sqlalchemy import insert

from models.org import Branch, BranchLevel, Staff
from seed.demo.names import CITIES, PLACES, POSITIONS, STREETS, person


def build(ctx) -> None:
    s, rng, scale = ctx.session, ctx.rng, ctx.scale
    head = Branch(code="HO", name="江川银行总行", level=BranchLevel.head_office, region="总部")
    s.add(head)
    s.flush()
    sub_ids, outlet_ids, outlet_region = [], [], {}
    for b in range(scale.branches):
        city = CITIES[b % len(CITIES)] + ("" if b < len(CITIES) else str(b // len(CITIES) + 1))
        branch = Branch(code=f"B{b + 1:02d}", name=f"江川银行{city}分行", level=BranchLevel.branch,
                        parent_id=head.id, region=city)
        s.add(branch)
        s.flush()
        for k in range(scale.sub_branches):
            county = k % 2 == 0
            place = PLACES[(b * scale.sub_branches + k) % len(PLACES)]
            suffix = "" if b * scale.sub_branches + k < len(PLACES) else str(b * scale.sub_branches + k)
            sub = Branch(code=f"B{b + 1:02d}S{k + 1:02d}", name=f"{place}{suffix}{'县' if county else '区'}支行",
                         level=BranchLevel.sub_branch, parent_id=branch.id, region=city, is_county=county,
                         customer_base=rng.randint(18_000, 60_000))
            s.add(sub)
            s.flush()
            sub_ids.append(sub.id)
            for o in range(scale.outlets):
                street = STREETS[(k + o) % len(STREETS)]
                outlet = Branch(code=f"{sub.code}O{o + 1}", name=f"{place}{suffix}{street}网点",
                                level=BranchLevel.outlet, parent_id=sub.id, region=city, is_county=county,
                                customer_base=sub.customer_base // scale.outlets)
                s.add(outlet)
                s.flush()
                outlet_ids.append(outlet.id)
                outlet_region[outlet.id] = sub.id
    used: set[str] = set()
    rows, n = [], 0
    for outlet_id in outlet_ids:
        for i in range(scale.staff_per_outlet):
            n += 1
            rows.append({"branch_id": outlet_id, "employee_no": f"E{n:06d}", "name": person(rng, used),
                         "position": "outlet_head" if i == 0 else rng.choice(POSITIONS), "active": True})
    # One deliberate inactive staff member so filters have something to hide.
    rows[-1]["active"] = False
    s.execute(insert(Staff), rows)
    ctx.ids.update(head=head.id, sub_branches=sub_ids, outlets=outlet_ids, outlet_sub=outlet_region)
