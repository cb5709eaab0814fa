"""Points PK contests: set-up, participants and teams, rules, the append-only points ledger,
manual awards awaiting approval, weekly head-to-head pairs and badge awards."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class Contest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    pilot_id: int | None = Field(default=None, foreign_key="pilot.id", index=True)
    kind: str = Field(default="individual", max_length=16)  # individual | team | head_to_head
    start_date: date
    end_date: date
    status: str = Field(default="active", max_length=12)  # active | closed
    person_daily_cap_c: int = 0  # centi-points; 0 = none
    approval_threshold_c: int = 2000  # manual awards above this need HQ approval
    show_names_top: int = 10  # names beyond the top N are hidden from staff (0 = show all)
    webhook_url: str | None = Field(default=None, max_length=500)  # secret: never shown in full
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime


class ContestBranch(SQLModel, table=True):
    """Branches whose staff take part (each with its outlets)."""

    contest_id: int = Field(foreign_key="contest.id", primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", primary_key=True)


class ContestTeam(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id", index=True)
    name: str = Field(max_length=60)
    outlet_id: int | None = Field(default=None, foreign_key="branch.id")


class ContestParticipant(SQLModel, table=True):
    contest_id: int = Field(foreign_key="contest.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, index=True)
    team_id: int | None = Field(default=None, foreign_key="contestteam.id", index=True)


class ContestRule(SQLModel, table=True):
    """points = floor(value / unit) × points_per_unit, capped per day. Money units are yuan."""

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id", index=True)
    metric: str = Field(max_length=40)
    points_per_unit_c: int  # centi-points per unit
    unit_size: int = 1
    daily_cap_c: int = 0  # 0 = no cap
    valid_only: bool = False


class PointEntry(SQLModel, table=True):
    """Append-only ledger. Corrections and report edits add reversing rows; nothing is
    updated or deleted."""

    # Both indexes cover the queries that use them (no table lookups per ledger row): the
    # board sums points_c of a contest's days per participant; the key serves the ledger sync
    # (quantity and points per staff, day and metric) and a participant's points breakdown.
    __table_args__ = (
        Index("ix_pointentry_board", "contest_id", "day", "staff_id", "points_c"),
        Index("ix_pointentry_key", "contest_id", "staff_id", "day", "metric", "source", "quantity", "points_c"),
    )
    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id")
    staff_id: int = Field(foreign_key="staff.id")
    day: date
    metric: str = Field(default="", max_length=40)  # "" for manual awards
    quantity: int = 0
    points_c: int
    source: str = Field(max_length=12)  # report | manual | correction
    source_ref: str = Field(default="", max_length=40)
    reverses_id: int | None = Field(default=None, foreign_key="pointentry.id")
    reason: str = Field(default="", max_length=300)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime


class ManualAward(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    day: date
    points_c: int
    reason: str = Field(max_length=300)
    status: str = Field(default="pending", max_length=12)  # pending | approved | rejected
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime | None = None
    decision_note: str = Field(default="", max_length=300)


class ContestPair(SQLModel, table=True):
    """Weekly head-to-head pairs (week = Monday of the ISO week)."""

    # A staff member's opponent is looked up from either side of the pair.
    __table_args__ = (UniqueConstraint("contest_id", "week_start", "staff_a"),
                      Index("ix_contestpair_staff_b", "contest_id", "week_start", "staff_b"))
    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id", index=True)
    week_start: date
    staff_a: int = Field(foreign_key="staff.id")
    staff_b: int | None = Field(default=None, foreign_key="staff.id")  # None: a bye


class BadgeAward(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("contest_id", "staff_id", "badge_code", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contest.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    badge_code: str = Field(max_length=40)
    period: str = Field(default="", max_length=10)  # "" or an ISO week like 2026-W47
    awarded_on: date
