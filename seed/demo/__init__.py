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
from seed.demo import org, pilots, rollout
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


Progress = Callable[[str, float], None]


@dataclass
class DemoContext:
    session: Session
    rng: random.Random
    scale: Scale
    today: date
    ids: dict = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, note)
    progress: Progress | None = None
    step: tuple[str, float, float] = ("", 0.0, 1.0)  # the running step: label, first and last fraction

    def tick(self, done: float, total: float) -> None:
        """Progress inside a long step (e.g. pilot `done` of `total`)."""
        label, lo, hi = self.step
        if self.progress and total:
            self.progress(label, lo + (hi - lo) * min(1.0, done / total))
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("org", org.build),
    ("pilots", pilots.build),
    ("rollout", rollout.build),
    ("playbook", playbook_demo.build),
    ("budget", budget_demo.build),
    ("sop", sop_demo.build),
    ("reports", reports_demo.build),
    ("contests", contests_demo.build),
    ("programme", programme_demo.build),
]

# Share of the progress bar per step (reports and the contest ledger dominate at scale).
STEP_WEIGHTS = {"reports": 8, "contests": 10}


def has_data(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(Branch.id).limit(1)).first() is not None


def build(engine: Engine, scale: str = "pilot", progress: Progress | None = None) -> list[tuple[str, str, str]]:
    """Fill an empty, migrated database. Returns the demo log-ins (role, username, note)."""
    ctx_scale = SCALES[scale]
    with Session(engine) as session:
        ctx = DemoContext(session=session, rng=random.Random(SEED), scale=ctx_scale, today=clock.today(),
                          progress=progress)
        weights = [STEP_WEIGHTS.get(name, 1) for name, _ in STEPS]
        done = 0
        for (name, step), weight in zip(STEPS, weights, strict=True):
            ctx.step = (name, done / sum(weights), (done + weight) / sum(weights))
            if progress:
                progress(name, ctx.step[1])
            step(ctx)
            session.flush()
            done += weight
        session.commit()
        if progress:
            progress("done", 1.0)
        return ctx.logins
