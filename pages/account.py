import streamlit as st

from portal import users, web

actor = web.page("account")
st.write(web.t("account.signed_in_as", username=web.plain(actor.username), role=web.t(f"role.{actor.role}")))
with st.form("change_password", clear_on_submit=True):
    st.subheader(web.t("account.change_password"))
    old = st.text_input(web.t("account.old_password"), type="password", max_chars=128)
    new = st.text_input(web.t("account.new_password"), type="password", max_chars=128)
    again = st.text_input(web.t("account.repeat_password"), type="password", max_chars=128)
    st.caption(web.t("account.password_rules"))
    if st.form_submit_button(web.t("account.save"), type="primary"):
        if new != again:
            st.error(web.t("account.err_mismatch"))
        else:
            web.save(users.change_own_password, old_password=old, new_password=new,
                     success=web.t("account.password_changed"))
