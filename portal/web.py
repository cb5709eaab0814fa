"""Streamlit glue shared by the entry script and the page scripts: the current actor,
translation in the user's language, and calling services with friendly error display."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from portal import db, navigation
from portal.access import Actor
from portal.errors import PortalError
from portal.i18n import DEFAULT_LANGUAGE, translate
from portal.i18n import label as pick_label

T = TypeVar("T")
ACTOR_KEY = "_actor"
TOKEN_KEY = "auth_token"
LANG_KEY = "_lang"


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def lang() -> str:
    actor = current_actor()
    return actor.language if actor else st.session_state.get(LANG_KEY, DEFAULT_LANGUAGE)


def t(key: str, **params: object) -> str:
    return translate(lang(), key, **params)


def label(zh: str, en: str) -> str:
    """The user's language variant of bilingual content (seed data)."""
    return pick_label(lang(), zh, en)


def fmt(prefix: str) -> Callable[[object], str]:
    """A select-box format_func for codes under `prefix`, with the language fixed now
    (Streamlit may call format functions outside the script run)."""
    language = lang()
    return lambda code: translate(language, f"{prefix}.{code}")


# What can start Markdown, HTML, links, emoji short codes or LaTeX inside a sentence.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|<>~$:])")


def plain(value: object) -> str:
    """User text made inert for Streamlit's Markdown (st.error, st.write, st.caption…)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def error_text(exc: PortalError) -> str:
    """The refusal in the user's language; parameters may hold what the user typed, so they
    are escaped before Streamlit renders the message as Markdown."""
    params = {k: plain(", ".join(map(str, v)) if isinstance(v, list | tuple | set) else v)
              for k, v in exc.params.items()}
    return translate(lang(), exc.key, **params)


def page(key: str) -> Actor:
    """Guard at the top of every page: a logged-in actor whose role may open this page."""
    actor = current_actor()
    if actor is None or not navigation.allowed(actor.role, key):
        st.error(t("err.permission"))
        st.stop()
    st.title(t(f"nav.{key}"))
    return actor


def page_path(key: str):
    """The script path of a page, for st.switch_page."""
    return navigation.spec(key).path


def load(fn: Callable[..., T], **kwargs: Any) -> T:
    """Read through a service; on a refusal show the message and stop the page."""
    try:
        return db.run(fn, write=False, actor=current_actor(), **kwargs)
    except PortalError as exc:
        st.error(error_text(exc))
        st.stop()


def save(fn: Callable[..., T], *, success: str | None = None, **kwargs: Any) -> T | None:
    """Write through a service in one transaction; show success or the refusal.
    Returns the service's result, or None when it was refused (nothing was saved)."""
    try:
        result = db.run(fn, write=True, actor=current_actor(), **kwargs)
    except PortalError as exc:
        st.error(error_text(exc))
        return None
    if success:
        st.toast(success, icon="✅")
    return True if result is None else result
