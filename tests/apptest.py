"""AppTest helpers: open the portal logged in as a demo user and walk what it rendered."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from models.org import User
from portal import auth, db, navigation
from portal.i18n import catalogue

APP = Path(__file__).resolve().parents[1] / "portal" / "app.py"
TIMEOUT = 60


def _token(session, *, username: str) -> str:
    user = session.exec(select(User).where(User.username == username)).one()
    return auth.open_session(session, user)[0]


def open_as(username: str) -> AppTest:
    """The app, signed in as `username` on the configured (demo) database, after one run."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["auth_token"] = db.run(_token, username=username)
    return at.run()


def goto(at: AppTest, key: str) -> AppTest:
    return at.switch_page(str(navigation.spec(key).path)).run()


def _strings(value, out: list[str]) -> None:
    from google.protobuf.message import Message

    if isinstance(value, Message):
        for _field, inner in value.ListFields():
            _strings(inner, out)
    elif isinstance(value, str):
        out.append(value)
    elif isinstance(value, list | tuple) or type(value).__name__.startswith("Repeated"):
        for inner in value:
            _strings(inner, out)


def rendered_strings(at: AppTest) -> list[str]:
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        proto = getattr(node, "proto", None)
        if proto is not None:
            _strings(proto, out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


_KEY_RE = re.compile(r"(?<![\w/.@-])([a-z_]+(?:\.[a-z0-9_]+)+)(?![\w/(@-])")


def raw_keys(at: AppTest) -> set[str]:
    """Catalogue-looking keys that reached the screen untranslated."""
    namespaces = {k.split(".")[0] for k in catalogue("zh")}
    found = set()
    for text in rendered_strings(at):
        for match in _KEY_RE.findall(text):
            if match.split(".")[0] in namespaces:
                found.add(match)
    return found
