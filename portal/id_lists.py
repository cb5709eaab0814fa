"""`column IN (ids)` for long lists of ids (every pilot, every branch of a province).

An IN list is one bound parameter per id: on PostgreSQL, 2,000 ids cost SQLAlchemy and the
driver about 35 ms per query to render and send, and the HQ portfolio sends several such
queries per visit. There the list goes as a single array parameter (`= ANY(:ids)`, about 5×
cheaper); SQLite binds parameters in C and keeps the plain IN list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement


class _Among(ColumnElement[bool]):
    inherit_cache = False  # the ids are values, not structure: nothing to cache by
    type = Boolean()
    _is_implicitly_boolean = True  # a condition itself: SQLite must not get "(… IN …) = 1", which no index serves

    def __init__(self, column: Any, ids: Iterable[int]) -> None:
        self.column = column
        self.ids = sorted({int(i) for i in ids}) or [-1]  # -1: no pilot or branch has it


def among(column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """WHERE `column` is one of `ids` (an empty list matches nothing)."""
    return _Among(column, ids)


@compiles(_Among)
def _plain_in(element: _Among, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(_Among, "postgresql")
def _any_array(element: _Among, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column == any_(bindparam(None, element.ids, type_=ARRAY(Integer))), **kw)
