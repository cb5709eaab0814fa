"""The KPI light rules, worked by hand: pro-rata weekly targets, rate targets by week reached,
ratios both ways and the light thresholds — for one value (weekly review) and for many pilots
at once (portfolio), which must agree."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace as Row

import numpy as np
import pytest
from sqlmodel import Session

from models.pilot import Pilot, PilotTarget
from portal import clock, kpis
from tests import factories
from tests.test_programme import report

START = date(2026, 11, 2)  # a Monday; the pilot runs 28 days to 11-29


def pilot_dates(start: date = START, days: int = 28) -> Row:
    return Row(start_date=start, end_date=start + timedelta(days=days - 1))


def test_weekly_flow_targets_add_up_pro_rata_and_whole_pilot_targets_count_in_full():
    rows = [Row(week=1, value=70), Row(week=2, value=140), Row(week=0, value=5)]
    p = pilot_dates()
    assert kpis.target_to_date(rows, p, START - timedelta(days=1)) == 5  # before the start: week 0 only
    assert kpis.target_to_date(rows, p, START) == pytest.approx(10 + 5)  # day 1 of week 1
    assert kpis.target_to_date(rows, p, START + timedelta(days=6)) == pytest.approx(70 + 5)
    assert kpis.target_to_date(rows, p, START + timedelta(days=9)) == pytest.approx(70 + 60 + 5)  # 3 days of week 2
    assert kpis.target_to_date(rows, p, date(2027, 1, 1)) == pytest.approx(70 + 140 + 5)  # capped at the end
    assert kpis.target_to_date([], p, START) == 0


def test_rate_target_is_the_highest_of_the_weeks_reached():
    rows = [Row(week=1, value=0.6), Row(week=3, value=0.75), Row(week=2, value=0.7)]
    assert kpis.rate_target(rows, START, START) == 0.6
    assert kpis.rate_target(rows, START, START + timedelta(days=7)) == 0.7  # first day of week 2
    assert kpis.rate_target(rows, START, START + timedelta(days=20)) == 0.75
    assert kpis.rate_target([Row(week=2, value=0.7)], START, START + timedelta(days=3)) is None


def test_ratio_both_directions_and_light_thresholds():
    assert kpis.ratio(45, 50, "higher") == 0.9
    assert kpis.ratio(2, 3, "higher") == 0.6667
    assert kpis.ratio(4, 2, "lower") == 0.5 and kpis.ratio(0, 2, "lower") == 1.0
    assert kpis.ratio(None, 50, "higher") is None and kpis.ratio(10, 0, "higher") is None
    assert kpis.ratio(10, None, "higher") is None
    assert [kpis.light(r) for r in (None, 0.7999, 0.8, 0.9999, 1.0, 2.5)] == \
        ["grey", "red", "amber", "amber", "green", "green"]
    many = kpis.ratios(np.array([45, np.nan, 4, 0]), np.array([50, 50, 2, 0]), np.array([False, False, True, False]))
    assert np.allclose(many, [0.9, np.nan, 0.5, np.nan], equal_nan=True)
    assert kpis.lights(many).tolist() == ["amber", "grey", "red", "grey"]


def test_many_pilots_at_once_agree_with_the_rule_for_one(engine, monkeypatch):
    """Flows pro rata, a rate target by week reached, a pilot not started yet and one without
    targets: the long frame the portfolio reads gives each pilot what the one-value rules give."""
    on = START + timedelta(days=9)  # day 10: week 2, 3 days in
    monkeypatch.setattr(clock, "today", lambda: on)
    ids = factories.org(engine)
    a = factories.pilot(engine, ids["subs"][0], start=START)
    b = factories.pilot(engine, ids["subs"][1], start=START + timedelta(days=2))
    later = factories.pilot(engine, ids["branch"], start=on + timedelta(days=5))
    bare = factories.pilot(engine, ids["outlets"]["A"][0], start=START)
    staff, staff_b = ids["staff"]["A"][0], ids["staff"]["B"][0]
    targets = {a: [("new_accounts", 1, 7), ("new_accounts", 2, 14), ("new_accounts", 0, 1),
                   ("pass_rate", 1, 0.6), ("pass_rate", 2, 0.7), ("pass_rate", 3, 0.9)],
               b: [("new_accounts", 0, 10), ("add_requests", 1, 70)],
               later: [("new_accounts", 1, 7)]}
    with Session(engine) as s:
        for pid, rows in targets.items():
            s.add_all(PilotTarget(pilot_id=pid, metric=m, week=w, value=v, source="manual") for m, w, v in rows)
        s.commit()
    report(engine, a, START, {staff: {"new_accounts": 9, "add_requests": 10, "accepted_adds": 6}}, {})
    report(engine, a, START + timedelta(days=1), {staff: {"new_accounts": 2, "add_requests": 10,
                                                          "accepted_adds": 8}}, {})
    report(engine, b, START + timedelta(days=2), {staff_b: {"new_accounts": 12, "add_requests": 40}}, {})

    with Session(engine) as s:
        pilots = [s.get(Pilot, pid) for pid in (bare, later, b, a)]
        tables = kpis.progress_many(s, pilots, on)
        lights = kpis.summary_lights(s, pilots, on)
    pa = tables[a].set_index("metric")
    # new_accounts: 7 (week 1) + 14 × 3/7 (week 2) + 1 (whole pilot) = 14; actual 11 → 0.7857 red
    assert pa.loc["new_accounts", "target"] == pytest.approx(14)
    assert (pa.loc["new_accounts", "actual"], pa.loc["new_accounts", "ratio"]) == (11, 0.7857)
    assert pa.loc["new_accounts", "light"] == "red"
    # pass_rate: week 2 reached → 0.7; actual 14 / 20 = 0.7 → green
    assert (pa.loc["pass_rate", "target"], pa.loc["pass_rate", "actual"]) == (0.7, pytest.approx(0.7))
    assert pa.loc["pass_rate", "light"] == "green"
    pb = tables[b].set_index("metric")
    # b started two days later: 8 days elapsed, week 1 in full → add_requests target 70, actual 40
    assert (pb.loc["add_requests", "target"], pb.loc["add_requests", "light"]) == (70, "red")
    assert (pb.loc["new_accounts", "target"], pb.loc["new_accounts", "light"]) == (10, "green")
    assert tables[later].empty and tables[bare].empty
    assert lights == {a: "red", b: "red", later: "grey", bare: "grey"}
    assert list(tables[a]["metric"]) == sorted(tables[a]["metric"])
    for pilot, table in ((a, pa), (b, pb)):
        rows = [Row(week=w, value=v) for m, w, v in targets[pilot] if m == "new_accounts"]
        p = next(x for x in pilots if x.id == pilot)
        assert table.loc["new_accounts", "target"] == pytest.approx(kpis.target_to_date(rows, p, on))


def test_progress_rows_follow_the_order_pilots_are_given(engine):
    ids = factories.org(engine)
    first, second = (factories.pilot(engine, ids["subs"][i], start=START) for i in (0, 1))
    with Session(engine) as s:
        s.add_all([PilotTarget(pilot_id=p, metric="new_accounts", week=0, value=5, source="manual")
                   for p in (first, second)])
        s.commit()
        pilots = [s.get(Pilot, second), s.get(Pilot, first)]
        long = kpis._progress_long(s, pilots, START + timedelta(days=3))
    assert long["pilot_id"].tolist() == [second, first]
