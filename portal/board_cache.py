"""A short-lived cache of contest leaderboards shared by all viewers (staff check rankings at
the same moment). Only the unfiltered board is cached; permission checks and name hiding
happen per viewer, every time, before anything is shown."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from portal import db, leaderboard

TTL_SECONDS = 30
COMPUTED_AT = "board_computed_at"
BOARD_KEY = "board_key"


@st.cache_data(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def board(contest_id: int, period: str, week_of: date | None, on: date) -> pd.DataFrame:
    df = db.run(leaderboard.shared_board, write=False, contest_id=contest_id, period=period, week_of=week_of,
                on=on)
    df.attrs[COMPUTED_AT] = time.time()  # travels with every copy the cache hands out
    # Plain JSON values: Streamlit writes a frame's attrs into the Arrow table it sends.
    df.attrs[BOARD_KEY] = [contest_id, period, str(week_of), on.isoformat()]
    return df


def teams(people: pd.DataFrame) -> pd.DataFrame:
    """The teams ranked from one of these shared boards, made once per board for all viewers
    (grouping thousands of participants per viewer was 40 % of the phone page's server time)."""
    return _teams(tuple(people.attrs[BOARD_KEY]), people.attrs[COMPUTED_AT], people)


@st.cache_data(ttl=TTL_SECONDS, max_entries=512, show_spinner=False)
def _teams(key: tuple, computed_at: float, _people: pd.DataFrame) -> pd.DataFrame:
    # Keyed by the board's identity and computation time, so it always matches the board.
    return db.run(leaderboard.shared_teams, write=False, contest_id=key[0], people=_people)


def standing_boards(contest_id: int, on: date) -> tuple[dict[str, pd.DataFrame], bool]:
    """The shared boards leaderboard.my_standing reads — the week shown (last week early in an
    empty week, see current_week), today's and the week's teams — as its keyword arguments,
    and whether the week shown is last week."""
    week, last_monday = current_week(contest_id, on)
    return {"week": week, "today": board(contest_id, "today", None, on), "teams": teams(week)}, \
        last_monday is not None


def stamp(*boards: pd.DataFrame) -> tuple:
    """What identifies these shared boards: when each was computed. A viewer's reads made from
    them (web.load(keyed_by=…)) are redone as soon as any of them is recomputed."""
    return tuple(b.attrs.get(COMPUTED_AT) for b in boards)


def current_week(contest_id: int, on: date) -> tuple[pd.DataFrame, date | None]:
    """This week's board, or last week's while this week has no points yet
    (leaderboard.shows_last_week); with the Monday of the week shown when it is last week."""
    week = board(contest_id, "week", None, on)
    if leaderboard.shows_last_week(week, on):
        monday = leaderboard.week_start(on - timedelta(days=7))
        return board(contest_id, "chosen_week", monday, on), monday
    return week, None
