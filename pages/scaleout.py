"""Scale a validated pilot to more branches in one step, and follow the waves."""

import datetime as dt
import uuid

import streamlit as st

from portal import clock, programme_charts, scaleout, web

actor = web.page("scaleout")
sources = web.load(scaleout.source_choices)

st.subheader(web.t("programme.new_wave"))
if not sources:
    st.info(web.t("programme.no_sources"))
else:
    source = st.selectbox(web.t("programme.source"), list(sources), format_func=sources.get)
    c1, c2, c3 = st.columns(3)
    everything = web.load(scaleout.candidates, source_pilot_id=source)
    regions = {"": web.t("org.all"), **{r: r for r in sorted(everything["region"].unique())}}
    region = c1.selectbox(web.t("programme.filter_region"), list(regions), format_func=regions.get)
    county = c2.checkbox(web.t("programme.filter_county"))
    max_stage = c3.selectbox(web.t("programme.max_stage"), [4, 3, 2, 1], format_func=web.fmt("programme.stage_n"))
    options = web.load(scaleout.candidates, source_pilot_id=source, region=region, county_only=county,
                       max_stage=max_stage)
    options = options[~options["busy"]]
    labels = dict(zip(options["branch_id"], options["name"] + " · " + options["region"], strict=True))
    if "wave_key" not in st.session_state:
        st.session_state["wave_key"] = uuid.uuid4().hex
    with st.form("wave"):
        chosen = st.multiselect(web.t("programme.branches"), list(labels), format_func=labels.get,
                                placeholder=web.t("common.choose"))
        start = st.date_input(web.t("programme.wave_start"), value=clock.today() + dt.timedelta(days=7))
        name = st.text_input(web.t("programme.wave_name"), max_chars=100)
        st.caption(web.t("programme.wave_help"))
        if st.form_submit_button(web.t("programme.create_wave"), type="primary"):
            with st.spinner(web.t("programme.creating")):
                wave = web.save(scaleout.create_wave, source_pilot_id=source, branch_ids=chosen, start_date=start,
                                request_key=st.session_state["wave_key"], name=name,
                                success=web.t("programme.wave_created", n=len(chosen)))
            if wave:
                del st.session_state["wave_key"]

st.subheader(web.t("programme.waves"))
waves = web.load(scaleout.waves)
if waves.empty:
    st.caption(web.t("programme.none"))
else:
    shown = waves.assign(kpi=waves["kpi"].map(programme_charts.LIGHTS), phase=waves["phase"].map(web.fmt("phase")),
                         role=waves["role"].map(web.fmt("programme.roles")))
    cols = ["wave", "role", "pilot", "phase", "day", "kpi", "budget_used_pct"]
    st.dataframe(shown[cols], hide_index=True, width="stretch",
                 column_config={c: web.t(f"programme.col.{c}") for c in cols})
