"""Streamlit glue shared by the entry script and the page scripts: the current actor,
translation in the user's language, and calling services with friendly error display."""

from __future__ import annotations

import hashlib
import pickle
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
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
READS_KEY = "_reads"
READ_SECONDS = 30  # as long as the shared leaderboard cache (board_cache.TTL_SECONDS)


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


def _detached(value: T) -> T:
    """A view of a kept result the page may change without changing what is kept (pandas'
    copy-on-write makes a shallow frame copy independent and free)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=False)
    # Scalars are taken as they are without a call each: lists of records (an agenda of
    # hundreds of items) are copied at every click.
    if isinstance(value, dict):
        return {k: _detached(v) if isinstance(v, _CONTAINERS) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_detached(v) if isinstance(v, _CONTAINERS) else v for v in value]
    return value


_CONTAINERS = (dict, list, pd.DataFrame, pd.Series)


def _kept(key: tuple, compute: Callable[[], T]) -> T:
    """compute(), or its result from this browser session if made less than READ_SECONDS ago.
    An exception (e.g. a refusal) passes through and nothing is kept."""
    reads: dict = st.session_state.setdefault(READS_KEY, {})
    now = time.monotonic()
    kept = reads.get(key)
    if kept is not None and now - kept[0] < READ_SECONDS:
        return kept[1]
    result = compute()
    for stale in [k for k, (at, _) in reads.items() if now - at >= READ_SECONDS]:
        del reads[stale]
    reads[key] = (now, result)
    return result


def load(fn: Callable[..., T], *, keyed_by: tuple | None = None, **kwargs: Any) -> T:
    """Read through a service; on a refusal show the message and stop the page.
    Every widget click reruns the whole page, so what was just read is kept for READ_SECONDS
    in this browser session only (keyed by user, language, function and arguments; never
    shared between users) and any write through save() drops it. Refusals are never kept.
    Frames passed as arguments (boards from the shared cache) are too costly to key by their
    content on every click: the caller names what identifies them in `keyed_by`."""
    if keyed_by is None and any(isinstance(v, pd.DataFrame | pd.Series) for v in kwargs.values()):
        raise TypeError("web.load: frame arguments need keyed_by")
    actor = current_actor()
    args = repr(keyed_by) if keyed_by is not None else repr(sorted(kwargs.items()))
    key = (actor.user_id if actor else None, lang(), fn.__module__, fn.__qualname__, args)
    try:
        return _detached(_kept(key, lambda: db.run(fn, write=False, actor=actor, **kwargs)))
    except PortalError as exc:
        st.error(error_text(exc))
        st.stop()


def _fingerprint(value: object) -> object:
    """A key for memo()'s inputs: frames by their content, functions by module, file and name
    (page scripts all run as __main__)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        # The pickle of a frame is its content; hashing it is 4× cheaper than
        # pd.util.hash_pandas_object on the small frames charts are drawn from.
        return hashlib.sha1(pickle.dumps(value, protocol=5)).hexdigest()  # noqa: S324
    if callable(value):
        code = getattr(value, "__code__", None)
        return (getattr(value, "__module__", ""), code.co_filename if code else "",
                getattr(value, "__qualname__", repr(value)))
    if isinstance(value, dict):
        return tuple((k, _fingerprint(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return tuple(_fingerprint(v) for v in value)
    return repr(value)


def memo(build: Callable[..., T], *args: Any) -> T:
    """build(*args): a chart or a display table made from data the page already read, kept
    like load()'s reads and keyed by the inputs' content; the page treats it as read-only.
    Without it every widget click would rebuild plotly figures (10-40 ms) and re-filter and
    re-translate frames."""
    return _kept(("memo", lang(), _fingerprint(build), _fingerprint(args)), lambda: _frozen(build(*args)))


def table(build: Callable[..., pd.DataFrame], *args: Any, **dataframe_kwargs: Any):  # noqa: ANN201
    """st.dataframe(build(*args), **dataframe_kwargs) with the display frame built and
    Arrow-encoded once per content (kept like memo()): encoding a 2,000-row table took 5 ms of
    every click, hashing it to find the kept copy takes 0.8 ms. Returns st.dataframe's value."""
    return st.dataframe(memo(_built_arrow, build, *args), **dataframe_kwargs)


def _built_arrow(build: Callable[..., pd.DataFrame], *args: Any) -> Any:
    return arrow(build(*args))


def arrow(df: pd.DataFrame) -> Any:
    """A display frame as the Arrow table st.dataframe sends (for frames kept by memo)."""
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except pa.ArrowException:
        return df  # a column of mixed types: Streamlit's own conversion copes with it


def _frozen(value: T) -> T:
    """A plotly figure as a _KeptFigure (any other value as it is)."""
    return _KeptFigure(value) if isinstance(value, go.Figure) else value


class _KeptFigure(go.Figure):
    """A figure kept between reruns and never changed after it is built: st.plotly_chart asks
    for its dict form on every rerun, which plotly deep-copies each time (about 2 ms a chart),
    so it is made once."""

    def to_dict(self) -> dict:
        if getattr(self, "_kept_dict", None) is None:
            self._kept_dict = super().to_dict()
        return self._kept_dict


def forget_reads() -> None:
    """Drop this session's kept reads (after any write, sign-in or sign-out)."""
    st.session_state.pop(READS_KEY, None)


def save(fn: Callable[..., T], *, success: str | None = None, **kwargs: Any) -> T | None:
    """Write through a service in one transaction; show success or the refusal.
    Returns the service's result, or None when it was refused (nothing was saved)."""
    forget_reads()
    try:
        result = db.run(fn, write=True, actor=current_actor(), **kwargs)
    except PortalError as exc:
        st.error(error_text(exc))
        return None
    if success:
        st.toast(success, icon="✅")
    return True if result is None else result


def tab_bodies(key: str, bodies: dict[str, Callable[[], None]]) -> None:
    """Tabs that draw only the open one. st.tabs draws every tab's content on every rerun (each
    widget click); tracked tabs rerun the page when another tab is picked, so one tab's
    elements are built per rerun. `bodies`: tab label → function drawing that tab."""
    tabs = st.tabs(list(bodies), key=key, on_change="rerun")
    for tab, body in zip(tabs, bodies.values(), strict=True):
        if tab.open:
            with tab:
                body()


def lazy_expander(label: str, body: Callable[[], None], *, key: str, expanded: bool = False,
                  icon: str | None = None) -> None:
    """An expander whose content is drawn only while it is open (opening it reruns the page)."""
    box = st.expander(label, expanded=expanded, key=key, icon=icon, on_change="rerun")
    if box.open:
        with box:
            body()
