"""portal.query_frame.frame against what the ORM reads, on both databases: ints, floats, text,
dates and aggregates come back with the same values, whichever path the reader takes (the
driver's own tuples, or rows converted by SQLAlchemy)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlmodel import Session, func, select

from models.pilot import PilotTarget
from models.reports import DailyReport
from portal import clock
from portal.query_frame import frame
from tests import factories


def _same(session: Session, stmt, columns: list[str]) -> pd.DataFrame:
    got = frame(session, stmt, columns, stream=False)
    expected = pd.DataFrame([tuple(r) for r in session.exec(stmt).all()], columns=columns)
    assert len(got) == len(expected)
    for name in columns:
        for a, b in zip(got[name].tolist(), expected[name].tolist(), strict=True):
            assert (a != a and (b is None or b != b)) or a == b, (name, a, b)
    return got


def test_frame_reads_the_values_the_orm_reads(engine):
    ids = factories.org(engine)
    pilot = factories.pilot(engine, ids["subs"][0], start=date(2026, 11, 2))
    with Session(engine) as s:
        s.add_all([PilotTarget(pilot_id=pilot, metric="new_accounts", week=1, value=12.5, source="manual"),
                   PilotTarget(pilot_id=pilot, metric="pass_rate", week=2, value=0.7, source="manual")])
        for day in (date(2026, 11, 2), date(2026, 11, 3)):
            s.add(DailyReport(pilot_id=pilot, report_date=day, created_at=clock.now_utc(),
                              updated_at=clock.now_utc()))
        s.commit()
        targets = _same(s, select(PilotTarget.pilot_id, PilotTarget.metric, PilotTarget.week, PilotTarget.value)
                        .order_by(PilotTarget.id), ["pilot_id", "metric", "week", "value"])
        assert targets["value"].dtype == "float64" and targets["value"].tolist() == [12.5, 0.7]
        assert targets["week"].dtype == "int64"
        days = _same(s, select(DailyReport.pilot_id, DailyReport.report_date).order_by(DailyReport.report_date),
                     ["pilot_id", "report_date"])
        assert days["report_date"].tolist() == [date(2026, 11, 2), date(2026, 11, 3)]
        summed = _same(s, select(PilotTarget.pilot_id, func.sum(PilotTarget.week), func.max(PilotTarget.value))
                       .group_by(PilotTarget.pilot_id), ["pilot_id", "weeks", "top"])
        assert float(summed["weeks"].iloc[0]) == 3 and float(summed["top"].iloc[0]) == 12.5
