"""Head office's programme: phase decisions with evidence, maturity assessments per branch,
scale-out waves and capability self-assessments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class PhaseDecision(SQLModel, table=True):
    """A life-cycle transition (or go/no-go decision) with who, when, why and the evidence."""

    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    from_phase: str = Field(max_length=16)
    to_phase: str = Field(max_length=16)
    decision: str = Field(default="", max_length=8)  # go | no_go | "" for plain transitions
    rationale: str = Field(max_length=2000)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    decided_at: datetime


class StageAssessment(SQLModel, table=True):
    """HQ's confirmed maturity stage of a branch on a date, next to the suggested one."""

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    pilot_id: int | None = Field(default=None, foreign_key="pilot.id")
    assessed_on: date
    suggested_stage: int
    stage: int
    overridden: bool = False
    note: str = Field(default="", max_length=1000)
    criteria: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    confirmed_by: int | None = Field(default=None, foreign_key="user.id")
    confirmed_at: datetime


class ScaleWave(SQLModel, table=True):
    """New pilots created in one step from a validated pilot."""

    __table_args__ = (UniqueConstraint("source_pilot_id", "request_key"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    source_pilot_id: int = Field(foreign_key="pilot.id", index=True)
    start_date: date
    request_key: str = Field(max_length=64)  # makes a double click create the wave once
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime


class WavePilot(SQLModel, table=True):
    wave_id: int = Field(foreign_key="scalewave.id", primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", primary_key=True)


class CapabilityScore(SQLModel, table=True):
    """A branch's self-assessment of the capability model (1–5 per capability), dated."""

    __table_args__ = (UniqueConstraint("branch_id", "assessed_on", "capability"),)
    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    assessed_on: date
    capability: str = Field(max_length=40)
    score: int
    assessed_by: int | None = Field(default=None, foreign_key="user.id")


class PilotMeasurement(SQLModel, table=True):
    """One-off measurements HQ records for validation, e.g. the uplift of WeCom-added over
    not-added customers (%) or an NPS survey result."""

    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    code: str = Field(max_length=20)  # uplift_pct | nps
    value: float
    measured_on: date
    note: str = Field(default="", max_length=500)
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime
