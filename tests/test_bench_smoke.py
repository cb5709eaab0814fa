"""Every benchmark runs end to end at the smallest (pilot) scale, so none of them can rot: the
command line, the floor, the table and the JSON result. Not a measurement — the figures come
from `python -m bench.<name>` (docs/PERFORMANCE.md). Plus the per-report totals the metrics
engine reads, which database triggers keep equal to the daily entries."""

from __future__ import annotations

import json
import os
import sys
from datetime import date

import pytest
from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from bench import datasets
from models.reports import DailyEntry, DailyReport, PilotTotal, ReportTotal
from portal import clock
from tests import factories


@pytest.fixture
def bench_db(demo_template, monkeypatch, tmp_path):
    """The benchmarks' pilot-scale database is the test run's demo template (built once)."""
    monkeypatch.setattr(datasets, "sqlite_file", lambda scale, progress=None: demo_template)
    monkeypatch.delenv(datasets.PG_ENV, raising=False)
    return tmp_path


def run_main(module, argv: list[str], monkeypatch, out) -> dict:  # noqa: ANN001
    monkeypatch.setattr(sys, "argv", [module.__name__, "--scale", "pilot", "--out", str(out), *argv])
    module.main()
    name = module.__name__.split(".")[-1]
    written = sorted(out.glob(f"*{name}*-latest.json")) or sorted(out.glob("*-latest.json"))
    assert written, f"{name} wrote no JSON"
    return json.loads(written[-1].read_text(encoding="utf-8"))


def test_pages_bench(bench_db, monkeypatch, capsys):
    from bench import pages

    result = run_main(pages, ["--repeat", "1", "--page", "account", "--page", "my_ranking"], monkeypatch, bench_db)
    cases = {(c["page"], c["role"]): c for c in result["cases"]}
    assert set(cases) == {("account", r) for r in ("hq", "coach", "branch_lead", "staff")} | {("my_ranking", "staff")}
    assert all(not c["errors"] and c["warm"]["median"] > 0 and c["warm_x_shell"] for c in cases.values())
    assert result["floor_s"] > 0 and set(result["shell_floor"]) == {"hq", "coach", "branch_lead", "staff"}
    assert "page reruns" in capsys.readouterr().out


def test_leaderboard_bench(bench_db, monkeypatch):
    from bench import leaderboard

    result = run_main(leaderboard, ["--repeat", "1"], monkeypatch, bench_db)
    assert [c["period"] for c in result["cases"]] == ["today", "week", "contest"]
    assert all(c["same_result"] and c["rows"] == result["participants"] > 0 for c in result["cases"])
    assert all(c["standings_cold_roster"]["median"] > 0 and c["cold_roster_x"] > 0 for c in result["cases"])


def test_weekly_bench(bench_db, monkeypatch):
    from bench import weekly

    result = run_main(weekly, ["--repeat", "1"], monkeypatch, bench_db)
    assert set(result["cases"]) == {"running", "all"}
    every = result["cases"]["all"]
    assert every["pilots"] >= 6 and every["cells"] > 0 and every["memory"]["export_mb"] > 0


def test_dataload_bench(bench_db, monkeypatch):
    from bench import dataload

    result = run_main(dataload, ["--repeat", "1"], monkeypatch, bench_db)
    assert result["build"]["rows"]["daily_entry"] > 0 and result["build"]["floor_s"] > 0
    assert result["import"]["rows"] > 500 and result["import"]["ok"]


def test_viewers_bench(bench_db, monkeypatch):
    from bench import viewers

    why = viewers.available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must be able to run the browser benchmark: {why}")
        pytest.skip(why)
    result = run_main(viewers, ["--sizes", "1", "--rounds", "1"], monkeypatch, bench_db)
    assert set(result["pages"]) == {"quick", "portal"}
    assert len(result["samples"]["floor"]["1"]) == len(result["samples"]["portal_floor"]["1"]) == 1
    for kind, page in result["pages"].items():
        assert [r["n"] for r in page["sizes"]] == [1]
        assert len(result["samples"][kind]["1"]) == 1 and page["sizes"][0]["content"]["p95"] > 0
        assert page["sizes"][0]["server_s"] <= page["sizes"][0]["machine_s"]  # the server's share of the CPU
    assert result["pages"]["portal"]["sizes"][0]["server_s"] > 0


def test_report_totals_follow_daily_entries(engine):
    """report_total = SUM(daily_entry.value) per report and metric, pilot_total the same per
    pilot over all its reports, after inserts, updates and deletes by any writer (triggers from
    migrations 0005 and 0006), on SQLite and PostgreSQL."""
    ids = factories.org(engine)
    pilot = factories.pilot(engine, ids["subs"][0], start=date(2026, 11, 2))
    other = factories.pilot(engine, ids["subs"][1], start=date(2026, 11, 2))
    a, b = ids["staff"]["A"][:2]
    with Session(engine) as s:
        reports = [DailyReport(pilot_id=pid, report_date=day, created_at=clock.now_utc(), updated_at=clock.now_utc())
                   for pid, day in ((pilot, date(2026, 11, 3)), (pilot, date(2026, 11, 4)), (other, date(2026, 11, 3)))]
        s.add_all(reports)
        s.flush()
        rid, second, elsewhere = (r.id for r in reports)
        s.execute(insert(DailyEntry), [{"report_id": rid, "staff_id": a, "metric": "wecom_adds", "value": 5},
                                       {"report_id": rid, "staff_id": b, "metric": "wecom_adds", "value": 7},
                                       {"report_id": rid, "staff_id": a, "metric": "valid_adds", "value": 4},
                                       {"report_id": second, "staff_id": a, "metric": "wecom_adds", "value": 3},
                                       {"report_id": elsewhere, "staff_id": a, "metric": "wecom_adds", "value": 100}])
        s.commit()

        def totals() -> dict:
            return dict(s.exec(select(ReportTotal.metric, ReportTotal.value).where(ReportTotal.report_id == rid)).all())

        def pilot_totals(pid: int = pilot) -> dict:
            return dict(s.exec(select(PilotTotal.metric, PilotTotal.value).where(PilotTotal.pilot_id == pid)).all())

        assert totals() == {"wecom_adds": 12, "valid_adds": 4}
        assert pilot_totals() == {"wecom_adds": 15, "valid_adds": 4} and pilot_totals(other) == {"wecom_adds": 100}
        s.execute(update(DailyEntry).where(DailyEntry.staff_id == b, DailyEntry.metric == "wecom_adds").values(value=1))
        s.commit()
        assert totals() == {"wecom_adds": 6, "valid_adds": 4}
        assert pilot_totals() == {"wecom_adds": 9, "valid_adds": 4}
        s.execute(delete(DailyEntry).where(DailyEntry.staff_id == a, DailyEntry.report_id != elsewhere))
        s.commit()
        assert totals() == {"wecom_adds": 1, "valid_adds": 0}
        assert pilot_totals() == {"wecom_adds": 1, "valid_adds": 0} and pilot_totals(other) == {"wecom_adds": 100}
        s.execute(delete(DailyEntry))
        s.execute(delete(DailyReport))
        s.commit()
        assert s.exec(select(ReportTotal)).all() == []
        assert pilot_totals() == {"wecom_adds": 0, "valid_adds": 0} and pilot_totals(other) == {"wecom_adds": 0}


def test_demo_build_fills_the_running_totals(demo_db):
    """The bulk load sets the triggers aside on SQLite (seed/demo/bulk.py): the totals it fills
    itself must equal what the triggers would have kept."""
    from sqlalchemy import func

    with Session(demo_db) as s:
        per_report = dict(((r, m), v) for r, m, v in s.exec(
            select(DailyEntry.report_id, DailyEntry.metric, func.sum(DailyEntry.value))
            .group_by(DailyEntry.report_id, DailyEntry.metric)).all())
        assert dict(((r, m), v) for r, m, v in s.exec(select(ReportTotal.report_id, ReportTotal.metric,
                                                             ReportTotal.value)).all()) == per_report
        per_pilot = dict(((p, m), v) for p, m, v in s.exec(
            select(DailyReport.pilot_id, DailyEntry.metric, func.sum(DailyEntry.value))
            .join(DailyReport, DailyReport.id == DailyEntry.report_id)
            .group_by(DailyReport.pilot_id, DailyEntry.metric)).all())
        assert per_pilot and dict(((p, m), v) for p, m, v in s.exec(
            select(PilotTotal.pilot_id, PilotTotal.metric, PilotTotal.value)).all()) == per_pilot
