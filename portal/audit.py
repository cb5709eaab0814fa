"""Append-only audit rows, written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from models.audit import AuditLog
from portal import clock
from portal.errors import PermissionDenied

# Never copied into an audit row, whatever entity they belong to.
SECRET_FIELDS = frozenset({
    "password", "password_hash", "token", "token_hash", "handoff_hash", "webhook_url",
    "webhook_key", "secret",
})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: Any) -> dict[str, Any] | None:
    """A JSON-safe dict of a model or mapping, minus secret fields."""
    if obj is None:
        return None
    data = obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)
    return {k: _jsonable(v) for k, v in data.items() if k not in SECRET_FIELDS}


def record(session: Session, *, actor: Any, action: str, entity: str = "", entity_id: Any = "",
           before: Any = None, after: Any = None, outcome: str = "ok") -> None:
    session.add(AuditLog(
        at=clock.now_utc(),
        actor_user_id=getattr(actor, "user_id", None),
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        entity=entity,
        entity_id="" if entity_id is None else str(entity_id),
        outcome=outcome,
        before=snapshot(before) if before is not None else None,
        after=snapshot(after) if after is not None else None,
    ))


def record_denial(session: Session, *, actor: Any, denied: PermissionDenied) -> None:
    record(session, actor=actor, action=denied.action or "access", entity=denied.entity,
           entity_id=denied.entity_id, outcome="denied",
           after={"reason": denied.key, **{k: _jsonable(v) for k, v in denied.params.items()}})


def search(session: Session, *, actor: Any, text: str = "", action: str = "", outcome: str = "",
           since: date | None = None, limit: int = 500) -> pd.DataFrame:
    """HQ's audit search, newest first."""
    from portal.access import require_role

    require_role(actor, "hq", action="audit.search")
    stmt = select(AuditLog).order_by(col(AuditLog.id).desc()).limit(max(1, min(limit, 5000)))
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if outcome:
        stmt = stmt.where(AuditLog.outcome == outcome)
    if since:
        stmt = stmt.where(AuditLog.at >= datetime(since.year, since.month, since.day, tzinfo=clock.SHANGHAI))
    if text.strip():
        like = f"%{text.strip()}%"
        stmt = stmt.where(col(AuditLog.actor_username).like(like) | col(AuditLog.entity).like(like)
                          | col(AuditLog.action).like(like) | (AuditLog.entity_id == text.strip()))
    rows = session.exec(stmt).all()
    return pd.DataFrame([{
        "id": r.id, "at": r.at, "user": r.actor_username, "action": r.action, "entity": r.entity,
        "entity_id": r.entity_id, "outcome": r.outcome,
        "before": "" if r.before is None else str(r.before),
        "after": "" if r.after is None else str(r.after),
    } for r in rows], columns=["id", "at", "user", "action", "entity", "entity_id", "outcome",
                               "before", "after"])
