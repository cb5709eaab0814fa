"""Budget lines of a pilot and HQ's approved overrides of its cap (money in integer fen)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class BudgetCategory(StrEnum):
    materials = "materials"  # 物料
    training = "training"  # 培训
    incentives = "incentives"  # 礼品权益
    travel = "travel"  # 差旅驻点
    tools = "tools"  # 工具直播
    other = "other"  # 其他


class BudgetStatus(StrEnum):
    planned = "planned"
    committed = "committed"
    paid = "paid"
    cancelled = "cancelled"


# Statuses whose actual amount counts against the cap.
SPENT_STATUSES = (BudgetStatus.committed, BudgetStatus.paid)


class BudgetLine(SQLModel, table=True):
    """One planned or actual spend. `planned_fen` is the plan; `actual_fen` the committed or
    paid amount (0 while planned). `template_key` marks lines added from an activity package
    (package code # position), so applying the template twice adds nothing."""

    __table_args__ = (UniqueConstraint("pilot_id", "template_key"),)
    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    category: str = Field(max_length=16)
    description: str = Field(max_length=200)
    vendor: str = Field(default="", max_length=100)
    planned_fen: int = 0
    actual_fen: int = 0
    status: str = Field(default=BudgetStatus.planned, max_length=16, index=True)
    spend_date: date | None = None
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    attachment_ref: str = Field(default="", max_length=200)
    template_key: str | None = Field(default=None, max_length=80)
    created_at: datetime
    updated_at: datetime = Field(index=True)
    version: int = 1


class BudgetOverride(SQLModel, table=True):
    """HQ allows `amount_fen` above the pilot's cap. Overrides add up: the effective limit is
    cap + all overrides, so a later change of the cap keeps every approval meaningful.
    Append-only: an approval is never edited."""

    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    amount_fen: int
    reason: str = Field(max_length=500)
    approved_by: int | None = Field(default=None, foreign_key="user.id")
    approved_by_name: str = Field(default="", max_length=64)
    created_at: datetime
