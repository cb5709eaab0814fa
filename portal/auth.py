"""Local accounts: argon2id hashing, password policy, lock-out and revocable sessions.

A session token lives only in the browser (HttpOnly cookie) and in Streamlit's session
state; the database keeps its SHA-256, so a leaked table does not leak log-ins.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models.org import AuthSession, User
from portal import PACKAGE_DIR, audit, clock
from portal.access import Actor, load_actor
from portal.errors import ValidationFailed
from portal.settings import get_settings

# OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = HASHER.hash("timing-equaliser-not-a-password")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
HANDOFF_SECONDS = 60
LAST_SEEN_WRITE_EVERY = timedelta(seconds=60)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = (PACKAGE_DIR / "data" / "common_passwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_password_policy(password: str) -> None:
    """8–128 characters (CJK allowed, never truncated), not a common or trivial password."""
    if not isinstance(password, str) or not password.strip():
        raise ValidationFailed("auth.pw_empty")
    if len(password) < PASSWORD_MIN or len(password) > PASSWORD_MAX:
        raise ValidationFailed("auth.pw_length", min=PASSWORD_MIN, max=PASSWORD_MAX)
    if password.lower() in _common_passwords() or len(set(password)) < 4:
        raise ValidationFailed("auth.pw_common")


def hash_password(password: str) -> str:
    check_password_policy(password)
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    token: str | None = None
    handoff: str | None = None
    message_key: str = ""


def login(session: Session, *, username: str, password: str) -> LoginResult:
    """Check credentials; on success open a server-side session.

    Unknown user, wrong password and a locked account all answer the same message, and the
    failure counter is committed by the caller's transaction (this never raises on failure).
    """
    settings = get_settings()
    now = clock.now_utc()
    user = session.exec(select(User).where(User.username == (username or "").strip())).first()
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    valid = verify_password(user.password_hash if user else None, password or "")
    if user is None or not user.active or locked or not valid:
        if user is not None and user.active and not locked:
            user.failed_logins += 1
            if user.failed_logins >= settings.lockout_threshold:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                user.failed_logins = 0
                audit.record(session, actor=None, action="auth.lockout", entity="user", entity_id=user.id)
            session.add(user)
        audit.record(session, actor=None, action="auth.login_failed", entity="user",
                     entity_id=user.id if user else "", outcome="denied")
        return LoginResult(ok=False, message_key="auth.invalid")
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    token, handoff = open_session(session, user)
    audit.record(session, actor=user_actor(user), action="auth.login", entity="user", entity_id=user.id)
    return LoginResult(ok=True, token=token, handoff=handoff)


def user_actor(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role)


def open_session(session: Session, user: User) -> tuple[str, str]:
    now = clock.now_utc()
    token = secrets.token_urlsafe(32)
    handoff = secrets.token_urlsafe(24)
    session.add(AuthSession(token_hash=_digest(token), user_id=user.id, created_at=now, last_seen_at=now,
                            family=secrets.token_hex(16), handoff_hash=_digest(handoff),
                            handoff_expires_at=now + timedelta(seconds=HANDOFF_SECONDS)))
    session.flush()
    return token, handoff


def _live(session: Session, auth: AuthSession | None) -> bool:
    if auth is None or auth.revoked_at is not None:
        return False
    settings = get_settings()
    now = clock.now_utc()
    return (now - auth.last_seen_at <= timedelta(minutes=settings.session_idle_minutes)
            and now - auth.created_at <= timedelta(hours=settings.session_max_hours))


def resolve(session: Session, *, token: str | None) -> Actor | None:
    """The actor behind a session token, or None if it is unknown, revoked or timed out."""
    if not token:
        return None
    auth = session.exec(select(AuthSession).where(AuthSession.token_hash == _digest(token))).first()
    if not _live(session, auth):
        return None
    actor = load_actor(session, auth.user_id)
    if actor is None:
        return None
    now = clock.now_utc()
    if now - auth.last_seen_at >= LAST_SEEN_WRITE_EVERY:
        auth.last_seen_at = now
        session.add(auth)
    return actor


def exchange_handoff(session: Session, *, code: str) -> str | None:
    """One-time: the browser trades the post-login code for the session token (cookie)."""
    if not code:
        return None
    auth = session.exec(select(AuthSession).where(AuthSession.handoff_hash == _digest(code))).first()
    if auth is None or auth.handoff_expires_at is None or auth.handoff_expires_at < clock.now_utc():
        return None
    if not _live(session, auth):
        return None
    # Only hashes are stored, so the cookie gets a sibling session with its own token.
    auth.handoff_hash = None
    auth.handoff_expires_at = None
    session.add(auth)
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=_digest(token), user_id=auth.user_id, created_at=auth.created_at,
                            last_seen_at=clock.now_utc(), family=auth.family))
    return token


def logout(session: Session, *, token: str | None) -> None:
    if not token:
        return
    auth = session.exec(select(AuthSession).where(AuthSession.token_hash == _digest(token))).first()
    if auth is None:
        return
    now = clock.now_utc()
    for sibling in session.exec(select(AuthSession).where(AuthSession.family == auth.family,
                                                          AuthSession.revoked_at.is_(None))).all():
        sibling.revoked_at = now
        session.add(sibling)
    audit.record(session, actor=None, action="auth.logout", entity="user", entity_id=auth.user_id)


def revoke_user_sessions(session: Session, user_id: int) -> None:
    now = clock.now_utc()
    for auth in session.exec(select(AuthSession).where(AuthSession.user_id == user_id,
                                                       AuthSession.revoked_at.is_(None))).all():
        auth.revoked_at = now
        session.add(auth)
