"""SOP checklists: the checklist rules (life-cycle, evidence, pilot window) in one place, and
instantiating a pilot's checklist from SOP templates — re-dating it when the pilot's dates move.
Item writes live in portal/sop_items.py, read queries in portal/sop_views.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy import and_, case
from sqlmodel import Session, col, select

from models.org import Role
from models.pilot import Pilot
from models.playbook import SopTemplate, SopTemplateItem
from models.sop import CLOSED, ChecklistItem, ItemStatus
from portal import audit, clock
from portal import text as text_rule
from portal.access import Actor, require_pilot
from portal.errors import PermissionDenied, ValidationFailed

# The default checklist of any pilot; the adopted package adds its goal SOP on top.
BASE_TEMPLATES = ("rhythm", "service_plan")
RHYTHM_KIND = "rhythm"
STEPS = (1, 2, 3, 4, 5, 6)
OWNER_ROLES = (Role.hq, Role.coach, Role.branch_lead)
OPEN = tuple(s.value for s in ItemStatus if s not in CLOSED)
MAX_NOTE, MAX_LINK, MAX_REASON, MAX_TITLE = 2000, 500, 500, 200
# A due date further than this from the pilot window is a typo, not a plan.
MAX_DAYS_OUTSIDE = 180

# Legal status moves (from → to). Same-status "moves" are no-ops handled by the caller.
MOVES: dict[str, frozenset[str]] = {
    ItemStatus.todo: frozenset({ItemStatus.doing, ItemStatus.done, ItemStatus.blocked, ItemStatus.skipped}),
    ItemStatus.doing: frozenset({ItemStatus.todo, ItemStatus.done, ItemStatus.blocked, ItemStatus.skipped}),
    ItemStatus.blocked: frozenset({ItemStatus.todo, ItemStatus.doing, ItemStatus.skipped}),
    ItemStatus.done: frozenset({ItemStatus.doing}),  # reopen
    ItemStatus.skipped: frozenset({ItemStatus.todo}),  # un-skip
}
# Moves into or out of "skipped" are HQ's; reopening a done item is HQ's or a coach's.
HQ_ONLY = frozenset({ItemStatus.skipped})
NEEDS_REASON = frozenset({ItemStatus.blocked, ItemStatus.skipped})
# What a branch lead may do with an item assigned to them.
LEAD_MOVES = frozenset({ItemStatus.doing, ItemStatus.done, ItemStatus.blocked})


def allowed_moves(actor: Actor, current: str, *, assigned: bool) -> frozenset[str]:
    """The statuses this actor may move an item to (scope aside): HQ any legal move; coaches all
    but skipping/un-skipping; branch leads start, complete or block items assigned to them."""
    moves = MOVES.get(current, frozenset())
    if not actor.is_hq:
        moves = frozenset() if current in HQ_ONLY else moves - HQ_ONLY
    if actor.role == Role.branch_lead:
        moves = moves & LEAD_MOVES if assigned else frozenset()
    elif actor.role not in (Role.hq, Role.coach):
        moves = frozenset()
    return moves


def check_move(actor: Actor, current: str, target: str, *, assigned: bool, item_id: int, action: str) -> None:
    """Refuse an illegal status move (ValidationFailed) or one this role may not make (PermissionDenied)."""
    if target not in MOVES:
        raise ValidationFailed("sop.err_status", status=target)
    if target not in MOVES[current]:
        raise ValidationFailed("sop.err_move", current=current, target=target)
    if target not in allowed_moves(actor, current, assigned=assigned):
        key = "sop.err_skip_hq" if target in HQ_ONLY or current in HQ_ONLY else "err.permission"
        raise PermissionDenied(key, action=action, entity="checklist_item", entity_id=item_id)


def clean_text(value: str | None, *, limit: int, key: str, multiline: bool = False) -> str:
    """The portal's text rule (portal.text); `key` names the too-long message."""
    return text_rule.clean(value, max_len=limit, multiline=multiline, key=key)


def clean_link(value: str | None) -> str:
    """An optional evidence link: empty, or an http(s) URL with a host."""
    link = clean_text(value, limit=MAX_LINK, key="sop.err_link")
    if not link:
        return ""
    try:
        parts = urlsplit(link)
    except ValueError as exc:
        raise ValidationFailed("sop.err_link", max=MAX_LINK) from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(c.isspace() for c in link):
        raise ValidationFailed("sop.err_link", max=MAX_LINK)
    return link


def window_warnings(pilot: Pilot, due: date) -> list[dict]:
    """A due date outside the pilot window is accepted with a warning; far outside is refused."""
    if due < pilot.start_date - timedelta(days=MAX_DAYS_OUTSIDE) or \
            due > pilot.end_date + timedelta(days=MAX_DAYS_OUTSIDE):
        raise ValidationFailed("sop.err_due_far", days=MAX_DAYS_OUTSIDE)
    if due < pilot.start_date:
        return [{"key": "sop.warn_before_start", "params": {"due": due.isoformat(),
                                                             "start": pilot.start_date.isoformat()}}]
    if due > pilot.end_date:
        return [{"key": "sop.warn_after_end", "params": {"due": due.isoformat(),
                                                          "end": pilot.end_date.isoformat()}}]
    return []


def overdue(df: pd.DataFrame, on: date) -> pd.Series:
    """Open items whose due date has passed (needs columns status, due_date)."""
    if df.empty:
        return pd.Series([], dtype=bool, index=df.index)
    # Timestamps compared as such: `.dt.date` made a Python date per item.
    return df["status"].isin(OPEN) & (pd.to_datetime(df["due_date"]) < pd.Timestamp(on))


def status_on(on: date):  # noqa: ANN201
    """An item's status as it stood at the end of `on`, as a SQL expression: an item closed
    after that day was still being worked on ("doing") then."""
    after_on = datetime.combine(on + timedelta(days=1), time(0), tzinfo=clock.SHANGHAI)
    return case((ChecklistItem.done_at >= after_on, ItemStatus.doing.value), else_=ChecklistItem.status)


def overdue_on(on: date):  # noqa: ANN201
    """overdue() as a SQL condition on the status at the end of `on`."""
    return and_(status_on(on).in_(OPEN), ChecklistItem.due_date < on)


def rate(done: int, total: int, skipped: int) -> float:
    """Completion rate: done over the items that count (skipped ones don't); 0 when none count."""
    counted = total - skipped
    return round(done / counted, 4) if counted > 0 else 0.0


def instantiate(session: Session, *, actor: Actor, pilot_id: int, template_codes: list[str]) -> int:
    """Create the pilot's checklist items from the given SOP templates; return how many were
    created. Idempotent per (pilot, template item code). Open items already on the checklist are
    re-dated to the pilot's current start date; done and skipped items are never touched."""
    pilot = require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach), action="sop.instantiate", lock=True)
    codes = list(dict.fromkeys(c.strip() for c in template_codes if c and c.strip()))
    if not codes:
        raise ValidationFailed("sop.err_no_template")
    templates = {t.code: t for t in session.exec(select(SopTemplate).where(col(SopTemplate.code).in_(codes)))}
    unknown = [c for c in codes if c not in templates]
    if unknown:
        raise ValidationFailed("sop.err_template", codes=unknown)
    existing = set(session.exec(select(ChecklistItem.template_item_code).where(
        ChecklistItem.pilot_id == pilot.id, col(ChecklistItem.template_item_code).is_not(None))).all())
    now = clock.now_utc()
    created: list[str] = []
    rows = session.exec(select(SopTemplateItem).where(col(SopTemplateItem.template_code).in_(codes))
                        .order_by(SopTemplateItem.template_code, SopTemplateItem.sort_order)).all()
    for ti in rows:
        if ti.code in existing:
            continue
        rhythm = templates[ti.template_code].kind == RHYTHM_KIND
        session.add(ChecklistItem(
            pilot_id=pilot.id, template_code=ti.template_code, template_item_code=ti.code,
            day_offset=ti.day_offset, sort_order=ti.sort_order,
            step=ti.step if rhythm and ti.step in STEPS else 0,
            step_name_zh=ti.step_name_zh, step_name_en=ti.step_name_en,
            title_zh=ti.title_zh, title_en=ti.title_en, detail_zh=ti.detail_zh, detail_en=ti.detail_en,
            due_date=pilot.start_date + timedelta(days=ti.day_offset), owner_role=ti.owner_role,
            evidence_required=ti.evidence_required, created_at=now, created_by=actor.user_id,
            updated_at=now))
        created.append(ti.code)
    redated = redate(session, pilot)
    session.flush()
    if created or redated:
        audit.record(session, actor=actor, action="sop.instantiate", entity="pilot", entity_id=pilot.id,
                     after={"templates": codes, "created": created, "redated": redated})
    return len(created)


def refresh(session: Session, *, actor: Actor, pilot_id: int) -> int:
    """Re-instantiate the templates the pilot's checklist already uses (or the base templates
    when it has none): adds template items that are missing and re-dates open items."""
    require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach), action="sop.instantiate")
    used = session.exec(select(ChecklistItem.template_code).where(
        ChecklistItem.pilot_id == pilot_id, col(ChecklistItem.template_code).is_not(None)).distinct()).all()
    return instantiate(session, actor=actor, pilot_id=pilot_id, template_codes=sorted(used) or list(BASE_TEMPLATES))


def redate(session: Session, pilot: Pilot) -> list[dict]:
    """Move every open item to pilot start + its day offset (an item's offset follows manual
    due-date edits, so those survive a move of the pilot). Done/skipped items keep their dates."""
    now = clock.now_utc()
    moved = []
    for item in session.exec(select(ChecklistItem).where(
            ChecklistItem.pilot_id == pilot.id, col(ChecklistItem.status).in_(OPEN),
            col(ChecklistItem.day_offset).is_not(None))):
        due = pilot.start_date + timedelta(days=item.day_offset)
        if item.due_date != due:
            moved.append({"id": item.id, "from": item.due_date, "to": due})
            item.due_date = due
            item.version += 1
            item.updated_at = now
            session.add(item)
    return moved
