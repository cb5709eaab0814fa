"""Head office home: every pilot on one screen, with stage heat map and phase funnel."""

import streamlit as st

from portal import portfolio, programme_charts, web, weekly_ui

COLS = ["pilot", "branch", "phase", "stage", "day", "kpi", "budget_used_pct", "sop_completion", "overdue",
        "missing_reports", "latest_blocker"]


def table_rows(shown):  # noqa: ANN001, ANN201
    """The filtered portfolio in the user's words."""
    return shown.assign(
        phase=shown["phase"].map(web.fmt("phase")),
        kpi=shown["kpi"].map(programme_charts.LIGHTS),
        stage=shown["stage"].map(lambda s: web.t(f"programme.stage_n.{int(s)}") if s == s and s else "—"),
        day=[f"{d}/{n}" for d, n in zip(shown["day"], shown["days"], strict=True)],
    )[COLS]


actor = web.page("portfolio")
df = web.load(portfolio.portfolio)
if df.empty:
    st.info(web.t("home.no_pilots"))
    st.stop()

c1, c2, c3 = st.columns(3)
phases = c1.multiselect(web.t("programme.filter_phase"), sorted(df["phase"].unique()), format_func=web.fmt("phase"),
                        placeholder=web.t("programme.filter_all"))
regions = c2.multiselect(web.t("programme.filter_region"), sorted(df["region"].unique()),
                         placeholder=web.t("programme.filter_all"))
county = c3.checkbox(web.t("programme.filter_county"))
v = web.memo(portfolio.view, df, tuple(phases), tuple(regions), county)
shown, counts = v["shown"], v["counts"]

m1, m2, m3, m4 = st.columns(4)
m1.metric(web.t("programme.m_pilots"), counts["pilots"])
m2.metric(web.t("programme.m_red"), counts["red"])
m3.metric(web.t("programme.m_overdue"), counts["overdue"])
m4.metric(web.t("programme.m_missing"), counts["missing"])
weekly_ui.download_control(actor)  # all pilots the actor may see that ran during the chosen week

event = web.table(
    table_rows, shown, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
    column_config={**{c: web.t(f"programme.col.{c}") for c in COLS},
                   "budget_used_pct": st.column_config.ProgressColumn(web.t("programme.col.budget_used_pct"),
                                                                      min_value=0, max_value=100, format="%.0f%%"),
                   "sop_completion": st.column_config.ProgressColumn(web.t("programme.col.sop_completion"),
                                                                     min_value=0, max_value=1, format="percent")})
rows = event.selection.rows if event else []
if rows:
    st.session_state["pilot_id"] = int(shown.iloc[rows[0]]["pilot_id"])
    st.switch_page(str(web.page_path("pilot_overview")))
st.caption(web.t("programme.click_pilot"))

left, right = st.columns(2)
with left:
    st.subheader(web.t("programme.heatmap"))
    names = [web.t(f"programme.stage_n.{i}") for i in range(1, 5)]
    st.plotly_chart(web.memo(programme_charts.heatmap_figure, v["heatmap"], names), width="stretch")
    if v["heatmap"].index.name == "region":
        st.caption(web.t("programme.heatmap_by_region", n=portfolio.HEATMAP_BRANCHES))
with right:
    st.subheader(web.t("programme.funnel"))
    st.plotly_chart(web.memo(programme_charts.funnel_figure, v["funnel"], web.t), width="stretch")
