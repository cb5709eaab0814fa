"""Who may see and do what. Every scoped service call goes through these checks.

Scopes: HQ sees everything; a coach sees the pilots assigned to them; a branch lead sees the
pilots of the branches in their scope (with descendants); staff see their own records and
the contests they take part in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from models.org import Branch, Role, Staff, User, UserScope
from models.pilot import Pilot, PilotCoach
from portal.errors import NotFound, PermissionDenied


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    branch_ids: frozenset[int] = field(default_factory=frozenset)
    staff_id: int | None = None
    language: str = "zh"
    display_name: str = ""

    @property
    def is_hq(self) -> bool:
        return self.role == Role.hq


# The command line runs on the server with the operator's rights; audited as "cli".
CLI_ACTOR = Actor(user_id=None, username="cli", role=Role.hq)


def branch_children(session: Session) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for bid, parent in session.exec(select(Branch.id, Branch.parent_id)).all():
        children.setdefault(parent, []).append(bid)
    return children


def subtree(session: Session, root_ids: set[int] | frozenset[int]) -> frozenset[int]:
    """The given branches and all their descendants."""
    children = branch_children(session)
    seen: set[int] = set()
    stack = list(root_ids)
    while stack:
        bid = stack.pop()
        if bid in seen:
            continue
        seen.add(bid)
        stack.extend(children.get(bid, []))
    return frozenset(seen)


def load_actor(session: Session, user_id: int) -> Actor | None:
    """Fresh from the database on every request, so a disabled user or a changed role
    takes effect on the next action."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    roots = set(session.exec(select(UserScope.branch_id).where(UserScope.user_id == user_id)).all())
    if user.role == Role.staff and user.staff_id is not None:
        staff = session.get(Staff, user.staff_id)
        if staff is not None:
            roots.add(staff.branch_id)
    return Actor(user_id=user.id, username=user.username, role=user.role,
                 branch_ids=subtree(session, roots) if roots else frozenset(),
                 staff_id=user.staff_id, language=user.language,
                 display_name=user.display_name or user.username)


def require_role(actor: Actor | None, *roles: str, action: str = "") -> Actor:
    if actor is None:
        raise PermissionDenied("err.login_required", action=action)
    if actor.role not in roles:
        raise PermissionDenied("err.permission", action=action, role=actor.role)
    return actor


def coach_pilot_ids(session: Session, user_id: int) -> set[int]:
    return set(session.exec(select(PilotCoach.pilot_id).where(PilotCoach.user_id == user_id)).all())


def visible_pilot_ids(session: Session, actor: Actor) -> set[int] | None:
    """None means all pilots (HQ)."""
    if actor.is_hq:
        return None
    if actor.role == Role.coach:
        return coach_pilot_ids(session, actor.user_id)
    if not actor.branch_ids:
        return set()
    ids = session.exec(select(Pilot.id).where(Pilot.branch_id.in_(actor.branch_ids))).all()
    return set(ids)


def can_see_pilot(session: Session, actor: Actor, pilot: Pilot) -> bool:
    if actor.is_hq:
        return True
    if actor.role == Role.coach:
        return pilot.id in coach_pilot_ids(session, actor.user_id)
    return pilot.branch_id in actor.branch_ids


def lock_pilot(session: Session, pilot_id: int) -> Pilot:
    """Re-read the pilot with a row lock (PostgreSQL), so sums and checks read after it are
    current and concurrent writers of the same pilot queue. SQLite's write transaction is
    already exclusive (BEGIN IMMEDIATE)."""
    pilot = session.exec(select(Pilot).where(Pilot.id == pilot_id).with_for_update()
                         .execution_options(populate_existing=True)).first()
    if pilot is None:
        raise NotFound("err.not_found", entity="pilot", id=pilot_id)
    return pilot


def require_pilot(session: Session, actor: Actor | None, pilot_id: int, *, roles: tuple[str, ...],
                  action: str, lock: bool = False) -> Pilot:
    """The pilot, if the actor's role is one of `roles` and the pilot is in their scope;
    with `lock`, row-locked for a read-then-write transaction."""
    require_role(actor, *roles, action=action)
    pilot = session.get(Pilot, pilot_id)
    if pilot is None:
        raise NotFound("err.not_found", entity="pilot", id=pilot_id)
    if not can_see_pilot(session, actor, pilot):
        raise PermissionDenied("err.scope", action=action, entity="pilot", entity_id=pilot_id)
    return lock_pilot(session, pilot_id) if lock else pilot


def require_branch(actor: Actor | None, branch_id: int, *, roles: tuple[str, ...], action: str) -> None:
    require_role(actor, *roles, action=action)
    if actor.is_hq:
        return
    if branch_id not in actor.branch_ids:
        raise PermissionDenied("err.scope", action=action, entity="branch", entity_id=branch_id)
