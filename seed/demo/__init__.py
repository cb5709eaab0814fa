"""Deterministic demo data (fixed random seed; dates relative to today in Asia/Shanghai).

`pilot` is the default demo; `province` and `national` are for benchmarks. Each domain adds
its own step to STEPS so the demo always shows every feature.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.org import Branch
from portal import clock
from seed.demo import budget as budget_demo
from seed.demo import contests as contests_demo
from seed.demo import org, pilots
from seed.demo import playbook as playbook_demo
from seed.demo import programme as programme_demo
from seed.demo import reports as reports_demo
from seed.demo import sop as sop_demo

SEED = 20261122
DEMO_PASSWORD = "Pilot#Demo2026"


@dataclass(frozen=True)
class Scale:
    name: str
    branches: int  # city-level branches under head office
    sub_branches: int  # county/district sub-branches per branch
    outlets: int  # outlets per sub-branch
    staff_per_outlet: int
    history_days: int


SCALES = {
    "pilot": Scale("pilot", 2, 3, 4, 5, 28),
    "province": Scale("province", 10, 4, 4, 25, 90),
    "national": Scale("national", 31, 13, 4, 25, 120),
}


@dataclass
class DemoContext:
    session: Session
    rng: random.Random
    scale: Scale
    today: date
    ids: dict = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, note)


Progress = Callable[[str, float], None]
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("org", org.build),
    ("pilots", pilots.build),
    ("playbook", playbook_demo.build),
    ("budget", budget_demo.build),
    ("sop", sop_demo.build),
    ("reports", reports_demo.build),
    ("contests", contests_demo.build),
    ("programme", programme_demo.build),
]


def has_data(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(Branch.id).limit(1)).first() is not None


def build(engine: Engine, scale: str = "pilot", progress: Progress | None = None) -> list[tuple[str, str, str]]:
    """Fill an empty, migrated database. Returns the demo log-ins (role, username, note)."""
    ctx_scale = SCALES[scale]
    with Session(engine) as session:
        ctx = DemoContext(session=session, rng=random.Random(SEED), scale=ctx_scale, today=clock.today())
        for i, (name, step) in enumerate(STEPS):
            if progress:
                progress(name, i / len(STEPS))
            step(ctx)
            session.flush()
        session.commit()
        if progress:
            progress("done", 1.0)
        return ctx.logins
