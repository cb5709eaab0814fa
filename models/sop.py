"""A pilot's SOP checklist: items instantiated from SOP templates (or added ad hoc), each with
a due date, an owner role, an optional assignee, a life-cycle status and completion evidence."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class ItemStatus(StrEnum):
    todo = "todo"
    doing = "doing"
    done = "done"
    blocked = "blocked"
    skipped = "skipped"


# Closed items are finished business: re-instantiation never re-dates them.
CLOSED = frozenset({ItemStatus.done, ItemStatus.skipped})


class ChecklistItem(SQLModel, table=True):
    """One checklist item of a pilot. `template_item_code` is the SopTemplateItem code
    (unique per pilot, so re-instantiating never duplicates); None for ad-hoc items.
    `step` is the rollout step 1–6 (rhythm items and ad-hoc items placed in a step), 0 otherwise.
    Title and detail are copied from the template when instantiated, so later content edits
    don't rewrite a running pilot's checklist."""

    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("pilot_id", "template_item_code"),)
    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    template_code: str | None = Field(default=None, max_length=40)
    template_item_code: str | None = Field(default=None, max_length=80)
    day_offset: int | None = None
    sort_order: int = 0
    step: int = 0
    step_name_zh: str = Field(default="", max_length=60)
    step_name_en: str = Field(default="", max_length=100)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    detail_zh: str = Field(default="", max_length=2000)
    detail_en: str = Field(default="", max_length=2000)
    due_date: date = Field(index=True)
    owner_role: str = Field(max_length=16)
    assignee_user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    status: str = Field(default=ItemStatus.todo, max_length=12, index=True)
    reason: str = Field(default="", max_length=500)
    evidence_required: bool = False
    evidence_note: str = Field(default="", max_length=2000)
    evidence_link: str = Field(default="", max_length=500)
    done_by: int | None = Field(default=None, foreign_key="user.id")
    done_at: datetime | None = None
    version: int = 1
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime
