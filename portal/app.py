"""Streamlit entry: log-in gate, then the navigation the user's role allows."""

from __future__ import annotations

import json

import streamlit as st

from portal import auth, db, navigation, users, web
from portal.errors import PortalError
from portal.i18n import LANGUAGES
from portal.session_cookie import COOKIE_NAME, LOGIN_PATH, LOGOUT_PATH

st.set_page_config(page_title="企微试点陪跑门户", page_icon=":material/hub:", layout="wide")


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def _resolve_actor() -> None:
    token = st.session_state.get(web.TOKEN_KEY) or st.context.cookies.get(COOKIE_NAME)
    token = token if isinstance(token, str) else None
    actor = db.run(auth.resolve, write=True, token=token) if token else None
    if actor is None and _sso_configured() and getattr(st.user, "is_logged_in", False):
        user_id = db.run(users.link_oidc_identity, subject=str(st.user.get("sub", "")),
                         email=str(st.user.get("email", "")))
        if user_id is not None:
            token = db.run(_open_sso_session, user_id=user_id)
            actor = db.run(auth.resolve, write=True, token=token)
    if actor is None and st.session_state.get(web.TOKEN_KEY):
        st.session_state["_expired"] = True
    st.session_state[web.TOKEN_KEY] = token if actor else None
    st.session_state[web.ACTOR_KEY] = actor


def _open_sso_session(session, *, user_id: int) -> str:
    from models.org import User

    token, _handoff = auth.open_session(session, session.get(User, user_id))
    return token


def _post(path: str, body: str = "") -> None:
    # Our own constant script (the body is a random URL-safe code): sets or clears the
    # HttpOnly session cookie through the portal's own route.
    st.html(f"<script>fetch({json.dumps(path)},{{method:'POST',credentials:'same-origin',"
            f"body:{json.dumps(body)}}});</script>", unsafe_allow_javascript=True)


def login_page() -> None:
    st.title(web.t("login.title"))
    st.caption(web.t("login.subtitle"))
    if st.session_state.pop("_expired", False):
        st.info(web.t("login.expired"))
    with st.form("login"):
        username = st.text_input(web.t("login.username"), max_chars=64)
        password = st.text_input(web.t("login.password"), type="password", max_chars=128)
        submitted = st.form_submit_button(web.t("login.submit"), type="primary")
    if submitted:
        try:
            result = db.run(auth.login, username=username, password=password)
        except PortalError as exc:  # e.g. the database cannot be written: a message, not a stack trace
            st.error(web.error_text(exc))
            st.stop()
        if result.ok:
            st.session_state[web.TOKEN_KEY] = result.token
            st.session_state["_handoff"] = result.handoff
            st.rerun()
        st.error(web.t(result.message_key))
    if _sso_configured():
        st.divider()
        if st.button(web.t("login.sso")):
            st.login()
    st.caption(web.t("login.hint"))


def sidebar(actor) -> None:
    with st.sidebar:
        st.caption(web.t("sidebar.signed_in", name=web.plain(actor.display_name), role=web.t(f"role.{actor.role}")))
        codes = list(LANGUAGES)
        choice = st.selectbox(web.t("sidebar.language"), codes, index=codes.index(actor.language),
                              format_func=LANGUAGES.get, key="lang_select")
        if choice != actor.language:
            db.run(users.set_language, actor=actor, language=choice)
            st.rerun()
        if st.button(web.t("sidebar.logout"), key="logout"):
            db.run(auth.logout, token=st.session_state.get(web.TOKEN_KEY))
            st.session_state[web.TOKEN_KEY] = None
            st.session_state[web.ACTOR_KEY] = None
            st.session_state["_logged_out"] = True
            web.forget_reads()
            st.rerun()


def main() -> None:
    try:
        _resolve_actor()
    except PortalError as exc:  # e.g. the database cannot be opened: a message, not a stack trace
        st.error(web.error_text(exc))
        st.stop()
    actor = web.current_actor()
    if st.session_state.pop("_logged_out", False):
        _post(LOGOUT_PATH)
    if actor is None:
        st.navigation([st.Page(login_page, title=web.t("login.title"), url_path="login")],
                      position="hidden").run()
        return
    handoff = st.session_state.pop("_handoff", None)
    if handoff:
        _post(LOGIN_PATH, handoff)
    sidebar(actor)
    sections: dict[str, list] = {}
    home = navigation.HOME[actor.role]
    for spec in navigation.pages_for(actor.role):
        sections.setdefault(web.t(spec.section), []).append(
            st.Page(spec.path, title=web.t(spec.title_key), icon=spec.icon, url_path=spec.key,
                    default=spec.key == home))
    st.navigation(sections).run()


main()
