"""Loads the declarative content in seed/content/ into the database, idempotently, by
stable codes. Each domain registers a loader in LOADERS; `pilot-portal init` runs them all."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

CONTENT_DIR = Path(__file__).resolve().parent / "content"
LOADERS: list[Callable[[Session], None]] = []


@lru_cache(maxsize=32)
def read(name: str) -> dict:
    """Parsed content file (cached: the files ship with the package and do not change)."""
    return tomllib.loads((CONTENT_DIR / f"{name}.toml").read_text(encoding="utf-8"))


def load_all(engine: Engine) -> None:
    with Session(engine) as session:
        for loader in LOADERS:
            loader(session)
        session.commit()
