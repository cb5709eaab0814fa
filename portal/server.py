"""ASGI entry served by `streamlit run portal/server.py` (what `pilot-portal serve` runs):
the Streamlit app plus the two session-cookie routes."""

from pathlib import Path

import streamlit as st
from starlette.routing import Route

from portal.session_cookie import LOGIN_PATH, LOGOUT_PATH, clear, exchange

app = st.App(
    str(Path(__file__).resolve().parent / "app.py"),
    routes=[Route(LOGIN_PATH, exchange, methods=["POST"]), Route(LOGOUT_PATH, clear, methods=["POST"])],
)
