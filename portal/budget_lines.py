"""Budget lines: record, edit, move planned → committed → paid, cancel, and apply an activity
package's suggested budget. Every write locks the pilot and goes through budget.check_cap."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from models.budget import SPENT_STATUSES, BudgetCategory, BudgetLine, BudgetStatus
from models.org import Role
from models.playbook import ContentItem
from portal import audit, budget, clock
from portal import text as text_rule
from portal.access import Actor
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.i18n import label

# Where a line may go next; the one place that moves a line's status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    BudgetStatus.planned: (BudgetStatus.committed, BudgetStatus.paid, BudgetStatus.cancelled),
    BudgetStatus.committed: (BudgetStatus.paid, BudgetStatus.cancelled),
    BudgetStatus.paid: (),
    BudgetStatus.cancelled: (),
}
TEMPLATE_ROLES = (Role.hq, Role.coach)
DATE_MARGIN = timedelta(days=90)  # spends may fall a little before the start or after the end
TEXT_LIMITS = {"description": 200, "vendor": 100, "attachment_ref": 200}


def _counted(status: str, actual_fen: int) -> int:
    """What a line in `status` counts against the cap."""
    return actual_fen if status in SPENT_STATUSES else 0


def _text(actor: Actor, field: str, value: object, *, required: bool = False) -> str:
    """One line of text by the portal's rule (portal.text), with the budget's messages."""
    return text_rule.clean(value, max_len=TEXT_LIMITS[field], min_len=1 if required else 0,
                           key="budget.err_too_long", empty_key="budget.err_required",
                           field=budget.field_name(actor, field))


def _category(value: object) -> str:
    if value not in BudgetCategory.__members__:
        raise ValidationFailed("budget.err_category")
    return str(value)


def _spend_date(pilot, status: str, value: date | str | None) -> date | None:
    """Committed and paid lines carry the date the money was committed or paid (default today,
    never in the future); planned lines may carry an expected date."""
    if value in (None, ""):
        return clock.today() if status in SPENT_STATUSES else None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationFailed("budget.err_date") from exc
    if status in SPENT_STATUSES and day > clock.today():
        raise ValidationFailed("budget.err_date_future")
    if not pilot.start_date - DATE_MARGIN <= day <= pilot.end_date + DATE_MARGIN:
        raise ValidationFailed("budget.err_date_range", start=str(pilot.start_date - DATE_MARGIN),
                               end=str(pilot.end_date + DATE_MARGIN))
    return day


def _optional_amount(actor: Actor, value: object, field: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return budget.parse_amount(actor, value, field=field)


def add_line(session: Session, *, actor: Actor, pilot_id: int, category: str, description: str,
             status: str = BudgetStatus.planned, planned: object = None, actual: object = None,
             vendor: str = "", spend_date: date | str | None = None, attachment_ref: str = "") -> int:
    """A new line. Planned lines need `planned`; committed or paid lines need `actual` (their
    planned amount defaults to it). Amounts are yuan as typed ("12,345.60")."""
    pilot = budget.editable_pilot(session, actor, pilot_id, action="budget.add")
    if status not in (BudgetStatus.planned, *SPENT_STATUSES):
        raise ValidationFailed("budget.err_status")
    values = {"category": _category(category), "description": _text(actor, "description", description, required=True),
              "vendor": _text(actor, "vendor", vendor), "attachment_ref": _text(actor, "attachment_ref", attachment_ref)}
    planned_fen = _optional_amount(actor, planned, "planned")
    actual_fen = _optional_amount(actor, actual, "actual")
    if status == BudgetStatus.planned:
        if planned_fen is None:
            raise ValidationFailed("budget.err_required", field=budget.field_name(actor, "planned"))
        if actual_fen is not None:
            raise ValidationFailed("budget.err_actual_on_planned")
        actual_fen = 0
    elif actual_fen is None:
        raise ValidationFailed("budget.err_required", field=budget.field_name(actor, "actual"))
    day = _spend_date(pilot, status, spend_date)
    budget.check_cap(session, pilot, new_fen=_counted(status, actual_fen))
    now = clock.now_utc()
    line = BudgetLine(pilot_id=pilot.id, status=status, planned_fen=planned_fen or actual_fen, actual_fen=actual_fen,
                      spend_date=day, recorded_by=actor.user_id, created_at=now, updated_at=now, **values)
    session.add(line)
    session.flush()
    audit.record(session, actor=actor, action="budget.add", entity="budget_line", entity_id=line.id,
                 after=line)
    return line.id


def _locked_line(session: Session, actor: Actor, line_id: int, version: int | None, *, action: str):
    line = session.get(BudgetLine, line_id)
    if line is None:
        raise NotFound("err.not_found", entity="budget_line", id=line_id)
    pilot = budget.editable_pilot(session, actor, line.pilot_id, action=action)
    session.refresh(line)  # current state now that the pilot is locked
    if version is not None and line.version != version:
        raise Conflict("budget.err_stale")
    return pilot, line


def _save(session: Session, actor: Actor, line: BudgetLine, before: dict, *, action: str) -> None:
    line.version += 1
    line.updated_at = clock.now_utc()
    session.add(line)
    session.flush()
    audit.record(session, actor=actor, action=action, entity="budget_line", entity_id=line.id,
                 before=before, after=line)


def update_line(session: Session, *, actor: Actor, line_id: int, version: int | None = None,
                **changes: object) -> None:
    """Edit category, description, vendor, attachment reference, spend date, the planned
    amount, or (committed/paid lines) the actual amount. Paid and cancelled lines keep their
    amounts and date."""
    pilot, line = _locked_line(session, actor, line_id, version, action="budget.update")
    unknown = set(changes) - {"category", "description", "vendor", "attachment_ref", "spend_date", "planned",
                              "actual"}
    if unknown:
        raise ValidationFailed("budget.err_field", fields=sorted(unknown))
    before = audit.snapshot(line)
    closed = line.status in (BudgetStatus.paid, BudgetStatus.cancelled)
    if closed and {"planned", "actual", "spend_date"} & set(changes):
        raise ValidationFailed("budget.err_closed_line")
    if "category" in changes:
        line.category = _category(changes["category"])
    for field in ("description", "vendor", "attachment_ref"):
        if field in changes:
            setattr(line, field, _text(actor, field, changes[field], required=field == "description"))
    if "spend_date" in changes:
        line.spend_date = _spend_date(pilot, line.status, changes["spend_date"])
    if "planned" in changes:
        line.planned_fen = budget.parse_amount(actor, changes["planned"], field="planned")
    if "actual" in changes:
        if line.status not in SPENT_STATUSES:
            raise ValidationFailed("budget.err_actual_on_planned")
        new = budget.parse_amount(actor, changes["actual"], field="actual")
        budget.check_cap(session, pilot, new_fen=new, old_fen=line.actual_fen, line_id=line.id)
        line.actual_fen = new
    _save(session, actor, line, before, action="budget.update")


def advance_line(session: Session, *, actor: Actor, line_id: int, to_status: str, version: int | None = None,
                 actual: object = None, spend_date: date | str | None = None) -> None:
    """Move a line along planned → committed → paid (or to cancelled). Committing takes the
    actual amount (default: the planned one); paying may correct it to the invoice."""
    pilot, line = _locked_line(session, actor, line_id, version, action="budget.advance")
    if to_status not in TRANSITIONS.get(line.status, ()):
        raise ValidationFailed("budget.err_transition")
    before = audit.snapshot(line)
    if to_status == BudgetStatus.cancelled:
        line.status = to_status
        _save(session, actor, line, before, action="budget.cancel")
        return
    new = _optional_amount(actor, actual, "actual")
    if new is None:
        new = line.actual_fen if line.status in SPENT_STATUSES else line.planned_fen
    if line.status == BudgetStatus.planned or spend_date not in (None, ""):
        line.spend_date = _spend_date(pilot, to_status, spend_date)
    budget.check_cap(session, pilot, new_fen=new, old_fen=_counted(line.status, line.actual_fen),
                     line_id=line.id)
    line.status, line.actual_fen = to_status, new
    _save(session, actor, line, before, action="budget.advance")


def cancel_line(session: Session, *, actor: Actor, line_id: int, version: int | None = None) -> None:
    advance_line(session, actor=actor, line_id=line_id, to_status=BudgetStatus.cancelled, version=version)


def package_lines(session: Session, code: str) -> list[dict]:
    item = session.exec(select(ContentItem).where(ContentItem.kind == "package", ContentItem.code == code)).first()
    if item is None:
        raise ValidationFailed("budget.err_package", code=code)
    return list(item.data.get("budget", []))


def apply_package_template(session: Session, *, actor: Actor, pilot_id: int, package_code: str | None = None) -> int:
    """Add the package's suggested budget as planned lines (default: the pilot's adopted
    package). Idempotent: lines already taken from the template are not added again, even
    if they were cancelled since. Returns how many lines were added."""
    pilot = budget.editable_pilot(session, actor, pilot_id, action="budget.template", roles=TEMPLATE_ROLES)
    code = package_code or pilot.package_code
    if not code:
        raise ValidationFailed("budget.err_no_package")
    suggested = package_lines(session, code)
    keys = {f"{code}#{i}": item for i, item in enumerate(suggested)}
    taken = set(session.exec(select(BudgetLine.template_key).where(
        BudgetLine.pilot_id == pilot.id, col(BudgetLine.template_key).in_(list(keys) or ["-"]))).all())
    now = clock.now_utc()
    added = []
    for key, item in keys.items():
        if key in taken:
            continue
        line = BudgetLine(pilot_id=pilot.id, category=_category(item["category"]),
                          description=label(actor.language, item["description_zh"], item.get("description_en", ""))[:200],
                          planned_fen=budget.parse_amount(actor, item["amount_yuan"], field="planned"),
                          status=BudgetStatus.planned, recorded_by=actor.user_id, template_key=key,
                          created_at=now, updated_at=now)
        session.add(line)
        session.flush()
        added.append(audit.snapshot(line))
    if added:
        audit.record(session, actor=actor, action="budget.template", entity="pilot", entity_id=pilot.id,
                     after={"package": code, "lines": added})
    return len(added)
