import streamlit as st

from portal import pilots, profile, web


def pilot_rows(df):  # noqa: ANN001, ANN201
    return df.assign(phase=df["phase"].map(web.fmt("phase"))).drop(columns=["id"])


actor = web.page("home")
me = web.load(profile.my_profile)
st.subheader(web.t("home.welcome", name=web.plain(me["display_name"] or me["username"])))
st.caption(web.t(f"home.intro.{actor.role}"))

if me["staff"]:
    s = me["staff"]
    c1, c2, c3 = st.columns(3)
    c1.metric(web.t("home.employee_no"), s["employee_no"])
    c2.metric(web.t("home.outlet"), s["outlet"])
    c3.metric(web.t("home.position"), web.t(f"position.{s['position']}"))
    if me["pilots"]:
        st.info(web.t("home.in_pilot", pilots=web.plain("、".join(me["pilots"]))))
else:
    df = web.load(pilots.list_pilots)
    if df.empty:
        st.info(web.t("home.no_pilots"))
    else:
        counts = df["phase"].value_counts()
        cols = st.columns(max(1, len(counts)))
        for col, (phase, n) in zip(cols, counts.items(), strict=False):
            col.metric(web.t(f"phase.{phase}"), int(n))
        web.table(pilot_rows, df, hide_index=True, width="stretch",
                  column_config={c: web.t(f"pilots.col.{c}") for c in df.columns if c != "id"})
