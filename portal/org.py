"""Branches and staff: the organisation pilots run in."""

from __future__ import annotations

import pandas as pd
from sqlmodel import Session, col, select

from models.org import Branch, Role, Staff
from portal.access import Actor, require_role, subtree


def branch_options(session: Session, *, actor: Actor, levels: tuple[str, ...] = ()) -> dict[int, str]:
    """Branches the actor may pick from, as {id: "name (code)"}."""
    require_role(actor, Role.hq, Role.coach, Role.branch_lead, action="org.branches")
    stmt = select(Branch).where(Branch.active).order_by(Branch.code)
    if levels:
        stmt = stmt.where(col(Branch.level).in_(levels))
    if not actor.is_hq and actor.role != Role.coach:
        stmt = stmt.where(col(Branch.id).in_(actor.branch_ids or {-1}))
    return {b.id: f"{b.name} ({b.code})" for b in session.exec(stmt).all()}


def branch_table(session: Session, *, actor: Actor) -> pd.DataFrame:
    require_role(actor, Role.hq, action="org.branches")
    rows = session.exec(select(Branch).order_by(Branch.code)).all()
    names = {b.id: b.name for b in rows}
    return pd.DataFrame([{
        "code": b.code, "name": b.name, "level": b.level, "parent": names.get(b.parent_id, ""),
        "region": b.region, "is_county": b.is_county, "customer_base": b.customer_base,
    } for b in rows], columns=["code", "name", "level", "parent", "region", "is_county", "customer_base"])


def staff_of_branch(session: Session, branch_id: int, *, active_only: bool = True) -> list[Staff]:
    """Staff in the branch and its outlets (internal helper; callers check scope)."""
    ids = subtree(session, {branch_id})
    stmt = select(Staff).where(col(Staff.branch_id).in_(ids)).order_by(Staff.employee_no)
    if active_only:
        stmt = stmt.where(Staff.active)
    return list(session.exec(stmt).all())


def staff_table(session: Session, *, actor: Actor, branch_id: int | None = None) -> pd.DataFrame:
    require_role(actor, Role.hq, Role.branch_lead, action="org.staff")
    stmt = select(Staff, Branch.name).join(Branch, Branch.id == Staff.branch_id).order_by(Staff.employee_no)
    if branch_id is not None:
        stmt = stmt.where(col(Staff.branch_id).in_(subtree(session, {branch_id})))
    if not actor.is_hq:
        stmt = stmt.where(col(Staff.branch_id).in_(actor.branch_ids or {-1}))
    return pd.DataFrame([{
        "employee_no": s.employee_no, "name": s.name, "position": s.position, "outlet": bname,
        "active": s.active,
    } for s, bname in session.exec(stmt).all()],
        columns=["employee_no", "name", "position", "outlet", "active"])
