"""User administration (HQ and the CLI) and a user's own account settings."""

from __future__ import annotations

import re

import pandas as pd
from sqlmodel import Session, col, delete, select

from models.org import Branch, Role, Staff, User, UserScope
from portal import audit, auth, clock
from portal import text as text_rule
from portal.access import Actor, require_role
from portal.errors import Conflict, NotFound, ValidationFailed

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@\-]{3,64}$")
LANGUAGES = ("zh", "en")


def _scope_ids(session: Session, user_id: int) -> list[int]:
    return sorted(session.exec(select(UserScope.branch_id).where(UserScope.user_id == user_id)).all())


def _user_view(session: Session, user: User) -> dict:
    view = audit.snapshot(user)
    view["scopes"] = _scope_ids(session, user.id)
    return view


def _set_scopes(session: Session, user: User, branch_ids: list[int]) -> None:
    known = set(session.exec(select(Branch.id).where(col(Branch.id).in_(branch_ids or [-1]))).all())
    missing = sorted(set(branch_ids) - known)
    if missing:
        raise ValidationFailed("users.err_branch", ids=missing)
    if user.role == Role.branch_lead and not branch_ids:
        raise ValidationFailed("users.err_scope_required")
    session.exec(delete(UserScope).where(UserScope.user_id == user.id))
    for bid in sorted(set(branch_ids)):
        session.add(UserScope(user_id=user.id, branch_id=bid))


def create_user(session: Session, *, actor: Actor, username: str, password: str | None, role: str,
                display_name: str = "", branch_ids: list[int] | None = None, staff_no: str = "",
                language: str = "zh", is_demo: bool = False) -> int:
    require_role(actor, Role.hq, action="users.create")
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("users.err_username")
    if role not in {r.value for r in Role}:
        raise ValidationFailed("users.err_role", role=role)
    if language not in LANGUAGES:
        raise ValidationFailed("users.err_language")
    display_name = text_rule.clean(display_name, max_len=64, key="users.err_display_name")
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict("users.err_exists", username=username)
    staff_id = None
    if role == Role.staff:
        staff = session.exec(select(Staff).where(Staff.employee_no == staff_no.strip())).first()
        if staff is None:
            raise ValidationFailed("users.err_staff_no", staff_no=staff_no)
        staff_id = staff.id
    user = User(username=username, display_name=display_name.strip(), role=role, language=language,
                password_hash=auth.hash_password(password) if password is not None else None,
                staff_id=staff_id, created_at=clock.now_utc(), password_changed_at=clock.now_utc(),
                is_demo=is_demo)
    session.add(user)
    session.flush()
    _set_scopes(session, user, list(branch_ids or []))
    audit.record(session, actor=actor, action="users.create", entity="user", entity_id=user.id,
                 after=_user_view(session, user))
    return user.id


def _get(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound("users.err_unknown", username=username)
    return user


def update_user(session: Session, *, actor: Actor, username: str, role: str | None = None,
                active: bool | None = None, branch_ids: list[int] | None = None,
                display_name: str | None = None) -> None:
    require_role(actor, Role.hq, action="users.update")
    user = _get(session, username)
    before = _user_view(session, user)
    if role is not None:
        if role not in {r.value for r in Role}:
            raise ValidationFailed("users.err_role", role=role)
        if role == Role.staff and user.staff_id is None:
            raise ValidationFailed("users.err_staff_no", staff_no="")
        user.role = role
    if active is not None:
        if not active and user.id == actor.user_id:
            raise ValidationFailed("users.err_self_disable")
        user.active = active
        if not active:
            auth.revoke_user_sessions(session, user.id)
    if display_name is not None:
        user.display_name = text_rule.clean(display_name, max_len=64, key="users.err_display_name")
    session.add(user)
    session.flush()
    if branch_ids is not None or role is not None:
        _set_scopes(session, user, branch_ids if branch_ids is not None else _scope_ids(session, user.id))
    audit.record(session, actor=actor, action="users.update", entity="user", entity_id=user.id,
                 before=before, after=_user_view(session, user))


def reset_password(session: Session, *, actor: Actor, username: str, new_password: str) -> None:
    require_role(actor, Role.hq, action="users.reset_password")
    user = _get(session, username)
    user.password_hash = auth.hash_password(new_password)
    user.password_changed_at = clock.now_utc()
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    auth.revoke_user_sessions(session, user.id)
    audit.record(session, actor=actor, action="users.reset_password", entity="user", entity_id=user.id)


def change_own_password(session: Session, *, actor: Actor, old_password: str, new_password: str) -> None:
    require_role(actor, *[r.value for r in Role], action="account.password")
    user = session.get(User, actor.user_id)
    if user is None or not auth.verify_password(user.password_hash, old_password):
        raise ValidationFailed("account.err_old_password")
    if old_password == new_password:
        raise ValidationFailed("account.err_same_password")
    user.password_hash = auth.hash_password(new_password)
    user.password_changed_at = clock.now_utc()
    session.add(user)
    audit.record(session, actor=actor, action="account.password", entity="user", entity_id=user.id)


def set_language(session: Session, *, actor: Actor, language: str) -> None:
    require_role(actor, *[r.value for r in Role], action="account.language")
    if language not in LANGUAGES:
        raise ValidationFailed("users.err_language")
    user = session.get(User, actor.user_id)
    if user.language != language:
        audit.record(session, actor=actor, action="account.language", entity="user", entity_id=user.id,
                     before={"language": user.language}, after={"language": language})
        user.language = language
        session.add(user)


def list_users(session: Session, *, actor: Actor) -> pd.DataFrame:
    require_role(actor, Role.hq, action="users.list")
    names = dict(session.exec(select(Branch.id, Branch.name)).all())
    scopes: dict[int, list[str]] = {}
    for uid, bid in session.exec(select(UserScope.user_id, UserScope.branch_id)).all():
        scopes.setdefault(uid, []).append(names.get(bid, str(bid)))
    now = clock.now_utc()
    return pd.DataFrame([{
        "username": u.username, "display_name": u.display_name, "role": u.role, "active": u.active,
        "locked": bool(u.locked_until and u.locked_until > now), "language": u.language,
        "scope": "、".join(sorted(scopes.get(u.id, []))), "demo": u.is_demo,
    } for u in session.exec(select(User).order_by(User.username)).all()],
        columns=["username", "display_name", "role", "active", "locked", "language", "scope", "demo"])


def link_oidc_identity(session: Session, *, subject: str, email: str) -> int | None:
    """Map a single-sign-on identity to an existing active user (by subject, else by e-mail
    as username on first log-in). Unknown identities get no account: HQ creates users."""
    user = session.exec(select(User).where(User.oidc_subject == subject)).first()
    if user is None and email:
        user = session.exec(select(User).where(User.username == email, User.oidc_subject.is_(None))).first()
        if user is not None:
            user.oidc_subject = subject
            session.add(user)
            audit.record(session, actor=None, action="auth.sso_link", entity="user", entity_id=user.id)
    return user.id if user is not None and user.active else None
