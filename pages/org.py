import streamlit as st

from portal import org, web

web.page("org")


def branches() -> None:
    df = web.load(org.branch_table)
    df = df.assign(level=df["level"].map(lambda v: web.t(f"level.{v}")))
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={c: web.t(f"org.col.{c}") for c in df.columns})


def staff() -> None:
    options = web.load(org.branch_options)
    options = {None: web.t("org.all"), **options}
    branch_id = st.selectbox(web.t("org.filter_branch"), list(options), format_func=options.get)
    df = web.load(org.staff_table, branch_id=branch_id)
    df = df.assign(position=df["position"].map(lambda v: web.t(f"position.{v}")))
    st.caption(web.t("org.staff_count", n=len(df)))
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={c: web.t(f"org.col.{c}") for c in df.columns})


web.tab_bodies("org_tab", {web.t("org.branches"): branches, web.t("org.staff"): staff})
