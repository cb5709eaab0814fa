"""Organisation: branch hierarchy, staff, user accounts and their server-side sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel


class BranchLevel(StrEnum):
    head_office = "head_office"
    branch = "branch"
    sub_branch = "sub_branch"
    outlet = "outlet"


class Role(StrEnum):
    hq = "hq"
    coach = "coach"
    branch_lead = "branch_lead"
    staff = "staff"


class Branch(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="branch.id", index=True)
    region: str = Field(default="", max_length=50)
    is_county: bool = False
    customer_base: int = 0
    active: bool = True


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", index=True)
    employee_no: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=50)
    position: str = Field(default="customer_manager", max_length=32)
    active: bool = True


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=64)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(max_length=16)
    language: str = Field(default="zh", max_length=8)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    staff_id: int | None = Field(default=None, foreign_key="staff.id", unique=True)
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True)
    is_demo: bool = False
    created_at: datetime
    password_changed_at: datetime | None = None


class UserScope(SQLModel, table=True):
    """Branches a user may see (each includes its descendants)."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    branch_id: int = Field(foreign_key="branch.id", primary_key=True)


class AuthSession(SQLModel, table=True):
    """A revocable log-in: only the SHA-256 of the token is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None = None
    # The browser cookie's session is a sibling of the Streamlit one; log-out revokes both.
    family: str = Field(default="", max_length=32, index=True)
    # One-time code the browser exchanges for the HttpOnly cookie right after log-in.
    handoff_hash: str | None = Field(default=None, max_length=64, index=True)
    handoff_expires_at: datetime | None = None
