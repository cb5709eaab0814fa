"""Capability self-assessment (seed 004's 10 capabilities, scored 1–5) per branch, dated,
for a radar chart compared over time."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlmodel import Session, col, delete, select

from models.org import Branch, Role
from models.playbook import ContentItem
from models.programme import CapabilityScore
from portal import audit, clock
from portal.access import Actor, require_branch
from portal.errors import NotFound, ValidationFailed
from portal.i18n import label


def items(session: Session, *, actor: Actor) -> list[dict]:
    """The 10 capabilities with their layer, in the actor's language (content: all may read)."""
    return capabilities(session, actor.language)


def capabilities(session: Session, lang: str) -> list[dict]:
    layers = {i.code: i.data for i in session.exec(select(ContentItem).where(ContentItem.kind == "capability_layer"))}
    items = session.exec(select(ContentItem).where(ContentItem.kind == "capability")
                         .order_by(ContentItem.sort_order)).all()
    return [{"code": i.code, "layer": i.data["layer"],
             "layer_name": label(lang, layers[i.data["layer"]]["name_zh"], layers[i.data["layer"]]["name_en"]),
             "name": label(lang, i.data["name_zh"], i.data["name_en"]),
             "description": label(lang, i.data.get("description_zh", ""), i.data.get("description_en", ""))}
            for i in items]


def _branch(session: Session, actor: Actor, branch_id: int, action: str) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise NotFound("err.not_found", entity="branch", id=branch_id)
    require_branch(actor, branch_id, roles=(Role.hq, Role.branch_lead), action=action)
    return branch


def record(session: Session, *, actor: Actor, branch_id: int, scores: dict[str, object],
           on: date | None = None) -> int:
    """Save one dated assessment (all 10 scores, 1–5). Re-saving the same day replaces it."""
    _branch(session, actor, branch_id, "capability.record")
    on = on or clock.today()
    if on > clock.today():
        raise ValidationFailed("capability.err_future")
    codes = [c["code"] for c in capabilities(session, actor.language)]
    if set(scores) != set(codes):
        raise ValidationFailed("capability.err_incomplete", n=len(codes))
    clean = {}
    for code in codes:
        value = scores[code]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or not 1 <= value <= 5:
            raise ValidationFailed("capability.err_score", code=code)
        clean[code] = int(value)
    session.exec(delete(CapabilityScore).where(CapabilityScore.branch_id == branch_id,
                                               CapabilityScore.assessed_on == on))
    for code, value in clean.items():
        session.add(CapabilityScore(branch_id=branch_id, assessed_on=on, capability=code, score=value,
                                    assessed_by=actor.user_id))
    audit.record(session, actor=actor, action="capability.record", entity="branch", entity_id=branch_id,
                 after={"on": on, "scores": clean})
    return len(clean)


def history(session: Session, *, actor: Actor, branch_id: int) -> pd.DataFrame:
    """Long form [assessed_on, capability, name, layer_name, score], oldest first."""
    _branch(session, actor, branch_id, "capability.view")
    names = {c["code"]: c for c in capabilities(session, actor.language)}
    rows = session.exec(select(CapabilityScore).where(CapabilityScore.branch_id == branch_id)
                        .order_by(CapabilityScore.assessed_on, col(CapabilityScore.capability))).all()
    return pd.DataFrame([{"assessed_on": r.assessed_on, "capability": r.capability,
                          "name": names.get(r.capability, {}).get("name", r.capability),
                          "layer_name": names.get(r.capability, {}).get("layer_name", ""), "score": r.score}
                         for r in rows], columns=["assessed_on", "capability", "name", "layer_name", "score"])


def branch_options(session: Session, *, actor: Actor) -> dict[int, str]:
    """Branches (and sub-branches) the actor may assess."""
    stmt = select(Branch).where(col(Branch.level).in_(("branch", "sub_branch")), Branch.active).order_by(Branch.code)
    if not actor.is_hq:
        if actor.role != Role.branch_lead:
            return {}
        stmt = stmt.where(col(Branch.id).in_(actor.branch_ids or {-1}))
    return {b.id: b.name for b in session.exec(stmt).all()}
