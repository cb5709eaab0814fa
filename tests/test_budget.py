"""Budget services: the cap rule (also under concurrent writers), overrides, exact money,
permissions, the package template, and the summary/projection against hand-computed numbers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from models.audit import AuditLog
from models.budget import BudgetLine, BudgetOverride
from models.pilot import Pilot
from portal import budget, budget_lines, budget_views, clock, db, pilots
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.i18n import translate
from tests import factories

ADD, ADVANCE, UPDATE = budget_lines.add_line, budget_lines.advance_line, budget_lines.update_line


@pytest.fixture
def world(engine):
    ids = factories.org(engine)
    a, b = ids["subs"]
    coach, other_coach = factories.user(engine, "coach"), factories.user(engine, "coach")
    w = {"engine": engine, "coach": coach, "other_coach": other_coach,
         "lead_a": factories.user(engine, "branch_lead", branch_ids=[a]),
         "lead_b": factories.user(engine, "branch_lead", branch_ids=[b]),
         "staff": factories.user(engine, "staff", staff_no="A00"),
         "hq": factories.user(engine, "hq", branch_ids=[ids["head"]]),
         "pa": factories.pilot(engine, a, coaches=[coach]), "pb": factories.pilot(engine, b, coaches=[other_coach]),
         "branch_a": a}
    return w


def run(w, fn, actor="coach", **kw):
    return db.run(fn, engine=w["engine"], actor=w[actor] if isinstance(actor, str) else actor, **kw)


def spend(w, amount, *, pilot="pa", actor="coach", status="committed", **kw):
    return run(w, ADD, actor, pilot_id=w[pilot], category="training", description="培训讲师费", status=status,
               **({"planned": amount} if status == "planned" else {"actual": amount}), **kw)


def used(w, pilot="pa") -> int:
    return int(run(w, budget.summary, "hq", pilot_ids=[w[pilot]]).iloc[0]["used_fen"])


def set_pilot(w, key: str, **fields) -> None:
    """Fields the pilot services do not edit (phase, adopted package), set directly."""
    with Session(w["engine"]) as s:
        pilot = s.get(Pilot, w[key])
        for name, value in fields.items():
            setattr(pilot, name, value)
        s.add(pilot)
        s.commit()


def state(engine) -> tuple:
    """Everything a refused write must leave alone."""
    with Session(engine) as s:
        return (s.exec(select(func.count()).select_from(BudgetLine)).one(),
                s.exec(select(func.sum(BudgetLine.actual_fen))).one(),
                s.exec(select(func.sum(BudgetLine.planned_fen))).one(),
                s.exec(select(func.sum(BudgetLine.version))).one(),
                tuple(s.exec(select(BudgetLine.status).order_by(BudgetLine.id)).all()),
                s.exec(select(func.count()).select_from(BudgetOverride)).one(),
                s.exec(select(func.count()).select_from(AuditLog)).one())


def test_cap_rule_at_the_boundary_and_refusal_shows_headroom(world):
    w = world
    spend(w, "60,000")
    spend(w, "39,999.99")
    with pytest.raises(ValidationFailed) as exc:
        spend(w, "0.02")
    assert exc.value.key == "budget.err_cap" and exc.value.params["headroom"] == "¥0.01"
    assert "¥0.01" in translate("zh", exc.value.key, **exc.value.params)
    spend(w, "0.01")  # exactly at the cap is allowed
    assert used(w) == 10_000_000
    with Session(w["engine"]) as s:  # HQ cannot lower the cap below what is spent
        pilot = s.get(Pilot, w["pa"])
        budget.check_new_cap(s, pilot, cap_fen=20_000_000)
        with pytest.raises(ValidationFailed, match="budget.err_cap_below_used"):
            budget.check_new_cap(s, pilot, cap_fen=9_999_999)
    spend(w, "50,000", status="planned")  # planning beyond the cap is allowed, spending is not
    assert used(w) == 10_000_000


def test_every_write_path_is_checked_and_refusals_change_nothing(world):
    w = world
    big = spend(w, "90,000")
    plan = spend(w, "20,000", status="planned")
    before = state(w["engine"])
    version = lambda lid: int(run(w, budget_views.lines, pilot_id=w["pa"]).set_index("id").loc[lid, "version"])  # noqa: E731
    refusals = [
        (ADD, {"pilot_id": w["pa"], "category": "materials", "description": "易拉宝", "status": "paid",
               "actual": "10,000.01"}),
        (ADVANCE, {"line_id": plan, "to_status": "committed", "version": version(plan)}),
        (ADVANCE, {"line_id": plan, "to_status": "paid", "actual": "10,000.01"}),
        (UPDATE, {"line_id": big, "actual": "100,000.01", "description": "改了也不该存"}),
    ]
    for fn, kw in refusals:
        with pytest.raises(ValidationFailed) as exc:
            run(w, fn, **kw)
        assert exc.value.key == "budget.err_cap"
        assert exc.value.params["headroom"] == "¥10,000.00" or fn is UPDATE
    assert state(w["engine"]) == before
    # Within the headroom each path works; lowering a spend is always allowed.
    run(w, ADVANCE, line_id=plan, to_status="committed", actual="10,000")
    run(w, UPDATE, line_id=big, actual="80,000")
    run(w, ADVANCE, line_id=plan, to_status="paid", actual="20,000")
    assert used(w) == 10_000_000
    run(w, budget_lines.cancel_line, line_id=big)  # cancelling frees the room again
    assert used(w) == 2_000_000


def test_permission_refusals_change_nothing_but_the_denial_audit(world):
    w = world
    line = spend(w, "1,000")
    before = state(w["engine"])
    attempts = [("staff", ADD, {"pilot_id": w["pa"], "category": "tools", "description": "x", "actual": "1"}),
                ("other_coach", ADD, {"pilot_id": w["pa"], "category": "tools", "description": "x", "actual": "1"}),
                ("lead_b", ADVANCE, {"line_id": line, "to_status": "paid"}),
                ("other_coach", budget_lines.cancel_line, {"line_id": line}),
                ("coach", budget.approve_override, {"pilot_id": w["pa"], "amount": "1,000", "reason": "活动加场需要"}),
                ("lead_a", budget.approve_override, {"pilot_id": w["pa"], "amount": "1,000", "reason": "活动加场需要"}),
                ("lead_a", budget_lines.apply_package_template, {"pilot_id": w["pa"], "package_code": "payroll_aum_growth"})]
    for who, fn, kw in attempts:
        with pytest.raises(PermissionDenied):
            run(w, fn, who, **kw)
    after = state(w["engine"])
    assert after[:-1] == before[:-1]
    with Session(w["engine"]) as s:
        denied = s.exec(select(AuditLog).order_by(AuditLog.id.desc())
                        .limit(len(attempts))).all()
    assert after[-1] == before[-1] + len(attempts) and {d.outcome for d in denied} == {"denied"}


def test_who_records_and_who_sees(world):
    w = world
    spend(w, "100", actor="lead_a")
    spend(w, "100", actor="coach")
    spend(w, "100", actor="hq", pilot="pb")
    spend(w, "100", actor="other_coach", pilot="pb")
    assert run(w, budget.summary, "coach")["pilot_id"].tolist() == [w["pa"]]
    assert run(w, budget.summary, "lead_b")["pilot_id"].tolist() == [w["pb"]]
    assert set(run(w, budget.summary, "hq")["pilot_id"]) == {w["pa"], w["pb"]}
    assert run(w, budget.summary, "coach", pilot_ids=[w["pb"]]).empty  # asking is not seeing
    for who, fn, kw in [("staff", budget.summary, {}), ("staff", budget_views.lines, {"pilot_id": w["pa"]}),
                        ("other_coach", budget_views.lines, {"pilot_id": w["pa"]}),
                        ("lead_b", budget_views.overview, {"pilot_id": w["pa"]}),
                        ("staff", budget.lines_changed, {"pilot_ids": None, "start": date(2026, 1, 1),
                                                         "end": date(2030, 1, 1)})]:
        with pytest.raises(PermissionDenied):
            run(w, fn, who, write=False, **kw)
    changed = run(w, budget.lines_changed, "lead_a", pilot_ids=None, start=clock.today(), end=clock.today())
    assert set(changed["pilot_id"]) == {w["pa"]} and len(changed) == 2


def test_closed_pilot_is_frozen_except_for_hq(world):
    w = world
    set_pilot(w, "pa", phase="closed")
    with pytest.raises(ValidationFailed, match="budget.err_frozen"):
        spend(w, "100")
    spend(w, "100", actor="hq")


def test_overrides_need_hq_and_a_real_reason_and_raise_the_limit(world):
    w = world
    spend(w, "95,000")
    for reason in ("", "   ", "理由", "  短  ", "x" * 501):
        with pytest.raises(ValidationFailed, match="budget.err_reason"):
            run(w, budget.approve_override, "hq", pilot_id=w["pa"], amount="10,000", reason=reason)
    for amount in ("0", "-5", "1,00", "abc"):
        with pytest.raises(ValidationFailed):
            run(w, budget.approve_override, "hq", pilot_id=w["pa"], amount=amount, reason="手册加印需要特批")
    with pytest.raises(ValidationFailed, match="budget.err_cap"):
        spend(w, "8,000")
    run(w, budget.approve_override, "hq", pilot_id=w["pa"], amount="5,000", reason="防诈手册加印三千册")
    spend(w, "8,000")
    row = run(w, budget.summary, "coach").iloc[0]
    assert (row["cap_fen"], row["overrides_fen"], row["limit_fen"], row["headroom_fen"]) == (
        10_000_000, 500_000, 10_500_000, 200_000)
    shown = run(w, budget_views.overrides, "lead_a", pilot_id=w["pa"])
    assert shown["reason"].tolist() == ["防诈手册加印三千册"] and shown["amount_fen"].tolist() == [500_000]
    with Session(w["engine"]) as s:
        audit = s.exec(select(AuditLog).where(AuditLog.action == "budget.override")).one()
    assert audit.actor_username == w["hq"].username and audit.after["reason"] == "防诈手册加印三千册"
    assert audit.before["limit_fen"] == 10_000_000 and audit.after["limit_fen"] == 10_500_000


@pytest.mark.parametrize("op", ["add", "advance"])
def test_two_simultaneous_60k_spends_exactly_one_wins(world, monkeypatch, op):
    """Real threads, separate transactions. The sum is read slowly on purpose: without the
    pilot lock (PostgreSQL) or IMMEDIATE transactions (SQLite) both would pass."""
    w = world
    real = budget.totals

    def slow_totals(*args, **kw):
        result = real(*args, **kw)
        time.sleep(0.05)
        return result

    monkeypatch.setattr(budget, "totals", slow_totals)
    for _ in range(5):
        pid = factories.pilot(w["engine"], w["branch_a"], coaches=[w["coach"], w["other_coach"]])
        planned = [run(w, ADD, pilot_id=pid, category="travel", description="驻点差旅", planned="60,000")
                   for _ in range(2)]
        barrier, outcomes = threading.Barrier(2), []

        def attempt(i, pid=pid, planned=planned, barrier=barrier, outcomes=outcomes):
            actor = w["coach"] if i == 0 else w["other_coach"]
            barrier.wait()
            try:
                if op == "add":
                    db.run(ADD, engine=w["engine"], actor=actor, pilot_id=pid, category="training",
                           description=f"讲师费{i}", status="committed", actual="60,000")
                else:
                    db.run(ADVANCE, engine=w["engine"], actor=actor, line_id=planned[i], to_status="committed")
                outcomes.append("ok")
            except ValidationFailed as exc:
                outcomes.append(exc.key)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["budget.err_cap", "ok"]
        summary = run(w, budget.summary, "hq", pilot_ids=[pid]).iloc[0]
        assert summary["used_fen"] == 6_000_000 and summary["headroom_fen"] == 4_000_000


def test_ten_cents_plus_twenty_cents_is_thirty_cents(world):
    w = world
    spend(w, "0.10")
    spend(w, "0.20")
    ov = run(w, budget_views.overview, pilot_id=w["pa"])
    assert ov["used_fen"] == 30 and ov["used_text"] == "¥0.30"


@pytest.mark.parametrize("bad", ["1,23", "12.345", "1.2.3", "-5", "abc", "0", "0.00", "", "  ", "1e5", "NaN",
                                 "100,000,000.01"])
def test_ambiguous_or_bad_amounts_are_refused_and_nothing_saved(world, bad):
    before = state(world["engine"])
    with pytest.raises(ValidationFailed):
        spend(world, bad)
    assert state(world["engine"]) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2),
                        min_size=1, max_size=4),
       style=st.sampled_from([",.2f", "f", ".2f"]))
def test_amounts_round_trip_exactly(world, amounts, style):
    w = world
    run(w, pilots.update_pilot, "hq", pilot_id=w["pa"], budget_cap_fen=10_000_000 * 100)
    start = used(w)
    ids = [spend(w, format(a, style), status="paid") for a in amounts]
    expected = sum(int(a * 100) for a in amounts)
    assert used(w) - start == expected
    df = run(w, budget_views.lines, pilot_id=w["pa"]).set_index("id")
    assert [round(df.loc[i, "actual_yuan"] * 100) for i in ids] == [int(a * 100) for a in amounts]


def test_package_template_is_idempotent(world):
    w = world
    with pytest.raises(ValidationFailed, match="budget.err_no_package"):
        run(w, budget_lines.apply_package_template, pilot_id=w["pa"])
    with pytest.raises(ValidationFailed, match="budget.err_package"):
        run(w, budget_lines.apply_package_template, pilot_id=w["pa"], package_code="no_such_package")
    assert run(w, budget_lines.apply_package_template, pilot_id=w["pa"], package_code="payroll_aum_growth") == 5
    df = run(w, budget_views.lines, pilot_id=w["pa"])
    assert sorted(df["planned_yuan"]) == [5000, 7000, 8000, 9000, 15000] and set(df["status"]) == {"planned"}
    run(w, budget_lines.cancel_line, line_id=int(df["id"].iloc[0]))
    before = state(w["engine"])
    assert run(w, budget_lines.apply_package_template, pilot_id=w["pa"], package_code="payroll_aum_growth") == 0
    assert state(w["engine"]) == before  # nothing added, nothing audited
    preview = run(w, budget_views.template_preview, pilot_id=w["pa"], package_code="payroll_aum_growth")
    assert preview["applied"].all()
    # The adopted package is the default.
    set_pilot(w, "pb", package_code="elderly_new_accounts")
    assert run(w, budget_lines.apply_package_template, "hq", pilot_id=w["pb"]) == 5
    assert run(w, budget_views.package_options, "hq", pilot_id=w["pb"])[1] == "elderly_new_accounts"
    assert run(w, budget.summary, "hq", pilot_ids=[w["pb"]]).iloc[0]["planned_fen"] == 5_100_000


def _at(day: str, hour: int = 4):
    return clock.frozen(datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC))


def test_summary_burn_and_projection_match_hand_computed_numbers(world):
    w = world
    pid = factories.pilot(w["engine"], w["branch_a"], coaches=[w["coach"]], start=date(2026, 11, 2),
                          budget_cap_fen=4_000_000)  # 2026-11-02 … 11-29: 28 days, cap ¥40,000
    with _at("2026-11-03"):
        paid = run(w, ADD, pilot_id=pid, category="training", description="启动培训", status="paid",
                   actual="10,000", spend_date=date(2026, 11, 2))
    with _at("2026-11-06"):
        run(w, ADD, pilot_id=pid, category="materials", description="折页", status="committed", actual="5,000.50")
        run(w, ADD, pilot_id=pid, category="incentives", description="奖品", planned="3,000")
        gone = run(w, ADD, pilot_id=pid, category="other", description="场地", status="committed", actual="2,000")
        run(w, budget_lines.cancel_line, line_id=gone)
        run(w, budget.approve_override, "hq", pilot_id=pid, amount="1,000", reason="加场活动需要")
    with _at("2026-11-11"):  # day 10 in Shanghai
        row = run(w, budget.summary, "hq", pilot_ids=[pid]).iloc[0].to_dict()
        curve = run(w, budget_views.burn, pilot_id=pid)
        cats = run(w, budget_views.by_category, pilot_id=pid).set_index("category")
        changed = run(w, budget.lines_changed, "hq", pilot_ids=[pid], start=date(2026, 11, 4),
                      end=date(2026, 11, 10))
    expected = {"cap_fen": 4_000_000, "overrides_fen": 100_000, "limit_fen": 4_100_000, "plan_fen": 1_800_050,
                "planned_fen": 300_000, "committed_fen": 500_050, "paid_fen": 1_000_000, "used_fen": 1_500_050,
                "used_pct": 36.6, "headroom_fen": 2_599_950, "days_elapsed": 10, "days_total": 28,
                "projected_fen": 4_200_140, "projected_overrun_fen": 100_140, "level": "ok"}
    assert {k: row[k] for k in expected} == expected
    assert curve["actual_yuan"].tolist()[:10] == [10_000, 10_000, 10_000, 10_000, 15_000.5, 15_000.5, 15_000.5,
                                                  15_000.5, 15_000.5, 15_000.5]
    assert curve["actual_yuan"].iloc[10:].isna().all() and curve["projected_yuan"].iloc[:9].isna().all()
    assert curve["projected_yuan"].iloc[9] == 15_000.5 and curve["projected_yuan"].iloc[27] == 42_001.4
    assert set(curve["cap_yuan"]) == {40_000} and set(curve["limit_yuan"]) == {41_000}
    assert (cats.loc["materials", "actual_yuan"], cats.loc["incentives", "pending_yuan"],
            cats.loc["other", "plan_yuan"]) == (5_000.5, 3_000, 0)
    assert sorted(changed["description"]) == ["场地", "奖品", "折页"] and set(changed["change"]) == {"new"}
    assert paid not in set(changed["line_id"])
    assert budget.alert_level(79.9) == "ok" and budget.alert_level(80) == "warn" and budget.alert_level(95) == "alert"


def test_lifecycle_versions_and_validation(world):
    w = world
    lid = spend(w, "1,000", status="planned")
    with pytest.raises(Conflict):
        run(w, ADVANCE, line_id=lid, to_status="committed", version=99)
    run(w, ADVANCE, line_id=lid, to_status="committed", version=1)
    run(w, ADVANCE, line_id=lid, to_status="paid", version=2, actual="980.5")
    for to in ("committed", "cancelled", "planned"):
        with pytest.raises(ValidationFailed, match="budget.err_transition"):
            run(w, ADVANCE, line_id=lid, to_status=to)
    with pytest.raises(ValidationFailed, match="budget.err_closed_line"):
        run(w, UPDATE, line_id=lid, actual="900")
    run(w, UPDATE, line_id=lid, vendor="青禾印务", attachment_ref="发票 No.1")
    line = run(w, budget_views.lines, pilot_id=w["pa"]).iloc[0]
    assert (line["status"], line["actual_yuan"], line["vendor"], line["version"]) == ("paid", 980.5, "青禾印务", 4)
    today = clock.today()
    for kw, key in [({"category": "crypto"}, "err_category"), ({"description": "  "}, "err_required"),
                    ({"spend_date": today + timedelta(days=1)}, "err_date_future"),
                    ({"spend_date": today - timedelta(days=200)}, "err_date_range"),
                    ({"status": "cancelled"}, "err_status"), ({"vendor": "v" * 101}, "err_too_long")]:
        with pytest.raises(ValidationFailed, match=f"budget.{key}"):
            run(w, ADD, pilot_id=w["pa"], **{"category": "tools", "description": "直播工具", "actual": "1",
                                             "status": "paid", **kw})
    with pytest.raises(ValidationFailed, match="budget.err_actual_on_planned"):
        run(w, ADD, pilot_id=w["pa"], category="tools", description="x", planned="1", actual="1")
    with pytest.raises(ValidationFailed, match="budget.err_field"):
        run(w, UPDATE, line_id=lid, pilot_id=w["pb"])
