"""The budget page through AppTest on the demo database: a coach records a spend and sees the
total move, is refused above the cap (nothing saved), and HQ sees and approves overrides."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import Session, func, select

from models.budget import BudgetLine, BudgetOverride
from models.pilot import Pilot
from portal import db
from tests.apptest import goto, open_as, open_tab, raw_keys


def metric(at, label: str) -> Decimal:
    value = next(m.value for m in at.metric if m.label == label)
    return Decimal(value.replace("¥", "").replace(",", "").rstrip("%"))


def line_count() -> int:
    with Session(db.get_engine()) as s:
        return s.exec(select(func.count()).select_from(BudgetLine)).one()


def add_line(at, *, description: str, amount: str, status: str = "committed"):
    open_tab(at, "bg_tab", "budget.tab.record")  # only the open tab is drawn
    at.selectbox(key="add_category").set_value("training")
    at.selectbox(key="add_status").set_value(status)
    at.text_input(key="add_desc").input(description)
    at.text_input(key="add_amount").input(amount)
    return at.button(key="add_submit").click().run()


def test_coach_adds_a_line_sees_the_total_move_and_is_refused_above_the_cap(demo_db):
    at = goto(open_as("coach_li"), "budget")
    assert not at.exception and not at.error and not raw_keys(at)
    used, remaining = metric(at, "已使用"), metric(at, "剩余额度")
    assert 65 <= metric(at, "上限使用率") <= 75  # the week-3 demo pilot sits near 70 %
    count = line_count()

    at = add_line(at, description="转化培训教材印制", amount="1,234.50")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metric(at, "已使用") == used + Decimal("1234.50")
    assert metric(at, "剩余额度") == remaining - Decimal("1234.50")
    assert line_count() == count + 1

    at = add_line(at, description="超出上限的一笔", amount="60,000")
    assert at.error and "超出预算上限" in at.error[0].value
    headroom = f"¥{remaining - Decimal('1234.50'):,.2f}"
    assert headroom in at.error[0].value
    assert line_count() == count + 1
    assert metric(at, "已使用") == used + Decimal("1234.50")


def test_ambiguous_amount_is_refused_on_the_page(demo_db):
    at = goto(open_as("coach_li"), "budget")
    count = line_count()
    at = add_line(at, description="宣传单页", amount="1,23")
    assert at.error and "1,23" in at.error[0].value
    assert line_count() == count


def test_hq_sees_the_override_and_only_hq_gets_the_form(demo_db):
    at = goto(open_as("hq_wang"), "budget")
    assert not at.exception and not at.error
    with Session(db.get_engine()) as s:
        validating = s.exec(select(Pilot.id).where(Pilot.phase == "validating")).first()
    at = at.selectbox(key="budget_pilot").set_value(validating).run()
    assert not at.exception
    open_tab(at, "bg_tab", "budget.tab.overrides")
    assert any("防诈骗手册" in str(df.value.get("reason", "")) for df in at.dataframe)
    assert any("93.8%" in w.value for w in at.warning)  # over 80 % of its (overridden) limit
    with Session(db.get_engine()) as s:
        before = s.exec(select(func.count()).select_from(BudgetOverride)).one()
    at.text_input(key="ovr_amount").input("2,000")
    at.text_area(key="ovr_reason").input("好")
    at = at.button(key="ovr_submit").click().run()
    assert at.error and "理由" in at.error[0].value
    at.text_area(key="ovr_reason").input("结营活动追加一场社区讲座")
    at = at.button(key="ovr_submit").click().run()
    assert not at.error
    with Session(db.get_engine()) as s:
        assert s.exec(select(func.count()).select_from(BudgetOverride)).one() == before + 1

    coach = open_tab(goto(open_as("coach_li"), "budget"), "bg_tab", "budget.tab.overrides")
    assert coach.get("caption") or coach.dataframe, "the overrides tab is open"
    assert not [t for t in coach.text_input if t.key == "ovr_amount"]


def test_branch_lead_records_but_gets_no_template_and_english_is_complete(demo_db):
    at = open_as("lead_qinghe")
    at.sidebar.selectbox(key="lang_select").set_value("en").run()
    at = goto(at, "budget")
    assert not at.exception and not at.error and not raw_keys(at)
    assert at.title[0].value == "Budget"
    open_tab(at, "bg_tab", "budget.tab.record")
    assert at.get("form"), "the record tab is open"
    assert not [b for b in at.button if b.key == "tpl_apply"]
    count = line_count()
    at = add_line(at, description="Banner reprint", amount="880", status="paid")
    assert not at.error and line_count() == count + 1


def test_cancel_needs_the_confirmation_tick(demo_db):
    at = open_tab(goto(open_as("coach_li"), "budget"), "bg_tab", "budget.tab.record")
    line_id = at.selectbox(key="adv_line").value

    def status() -> str:
        with Session(db.get_engine()) as s:
            return s.get(BudgetLine, line_id).status

    before = status()
    at = at.button(key="cancel_submit").click().run()
    assert any("请先勾选确认" in w.value for w in at.warning) and status() == before
    at.checkbox(key="cancel_sure").check()
    at = at.button(key="cancel_submit").click().run()
    assert not at.error and status() == "cancelled"
