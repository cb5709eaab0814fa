"""Weekly review workbook: the full export (exports.weekly.to_xlsx) against a raw openpyxl
write-only dump of the very same cells (exports.weekly.workbook_cells), with peak memory.

    python -m bench.weekly --scale province [--backend postgres]

HQ exports the last complete week twice: for the pilots running that week (the default
selection; about 40 at province scale, see seed/demo/rollout.py) and for every pilot (about
180 at province scale, 1,900 national: the worst case). Timed
without tracing: gather (portal.weekly.gather, the database read), export (to_xlsx: styles,
formats, conditional formats, charts) and raw (the same cell values appended to a write-only
workbook and saved). Peak memory: tracemalloc's peak of each step in separate runs (tracing
slows Python down, so those runs are not timed), and the process's max RSS at the end.
Target (issue 9): export within 2× the raw dump.
"""

from __future__ import annotations

import io
import resource
import tracemalloc
from collections.abc import Callable

from bench import datasets
from bench.harness import backends, machine, measure, parser, print_table, ratio, summary, write_json

TARGET_X = 2.0


def raw_dump(data: dict) -> bytes:
    """The floor: the same cells, unstyled, in openpyxl's write-only mode."""
    from openpyxl import Workbook

    from exports.weekly import workbook_cells

    wb = Workbook(write_only=True)
    for title, rows in workbook_cells(data):
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure_export(data: dict, gather: Callable[[], dict], repeat: int) -> dict:
    from exports.weekly import to_xlsx, workbook_cells

    gather_t = measure(gather, repeat=max(1, repeat // 2), warmup=0)
    size_export, size_raw = len(to_xlsx(data)), len(raw_dump(data))
    cells = sum(len(row) for _, rows in workbook_cells(data) for row in rows)
    export_t, raw_t = [], []
    for _ in range(repeat):  # interleaved: machine load hits both alike
        raw_t += measure(lambda: raw_dump(data), repeat=1, warmup=0)
        export_t += measure(lambda: to_xlsx(data), repeat=1, warmup=0)
    memory = {"gather_mb": peak_mb(gather), "export_mb": peak_mb(lambda: to_xlsx(data)),
              "raw_mb": peak_mb(lambda: raw_dump(data))}
    gather_s, export_s, raw_s = summary(gather_t), summary(export_t), summary(raw_t)
    x = ratio(export_s["median"], raw_s["median"])
    return {"pilots": len(data["pilot_ids"]), "cells": cells, "bytes_export": size_export, "bytes_raw": size_raw,
            "gather": gather_s, "export": export_s, "raw": raw_s, "export_x_raw": x,
            "end_to_end_s": gather_s["median"] + export_s["median"], "memory": memory,
            "ok": x is not None and x <= TARGET_X}


def run(scale: str, backend: str, repeat: int) -> dict:
    from sqlmodel import select

    from models.pilot import Pilot
    from portal import db, weekly
    from portal.access import CLI_ACTOR

    cases = {}
    with datasets.database(scale, backend) as url, datasets.configured(url):
        week = weekly.last_complete_week()
        every = db.run(lambda session: list(session.exec(select(Pilot.id).order_by(Pilot.id)).all()), write=False)
        for selection, ids in (("running", None), ("all", every)):
            def gather(ids=ids) -> dict:  # noqa: ANN001
                return db.run(weekly.gather, write=False, actor=CLI_ACTOR, week=week, pilot_ids=ids, lang="zh")

            cases[selection] = measure_export(gather(), gather, repeat)
    return {"scale": scale, "backend": backend, "week": week, "cases": cases, "target_x": TARGET_X,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "ok": all(c["ok"] for c in cases.values())}


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    for backend in backends(args.backend):
        info = machine(datasets.os.environ.get(datasets.PG_ENV) if backend == "postgres" else None)
        r = run(args.scale, backend, args.repeat)
        rows = [{"pilots": f"{name} ({c['pilots']})", "cells": c["cells"], "gather_s": c["gather"]["median"],
                 "export_s": c["export"]["median"], "raw_s": c["raw"]["median"], "export_x_raw": c["export_x_raw"],
                 "export_peak_mb": c["memory"]["export_mb"], "raw_peak_mb": c["memory"]["raw_mb"],
                 "gather_peak_mb": c["memory"]["gather_mb"], "ok": c["ok"]} for name, c in r["cases"].items()]
        print_table(f"weekly workbook · {args.scale} · {backend} · week {r['week']} · target export ≤ {TARGET_X:g}× "
                    f"raw dump · max RSS {r['max_rss_mb']:.0f} MB", rows,
                    ["pilots", "cells", "gather_s", "export_s", "raw_s", "export_x_raw", "export_peak_mb",
                     "raw_peak_mb", "gather_peak_mb", "ok"])
        info["loadavg_after"] = list(datasets.os.getloadavg())
        path = write_json(f"weekly-{args.scale}-{backend}", {"machine": info, **r}, out_dir=args.out)
        print(f"\n→ {path}")


if __name__ == "__main__":
    main()
