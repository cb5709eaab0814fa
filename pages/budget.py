import pandas as pd
import streamlit as st

from models.budget import BudgetCategory, BudgetStatus
from portal import budget_charts, budget_lines, budget_views, pilots, web
from portal.budget import approve_override
from portal.budget_lines import TEMPLATE_ROLES

actor = web.page("budget")
CATEGORIES = [c.value for c in BudgetCategory]
STATUSES = [s.value for s in BudgetStatus]


def translated(df: pd.DataFrame, column: str, catalogue: str) -> pd.DataFrame:
    """The table with `column`'s codes in the user's words (kept Arrow-encoded by web.table)."""
    return df.assign(**{column: df[column].map(web.fmt(catalogue))})


def columns(df) -> dict:
    """Translated headers; yuan columns shown as money."""
    return {c: st.column_config.NumberColumn(web.t(f"budget.col.{c}"), format="¥%,.2f") if c.endswith("_yuan")
            else web.t(f"budget.col.{c}") for c in df.columns}


choices = web.load(pilots.pilot_choices)
if not choices:
    st.info(web.t("budget.no_pilots"))
    st.stop()
pid = st.selectbox(web.t("budget.pilot"), list(choices), format_func=choices.get, key="budget_pilot")
ov = web.load(budget_views.overview, pilot_id=pid)

# Two rows of two: amounts of six digits and fen did not fit four across ("¥100,00…").
(c1, c2), (c3, c4) = st.columns(2), st.columns(2)
c1.metric(web.t("budget.m.limit"), ov["limit_text"], border=True,
          help=web.t("budget.m.limit_help", cap=ov["cap_text"], overrides=ov["overrides_text"]))
c2.metric(web.t("budget.m.used"), ov["used_text"], border=True,
          help=web.t("budget.m.used_help", committed=ov["committed_text"], paid=ov["paid_text"]))
c3.metric(web.t("budget.m.remaining"), ov["remaining_text"], border=True)
c4.metric(web.t("budget.m.pct"), f"{ov['used_pct']:.1f}%", border=True)
if ov["level"] == "alert":
    st.error(web.t("budget.level.alert", pct=f"{ov['used_pct']:.1f}", remaining=ov["remaining_text"]))
elif ov["level"] == "warn":
    st.warning(web.t("budget.level.warn", pct=f"{ov['used_pct']:.1f}", remaining=ov["remaining_text"]))
if ov["overrides_fen"] > 0:
    st.caption(web.t("budget.override_note", cap=ov["cap_text"], overrides=ov["overrides_text"]))
days = web.t("budget.days", elapsed=int(ov["days_elapsed"]), total=int(ov["days_total"]))
if ov["projected_overrun_fen"] > 0:
    st.warning(web.t("budget.projection_over", days=days, projected=ov["projected_text"],
                     overrun=ov["projected_overrun_text"]))
else:
    st.caption(web.t("budget.projection_ok", days=days, projected=ov["projected_text"]))
if ov["plan_over_limit"]:
    st.info(web.t("budget.plan_over", planned=ov["planned_text"], outlook=ov["outlook_text"]))


def tab_view() -> None:
    st.plotly_chart(web.memo(budget_charts.envelope_figure, ov, web.t), key="envelope_chart")
    st.subheader(web.t("budget.burn"))
    st.plotly_chart(web.memo(budget_charts.burn_figure, web.load(budget_views.burn, pilot_id=pid), web.t),
                    key="burn_chart")
    st.subheader(web.t("budget.by_category"))
    cats = web.load(budget_views.by_category, pilot_id=pid)
    st.plotly_chart(web.memo(budget_charts.plan_figure, cats, web.t), key="plan_chart")
    web.table(translated, cats, "category", "budget.cat", hide_index=True, width="stretch", column_config=columns(cats))
    st.subheader(web.t("budget.by_status"))
    stats = web.load(budget_views.by_status, pilot_id=pid)
    web.table(translated, stats, "status", "budget.status", hide_index=True, width="stretch",
              column_config=columns(stats))


def tab_lines() -> None:
    f1, f2 = st.columns(2)
    cat_filter = f1.multiselect(web.t("budget.col.category"), CATEGORIES, format_func=web.fmt("budget.cat"),
                                key="filter_cat", placeholder=web.t("budget.all"))
    status_filter = f2.multiselect(web.t("budget.col.status"), STATUSES, format_func=web.fmt("budget.status"),
                                   key="filter_status", placeholder=web.t("budget.all"))
    df = web.load(budget_views.lines, pilot_id=pid, categories=cat_filter, statuses=status_filter)
    if df.empty:
        st.info(web.t("budget.no_lines"))
    else:
        show = df.drop(columns=["version"]).assign(category=df["category"].map(web.fmt("budget.cat")),
                                                   status=df["status"].map(web.fmt("budget.status")))
        st.dataframe(show, hide_index=True, width="stretch",
                     column_config=columns(show))


def tab_record() -> None:
    st.subheader(web.t("budget.add"))
    with st.form("budget_add", clear_on_submit=False):
        a1, a2 = st.columns(2)
        category = a1.selectbox(web.t("budget.col.category"), CATEGORIES, format_func=web.fmt("budget.cat"),
                                key="add_category")
        status = a2.selectbox(web.t("budget.col.status"), STATUSES[:3], format_func=web.fmt("budget.status"),
                              key="add_status", help=web.t("budget.status_help"))
        description = st.text_input(web.t("budget.col.description"), max_chars=200, key="add_desc")
        a3, a4, a5 = st.columns(3)
        amount = a3.text_input(web.t("budget.amount"), placeholder="12,345.60", key="add_amount",
                               help=web.t("budget.amount_help"))
        vendor = a4.text_input(web.t("budget.col.vendor"), max_chars=100, key="add_vendor")
        spend_date = a5.date_input(web.t("budget.col.spend_date"), value=None, key="add_date",
                                   help=web.t("budget.date_help"))
        attachment = st.text_input(web.t("budget.col.attachment_ref"), max_chars=200, key="add_attachment",
                                   help=web.t("budget.attachment_help"))
        submitted = st.form_submit_button(web.t("budget.add_submit"), type="primary", key="add_submit")
    if submitted:
        money = {"planned": amount} if status == BudgetStatus.planned else {"actual": amount}
        if web.save(budget_lines.add_line, success=web.t("budget.added"), pilot_id=pid, category=category,
                    description=description, status=status, vendor=vendor, spend_date=spend_date,
                    attachment_ref=attachment, **money):
            st.rerun()

    open_lines = web.load(budget_views.open_lines, pilot_id=pid)
    if open_lines:
        by_id = {ln["id"]: ln for ln in open_lines}
        line_label = {i: f"#{i} {ln['description']} · {web.t('budget.status.' + ln['status'])} · {ln['amount_text']}"
                      for i, ln in by_id.items()}
        st.subheader(web.t("budget.advance"))
        line_id = st.selectbox(web.t("budget.line"), list(by_id), format_func=line_label.get, key="adv_line")
        line = by_id[line_id]
        with st.form("budget_advance"):
            b1, b2, b3 = st.columns(3)
            to = b1.selectbox(web.t("budget.to_status"), [s for s in line["next"] if s != BudgetStatus.cancelled],
                              format_func=web.fmt("budget.status"), key="adv_to")
            actual = b2.text_input(web.t("budget.actual_amount"), placeholder=line["amount_text"], key="adv_amount",
                                   help=web.t("budget.actual_help"))
            when = b3.date_input(web.t("budget.col.spend_date"), value=None, key="adv_date")
            if st.form_submit_button(web.t("budget.advance_submit"), key="adv_submit") and web.save(
                    budget_lines.advance_line, success=web.t("budget.advanced"), line_id=line_id,
                    version=line["version"], to_status=to, actual=actual, spend_date=when):
                st.rerun()
        with st.expander(web.t("budget.cancel"), icon=":material/cancel:"):
            st.text(line_label[line_id])  # stored text: plain, never Markdown
            sure = st.checkbox(web.t("budget.cancel_confirm"), key="cancel_sure")
            if st.button(web.t("budget.cancel_submit"), key="cancel_submit"):
                if not sure:
                    st.warning(web.t("common.confirm_first"))
                elif web.save(budget_lines.cancel_line, success=web.t("budget.cancelled"), line_id=line_id,
                              version=line["version"]):
                    st.rerun()

    if actor.role in TEMPLATE_ROLES:
        st.subheader(web.t("budget.template"))
        packages, default = web.load(budget_views.package_options, pilot_id=pid)
        codes = list(packages)
        if codes:
            code = st.selectbox(web.t("budget.package"), codes, format_func=packages.get, key="tpl_package",
                                index=codes.index(default) if default in codes else 0)
            preview = web.load(budget_views.template_preview, pilot_id=pid, package_code=code)
            preview = preview.assign(category=preview["category"].map(web.fmt("budget.cat")))
            st.dataframe(preview, hide_index=True, width="stretch",
                         column_config=columns(preview))
            if st.button(web.t("budget.template_apply"), key="tpl_apply", disabled=bool(preview["applied"].all())):
                added = web.save(budget_lines.apply_package_template, pilot_id=pid, package_code=code)
                if added is not None:
                    st.toast(web.t("budget.template_done", n=added), icon="✅")
                    st.rerun()


def tab_override() -> None:
    overrides = web.load(budget_views.overrides, pilot_id=pid).drop(columns=["id", "amount_fen"])
    if overrides.empty:
        st.caption(web.t("budget.no_overrides"))
    else:
        st.dataframe(overrides, hide_index=True, width="stretch",
                     column_config=columns(overrides))
    if actor.is_hq:
        with st.form("budget_override"):
            st.caption(web.t("budget.override_help"))
            o_amount = st.text_input(web.t("budget.override_amount"), key="ovr_amount")
            reason = st.text_area(web.t("budget.override_reason"), max_chars=500, key="ovr_reason")
            if st.form_submit_button(web.t("budget.override_submit"), key="ovr_submit") and web.save(
                    approve_override, success=web.t("budget.override_done"), pilot_id=pid, amount=o_amount,
                    reason=reason):
                st.rerun()


web.tab_bodies("bg_tab", {web.t("budget.tab.overview"): tab_view, web.t("budget.tab.lines"): tab_lines,
                          web.t("budget.tab.record"): tab_record, web.t("budget.tab.overrides"): tab_override})
