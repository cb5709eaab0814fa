import streamlit as st

from portal import audit, web

web.page("audit_log")
c1, c2, c3 = st.columns([3, 2, 2])
text = c1.text_input(web.t("audit.search"), max_chars=100)
outcome = c2.selectbox(web.t("audit.outcome"), ["all", "ok", "denied"],
                       format_func=web.fmt("audit.outcomes"))
since = c3.date_input(web.t("audit.since"), value=None)
df = web.load(audit.search, text=text, outcome="" if outcome == "all" else outcome, since=since)
st.caption(web.t("audit.count", n=len(df)))
st.dataframe(df, hide_index=True, width="stretch",
             column_config={c: web.t(f"audit.col.{c}") for c in df.columns})
