"""Small builders for service tests: an org tree, users of each role, a pilot."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlmodel import Session

from models.org import Branch, Staff
from portal import access, db, pilots, users
from portal.access import CLI_ACTOR, Actor

PASSWORD = "Correct-Horse-7"
_seq = itertools.count(1)


def org(engine) -> dict:
    """Head office → branch → two county sub-branches (A, B) → two outlets each, 3 staff per outlet."""
    with Session(engine) as s:
        head = Branch(code="HO", name="总行", level="head_office")
        s.add(head)
        s.flush()
        branch = Branch(code="B1", name="临州分行", level="branch", parent_id=head.id)
        s.add(branch)
        s.flush()
        ids = {"head": head.id, "branch": branch.id, "subs": [], "outlets": {}, "staff": {}}
        for sub_code, sub_name in (("A", "青禾县支行"), ("B", "白沙县支行")):
            sub = Branch(code=f"S{sub_code}", name=sub_name, level="sub_branch", parent_id=branch.id,
                         is_county=True, customer_base=20_000)
            s.add(sub)
            s.flush()
            ids["subs"].append(sub.id)
            ids["outlets"][sub_code] = []
            ids["staff"][sub_code] = []
            for o in range(2):
                outlet = Branch(code=f"S{sub_code}O{o}", name=f"{sub_name}{o}号网点", level="outlet",
                                parent_id=sub.id, customer_base=10_000)
                s.add(outlet)
                s.flush()
                ids["outlets"][sub_code].append(outlet.id)
                for k in range(3):
                    st = Staff(branch_id=outlet.id, employee_no=f"{sub_code}{o}{k}", name=f"员工{sub_code}{o}{k}")
                    s.add(st)
                    s.flush()
                    ids["staff"][sub_code].append(st.id)
        s.commit()
    return ids


def user(engine, role: str, *, branch_ids: list[int] | None = None, staff_no: str = "",
         username: str | None = None) -> Actor:
    username = username or f"{role}_{next(_seq)}"
    uid = db.run(users.create_user, engine=engine, actor=CLI_ACTOR, username=username, password=PASSWORD,
                 role=role, display_name=username, branch_ids=branch_ids or [], staff_no=staff_no)
    return db.run(lambda session: access.load_actor(session, uid), engine=engine, write=False)


def pilot(engine, branch_id: int, *, coaches: list[Actor] = (), start: date | None = None,
          phase: str = "pilot", **kw) -> int:
    start = start or date.today() - timedelta(days=10)
    return db.run(pilots.create_pilot, engine=engine, actor=CLI_ACTOR, name=kw.pop("name", f"试点{next(_seq)}"),
                  branch_id=branch_id, start_date=start, phase=phase,
                  coach_user_ids=[c.user_id for c in coaches], **kw)
