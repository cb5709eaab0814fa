import streamlit as st

from portal import org, users, web

web.page("users")
ROLES = ["hq", "coach", "branch_lead", "staff"]
df = web.load(users.list_users)
show = df.assign(role=df["role"].map(lambda r: web.t(f"role.{r}")))
st.dataframe(show, hide_index=True, width="stretch",
             column_config={c: web.t(f"users.col.{c}") for c in show.columns})
branches = web.load(org.branch_options)

with st.expander(web.t("users.create"), icon=":material/person_add:"):
    with st.form("create_user", clear_on_submit=False):
        c1, c2 = st.columns(2)
        username = c1.text_input(web.t("users.col.username"), max_chars=64)
        display = c2.text_input(web.t("users.col.display_name"), max_chars=64)
        role = c1.selectbox(web.t("users.col.role"), ROLES, format_func=web.fmt("role"))
        language = c2.selectbox(web.t("users.col.language"), ["zh", "en"])
        scope = st.multiselect(web.t("users.col.scope"), list(branches), format_func=branches.get,
                               placeholder=web.t("common.choose"))
        staff_no = st.text_input(web.t("users.staff_no"), max_chars=32, help=web.t("users.staff_no_help"))
        password = st.text_input(web.t("users.initial_password"), type="password", max_chars=128)
        st.caption(web.t("account.password_rules"))
        if st.form_submit_button(web.t("users.create"), type="primary"):
            if web.save(users.create_user, username=username, password=password, role=role,
                        display_name=display, branch_ids=scope, staff_no=staff_no, language=language,
                        success=web.t("users.created", username=username)):
                st.rerun()

with st.expander(web.t("users.edit"), icon=":material/manage_accounts:"):
    if df.empty:
        st.stop()
    target = st.selectbox(web.t("users.col.username"), df["username"].tolist(), key="edit_user")
    row = df[df["username"] == target].iloc[0]
    with st.form("edit_user_form"):
        role = st.selectbox(web.t("users.col.role"), ROLES, index=ROLES.index(row["role"]),
                            format_func=web.fmt("role"))
        active = st.checkbox(web.t("users.col.active"), value=bool(row["active"]))
        scope = st.multiselect(web.t("users.col.scope"), list(branches), format_func=branches.get,
                               placeholder=web.t("common.choose"))
        keep_scope = st.checkbox(web.t("users.keep_scope"), value=True)
        if st.form_submit_button(web.t("users.save")):
            if web.save(users.update_user, username=target, role=role, active=active,
                        branch_ids=None if keep_scope else scope, success=web.t("users.saved")):
                st.rerun()
    with st.form("reset_password", clear_on_submit=True):
        new_pw = st.text_input(web.t("users.new_password"), type="password", max_chars=128)
        confirm = st.checkbox(web.t("users.confirm_reset", username=target))
        if st.form_submit_button(web.t("users.reset_password")):
            if not confirm:
                st.warning(web.t("common.confirm_first"))
            else:
                web.save(users.reset_password, username=target, new_password=new_pw,
                         success=web.t("users.password_reset"))
