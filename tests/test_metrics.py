"""The metrics service against hand-computed figures: totals per pilot / day / ISO week / pilot
week / staff / outlet / channel, every rate from its Rate row, statuses, scope, missing reports."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from models.playbook import Rate
from portal import db, metrics
from portal.errors import PermissionDenied, ValidationFailed
from tests import factories
from tests.test_reports import TODAY, frozen_clock, make_world, save  # noqa: F401

FRI, MON, TUE = date(2026, 11, 13), date(2026, 11, 16), date(2026, 11, 17)
WINDOW = {"start": FRI, "end": TODAY}


@pytest.fixture
def world(engine):
    return make_world(engine)


@pytest.fixture
def filled(world):
    a0, a1, a3 = world.a[0], world.a[1], world.a[3]  # a0, a1 in outlet 0; a3 in outlet 1
    save(world, day=FRI, staff_values={a1: {"wecom_adds": 2, "valid_adds": 2}},
         branch_values={"staff_active": 2, "wecom_customers_total": 900})
    save(world, day=MON, staff_values={
        a0: {"wecom_adds": 10, "valid_adds": 9, "add_requests": 20, "accepted_adds": 14, "touches_1v1": 30,
             "aum_increase": "1000.50"},
        a3: {"wecom_adds": 4, "valid_adds": 3, "add_requests": 10, "accepted_adds": 4, "touches_1v1": 12}},
        branch_values={"staff_active": 4, "wecom_customers_total": 1000, "nps": 60},
        channel_values={"outbound_add": 10, "desk_card": 4})
    save(world, day=TUE, staff_values={
        a0: {"wecom_adds": 6, "valid_adds": 6, "add_requests": 10, "accepted_adds": 8, "touches_1v1": 20}},
        branch_values={"staff_active": 5, "wecom_customers_total": 1100}, channel_values={"outbound_add": 6})
    return world


def run(w, fn, actor=None, **kw):
    return db.run(fn, engine=w.engine, write=False, actor=actor or w.coach, **kw)


def test_pilot_totals_and_every_rate(filled):
    row = run(filled, metrics.totals, **WINDOW, with_rates=True).iloc[0]
    assert (row["days"], row["wecom_adds"], row["valid_adds"], row["add_requests"], row["accepted_adds"],
            row["touches_1v1"]) == (3, 22, 20, 40, 26, 62)
    assert row["aum_increase"] == pytest.approx(1000.5)  # yuan
    assert (row["staff_active"], row["wecom_customers_total"], row["nps"]) == (5, 1100, 60)  # last snapshots
    assert row["pass_rate"] == pytest.approx(26 / 40)
    assert row["valid_add_rate"] == pytest.approx(20 / 22)
    assert row["usage_rate"] == pytest.approx(5 / 6)  # 6 active staff in the branch
    assert row["coverage_rate"] == pytest.approx(1100 / 20_000)  # the sub-branch's customer base
    assert row["touches_per_customer_week"] == pytest.approx(62 / 3 * 7 / 1100)
    rates = run(filled, metrics.rates, **WINDOW).set_index("code")
    assert rates.loc["pass_rate", "status"] == "ok" and rates.loc["coverage_rate", "status"] == "low"
    assert rates.loc["pass_rate", "numerator"] == 26 and rates.loc["pass_rate", "denominator"] == 40
    one = run(filled, metrics.rate, pilot_id=filled.pilot, code="usage_rate", **WINDOW)
    assert one["value"] == pytest.approx(5 / 6) and one["benchmark_low"] == 0.8 and one["status"] == "ok"


def test_periods(filled):
    days = run(filled, metrics.totals, **WINDOW, by="day").set_index("period")
    assert list(days.index) == [FRI, MON, TUE] and days.loc[MON, "wecom_adds"] == 14
    assert days.loc[MON, "nps"] == 60 and days.loc[TUE, "nps"] != days.loc[TUE, "nps"]  # not surveyed: NaN
    weeks = run(filled, metrics.totals, **WINDOW, by="week", with_rates=True).set_index("period")
    assert list(weeks.index) == [date(2026, 11, 9), MON]  # ISO weeks, labelled by Monday
    assert weeks.loc[MON, "wecom_adds"] == 20 and weeks.loc[MON, "staff_active"] == 5
    assert weeks.loc[MON, "pass_rate"] == pytest.approx(26 / 40)
    assert weeks.loc[date(2026, 11, 9), "touches_per_customer_week"] == 0
    pw = run(filled, metrics.totals, **WINDOW, by="pilot_week")  # the pilot started Wed 4 Nov
    assert pw["period"].tolist() == [2] and pw["wecom_adds"].tolist() == [22]


def test_people_outlets_and_channels(filled):
    people = run(filled, metrics.totals, **WINDOW, by="staff", with_rates=True).set_index("name")
    assert people.loc["员工A00", "wecom_adds"] == 16 and people.loc["员工A00", "aum_increase"] == pytest.approx(1000.5)
    assert people.loc["员工A00", "pass_rate"] == pytest.approx(22 / 30) and "usage_rate" not in people
    assert people.loc["员工A10", "pass_rate"] == pytest.approx(0.4)
    outlets = run(filled, metrics.totals, **WINDOW, by="branch").set_index("branch")
    assert outlets.loc["青禾县支行0号网点", "wecom_adds"] == 18 and outlets.loc["青禾县支行1号网点", "wecom_adds"] == 4
    channels = run(filled, metrics.totals, **WINDOW, by="channel").set_index("channel")["value"].to_dict()
    assert channels == {"desk_card": 4, "outbound_add": 16}
    only = run(filled, metrics.totals, **WINDOW, by="staff", metrics=["valid_adds"])
    assert list(only.columns) == ["pilot_id", "staff_id", "employee_no", "name", "valid_adds"]


def test_trend_value_of_and_internal_daily_values(filled):
    trend = run(filled, metrics.trend, pilot_id=filled.pilot, codes=["wecom_adds", "pass_rate"], **WINDOW)
    adds = trend[trend["code"] == "wecom_adds"]
    assert adds["value"].tolist() == [2, 14, 6] and adds["period"].tolist() == [FRI, MON, TUE]
    assert trend[trend["code"] == "pass_rate"]["value"].dropna().round(3).tolist() == [0.6, 0.8]
    with Session(filled.engine) as s:
        assert metrics.value_of(s, pilot_id=filled.pilot, code="nps", **WINDOW) == 60
        assert metrics.value_of(s, pilot_id=filled.pilot, code="aum_increase", **WINDOW) == pytest.approx(1000.5)
        assert metrics.value_of(s, pilot_id=filled.pilot, code="pass_rate", start=TUE, end=TUE) == 0.8
        assert metrics.value_of(s, pilot_id=filled.pilot, code="pass_rate", start=TODAY, end=TODAY) is None
        with pytest.raises(ValidationFailed):
            metrics.value_of(s, pilot_id=filled.pilot, code="nonsense", **WINDOW)
        values = metrics.staff_daily_values(s, pilot_ids=[filled.pilot], **WINDOW, metrics=["aum_increase"])
    assert values.to_dict("records") == [{"pilot_id": filled.pilot, "report_date": MON, "staff_id": filled.a[0],
                                          "metric": "aum_increase", "value": 100050}]  # fen


def test_rate_status_follows_the_rate_rows(engine):
    with Session(engine) as s:
        rate = s.exec(select(Rate).where(Rate.code == "pass_rate")).one()
        touches = s.exec(select(Rate).where(Rate.code == "touches_per_customer_week")).one()
    assert [metrics.rate_status(v, rate) for v in (0.4, 0.55, 0.7, 0.9, None)] == ["fail", "low", "ok", "high", None]
    assert metrics.rate_status(2.5, touches) == "high"  # above the ~2 a week ceiling


def test_no_reports_gives_empty_frames_not_errors(world):
    assert run(world, metrics.totals, **WINDOW).empty
    assert run(world, metrics.totals, **WINDOW, by="staff", with_rates=True).empty
    assert run(world, metrics.trend, pilot_id=world.pilot, codes=["wecom_adds"], **WINDOW).empty
    assert run(world, metrics.rate, pilot_id=world.pilot, code="pass_rate", **WINDOW)["value"] is None


def test_scope(filled):
    for actor in (filled.other, filled.lead_b):
        with pytest.raises(PermissionDenied):
            run(filled, metrics.totals, actor, pilot_ids=[filled.pilot], **WINDOW)
        assert run(filled, metrics.totals, actor, **WINDOW).empty  # nothing of theirs
    with pytest.raises(PermissionDenied):
        run(filled, metrics.totals, filled.staff, **WINDOW)
    assert run(filled, metrics.totals, filled.lead, **WINDOW)["wecom_adds"].tolist() == [22]
    assert run(filled, metrics.totals, filled.hq, **WINDOW)["pilot_id"].tolist() == [filled.pilot]


def test_missing_reports(filled):
    other_branch = filled.ids["subs"][1]
    planning = factories.pilot(filled.engine, other_branch, coaches=[filled.other], start=TODAY - timedelta(days=3),
                               phase="planning")
    busy = factories.pilot(filled.engine, other_branch, coaches=[filled.other], start=TODAY - timedelta(days=2),
                           phase="validating")
    mine = run(filled, metrics.missing_reports)
    expected = [date(2026, 11, d) for d in (4, 5, 6, 9, 10, 11, 12)]  # Mon–Fri before today, minus reported
    assert mine["report_date"].tolist() == expected and set(mine["pilot_id"]) == {filled.pilot}
    everyone = run(filled, metrics.missing_reports, filled.hq)
    assert set(everyone["pilot_id"]) == {filled.pilot, busy} and planning not in set(everyone["pilot_id"])
    assert everyone[everyone["pilot_id"] == busy]["report_date"].tolist() == [TODAY - timedelta(days=2), TUE]
    early = run(filled, metrics.missing_reports, pilot_ids=[filled.pilot], on=date(2026, 11, 6))
    assert early["report_date"].tolist() == [date(2026, 11, 4), date(2026, 11, 5)]
    with pytest.raises(PermissionDenied):
        run(filled, metrics.missing_reports, pilot_ids=[busy])


def test_to_date_totals_come_from_the_running_totals_and_follow_corrections(filled):
    """A window holding all of a pilot's reports reads the per-pilot running totals (PilotTotal);
    a narrower one sums its reports; both agree with the hand-computed figures, before and after
    a report is corrected."""
    def values(start, end):
        with Session(filled.engine) as s:
            return metrics.values_of(s, windows={filled.pilot: (start, end)},
                                     codes=["wecom_adds", "aum_increase", "nps", "pass_rate"])[filled.pilot]

    assert values(FRI, TODAY) == {"wecom_adds": 22, "aum_increase": pytest.approx(1000.5), "nps": 60,
                                  "pass_rate": pytest.approx(26 / 40)}
    assert values(MON, MON)["wecom_adds"] == 14 and values(FRI, MON)["wecom_adds"] == 16
    save(filled, day=TUE, version=1, staff_values={filled.a[0]: {"wecom_adds": 1, "valid_adds": 1, "add_requests": 10,
                                                      "accepted_adds": 8, "touches_1v1": 20}},
         branch_values={"staff_active": 5, "wecom_customers_total": 1100}, channel_values={"outbound_add": 1})
    assert values(FRI, TODAY)["wecom_adds"] == 17 and values(TUE, TODAY)["wecom_adds"] == 1
