"""Checklist reads: one pilot's grouped checklist with progress and timeline, a coach's agenda
(overdue / today / next days), and the completion and due-item tables other features reuse
(HQ portfolio, weekly review)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import case
from sqlmodel import Session, col, func, select

from models.org import User
from models.pilot import Pilot
from models.playbook import SopTemplate, SopTemplateItem
from models.sop import ChecklistItem, ItemStatus
from portal import clock
from portal.access import Actor, require_pilot, require_role, visible_pilot_ids
from portal.i18n import label
from portal.id_lists import among
from portal.sop import OPEN, RHYTHM_KIND, STEPS, allowed_moves, overdue, overdue_on, rate, status_on
from portal.sop_items import EDIT_ROLES, VIEW_ROLES, eligible_assignees

ITEM_COLUMNS = [
    "id", "pilot_id", "pilot", "group_key", "group_order", "group_kind", "group_no", "group_name", "title",
    "detail", "due_date", "owner_role", "assignee_user_id", "assignee", "status", "reason", "evidence_required",
    "evidence_note", "evidence_link", "done_by", "done_at", "done_on", "overdue", "version", "moves",
    "can_complete", "can_act",
]
COMPLETION_COLUMNS = ["pilot_id", "total", "done", "skipped", "overdue", "completion_rate"]
BUCKETS = ("overdue", "today", "soon")
CARD_COLUMNS = ["id", "pilot", "title", "due_date", "owner_role", "status", "bucket", "days_late", "evidence_required",
                "evidence_note", "assignee", "reason", "can_complete"]
DUE_COLUMNS = ["pilot_id", "pilot", "id", "group_name", "title", "due_date", "owner_role", "assignee", "status",
               "reason", "overdue", "done_by", "done_on", "evidence_note", "evidence_link"]


def _scope(session: Session, actor: Actor, pilot_ids: list[int] | None, action: str) -> list[int]:
    """The requested pilots (each scope-checked), or every pilot the actor may see."""
    require_role(actor, *VIEW_ROLES, action=action)
    if pilot_ids is None:
        visible = visible_pilot_ids(session, actor)
        return sorted(session.exec(select(Pilot.id)).all()) if visible is None else sorted(visible)
    for pid in pilot_ids:
        require_pilot(session, actor, int(pid), roles=VIEW_ROLES, action=action)
    return sorted({int(p) for p in pilot_ids})


def _group(item: ChecklistItem, templates: dict[str, SopTemplate], lang: str) -> tuple:
    """(key, order, kind, number, name): rollout steps first, then other templates, then ad hoc."""
    if item.step:
        return (f"step{item.step}", item.step, "step", item.step, label(lang, item.step_name_zh, item.step_name_en))
    tpl = templates.get(item.template_code or "")
    if tpl is not None:
        order = 10 + sorted(templates).index(tpl.code) + (0 if tpl.kind == "service_plan" else 10)
        return (f"tpl:{tpl.code}", order, "template", 0, label(lang, tpl.name_zh, tpl.name_en))
    return ("other", 99, "other", 0, "")


def _frame(session: Session, actor: Actor, pilot_ids: list[int], on: date) -> pd.DataFrame:
    if not pilot_ids:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    rows = session.exec(select(ChecklistItem, Pilot.name).join(Pilot, Pilot.id == ChecklistItem.pilot_id)
                        .where(among(ChecklistItem.pilot_id, pilot_ids))
                        .order_by(ChecklistItem.pilot_id, ChecklistItem.due_date, ChecklistItem.sort_order,
                                  ChecklistItem.id)).all()
    templates = {t.code: t for t in session.exec(select(SopTemplate)).all()}
    user_ids = {i.assignee_user_id for i, _ in rows} | {i.done_by for i, _ in rows}
    names = {u.id: u.display_name or u.username for u in session.exec(
        select(User).where(col(User.id).in_([u for u in user_ids if u is not None] or [-1]))).all()}
    lang = actor.language
    can_edit = actor.role in EDIT_ROLES
    records = []
    for item, pilot_name in rows:
        key, order, kind, number, name = _group(item, templates, lang)
        done_at = clock.to_local(item.done_at) if item.done_at else None
        assigned = item.assignee_user_id is not None and item.assignee_user_id == actor.user_id
        moves = sorted(allowed_moves(actor, item.status, assigned=assigned))
        records.append({
            "id": item.id, "pilot_id": item.pilot_id, "pilot": pilot_name, "group_key": key, "group_order": order,
            "group_kind": kind, "group_no": number, "group_name": name,
            "title": label(lang, item.title_zh, item.title_en), "detail": label(lang, item.detail_zh, item.detail_en),
            "due_date": item.due_date, "owner_role": item.owner_role, "assignee_user_id": item.assignee_user_id,
            "assignee": names.get(item.assignee_user_id, ""), "status": item.status, "reason": item.reason,
            "evidence_required": item.evidence_required, "evidence_note": item.evidence_note,
            "evidence_link": item.evidence_link, "done_by": names.get(item.done_by, ""), "done_at": done_at,
            "done_on": done_at.date() if done_at else None, "overdue": False, "version": item.version,
            "moves": moves, "can_complete": ItemStatus.done in moves, "can_act": can_edit or bool(moves),
        })
    df = pd.DataFrame(records, columns=ITEM_COLUMNS)
    df["overdue"] = overdue(df, on)
    return df


def _counts(df: pd.DataFrame) -> dict:
    total, done = len(df), int((df["status"] == ItemStatus.done).sum())
    skipped = int((df["status"] == ItemStatus.skipped).sum())
    return {"total": total, "done": done, "skipped": skipped, "overdue": int(df["overdue"].sum()),
            "rate": rate(done, total, skipped)}


def pilot_checklist(session: Session, *, actor: Actor, pilot_id: int, on: date | None = None) -> dict:
    """One pilot's checklist: items, per-group progress, overall progress and a planned-vs-done
    timeline (cumulative counts per day over the pilot window)."""
    on = on or clock.today()
    pilot = require_pilot(session, actor, pilot_id, roles=VIEW_ROLES, action="sop.view")
    items = _frame(session, actor, [pilot.id], on)
    groups = pd.DataFrame([
        {"group_key": key, "group_order": g["group_order"].iloc[0], "group_kind": g["group_kind"].iloc[0],
         "group_no": int(g["group_no"].iloc[0]), "group_name": g["group_name"].iloc[0], **_counts(g)}
        for key, g in items.groupby("group_key", sort=False)],
        columns=["group_key", "group_order", "group_kind", "group_no", "group_name", "total", "done", "skipped",
                 "overdue", "rate"]).sort_values("group_order", kind="stable")
    return {"pilot": {"id": pilot.id, "name": pilot.name, "start_date": pilot.start_date,
                      "end_date": pilot.end_date},
            "items": items, "groups": groups.reset_index(drop=True), "overall": _counts(items),
            "timeline": _timeline(items, pilot, on), "actable": _actable(items),
            "can_edit": actor.role in EDIT_ROLES}


def _actable(items: pd.DataFrame) -> dict[int, dict]:
    """{id: item} of the items the actor may act on, in the order the page offers them: open
    ones first (overdue, then by due date), then closed ones. Part of the kept read, so a
    widget click does not sort and filter the frame again."""
    rows = [r for r in items.to_dict("records") if r["can_act"]]
    rows.sort(key=lambda r: (r["status"] not in OPEN, not r["overdue"], r["due_date"]))  # stable
    return {int(r["id"]): r for r in rows}


def _timeline(items: pd.DataFrame, pilot: Pilot, on: date) -> pd.DataFrame:
    """Per day over the window (preparation days included): items planned by then (skipped ones
    excluded) and items done by then (up to today)."""
    counted = items[items["status"] != ItemStatus.skipped]
    first = min([pilot.start_date, *counted["due_date"]])
    last = max([pilot.end_date, *counted["due_date"]])
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    due, done_on = list(counted["due_date"]), [d for d in counted["done_on"] if d is not None]
    return pd.DataFrame({
        "date": days,
        "planned": [sum(1 for d in due if d <= day) for day in days],
        "done": [sum(1 for d in done_on if d <= day) if day <= on else None for day in days],
    })


def agenda(session: Session, *, actor: Actor, on: date | None = None, days: int = 3,
           mine_only: bool = False) -> dict:
    """Open items of all my pilots that are overdue, due today or due in the next `days` days,
    with counts, and progress on what is due so far (done / (done + open items due by today))."""
    on = on or clock.today()
    df = _frame(session, actor, _scope(session, actor, None, "sop.agenda"), on)
    if mine_only:
        df = df[(df["assignee_user_id"] == actor.user_id)
                | (df["assignee_user_id"].isna() & (df["owner_role"] == actor.role))]
    counted = df[(df["status"] == ItemStatus.done) | (df["status"].isin(OPEN) & (df["due_date"] <= on))]
    done = int((counted["status"] == ItemStatus.done).sum())
    open_ = df[df["status"].isin(OPEN) & (df["due_date"] <= on + timedelta(days=max(0, days)))].copy()
    open_["bucket"] = [("overdue" if d < on else "today" if d == on else "soon") for d in open_["due_date"]]
    open_["days_late"] = [(on - d).days if d < on else 0 for d in open_["due_date"]]
    records = sorted(open_[CARD_COLUMNS].to_dict("records"), key=lambda r: r["due_date"])  # most overdue first
    return {"items": open_.reset_index(drop=True),
            # the page's cards as plain records, so a click does not filter the frame again
            "cards": {b: [r for r in records if r["bucket"] == b] for b in BUCKETS},
            "counts": {b: int((open_["bucket"] == b).sum()) for b in BUCKETS},
            "done": done, "due": len(counted), "rate": rate(done, len(counted), 0)}


def completion(session: Session, *, actor: Actor, pilot_ids: list[int] | None = None,
               on: date | None = None) -> pd.DataFrame:
    """Per pilot: total, done, skipped, overdue (open and due before `on`) and completion_rate =
    done / (total - skipped). With `on` in the past, items done after `on` count as open."""
    on = on or clock.today()
    return completion_of(session, _scope(session, actor, pilot_ids, "sop.completion"), on)


def completion_of(session: Session, pilot_ids: list[int], on: date) -> pd.DataFrame:
    """completion() for pilots whose scope the caller has checked, counted in the database: the
    HQ portfolio counts every pilot's items on each visit (national scale: 90,000 items, which
    cost 0.3 s to fetch and count in pandas; one row per pilot comes back now)."""
    state = status_on(on)

    def count(condition):  # noqa: ANN001, ANN202
        return func.sum(case((condition, 1), else_=0))

    stmt = (select(ChecklistItem.pilot_id, func.count(), count(state == ItemStatus.done.value),
                   count(state == ItemStatus.skipped.value), count(overdue_on(on)))
            .where(among(ChecklistItem.pilot_id, pilot_ids)).group_by(ChecklistItem.pilot_id))
    counted = {pid: (int(t), int(d), int(k), int(o)) for pid, t, d, k, o in session.exec(stmt).all()}
    rows = [(pid, *counted.get(pid, (0, 0, 0, 0))) for pid in pilot_ids]
    out = pd.DataFrame(rows, columns=COMPLETION_COLUMNS[:-1])
    out["completion_rate"] = [rate(d, t, k) for d, t, k in zip(out["done"], out["total"], out["skipped"],
                                                                strict=True)]
    return out[COMPLETION_COLUMNS]


def items_due(session: Session, *, actor: Actor, pilot_ids: list[int] | None, start: date, end: date,
              on: date | None = None) -> pd.DataFrame:
    """Items due between `start` and `end` (inclusive) plus older items still open, with owner,
    assignee and status — the weekly review's SOP sheet."""
    if end < start:
        start, end = end, start
    on = on or clock.today()
    df = _frame(session, actor, _scope(session, actor, pilot_ids, "sop.items_due"), on)
    keep = ((df["due_date"] >= start) & (df["due_date"] <= end)) | (df["status"].isin(OPEN) & (df["due_date"] < start))
    return df[keep].sort_values(["pilot_id", "due_date", "id"])[DUE_COLUMNS].reset_index(drop=True)


def assignee_options(session: Session, *, actor: Actor, pilot_id: int) -> dict[int, str]:
    pilot = require_pilot(session, actor, pilot_id, roles=EDIT_ROLES, action="sop.assignees")
    return eligible_assignees(session, pilot)


def step_names(session: Session, *, actor: Actor) -> dict[int, str]:
    """{step: name} of the rollout rhythm's six steps, in the actor's language."""
    require_role(actor, *VIEW_ROLES, action="sop.view")
    rhythm = select(SopTemplate.code).where(SopTemplate.kind == RHYTHM_KIND)
    rows = session.exec(select(SopTemplateItem.step, SopTemplateItem.step_name_zh, SopTemplateItem.step_name_en)
                        .where(col(SopTemplateItem.template_code).in_(rhythm)).order_by(SopTemplateItem.step)).all()
    return {step: label(actor.language, zh, en) for step, zh, en in rows if step in STEPS}
