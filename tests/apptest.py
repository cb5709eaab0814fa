"""AppTest helpers: open the portal logged in as a demo user and walk what it rendered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from models.org import User
from portal import auth, db, navigation
from portal.i18n import catalogue, translate

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



def open_tab(at: AppTest, key: str, label_key: str) -> AppTest:
    """Pick a tab of web.tab_bodies (only the open tab is drawn) by its catalogue label."""
    actor = at.session_state["_actor"] if "_actor" in at.session_state else None
    at.session_state[key] = translate(actor.language if actor else "zh", label_key)
    return at.run()


def _lazy_parts(at: AppTest) -> tuple[dict[str, list[str]], list[str]]:
    """Tracked tab groups (key → labels) and closed tracked expanders (keys) on screen: the
    parts web.tab_bodies / web.lazy_expander draw only when opened."""
    tabs: dict[str, list[str]] = {}
    closed: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        kind, proto = getattr(node, "type", None), getattr(node, "proto", None)
        block_id = getattr(proto, "id", "") if proto is not None else ""
        if block_id.startswith("$$ID-"):
            key = block_id.split("-", 2)[2]
            if kind == "tab_container":
                tabs[key] = [child.label for child in node.children.values()]
            elif kind == "expander" and not proto.expanded:
                closed.append(key)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return tabs, closed


def each_view(at: AppTest) -> Iterator[AppTest]:
    """The page as rendered, then with every tracked expander open, then with each other tab
    of every tracked tab group open (expanders inside opened too): everything a user can
    reach by opening things, for tests that check all of a page's content."""
    yield at
    tabs, closed = _lazy_parts(at)
    if closed:
        for key in closed:
            at.session_state[key] = True
        yield at.run()
    for key, labels in tabs.items():
        for label in labels[1:]:
            at.session_state[key] = label
            at.run()
            _, inner = _lazy_parts(at)
            if inner:
                for k in inner:
                    at.session_state[k] = True
                at.run()
            yield at
        at.session_state[key] = labels[0]
    if tabs:
        at.run()
