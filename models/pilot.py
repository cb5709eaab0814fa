"""Pilots and the coaches assigned to them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel
from pydantic import Field as InputField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

DEFAULT_CAP_FEN = 100_000 * 100  # the guide's MVP envelope: < ¥100,000
DEFAULT_WEEKS = 4


class Phase(StrEnum):
    planning = "planning"
    pilot = "pilot"
    validating = "validating"
    scaling = "scaling"
    closed = "closed"
    stopped = "stopped"


class Pilot(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    phase: str = Field(default=Phase.planning, max_length=16, index=True)
    wecom_status: str = Field(default="none", max_length=16)
    goal: str = Field(default="new_accounts", max_length=32)
    segment: str = Field(default="payroll", max_length=32)
    sub_segment: str = Field(default="", max_length=32)
    package_code: str | None = Field(default=None, max_length=64)
    start_date: date
    end_date: date
    budget_cap_fen: int = DEFAULT_CAP_FEN
    source_pilot_id: int | None = Field(default=None, foreign_key="pilot.id")
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="user.id")


class PilotCoach(SQLModel, table=True):
    pilot_id: int = Field(foreign_key="pilot.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class PilotTarget(SQLModel, table=True):
    """A stage target: metric (or rate) code, pilot week (1-based; 0 = whole pilot), value.
    Money targets are in yuan, rates are fractions (as in the content files)."""

    __table_args__ = (UniqueConstraint("pilot_id", "metric", "week"),)
    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    metric: str = Field(max_length=40)
    week: int = 0
    value: float
    source: str = Field(default="manual", max_length=20)  # package | manual


class PilotInput(BaseModel):
    """Validated input for creating or editing a pilot (table models don't validate)."""

    name: str = InputField(min_length=1, max_length=100)
    branch_id: int
    wecom_status: str = InputField(default="none", pattern="^(none|has_customers)$")
    goal: str = InputField(default="new_accounts", pattern="^(new_accounts|product_marketing|aum_growth)$")
    segment: str = InputField(default="payroll", pattern="^(payroll|elderly|rural)$")
    sub_segment: str = InputField(default="", max_length=32)
    start_date: date
    end_date: date | None = None
    budget_cap_fen: int = InputField(default=DEFAULT_CAP_FEN, gt=0, le=10_000_000 * 100)
