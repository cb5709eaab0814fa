"""Contest set-up and who may see or run which contest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import urlparse

import pandas as pd
from sqlmodel import Session, col, select

from models.contests import Contest, ContestBranch, ContestParticipant, ContestRule, ContestTeam
from models.org import Branch, Role, Staff
from models.playbook import ContentItem, Metric
from portal import audit, clock
from portal import text as text_rule
from portal.access import Actor, coach_pilot_ids, require_pilot, require_role, subtree
from portal.errors import NotFound, PermissionDenied, ValidationFailed

KINDS = ("individual", "team", "head_to_head")
MAX_POINTS_C = 1_000_000  # 10,000 points: a sanity bound for any single rule or award


def to_centi(value: object, *, field: str) -> int:
    try:
        number = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any unparsable input is the same user error
        raise ValidationFailed("contests.err_points", field=field) from exc
    if not number.is_finite() or number < 0 or number * 100 != (number * 100).to_integral_value():
        raise ValidationFailed("contests.err_points", field=field)
    centi = int(number * 100)
    if centi > MAX_POINTS_C:
        raise ValidationFailed("contests.err_points", field=field)
    return centi


def template(session: Session) -> dict:
    """The default contest from the guide (seed/content/contest_rules.toml, as loaded)."""
    item = session.exec(select(ContentItem).where(ContentItem.kind == "contest_template",
                                                  ContentItem.code == "default")).one()
    return item.data


# ---------------------------------------------------------------- visibility


def _branch_scope(session: Session, contest_id: int) -> set[int]:
    roots = set(session.exec(select(ContestBranch.branch_id).where(ContestBranch.contest_id == contest_id)))
    return set(subtree(session, roots))


def can_view(session: Session, actor: Actor, contest: Contest) -> bool:
    if actor.is_hq:
        return True
    if actor.role == Role.coach:
        return contest.pilot_id is not None and contest.pilot_id in coach_pilot_ids(session, actor.user_id)
    if actor.role == Role.branch_lead:
        return bool(_branch_scope(session, contest.id) & actor.branch_ids)
    if actor.role == Role.staff and actor.staff_id is not None:
        return session.get(ContestParticipant, (contest.id, actor.staff_id)) is not None
    return False


def require_contest(session: Session, actor: Actor | None, contest_id: int, *, manage: bool = False,
                    action: str = "contests.view") -> Contest:
    """The contest if the actor may see it (and, with `manage`, run it: HQ or the pilot's coach)."""
    require_role(actor, Role.hq, Role.coach, Role.branch_lead, Role.staff, action=action)
    contest = session.get(Contest, contest_id)
    if contest is None:
        raise NotFound("err.not_found", entity="contest", id=contest_id)
    allowed = can_view(session, actor, contest)
    if manage:
        allowed = actor.is_hq or (actor.role == Role.coach and allowed)
    if not allowed:
        raise PermissionDenied("err.scope", action=action, entity="contest", entity_id=contest_id)
    return contest


def list_contests(session: Session, *, actor: Actor) -> pd.DataFrame:
    require_role(actor, Role.hq, Role.coach, Role.branch_lead, Role.staff, action="contests.list")
    rows = [c for c in session.exec(select(Contest).order_by(col(Contest.start_date).desc())).all()
            if can_view(session, actor, c)]
    return pd.DataFrame([{"id": c.id, "name": c.name, "kind": c.kind, "status": c.status,
                          "start_date": c.start_date, "end_date": c.end_date, "pilot_id": c.pilot_id}
                         for c in rows], columns=["id", "name", "kind", "status", "start_date", "end_date",
                                                  "pilot_id"])


def contest_choices(session: Session, *, actor: Actor) -> dict[int, str]:
    df = list_contests(session, actor=actor)
    return {int(r.id): r.name for r in df.itertuples()}


def contest_info(session: Session, *, actor: Actor, contest_id: int) -> dict:
    contest = require_contest(session, actor, contest_id)
    rules = session.exec(select(ContestRule).where(ContestRule.contest_id == contest_id)
                         .order_by(ContestRule.id)).all()
    names = dict(session.exec(select(Metric.code, Metric.name_zh)).all())
    names_en = dict(session.exec(select(Metric.code, Metric.name_en)).all())
    manage = actor.is_hq or (actor.role == Role.coach and can_view(session, actor, contest))
    return {
        "id": contest.id, "name": contest.name, "description": contest.description, "kind": contest.kind,
        "status": contest.status, "start_date": contest.start_date, "end_date": contest.end_date,
        "pilot_id": contest.pilot_id, "show_names_top": contest.show_names_top,
        "person_daily_cap": contest.person_daily_cap_c / 100,
        "approval_threshold": contest.approval_threshold_c / 100,
        "webhook": mask_webhook(contest.webhook_url) if manage else None, "can_manage": manage,
        "rules": [{"metric": r.metric, "metric_zh": names.get(r.metric, r.metric),
                   "metric_en": names_en.get(r.metric, r.metric), "points_per_unit": r.points_per_unit_c / 100,
                   "unit_size": r.unit_size, "daily_cap": r.daily_cap_c / 100, "valid_only": r.valid_only}
                  for r in rules],
    }


# ---------------------------------------------------------------- set-up


def _validate_rules(session: Session, rules: list[dict]) -> list[ContestRule]:
    staff_metrics = set(session.exec(select(Metric.code).where(Metric.level == "staff")).all())
    if not rules:
        raise ValidationFailed("contests.err_no_rules")
    out, seen = [], set()
    for i, rule in enumerate(rules, start=1):
        metric = rule.get("metric")
        if metric not in staff_metrics:
            raise ValidationFailed("contests.err_rule_metric", row=i, metric=metric)
        if metric in seen:
            raise ValidationFailed("contests.err_rule_duplicate", row=i, metric=metric)
        seen.add(metric)
        unit = rule.get("unit_size", 1)
        if not isinstance(unit, int) or isinstance(unit, bool) or not 1 <= unit <= 100_000_000:
            raise ValidationFailed("contests.err_unit", row=i)
        out.append(ContestRule(metric=metric, unit_size=unit,
                               points_per_unit_c=to_centi(rule.get("points_per_unit", 0), field=f"#{i}"),
                               daily_cap_c=to_centi(rule.get("daily_cap_points", 0) or 0, field=f"#{i}"),
                               valid_only=bool(rule.get("valid_only", False))))
    return out


def create_contest(session: Session, *, actor: Actor, name: str, start_date: date, end_date: date,
                   pilot_id: int | None = None, branch_ids: list[int] | None = None,
                   kind: str = "individual", rules: list[dict] | None = None, description: str = "",
                   person_daily_cap: object = None, approval_threshold: object = None,
                   show_names_top: int = 10, teams: str = "outlet") -> int:
    """HQ (any scope, e.g. a scale-out wave of branches) or a coach for their own pilot.
    Without `rules` the guide's default rules apply."""
    if pilot_id is not None:
        pilot = require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach), action="contests.create")
        branch_ids = [pilot.branch_id]
    else:
        require_role(actor, Role.hq, action="contests.create")
    name = text_rule.clean(name, max_len=100, min_len=1, key="contests.err_name")
    if kind not in KINDS:
        raise ValidationFailed("contests.err_kind")
    if end_date < start_date or (end_date - start_date).days > 366:
        raise ValidationFailed("contests.err_dates")
    if not branch_ids:
        raise ValidationFailed("contests.err_scope")
    if not 0 <= int(show_names_top) <= 1000:
        raise ValidationFailed("contests.err_show_top")
    defaults = template(session)
    rule_rows = _validate_rules(session, rules if rules is not None else defaults["rule"])
    contest = Contest(
        name=name, description=(description or defaults["contest"]["description_zh"])[:1000], pilot_id=pilot_id,
        kind=kind, start_date=start_date, end_date=end_date, show_names_top=int(show_names_top),
        person_daily_cap_c=to_centi(defaults["person_daily_cap"] if person_daily_cap is None else person_daily_cap,
                                    field="person_daily_cap"),
        approval_threshold_c=to_centi(defaults["manual_award_approval_threshold"] if approval_threshold is None
                                      else approval_threshold, field="approval_threshold"),
        created_by=actor.user_id, created_at=clock.now_utc())
    session.add(contest)
    session.flush()
    for bid in sorted(set(branch_ids)):
        if session.get(Branch, bid) is None:
            raise ValidationFailed("contests.err_scope")
        session.add(ContestBranch(contest_id=contest.id, branch_id=bid))
    for rule in rule_rows:
        rule.contest_id = contest.id
        session.add(rule)
    session.flush()
    refresh_participants(session, contest, teams=teams)
    audit.record(session, actor=actor, action="contests.create", entity="contest", entity_id=contest.id,
                 after={**audit.snapshot(contest), "branches": sorted(set(branch_ids)),
                        "rules": [audit.snapshot(r) for r in rule_rows]})
    return contest.id


def refresh_participants(session: Session, contest: Contest, *, teams: str = "outlet") -> int:
    """Active staff of the contest's branches take part; with `teams="outlet"` each outlet is
    a team. Existing participants keep their custom team."""
    scope = _branch_scope(session, contest.id)
    staff = session.exec(select(Staff).where(col(Staff.branch_id).in_(scope or {-1}), Staff.active)).all()
    team_of_outlet: dict[int, int] = {}
    if teams == "outlet":
        existing = {t.outlet_id: t.id for t in session.exec(
            select(ContestTeam).where(ContestTeam.contest_id == contest.id)).all()}
        names = dict(session.exec(select(Branch.id, Branch.name).where(
            col(Branch.id).in_({s.branch_id for s in staff} or {-1}))).all())
        for outlet_id in sorted({s.branch_id for s in staff}):
            if outlet_id not in existing:
                team = ContestTeam(contest_id=contest.id, name=names[outlet_id], outlet_id=outlet_id)
                session.add(team)
                session.flush()
                existing[outlet_id] = team.id
        team_of_outlet = existing
    added = 0
    for s in staff:
        if session.get(ContestParticipant, (contest.id, s.id)) is None:
            session.add(ContestParticipant(contest_id=contest.id, staff_id=s.id,
                                           team_id=team_of_outlet.get(s.branch_id)))
            added += 1
    session.flush()
    return added


def update_contest(session: Session, *, actor: Actor, contest_id: int, show_names_top: int | None = None,
                   status: str | None = None, name: str | None = None) -> None:
    contest = require_contest(session, actor, contest_id, manage=True, action="contests.update")
    before = audit.snapshot(contest)
    if show_names_top is not None:
        require_role(actor, Role.hq, action="contests.hide_names")
        if not 0 <= int(show_names_top) <= 1000:
            raise ValidationFailed("contests.err_show_top")
        contest.show_names_top = int(show_names_top)
    if status is not None:
        if status not in ("active", "closed"):
            raise ValidationFailed("contests.err_status")
        contest.status = status
    if name is not None:
        contest.name = text_rule.clean(name, max_len=100, min_len=1, key="contests.err_name")
    session.add(contest)
    audit.record(session, actor=actor, action="contests.update", entity="contest", entity_id=contest.id,
                 before=before, after=audit.snapshot(contest))


def set_webhook(session: Session, *, actor: Actor, contest_id: int, url: str) -> None:
    """Store the WeCom group-robot URL; it is never shown again in full nor audited."""
    contest = require_contest(session, actor, contest_id, manage=True, action="contests.webhook")
    url = (url or "").strip()
    if url:
        parsed = urlparse(url)
        local = parsed.hostname in ("127.0.0.1", "localhost")
        if parsed.scheme not in ("https", "http") or (parsed.scheme == "http" and not local) or not parsed.hostname:
            raise ValidationFailed("contests.err_webhook")
        if len(url) > 500:
            raise ValidationFailed("contests.err_webhook")
    contest.webhook_url = url or None
    session.add(contest)
    audit.record(session, actor=actor, action="contests.webhook", entity="contest", entity_id=contest.id,
                 after={"webhook": "set" if url else "cleared"})


def mask_webhook(url: str | None) -> str:
    if not url:
        return ""
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.hostname}/…{url[-4:]}"


def pilot_contests(session: Session, pilot_id: int) -> list[int]:
    return list(session.exec(select(Contest.id).where(Contest.pilot_id == pilot_id)).all())


def active_contests_for_branch(session: Session, branch_id: int, day: date) -> list[Contest]:
    """Active contests whose branch scope contains `branch_id` and whose period covers `day`."""
    out = []
    for contest in session.exec(select(Contest).where(Contest.status == "active", Contest.start_date <= day,
                                                      Contest.end_date >= day)).all():
        if branch_id in _branch_scope(session, contest.id):
            out.append(contest)
    return out
