"""The guide as data: metric catalogue, maturity stages and criteria, SOP templates, badges,
the Q&A manual, and the rest of the reference content (channels, packages, flows…)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class Metric(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    sort_order: int = 0
    name_zh: str = Field(max_length=60)
    name_en: str = Field(max_length=80)
    unit_zh: str = Field(default="", max_length=20)
    unit_en: str = Field(default="", max_length=20)
    kind: str = Field(max_length=10)  # count | money | score
    direction: str = Field(default="higher", max_length=10)
    min_value: float = 0
    max_value: float = 0  # money in yuan, as in the content file
    level: str = Field(max_length=10)  # staff | branch
    channel_split: bool = False
    le_code: str | None = Field(default=None, max_length=40)
    description_zh: str = ""
    description_en: str = ""


class Rate(SQLModel, table=True):
    """A derived rate, defined once: numerator / denominator (metric codes or a special base)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name_zh: str = Field(max_length=60)
    name_en: str = Field(max_length=80)
    numerator: str = Field(max_length=40)
    denominator: str = Field(max_length=40)
    per_week: bool = False
    benchmark_low: float | None = None
    benchmark_high: float | None = None
    fail_below: float | None = None
    target: float | None = None
    description_zh: str = ""
    description_en: str = ""


class Stage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    order: int = Field(unique=True)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(max_length=60)
    description_zh: str = ""
    description_en: str = ""
    blocker: str = Field(default="", max_length=20)


class StageCriterion(SQLModel, table=True):
    """An exit criterion of a stage. `threshold` is HQ-tunable; the loader only follows the
    file's default while HQ has not tuned it."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    stage_code: str = Field(max_length=20, index=True)
    sort_order: int = 0
    kind: str = Field(max_length=10)  # evidence | metric
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=140)
    sop_items: list[str] | None = Field(default=None, sa_column=Column(JSON))
    metric: str | None = Field(default=None, max_length=40)
    op: str | None = Field(default=None, max_length=2)
    default_threshold: float | None = None
    threshold: float | None = None
    tuned: bool = False
    window_days: int | None = None


class SopTemplate(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=20)  # rhythm | service_plan | scenario
    name_zh: str = Field(max_length=60)
    name_en: str = Field(max_length=100)
    description_zh: str = ""
    description_en: str = ""


class SopTemplateItem(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=80, unique=True)
    template_code: str = Field(max_length=40, index=True)
    step: int = 0
    step_name_zh: str = Field(default="", max_length=60)
    step_name_en: str = Field(default="", max_length=100)
    sort_order: int = 0
    title_zh: str = Field(max_length=120)
    title_en: str = Field(max_length=200)
    detail_zh: str = ""
    detail_en: str = ""
    day_offset: int = 0
    owner_role: str = Field(max_length=16)
    evidence_required: bool = False


class Badge(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name_zh: str = Field(max_length=40)
    name_en: str = Field(max_length=60)
    description_zh: str = ""
    description_en: str = ""
    kind: str = Field(max_length=20)
    metric: str | None = Field(default=None, max_length=40)
    threshold: int | None = None
    days: int | None = None


class ContentItem(SQLModel, table=True):
    """Read-only reference content kept as documents: channels, matcher dimensions, flows,
    activity packages, scenarios, capabilities, blockers, placeholders."""

    __table_args__ = (UniqueConstraint("kind", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30, index=True)
    code: str = Field(max_length=60)
    parent_code: str = Field(default="", max_length=60)
    sort_order: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SeedFile(SQLModel, table=True):
    """Which version (SHA-256) of each content file was last loaded."""

    name: str = Field(primary_key=True, max_length=60)
    sha256: str = Field(max_length=64)
    loaded_at: datetime


class QaEntry(SQLModel, table=True):
    """The Q&A manual. Seed entries carry a code; entries written in the portal do not.
    `edited` stops the loader from overwriting a seed entry someone improved."""

    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, max_length=60, unique=True)
    category: str = Field(max_length=30, index=True)
    question_zh: str = Field(max_length=500)
    answer_zh: str = Field(max_length=5000)
    question_en: str = Field(default="", max_length=500)
    answer_en: str = Field(default="", max_length=5000)
    tags: str = Field(default="", max_length=300)  # "、"-separated, searchable with LIKE
    status: str = Field(default="published", max_length=12, index=True)  # draft | published
    source_pilot_id: int | None = Field(default=None, foreign_key="pilot.id")
    source_date: date | None = None
    author_user_id: int | None = Field(default=None, foreign_key="user.id")
    edited: bool = False
    created_at: datetime
    updated_at: datetime
