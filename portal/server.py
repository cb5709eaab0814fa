"""ASGI entry served by `streamlit run portal/server.py` (what `pilot-portal serve` runs):
the Streamlit app, the two session-cookie routes and the phone ranking page (portal/quick_ranking.py)."""

from pathlib import Path

import streamlit as st
from starlette.routing import Route

from portal import quick_ranking
from portal.session_cookie import LOGIN_PATH, LOGOUT_PATH, clear, exchange

app = st.App(
    str(Path(__file__).resolve().parent / "app.py"),
    routes=[Route(LOGIN_PATH, exchange, methods=["POST"]), Route(LOGOUT_PATH, clear, methods=["POST"]),
            *quick_ranking.ROUTES],
)
