"""Daily progress reports: one report per pilot per calendar day (Asia/Shanghai), with its
numbers in two entry tables.

- `DailyEntry` holds per-staff values (every metric with level "staff"). `staff_id` is never
  NULL, so UNIQUE(report_id, staff_id, metric) works the same on SQLite and PostgreSQL.
- `BranchEntry` holds per-branch values: the branch-level metrics (staff_active,
  wecom_customers_total, nps; point-in-time snapshots, `channel` = '') and the split of the
  day's WeCom adds by acquisition channel (metric "wecom_adds", `channel` = one of the six
  channel codes). The channel split is recorded **per branch**, not per staff member: the
  grid keeps one column per metric, and the six channels must add up to the staff total of
  wecom_adds (see portal.report_validation).

Values are integers: counts as counted, money (product_sales, aum_increase) in fen, scores
(nps) as whole points. A blank cell stores no row (sums treat it as 0).
- `ReportTotal` holds, per report and staff-level metric, the sum over staff of its
  `DailyEntry` values. Database triggers (migration 0005) keep it equal to that sum on every
  insert, update and delete of `daily_entry`, whoever writes; the metrics engine reads pilot
  totals from it (one row per report and metric instead of one per staff member).
- `PilotTotal` holds, per pilot and staff-level metric, the sum over all the pilot's reports:
  the same triggers (migration 0006) keep it, so a pilot's totals to date are one row per
  metric instead of one per report (head office's portfolio reads 2,000 pilots at once).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

TEXT_MAX = 2000


class DailyReport(SQLModel, table=True):
    __tablename__ = "daily_report"
    __table_args__ = (UniqueConstraint("pilot_id", "report_date", name="uq_daily_report_pilot_date"),)
    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id")
    report_date: date = Field(index=True)
    author_user_id: int | None = Field(default=None, foreign_key="user.id")
    highlights: str = Field(default="", max_length=TEXT_MAX)
    blockers: str = Field(default="", max_length=TEXT_MAX)
    next_steps: str = Field(default="", max_length=TEXT_MAX)
    version: int = 1  # optimistic concurrency: every change adds one
    created_at: datetime
    updated_at: datetime
    updated_by: int | None = Field(default=None, foreign_key="user.id")


class DailyEntry(SQLModel, table=True):
    __tablename__ = "daily_entry"
    __table_args__ = (
        UniqueConstraint("report_id", "staff_id", "metric", name="uq_daily_entry_cell"),
        Index("ix_daily_entry_metric_staff", "metric", "staff_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="daily_report.id")
    staff_id: int = Field(foreign_key="staff.id")
    metric: str = Field(max_length=40)  # Metric.code with level "staff"
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class BranchEntry(SQLModel, table=True):
    __tablename__ = "branch_entry"
    __table_args__ = (UniqueConstraint("report_id", "metric", "channel", name="uq_branch_entry_cell"),)
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="daily_report.id")
    metric: str = Field(max_length=40)
    channel: str = Field(default="", max_length=40)  # '' unless metric == "wecom_adds"
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class ReportTotal(SQLModel, table=True):
    __tablename__ = "report_total"

    report_id: int = Field(sa_column=Column(Integer, ForeignKey("daily_report.id", ondelete="CASCADE"),
                                            primary_key=True))
    metric: str = Field(max_length=40, primary_key=True)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class PilotTotal(SQLModel, table=True):
    __tablename__ = "pilot_total"

    pilot_id: int = Field(sa_column=Column(Integer, ForeignKey("pilot.id", ondelete="CASCADE"), primary_key=True))
    metric: str = Field(max_length=40, primary_key=True)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
