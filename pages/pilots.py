import datetime as dt

import streamlit as st

from portal import clock, org, pilots, web

actor = web.page("pilots")
GOALS = ["new_accounts", "product_marketing", "aum_growth"]
SEGMENTS = ["payroll", "elderly", "rural"]
STATUSES = ["none", "has_customers"]


def pilot_rows(df):  # noqa: ANN001, ANN201
    return df.assign(phase=df["phase"].map(web.fmt("phase")), goal=df["goal"].map(web.fmt("goal")),
                     segment=df["segment"].map(web.fmt("segment")))


df = web.load(pilots.list_pilots)
web.table(pilot_rows, df, hide_index=True, width="stretch",
          column_config={c: web.t(f"pilots.col.{c}") for c in df.columns})


def pilot_form(key: str, current: dict | None) -> dict | None:
    branches = web.load(org.branch_options, levels=("branch", "sub_branch"))
    coaches = web.load(pilots.coach_options)
    cur = current or {}
    with st.form(key):
        name = st.text_input(web.t("pilots.col.name"), value=cur.get("name", ""), max_chars=100)
        ids = list(branches)
        branch_id = st.selectbox(web.t("pilots.col.branch"), ids, format_func=branches.get,
                                 index=ids.index(cur["branch_id"]) if cur.get("branch_id") in ids else 0)
        c1, c2, c3 = st.columns(3)
        status = c1.selectbox(web.t("pilots.wecom_status"), STATUSES, format_func=web.fmt("status"),
                              index=STATUSES.index(cur.get("wecom_status", "none")))
        goal = c2.selectbox(web.t("pilots.col.goal"), GOALS, format_func=web.fmt("goal"),
                            index=GOALS.index(cur.get("goal", "new_accounts")))
        segment = c3.selectbox(web.t("pilots.col.segment"), SEGMENTS, format_func=web.fmt("segment"),
                               index=SEGMENTS.index(cur.get("segment", "payroll")))
        c4, c5, c6 = st.columns(3)
        start = c4.date_input(web.t("pilots.col.start_date"),
                              value=dt.date.fromisoformat(cur["start_date"]) if cur else clock.today())
        end = c5.date_input(web.t("pilots.col.end_date"),
                            value=dt.date.fromisoformat(cur["end_date"]) if cur else None,
                            help=web.t("pilots.end_help"))
        cap = c6.number_input(web.t("pilots.cap_yuan"), min_value=1.0, step=1000.0,
                              value=float(cur.get("budget_cap_fen", 10_000_000)) / 100)
        coach_ids = st.multiselect(web.t("pilots.col.coaches"), list(coaches), format_func=coaches.get,
                                   default=[c for c in cur.get("coaches", []) if c in coaches],
                                   placeholder=web.t("common.choose"))
        if not st.form_submit_button(web.t("common.save"), type="primary"):
            return None
    return {"name": name, "branch_id": branch_id, "wecom_status": status, "goal": goal, "segment": segment,
            "start_date": start, "end_date": end, "budget_cap_fen": round(cap * 100),
            "coach_user_ids": coach_ids}


if actor.is_hq:
    with st.expander(web.t("pilots.create"), icon=":material/add:"):
        values = pilot_form("create_pilot", None)
        if values and web.save(pilots.create_pilot, success=web.t("pilots.created"), **values):
            st.rerun()
    if not df.empty:
        with st.expander(web.t("pilots.edit"), icon=":material/edit:"):
            labels = dict(zip(df["id"], df["name"], strict=True))
            pid = st.selectbox(web.t("pilots.col.name"), list(labels), format_func=labels.get, key="edit_pid")
            current = web.load(pilots.get_pilot, pilot_id=int(pid))
            values = pilot_form(f"edit_pilot_{pid}", current)
            if values and web.save(pilots.update_pilot, pilot_id=int(pid), success=web.t("pilots.saved"),
                                   **values):
                st.rerun()
