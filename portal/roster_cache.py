"""Who takes part in a contest, by name: the part of a leaderboard that does not change from
one rerun to the next. Kept 30 s per database and contest, shared by every viewer (names and
employee numbers are shown on the shared board anyway; name hiding runs per viewer later).

A national board ranks 40,000 people; turning their names into Python strings costs about as
much as the ranking itself, so the ranking query reads numbers only and takes the names from
here. A participant missing from a kept roster (just added) makes it reload at once; a
renamed participant shows the new name within the TTL."""

from __future__ import annotations

import threading
import time
import weakref

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.contests import ContestParticipant
from models.org import Staff
from portal.query_frame import frame

TTL_SECONDS = 30

_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, pd.DataFrame]]] = weakref.WeakKeyDictionary()


def _read(session: Session, contest_id: int) -> pd.DataFrame:
    """Participants ordered by employee number: `order` is the tie-break of every board."""
    stmt = (select(ContestParticipant.staff_id, Staff.employee_no, Staff.name)
            .join(Staff, Staff.id == ContestParticipant.staff_id)
            .where(ContestParticipant.contest_id == contest_id)
            .order_by(Staff.employee_no, ContestParticipant.staff_id))
    df = frame(session, stmt, ["staff_id", "employee_no", "name"], stream=False)
    df["order"] = np.arange(len(df))
    return df.set_index("staff_id")


def positions(session: Session, contest_id: int, staff_ids: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The contest's roster and the row of each of `staff_ids` in it."""
    engine = session.get_bind()
    now = time.monotonic()
    with _lock:
        kept = _kept.setdefault(engine, {}).get(contest_id)
    if kept is not None and now - kept[0] < TTL_SECONDS:
        roster = kept[1]
        rows = roster.index.get_indexer(staff_ids)
        if len(rows) == 0 or rows.min() >= 0:
            return roster, rows
    roster = _read(session, contest_id)
    with _lock:
        _kept.setdefault(engine, {})[contest_id] = (now, roster)
    return roster, roster.index.get_indexer(staff_ids)


def forget() -> None:
    """Drop every kept roster (tests; after bulk changes to staff)."""
    with _lock:
        _kept.clear()
