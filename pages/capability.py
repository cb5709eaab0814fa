"""Capability self-assessment (3 layers, 10 capabilities, 1–5) with a radar over time."""

import streamlit as st

from portal import capability, programme_charts, web

actor = web.page("capability")
branches = web.load(capability.branch_options)
if not branches:
    st.info(web.t("programme.none"))
    st.stop()
branch_id = st.selectbox(web.t("programme.branch"), list(branches), format_func=branches.get)
history = web.load(capability.history, branch_id=branch_id)
if history.empty:
    st.caption(web.t("programme.no_assessment"))
else:
    st.plotly_chart(web.memo(programme_charts.radar_figure, history.tail(40)), width="stretch")
with st.form("capability"):
    st.subheader(web.t("programme.assess_now"))
    items = web.load(capability.items)
    latest = history[history["assessed_on"] == history["assessed_on"].max()].set_index("capability")["score"] \
        if not history.empty else {}
    scores = {}
    for item in items:
        scores[item["code"]] = st.slider(f"{item['layer_name']} · {item['name']}", 1, 5,
                                         int(latest.get(item["code"], 3)), help=item["description"])
    if st.form_submit_button(web.t("common.save"), type="primary"):
        if web.save(capability.record, branch_id=branch_id, scores=scores, success=web.t("programme.saved")):
            st.rerun()
