"""Append-only audit log: who did what, when (UTC), to which entity, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor_user_id: int | None = Field(default=None, index=True)
    actor_username: str = Field(default="", max_length=64)
    action: str = Field(max_length=64, index=True)
    entity: str = Field(default="", max_length=64, index=True)
    entity_id: str = Field(default="", max_length=64)
    outcome: str = Field(default="ok", max_length=16)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
