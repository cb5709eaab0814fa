"""The playbook pack: a package (or a pilot's actual configuration) as a workbook with the
sheets overview, flow, scripts, SOP and KPIs & targets, or as printable Markdown.
Pure functions from the data of portal.playbook.pack to bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from exports import markdown as md
from exports.xlsx import Column, add_table_sheet, new_workbook, to_bytes
from portal.i18n import translate

SHEETS = ("overview", "flow", "scripts", "sop", "kpis")


def _t(lang: str) -> Callable[..., str]:
    return lambda key, **kw: translate(lang, f"playbook.x.{key}", **kw)


def _yes(lang: str, flag: bool) -> str:
    return _t(lang)("yes" if flag else "no")


def overview_rows(pack: dict) -> Iterator[tuple[str, str]]:
    """(field, value) pairs: the pilot's set-up, then each package and flow in words."""
    lang = pack["language"]
    t = _t(lang)
    pilot = pack.get("pilot")
    if pilot:
        yield t("f.pilot"), pilot["name"]
        yield t("f.branch"), pilot["branch"]
        yield t("f.period"), f"{pilot['start_date']} – {pilot['end_date']}"
        yield t("f.phase"), translate(lang, f"phase.{pilot['phase']}")
        for key in ("wecom_status", "goal", "segment", "sub_segment"):
            yield t(f"f.{key}"), pilot[key]
    for p in pack["packages"]:
        yield t("f.package"), p["name"]
        yield t("f.principle"), p["principle"]
        yield t("f.tactic"), p["tactic"]
        if p.get("sub_segment_note"):
            yield t("f.sub_note"), p["sub_segment_note"]
        yield t("f.materials"), "；".join(p["materials"])
        for line in p.get("budget", []):
            yield (t("f.budget", category=translate(lang, f"playbook.budget.{line['category']}")),
                   f"{line['description']}：¥{line['amount_yuan']:,}")
    for f in pack["flows"]:
        yield t("f.flow"), f["name"]
        for scene in f.get("scene", []):
            yield t("f.scene"), f"{scene['name']}：{scene['description']}"


def _sources(pack: dict) -> list[dict]:
    return [*pack["flows"], *pack["packages"]]


def flow_rows(pack: dict) -> Iterator[tuple]:
    for src in _sources(pack):
        for i, step in enumerate(src.get("step", []), start=1):
            yield src["name"], i, step["day_offset"], step.get("date"), step["title"], step["detail"]


def script_rows(pack: dict) -> Iterator[tuple]:
    for src in _sources(pack):
        for s in src.get("script", []):
            yield src["name"], s["title"], s["text"], s["code"]


def sop_rows(pack: dict) -> Iterator[tuple]:
    lang = pack["language"]
    for item in pack["sop"]:
        status = _t(lang)(f"status.{item['status']}") if item.get("status") else ""
        yield (item["template_code"], item.get("step_name", ""), item["title"], item.get("detail", ""),
               translate(lang, f"role.{item['owner_role']}"), _yes(lang, item["evidence_required"]),
               item.get("day_offset"), item.get("due_date"), status)


def kpi_rows(pack: dict) -> Iterator[tuple]:
    """Rates are shown in percent; actual stays empty until reports provide it."""
    lang = pack["language"]
    for k in pack["kpis"]:
        pct = k["kind"] == "rate"
        target = None if k["value"] is None else (k["value"] * 100 if pct else k["value"])
        actual = None if k["actual"] is None else (k["actual"] * 100 if pct else k["actual"])
        yield (k["package"], k["name"], "%" if pct else k["unit"], _t(lang)(f"basis.{k['basis']}"),
               k["week"] if k["week"] else None, target, _t(lang)(f"source.{k['source']}"), actual)


def columns(lang: str) -> dict[str, list[Column]]:
    t = _t(lang)
    return {
        "overview": [Column(t("c.field"), width=22), Column(t("c.value"), width=90)],
        "flow": [Column(t("c.source"), width=30), Column(t("c.no"), "int", 8), Column(t("c.day_offset"), "int"),
                 Column(t("c.date"), "date", 12), Column(t("c.title"), width=28), Column(t("c.detail"), width=80)],
        "scripts": [Column(t("c.source"), width=30), Column(t("c.title"), width=24), Column(t("c.text"), width=100),
                    Column(t("c.code"), width=36)],
        "sop": [Column(t("c.template"), width=22), Column(t("c.step"), width=16), Column(t("c.title"), width=30),
                Column(t("c.detail"), width=70), Column(t("c.owner")), Column(t("c.evidence"), width=10),
                Column(t("c.day_offset"), "int"), Column(t("c.due_date"), "date", 12), Column(t("c.status"))],
        "kpis": [Column(t("c.package"), width=26), Column(t("c.metric"), width=22), Column(t("c.unit"), width=8),
                 Column(t("c.basis")), Column(t("c.week"), "int", 8), Column(t("c.target"), "num", 14),
                 Column(t("c.source_kind")), Column(t("c.actual"), "num", 14)],
    }


ROWS = {"overview": overview_rows, "flow": flow_rows, "scripts": script_rows, "sop": sop_rows, "kpis": kpi_rows}


def to_xlsx(pack: dict) -> bytes:
    lang = pack["language"]
    t = _t(lang)
    wb = new_workbook()
    cols = columns(lang)
    for sheet in SHEETS:
        add_table_sheet(wb, t(f"sheet.{sheet}"), cols[sheet], ROWS[sheet](pack), note=t("empty"))
    return to_bytes(wb)


def to_markdown(pack: dict) -> bytes:
    lang = pack["language"]
    t = _t(lang)
    pilot = pack.get("pilot")
    title = t("title_pilot", name=pilot["name"]) if pilot else t("title")
    cols = columns(lang)
    parts = [md.heading(1, title), md.table([c.header for c in cols["overview"]], overview_rows(pack))]
    for sheet in SHEETS[1:]:
        headers = [c.header for c in cols[sheet]]
        parts += [md.heading(2, t(f"sheet.{sheet}")), md.table(headers, ROWS[sheet](pack))]
    return md.document(parts)
