"""Checklist item writes: status moves (with evidence and reasons), ad-hoc items, due-date and
assignee edits. The rules themselves (allowed moves, window, link format) live in portal/sop.py."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from models.org import Branch, Role, User, UserScope
from models.pilot import Pilot, PilotCoach
from models.playbook import SopTemplate, SopTemplateItem
from models.sop import CLOSED, ChecklistItem, ItemStatus
from portal import audit, clock
from portal.access import Actor, require_pilot, require_role
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.sop import (
    MAX_NOTE,
    MAX_REASON,
    MAX_TITLE,
    NEEDS_REASON,
    OWNER_ROLES,
    RHYTHM_KIND,
    STEPS,
    check_move,
    clean_link,
    clean_text,
    window_warnings,
)

VIEW_ROLES = (Role.hq, Role.coach, Role.branch_lead)
EDIT_ROLES = (Role.hq, Role.coach)
VERBS = {ItemStatus.todo: "reset", ItemStatus.doing: "start", ItemStatus.done: "complete",
         ItemStatus.blocked: "block", ItemStatus.skipped: "skip"}


def _locked_item(session: Session, actor: Actor, item_id: int, *, roles: tuple[str, ...],
                 action: str) -> tuple[ChecklistItem, Pilot]:
    require_role(actor, *roles, action=action)
    item = session.exec(select(ChecklistItem).where(ChecklistItem.id == item_id).with_for_update()).first()
    if item is None:
        raise NotFound("err.not_found", entity="checklist_item", id=item_id)
    pilot = require_pilot(session, actor, item.pilot_id, roles=roles, action=action)
    return item, pilot


def set_status(session: Session, *, actor: Actor, item_id: int, status: str, reason: str = "",
               evidence_note: str = "", evidence_link: str = "") -> dict:
    """Move an item through its life-cycle. Moving to the status it already has changes nothing
    (a double click or a second tab leaves one completion). Returns {id, status, changed}."""
    action = f"sop.{VERBS.get(status, 'move')}"
    item, _pilot = _locked_item(session, actor, item_id, roles=VIEW_ROLES, action=action)
    assigned = item.assignee_user_id is not None and item.assignee_user_id == actor.user_id
    if actor.role == Role.branch_lead and not assigned:
        raise PermissionDenied("err.permission", action=action, entity="checklist_item", entity_id=item.id)
    if item.status == status:
        return {"id": item.id, "status": item.status, "changed": False}
    check_move(actor, item.status, status, assigned=assigned, item_id=item.id, action=action)
    reason = clean_text(reason, limit=MAX_REASON, key="sop.err_reason_long", multiline=True)
    if status in NEEDS_REASON and not reason:
        raise ValidationFailed("sop.err_reason")
    note = clean_text(evidence_note, limit=MAX_NOTE, key="sop.err_note_long", multiline=True)
    link = clean_link(evidence_link)
    verb = "reopen" if item.status == ItemStatus.done else VERBS[status]
    before = audit.snapshot(item)
    now = clock.now_utc()
    if note:
        item.evidence_note = note
    if link:
        item.evidence_link = link
    if status == ItemStatus.done:
        if item.evidence_required and not item.evidence_note:
            raise ValidationFailed("sop.err_evidence")
        item.done_by, item.done_at = actor.user_id, now
    else:
        item.done_by, item.done_at = None, None
    item.reason = reason if status in NEEDS_REASON else ""
    item.status = status
    item.version += 1
    item.updated_at = now
    session.add(item)
    session.flush()
    audit.record(session, actor=actor, action=f"sop.{verb}", entity="checklist_item", entity_id=item.id,
                 before=before, after=audit.snapshot(item))
    return {"id": item.id, "status": item.status, "changed": True}


def complete(session: Session, *, actor: Actor, item_id: int, evidence_note: str = "",
             evidence_link: str = "") -> dict:
    return set_status(session, actor=actor, item_id=item_id, status=ItemStatus.done,
                      evidence_note=evidence_note, evidence_link=evidence_link)


def eligible_assignees(session: Session, pilot: Pilot) -> dict[int, str]:
    """{user id: name} of active users who can see the pilot: HQ, its coaches, and branch leads
    whose scope covers its branch. Staff never own checklist items."""
    parents = dict(session.exec(select(Branch.id, Branch.parent_id)).all())
    chain, bid = [], pilot.branch_id
    while bid is not None and bid not in chain:
        chain.append(bid)
        bid = parents.get(bid)
    coach_ids = select(PilotCoach.user_id).where(PilotCoach.pilot_id == pilot.id)
    lead_ids = select(UserScope.user_id).where(col(UserScope.branch_id).in_(chain))
    users = session.exec(select(User).where(User.active, (User.role == Role.hq)
                                            | ((User.role == Role.coach) & col(User.id).in_(coach_ids))
                                            | ((User.role == Role.branch_lead) & col(User.id).in_(lead_ids)))
                         .order_by(User.role, User.username)).all()
    return {u.id: u.display_name or u.username for u in users}


def _check_assignee(session: Session, pilot: Pilot, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    if int(user_id) not in eligible_assignees(session, pilot):
        raise ValidationFailed("sop.err_assignee")
    return int(user_id)


def _check_due(pilot: Pilot, due: object) -> list[dict]:
    if not isinstance(due, date):
        raise ValidationFailed("sop.err_due")
    return window_warnings(pilot, due)


def add_item(session: Session, *, actor: Actor, pilot_id: int, title: str, due_date: date, owner_role: str,
             detail: str = "", step: int = 0, assignee_user_id: int | None = None,
             evidence_required: bool = False) -> dict:
    """An ad-hoc item (HQ or a coach of the pilot). Returns {id, warnings}."""
    pilot = require_pilot(session, actor, pilot_id, roles=EDIT_ROLES, action="sop.add", lock=True)
    title = clean_text(title, limit=MAX_TITLE, key="sop.err_title")
    if not title:
        raise ValidationFailed("sop.err_title", max=MAX_TITLE)
    detail = clean_text(detail, limit=MAX_NOTE, key="sop.err_note_long", multiline=True)
    if owner_role not in OWNER_ROLES:
        raise ValidationFailed("sop.err_owner")
    if step not in (0, *STEPS):
        raise ValidationFailed("sop.err_step")
    warnings = _check_due(pilot, due_date)
    assignee = _check_assignee(session, pilot, assignee_user_id)
    names = session.exec(select(SopTemplateItem.step_name_zh, SopTemplateItem.step_name_en)
                         .where(SopTemplateItem.step == step, col(SopTemplateItem.template_code).in_(
                             select(SopTemplate.code).where(SopTemplate.kind == RHYTHM_KIND)))
                         ).first() if step else None
    now = clock.now_utc()
    item = ChecklistItem(pilot_id=pilot.id, day_offset=(due_date - pilot.start_date).days, step=step,
                         step_name_zh=names[0] if names else "", step_name_en=names[1] if names else "",
                         title_zh=title, title_en=title, detail_zh=detail, detail_en=detail, due_date=due_date,
                         owner_role=owner_role, assignee_user_id=assignee, evidence_required=bool(evidence_required),
                         sort_order=1000, created_at=now, created_by=actor.user_id, updated_at=now)
    session.add(item)
    session.flush()
    audit.record(session, actor=actor, action="sop.add", entity="checklist_item", entity_id=item.id,
                 after=audit.snapshot(item))
    return {"id": item.id, "warnings": warnings}


def update_item(session: Session, *, actor: Actor, item_id: int, due_date: date, assignee_user_id: int | None,
                version: int | None = None) -> dict:
    """Change an open item's due date and assignee (HQ or a coach of the pilot).
    Returns {changed, warnings}; a stale `version` (someone saved first) is a Conflict."""
    item, pilot = _locked_item(session, actor, item_id, roles=EDIT_ROLES, action="sop.update")
    if version is not None and int(version) != item.version:
        raise Conflict("sop.err_stale")
    if item.status in CLOSED:
        raise ValidationFailed("sop.err_closed")
    warnings = _check_due(pilot, due_date) if due_date != item.due_date else []
    assignee = _check_assignee(session, pilot, assignee_user_id)
    if due_date == item.due_date and assignee == item.assignee_user_id:
        return {"changed": False, "warnings": []}
    before = audit.snapshot(item)
    item.due_date = due_date
    item.day_offset = (due_date - pilot.start_date).days
    item.assignee_user_id = assignee
    item.version += 1
    item.updated_at = clock.now_utc()
    session.add(item)
    session.flush()
    audit.record(session, actor=actor, action="sop.update", entity="checklist_item", entity_id=item.id,
                 before=before, after=audit.snapshot(item))
    return {"changed": True, "warnings": warnings}
