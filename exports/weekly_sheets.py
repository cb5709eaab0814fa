"""What each sheet of the weekly review holds: headers (zh or en), column kinds (number
formats), the rows — generators, so the Daily sheet streams — and which columns get traffic
lights, totals and a chart. exports.weekly turns these specs into a styled workbook.

Codes (phase, status, category …) are translated here; user text (pilot, staff and team
names, blockers, notes, Q&A) passes through unchanged and is written as text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from exports.xlsx import Column
from portal.i18n import translate

# Metric kinds (portal.targets.metric_catalogue) → number formats (exports.xlsx.FORMATS).
KIND_FORMATS = {"money": "yuan", "count": "int", "score": "num", "rate": "pct", "per_week": "num"}
ORDER = ("summary", "daily", "trend", "ranking", "sop", "budget", "stages", "notes")


@dataclass(frozen=True)
class ChartSpec:
    kind: str  # bar | line
    title: str
    category: int  # column index (0-based) of the category labels
    series: tuple[int, ...]  # column indexes of the series (their headers name them)
    y_title: str = ""


@dataclass
class Block:
    columns: list[Column]
    rows: Callable[[], Iterable[Sequence]]  # a fresh iterator per call (two writers may read it)
    title: str = ""
    empty: str = ""
    kinds: Callable[[Sequence], Sequence[str]] | None = None  # per-row kinds (e.g. money vs count rows)
    lights: tuple[int, ...] = ()  # ratio columns coloured green / amber / red
    footer: Callable[[int, int], list] | None = None  # (first, last data row) → a totals row
    chart: ChartSpec | None = None


@dataclass
class SheetSpec:
    key: str
    title: str
    heading: str
    blocks: list[Block] = field(default_factory=list)
    freeze: str = "A3"  # below the heading line and the first header


class _Ctx:
    def __init__(self, data: dict) -> None:
        self.data = data
        self.lang = data["lang"]
        self.names = dict(zip(data["pilots"]["pilot_id"], data["pilots"]["pilot"], strict=True))

    def t(self, key: str, **params: object) -> str:
        return translate(self.lang, f"weekly.{key}", **params)

    def code(self, prefix: str, value: object) -> str:
        return translate(self.lang, f"{prefix}.{value}") if value not in (None, "") else ""

    def yes(self, flag: object) -> str:
        return "" if flag is None or flag != flag else self.t("yes" if flag else "no")

    def col(self, key: str, kind: str = "text", width: int | None = None, **params: object) -> Column:
        return Column(self.t(f"c.{key}", **params), kind, width)

    def sheet(self, key: str, blocks: list[Block], freeze: str = "A3") -> SheetSpec:
        d = self.data
        title = self.t(f"sheet.{key}")
        heading = self.t("heading", sheet=title, week=d["week"], start=d["monday"].isoformat(),
                         end=d["sunday"].isoformat(), pilots=len(d["pilot_ids"]))
        return SheetSpec(key, title, heading, blocks, freeze)

    def pilot(self, pid: object) -> str:
        return self.names.get(pid, "")


def _subtotal(letter: str, first: int, last: int) -> str:
    return f"=SUBTOTAL(109,{letter}{first}:{letter}{last})"


# ------------------------------------------------------------------ 1 summary

def summary(c: _Ctx) -> SheetSpec:
    key = c.data["key_metric"]
    kind = KIND_FORMATS.get(key["kind"], "num")
    cols = [c.col("pilot", width=24), c.col("branch", width=18), c.col("region", width=10), c.col("phase", width=10),
            c.col("stage", width=14), c.col("day", width=10), c.col("key_week", kind, 14, metric=key["name"]),
            c.col("key_target", kind, 14, metric=key["name"]), c.col("key_ratio", "pct", 12),
            c.col("kpi_week", "pct", 14), c.col("kpi_to_date", "pct", 14), c.col("weakest", width=18),
            c.col("budget_used", "pct", 12), c.col("sop_completion", "pct", 12), c.col("overdue", "int", 10),
            c.col("missing_reports", "int", 12)]

    def rows() -> Iterator[tuple]:
        for r in c.data["summary"].itertuples(index=False):
            yield (r.pilot, r.branch, r.region, c.code("phase", r.phase), r.stage_name or c.t("not_assessed"),
                   f"{r.day}/{r.days}",
                   r.key_week, r.key_target, r.key_ratio, r.kpi_week, r.kpi_to_date, r.weakest, r.budget_used,
                   r.sop_completion, r.overdue, r.missing_reports)

    def footer(first: int, last: int) -> list:
        return [c.t("total"), None, None, None, None, None, _subtotal("G", first, last), _subtotal("H", first, last),
                None, None, None, None, None, None, _subtotal("O", first, last), _subtotal("P", first, last)]

    chart = ChartSpec("bar", c.t("chart.summary", metric=key["name"]), 0, (6, 7), key["unit"])
    block = Block(cols, rows, empty=c.t("empty.pilots"), lights=(8, 9, 10), footer=footer, chart=chart)
    return c.sheet("summary", [block], freeze="B3")


# ------------------------------------------------------------------ 2 daily

def daily(c: _Ctx) -> SheetSpec:
    d = c.data["daily"]
    catalogue = d["metrics"]
    days = [Column(f"{day:%m-%d} {c.t(f'wd.{day.weekday()}')}", "int", 11) for day in d["dates"]]
    cols = [c.col("pilot", width=24), c.col("employee_no", width=10), c.col("staff", width=12),
            c.col("outlet", width=20), c.col("metric", width=18), c.col("unit", width=8), *days,
            c.col("week_total", "int", 12)]
    text = ["text"] * 6
    kinds = {m["name"]: text + [KIND_FORMATS.get(m["kind"], "num")] * 8 for m in catalogue.values()}
    totals = {pid: group for pid, group in d["totals"].groupby("pilot_id", sort=False)}
    everyone = c.t("all_staff")

    def pilot_totals(pid: int) -> Iterator[tuple]:
        group = totals.get(pid)
        for r in ([] if group is None else group.itertuples(index=False)):
            m = catalogue.get(r.metric, {})
            yield (c.pilot(pid), "", everyone, "", m.get("name", r.metric), m.get("unit", ""),
                   r.d0, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6, r.total)

    def rows() -> Iterator[tuple]:
        current = None
        for r in d["rows"].itertuples(index=False):
            if r.pilot_id != current:
                if current is not None:
                    yield from pilot_totals(current)
                current = r.pilot_id
            m = catalogue.get(r.metric, {})
            yield (c.pilot(r.pilot_id), r.employee_no, r.staff, r.outlet, m.get("name", r.metric), m.get("unit", ""),
                   r.d0, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6, r.total)
        if current is not None:
            yield from pilot_totals(current)

    block = Block(cols, rows, empty=c.t("empty.daily"), kinds=lambda row: kinds.get(row[4], text + ["num"] * 8))
    return c.sheet("daily", [block], freeze="B3")


# ------------------------------------------------------------------ 3 trend

def trend(c: _Ctx) -> SheetSpec:
    df, key = c.data["trend"], c.data["key_metric"]
    cols = [c.col("pilot", width=24), c.col("week_no", "int", 8), c.col("from", "date", 12), c.col("to", "date", 12),
            c.col("metric", width=18), c.col("unit", width=8), c.col("target", "num", 14),
            c.col("actual", "num", 14), c.col("ratio", "pct", 10)]
    by_name = {name: KIND_FORMATS.get(kind, "num") for name, kind in zip(df["name"], df["kind"], strict=True)}

    def row_kinds(row: Sequence) -> list[str]:
        kind = by_name.get(row[4], "num")
        return ["text", "int", "date", "date", "text", "text", kind, kind, "pct"]

    def rows() -> Iterator[tuple]:
        for r in df.itertuples(index=False):
            yield c.pilot(r.pilot_id), r.week_no, r.start, r.end, r.name, r.unit, r.target, r.actual, r.ratio

    kind = KIND_FORMATS.get(key["kind"], "num")
    chart_cols = [c.col("pilot_week", width=24), c.col("actual", kind, 14), c.col("target", kind, 14)]
    chart_df = c.data["trend_chart"]

    def chart_rows() -> Iterator[tuple]:
        for r in chart_df.itertuples(index=False):
            yield c.t("week_n", n=int(r.week_no)), r.actual, r.target

    chart = ChartSpec("line", c.t("chart.trend", metric=key["name"]), 0, (1, 2), key["unit"])
    return c.sheet("trend", [
        Block(cols, rows, empty=c.t("empty.trend"), kinds=row_kinds, lights=(8,)),
        Block(chart_cols, chart_rows, title=c.t("block.trend_chart", metric=key["name"]), empty=c.t("empty.trend"),
              chart=chart),
    ], freeze="B3")


# ------------------------------------------------------------------ 4 PK ranking

def ranking(c: _Ctx) -> SheetSpec:
    people, teams = c.data["ranking"]["individual"], c.data["ranking"]["teams"]
    lead = [c.col("contest", width=20), c.col("pilot", width=24), c.col("rank", "int", 8), c.col("prev_rank", "int", 10),
            c.col("move", "move", 8)]
    person_cols = [*lead, c.col("employee_no", width=10), c.col("name", width=12), c.col("team", width=16),
                   c.col("points", "num", 10)]
    team_cols = [*lead, c.col("team", width=16), c.col("members", "int", 8), c.col("points", "num", 10),
                 c.col("per_member", "num", 10)]

    def person_rows() -> Iterator[tuple]:
        for r in people.itertuples(index=False):
            yield (r.contest, c.pilot(r.pilot_id), r.rank, r.prev_rank, r.move, r.employee_no, r.name,
                   r.team if isinstance(r.team, str) else "", r.points)

    def team_rows() -> Iterator[tuple]:
        for r in teams.itertuples(index=False):
            yield (r.contest, c.pilot(r.pilot_id), r.rank, r.prev_rank, r.move, r.team, r.members, r.points,
                   r.per_member)

    return c.sheet("ranking", [
        Block(person_cols, person_rows, title=c.t("block.individual"), empty=c.t("empty.ranking")),
        Block(team_cols, team_rows, title=c.t("block.teams"), empty=c.t("empty.teams")),
    ])


# ------------------------------------------------------------------ 5 SOP

def sop(c: _Ctx) -> SheetSpec:
    cols = [c.col("pilot", width=24), c.col("group", width=16), c.col("item", width=32), c.col("due_date", "date", 12),
            c.col("owner", width=12), c.col("assignee", width=12), c.col("status", width=10),
            c.col("overdue_flag", width=8), c.col("done_by", width=12), c.col("done_on", "date", 12),
            c.col("reason", width=30), c.col("evidence_note", width=30), c.col("evidence_link", width=30)]

    def rows() -> Iterator[tuple]:
        for r in c.data["sop"].itertuples(index=False):
            yield (c.pilot(r.pilot_id), r.group_name, r.title, r.due_date, c.code("role", r.owner_role), r.assignee,
                   c.code("sop.status", r.status), c.yes(r.overdue), r.done_by, r.done_on, r.reason, r.evidence_note,
                   r.evidence_link)

    return c.sheet("sop", [Block(cols, rows, empty=c.t("empty.sop"))])


# ------------------------------------------------------------------ 6 budget

def budget(c: _Ctx) -> SheetSpec:
    b = c.data["budget"]
    pilot_cols = [c.col("pilot", width=24), c.col("branch", width=18), c.col("cap", "yuan", 14),
                  c.col("overrides", "yuan", 14), c.col("limit", "yuan", 14), c.col("used", "yuan", 14),
                  c.col("used_pct", "pct", 10), c.col("headroom", "yuan", 14), c.col("projected", "yuan", 14),
                  c.col("overrun", "yuan", 14), c.col("level", width=8), c.col("changed_lines", "int", 10)]
    cat_cols = [c.col("category", width=24), c.col("plan", "yuan"), c.col("pending", "yuan"),
                c.col("committed", "yuan"), c.col("paid", "yuan"), c.col("actual_spend", "yuan"),
                c.col("plan_left", "yuan"), c.col("share", "pct")]
    line_cols = [c.col("pilot", width=24), c.col("category", width=18), c.col("description", width=30),
                 c.col("vendor", width=18), c.col("line_status", width=10), c.col("planned", "yuan", 14),
                 c.col("actual_spend", "yuan", 14), c.col("spend_date", "date", 12), c.col("recorded_by", width=12),
                 c.col("change"), c.col("updated_at", "datetime", 16), c.col("attachment", width=20)]

    def pilot_rows() -> Iterator[tuple]:
        for r in b["pilots"].itertuples(index=False):
            yield (r.pilot, r.branch, r.cap_yuan, r.overrides_yuan, r.limit_yuan, r.used_yuan, r.used_share,
                   r.headroom_yuan, r.projected_yuan, r.projected_overrun_yuan, c.t(f"level.{r.level}"),
                   r.changed_lines)

    def cat_rows() -> Iterator[tuple]:
        for r in b["categories"].itertuples(index=False):
            yield (c.code("budget.cat", r.category), r.plan_yuan, r.pending_yuan, r.committed_yuan, r.paid_yuan,
                   r.actual_yuan, r.plan_left_yuan, r.share)

    def line_rows() -> Iterator[tuple]:
        for r in b["lines"].itertuples(index=False):
            yield (r.pilot, c.code("budget.cat", r.category), r.description, r.vendor,
                   c.code("budget.status", r.status), r.planned_yuan, r.actual_yuan, r.spend_date, r.recorded_by,
                   c.t(f"change.{r.change}"), r.updated_at, r.attachment_ref)

    return c.sheet("budget", [
        Block(pilot_cols, pilot_rows, title=c.t("block.headroom"), empty=c.t("empty.pilots")),
        Block(cat_cols, cat_rows, title=c.t("block.categories")),
        Block(line_cols, line_rows, title=c.t("block.lines"), empty=c.t("empty.lines")),
    ])


# ------------------------------------------------------------------ 7 stages

def stages(c: _Ctx) -> SheetSpec:
    cols = [c.col("branch", width=18), c.col("pilots", width=24), c.col("stage", width=14),
            c.col("assessed_on", "date", 12), c.col("suggested", width=14), c.col("overridden", width=8),
            c.col("criteria_met", "int", 10), c.col("criteria_total", "int", 10), c.col("change_week", width=28),
            c.col("note", width=30), c.col("confirmed_by", width=12)]

    def rows() -> Iterator[tuple]:
        for r in c.data["stages"].itertuples(index=False):
            change = c.t("moved", before=r.previous or "—", after=r.stage_name) if r.change else ""
            yield (r.branch, r.pilots, r.stage_name or c.t("not_assessed"), r.assessed_on, r.suggested,
                   c.yes(r.overridden), r.criteria_met, r.criteria_total, change, r.note, r.confirmed_by)

    return c.sheet("stages", [Block(cols, rows, empty=c.t("empty.pilots"))])


# ------------------------------------------------------------------ 8 blockers and Q&A

def notes(c: _Ctx) -> SheetSpec:
    n = c.data["notes"]
    blocker_cols = [c.col("pilot", width=24), c.col("report_date", "date", 12), c.col("blockers", width=60),
                    c.col("next_steps", width=40), c.col("author", width=12)]
    qa_cols = [c.col("pilot", width=24), c.col("created_on", "date", 12), c.col("qa_category", width=14),
               c.col("question", width=40), c.col("answer", width=60), c.col("tags", width=16),
               c.col("qa_status", width=8), c.col("author", width=12)]

    def blocker_rows() -> Iterator[tuple]:
        for r in n["blockers"].itertuples(index=False):
            yield c.pilot(r.pilot_id), r.report_date, r.blockers, r.next_steps, r.author

    def qa_rows() -> Iterator[tuple]:
        for r in n["qa"].itertuples(index=False):
            yield (c.pilot(r.pilot_id), r.created_on, c.code("qa.cat", r.category), r.question, r.answer, r.tags,
                   c.code("qa.st", r.status), r.author)

    return c.sheet("notes", [
        Block(blocker_cols, blocker_rows, title=c.t("block.blockers"), empty=c.t("empty.blockers")),
        Block(qa_cols, qa_rows, title=c.t("block.qa"), empty=c.t("empty.qa")),
    ])


BUILDERS = {"summary": summary, "daily": daily, "trend": trend, "ranking": ranking, "sop": sop, "budget": budget,
            "stages": stages, "notes": notes}


def sheets(data: dict) -> list[SheetSpec]:
    """The eight sheets, in order."""
    ctx = _Ctx(data)
    return [BUILDERS[key](ctx) for key in ORDER]
