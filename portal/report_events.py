"""What happens after a daily report is saved, without the report service knowing who cares:
the contest ledger subscribes here to re-derive points in the same transaction."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlmodel import Session

# Modules that subscribe with @on_report_saved; imported before the first event so no
# subscriber is missed just because nothing else imported it yet.
SUBSCRIBERS = ("portal.points",)
_after_save: list[Callable[[Session, int], None]] = []


def on_report_saved(handler: Callable[[Session, int], None]) -> Callable[[Session, int], None]:
    if handler not in _after_save:
        _after_save.append(handler)
    return handler


def report_saved(session: Session, report_id: int) -> None:
    """Called by the report service inside the saving transaction."""
    for module in SUBSCRIBERS:
        importlib.import_module(module)
    for handler in list(_after_save):
        handler(session, report_id)
