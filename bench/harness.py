"""Shared by every benchmark: timing with repeats, the machine description, the printed
table and the JSON result file under bench/results/ (git-ignored).

Every benchmark measures its floor in the same process and run and reports ratios to it, so
the figures stay meaningful on a busy shared machine; the load average before and after each
run is recorded as the noise indicator."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG_ENV = "PORTAL_BENCH_POSTGRES_URL"


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> list[float]:
    """Seconds of `repeat` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    return [timed(fn) for _ in range(repeat)]


def interleaved(fn: Callable[[], object], floor: Callable[[], object], *, repeat: int = 5,
                warmup: int = 1) -> tuple[list[float], list[float]]:
    """Seconds of `repeat` calls of `fn` and of `floor`, taken in turns (fn, floor, fn, …) so a
    change in the machine's load during the run weighs on both alike."""
    for _ in range(warmup):
        fn()
        floor()
    pairs = [(timed(fn), timed(floor)) for _ in range(repeat)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def summary(values: list[float]) -> dict:
    """median, p95 (nearest rank), min and max of a list of seconds."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "median": None, "p50": None, "p95": None, "min": None, "max": None}
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]
    median = statistics.median(ordered)
    return {"n": len(ordered), "median": median, "p50": median, "p95": p95, "min": ordered[0], "max": ordered[-1]}


def ratio(value: float | None, floor: float | None) -> float | None:
    return None if value is None or not floor else value / floor


def machine(postgres_url: str | None = None) -> dict:
    """nproc, memory, Python, SQLite and (when used) PostgreSQL versions, load average."""
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    info = {"nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "memory_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": sqlite3.sqlite_version, "postgres": None,
            "loadavg": list(os.getloadavg())}
    if postgres_url:
        from sqlalchemy import create_engine, text

        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            info["postgres"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    return info


def fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def print_table(title: str, rows: list[dict], columns: list[str]) -> None:
    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    sys.stdout.flush()


def write_json(name: str, payload: dict, *, out_dir: Path | None = None) -> Path:
    """bench/results/<name>-<UTC time>.json, plus <name>-latest.json; returns the first."""
    folder = out_dir or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = json.dumps({"benchmark": name, "written_at": stamp, "command": " ".join(sys.argv), **payload},
                      ensure_ascii=False, indent=2, default=str)
    path = folder / f"{name}-{stamp}.json"
    path.write_text(body, encoding="utf-8")
    (folder / f"{name}-latest.json").write_text(body, encoding="utf-8")
    return path


def parser(description: str, *, scales: tuple[str, ...] = ("pilot", "province", "national"),
           default_scale: str = "province") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scale", choices=scales, default=default_scale)
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite",
                   help=f"postgres needs {PG_ENV}")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median reported)")
    p.add_argument("--out", type=Path, default=None, help="folder for the JSON result (default bench/results)")
    return p


def backends(choice: str) -> list[str]:
    if choice == "both":
        return ["sqlite", "postgres"] if os.environ.get(PG_ENV) else ["sqlite"]
    if choice == "postgres" and not os.environ.get(PG_ENV):
        raise SystemExit(f"--backend postgres needs {PG_ENV}, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return [choice]
