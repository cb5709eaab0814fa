"""Column selects read into DataFrames without ORM row loading: the one reader every service
uses for bulk reads (metrics, ledgers, leaderboards, checklists)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlmodel import Session

FRAME_CHUNK = 100_000


def _column(values: list, interned: dict) -> np.ndarray:
    """One column of a fetched chunk: int64 when it holds only ints, float64 (NaN for NULL)
    for ints with NULLs, otherwise objects with equal values shared (a national ledger repeats
    a few hundred dates millions of times)."""
    first = next((v for v in values if v is not None), None)
    if type(first) is int:
        try:
            return np.array(values, dtype=np.int64)
        except TypeError:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    if type(first) is str:  # pandas stores text columns as Arrow strings anyway: nothing to share
        out[:] = values
    else:
        out[:] = [interned.setdefault(v, v) for v in values]
    return out


def _needs_conversion(stmt, dialect, description) -> bool:  # noqa: ANN001
    """Whether any selected column's type converts the driver's values (e.g. dates stored as
    text in SQLite), asked as SQLAlchemy asks it: with the type the server sent (the cursor's
    description), since e.g. a PostgreSQL float converts from `numeric` but not from `float8`."""
    for column, sent in zip(stmt.selected_columns, description or (), strict=False):
        try:
            if column.type.dialect_impl(dialect).result_processor(dialect, sent[1]) is not None:
                return True
        except TypeError:  # a type that cannot tell: assume it converts
            return True
    return False


def frame(session: Session, stmt, columns: list[str], *, params: dict | None = None,  # noqa: ANN001
          stream: bool = True) -> pd.DataFrame:
    """The rows of a column select as a DataFrame: read through Core (no ORM row loading) in
    chunks of FRAME_CHUNK rows (a server-side cursor on PostgreSQL), each chunk turned into
    compact column arrays, so memory stays near the size of the result. Handed SQLAlchemy Row
    objects directly, pandas would probe every row for namedtuple fields. Without a
    server-side cursor (SQLite, or `stream=False` for results bounded by a roster, where
    DECLARE/FETCH round trips cost more than they save) and when no column needs converting,
    the driver's own tuples are read: building Row objects costs as much as a small
    leaderboard query."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # what session.exec would autoflush
    conn = session.connection()
    streamed = stream and conn.dialect.supports_server_side_cursors
    result = conn.execute(stmt, params, execution_options={"yield_per": FRAME_CHUNK} if streamed else {})
    if streamed or _needs_conversion(stmt, conn.dialect, result.cursor.description):
        chunks = result.partitions(FRAME_CHUNK)
    else:
        cursor = result.cursor
        chunks = iter(lambda: cursor.fetchmany(FRAME_CHUNK), [])
    parts: list[list[np.ndarray]] = [[] for _ in columns]
    interned: dict = {}
    for chunk in chunks:
        # Column by column, not zip(*chunk): zip makes an iterator per row, and 40,000 fresh
        # objects set off the cyclic garbage collector over the whole heap (national board 1.6x).
        for i in range(len(columns)):
            parts[i].append(_column([row[i] for row in chunk], interned))
    result.close()
    if not parts[0]:
        return pd.DataFrame(columns=columns)
    data = {}
    for name, arrays in zip(columns, parts, strict=True):
        kinds = {a.dtype for a in arrays}
        if len(kinds) > 1:  # e.g. NULLs in one chunk only
            arrays = [a.astype(object) for a in arrays]
        values = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        if values.dtype == object and type(next((v for v in values if v is not None), None)) is str:
            values = pd.array(values, dtype="str")  # typed directly: infer_objects' scan costs 2× more
        data[name] = values
    return pd.DataFrame(data, columns=columns).infer_objects()
