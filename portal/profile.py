"""What a signed-in user sees about themselves."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.org import Branch, Staff, User
from models.pilot import Pilot
from portal.access import Actor, require_role


def my_profile(session: Session, *, actor: Actor) -> dict:
    require_role(actor, "hq", "coach", "branch_lead", "staff", action="profile.view")
    user = session.get(User, actor.user_id)
    profile = {"username": user.username, "display_name": user.display_name, "role": user.role,
               "staff": None, "pilots": []}
    if user.staff_id is not None:
        staff = session.get(Staff, user.staff_id)
        outlet = session.get(Branch, staff.branch_id)
        profile["staff"] = {"name": staff.name, "employee_no": staff.employee_no,
                            "position": staff.position, "outlet": outlet.name}
        running = session.exec(select(Pilot.name).where(col(Pilot.branch_id).in_(_ancestors(session, outlet)),
                                                        col(Pilot.phase).in_(("pilot", "validating", "scaling"))))
        profile["pilots"] = list(running.all())
    return profile


def _ancestors(session: Session, branch: Branch) -> list[int]:
    ids, current = [], branch
    while current is not None:
        ids.append(current.id)
        current = session.get(Branch, current.parent_id) if current.parent_id else None
    return ids
