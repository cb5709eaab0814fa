"""The activity library: the three-step matcher (WeCom status → flow, goal × segment → one
package), browsing and searching packages, scripts, scenarios and channels, and adopting a
package into a pilot (targets + SOP checklist hand-off). Everyone may read; HQ or the pilot's
coaches adopt.

Adoption rule: the package must fit the pilot's goal and segment. While the pilot is still in
planning, adopting a package of another cell moves the pilot to that goal and segment (the
sub-segment is kept only if it belongs to the new segment); once the pilot has started, a
mismatch is refused — change the pilot first."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlmodel import Session, select

from models.org import Branch, Role
from models.pilot import Phase
from models.playbook import ContentItem, Rate, SopTemplate, SopTemplateItem
from models.sop import ChecklistItem
from portal import audit, sop, targets
from portal.access import Actor, require_pilot, require_role
from portal.errors import NotFound, ValidationFailed

READERS = (Role.hq, Role.coach, Role.branch_lead, Role.staff)
ADOPTERS = (Role.hq, Role.coach)
BASE_TEMPLATES = sop.BASE_TEMPLATES  # every pilot's checklist starts with these
MAX_QUERY = 100


def localise(node: object, lang: str) -> object:
    """Bilingual seed data → one language: `x_zh`/`x_en` become `x`; a plain key `x` with an
    `x_en` twin (e.g. sub_segment_notes) takes the twin in English."""
    if isinstance(node, list):
        return [localise(v, lang) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key.endswith("_en"):
            continue
        if key.endswith("_zh"):
            en = node.get(key[:-3] + "_en")
            out[key[:-3]] = localise(en if lang == "en" and en else value, lang)
        else:
            en = node.get(key + "_en")
            out[key] = localise(en if lang == "en" and en else value, lang)
    return out


def _items(session: Session, kind: str, parent: str | None = None) -> list[dict]:
    stmt = select(ContentItem).where(ContentItem.kind == kind).order_by(ContentItem.sort_order)
    if parent is not None:
        stmt = stmt.where(ContentItem.parent_code == parent)
    return [dict(i.data) for i in session.exec(stmt)]


def _one(items: list[dict], code: object, err: str) -> dict:
    found = next((i for i in items if i.get("code") == code), None)
    if found is None:
        raise ValidationFailed(err, value=str(code)[:40])
    return found


def options(session: Session, *, actor: Actor) -> dict:
    """Choices for the three matcher steps: {step: {code: name}}, sub-segments per segment."""
    require_role(actor, *READERS, action="playbook.read")
    lang = actor.language

    def names(items: list[dict]) -> dict[str, str]:
        return {i["code"]: localise(i, lang)["name"] for i in items}

    segments = _items(session, "segment")
    return {"wecom_status": names(_items(session, "wecom_status")), "goal": names(_items(session, "goal")),
            "segment": names(segments),
            "sub_segment": {s["code"]: names(_items(session, "sub_segment", s["code"])) for s in segments}}


def sop_templates(session: Session, lang: str, codes: list[str]) -> list[dict]:
    """The SOP templates in `codes` order, each with its items (localised)."""
    out = []
    for code in dict.fromkeys(codes):
        tpl = session.exec(select(SopTemplate).where(SopTemplate.code == code)).first()
        if tpl is None:
            continue
        items = session.exec(select(SopTemplateItem).where(SopTemplateItem.template_code == code)
                             .order_by(SopTemplateItem.sort_order, SopTemplateItem.id)).all()
        out.append({**localise(tpl.model_dump(exclude={"id"}), lang),
                    "items": [localise(i.model_dump(exclude={"id"}), lang) for i in items]})
    return out


def kpis(session: Session, lang: str, package: dict) -> list[dict]:
    """The package's KPIs with the metric or rate they name (unknown codes show as such)."""
    catalogue = targets.metric_catalogue(session, lang)
    return [{**k, **catalogue.get(k["metric"], {"name": k["metric"], "unit": "", "kind": "unknown"}),
             "known": k["metric"] in catalogue} for k in package.get("kpi", [])]


def package_view(session: Session, lang: str, package: dict, sub_segment: str | None = None) -> dict:
    view = localise(package, lang)
    view["sub_segment_note"] = view.get("sub_segment_notes", {}).get(sub_segment or "", "")
    view["kpis"] = kpis(session, lang, package)
    return view


def _flow_for(session: Session, status: str) -> dict:
    status_item = _one(_items(session, "wecom_status"), status, "playbook.err_status")
    return _one(_items(session, "flow"), status_item["flow_code"], "playbook.err_status")


def _package_for(session: Session, goal: str, segment: str) -> dict:
    found = [p for p in _items(session, "package") if p["goal"] == goal and p["segment"] == segment]
    if len(found) != 1:
        raise NotFound("playbook.err_no_package", goal=goal, segment=segment)
    return found[0]


def template_codes(package: dict, flow: dict) -> list[str]:
    """The SOP templates an adoption instantiates, in checklist order."""
    return list(dict.fromkeys([*BASE_TEMPLATES, package["sop_template"], flow["sop_template"]]))


def match(session: Session, *, actor: Actor, wecom_status: str, goal: str, segment: str,
          sub_segment: str | None = None) -> dict:
    """Step 1 status → flow; steps 2-3 goal × segment → exactly one package; plus the
    sub-segment note, the linked SOP templates and the resolved KPIs."""
    require_role(actor, *READERS, action="playbook.read")
    lang = actor.language
    flow = _flow_for(session, wecom_status)
    _one(_items(session, "goal"), goal, "playbook.err_goal")
    _one(_items(session, "segment"), segment, "playbook.err_segment")
    if sub_segment:
        _one(_items(session, "sub_segment", segment), sub_segment, "playbook.err_sub_segment")
    package = _package_for(session, goal, segment)
    codes = template_codes(package, flow)
    return {"package": package_view(session, lang, package, sub_segment), "flow": localise(flow, lang),
            "sub_segment": sub_segment or "", "template_codes": codes,
            "sop": sop_templates(session, lang, [package["sop_template"], flow["sop_template"]])}


def get_package(session: Session, *, actor: Actor, code: str, sub_segment: str | None = None) -> dict:
    require_role(actor, *READERS, action="playbook.read")
    package = _one(_items(session, "package"), code, "playbook.err_package")
    view = package_view(session, actor.language, package, sub_segment)
    view["sop"] = sop_templates(session, actor.language, [package["sop_template"]])
    return view


PACKAGE_COLUMNS = ["code", "name", "goal", "segment", "principle", "tactic"]


def list_packages(session: Session, *, actor: Actor) -> pd.DataFrame:
    require_role(actor, *READERS, action="playbook.read")
    rows = [localise(p, actor.language) for p in _items(session, "package")]
    return pd.DataFrame([{c: r.get(c, "") for c in PACKAGE_COLUMNS} for r in rows], columns=PACKAGE_COLUMNS)


def list_scenarios(session: Session, *, actor: Actor) -> list[dict]:
    """The five scenarios with their logic, phases and SOP template; the reactivation one
    carries the five scenes of its flow."""
    require_role(actor, *READERS, action="playbook.read")
    lang = actor.language
    scenes = {f["code"]: f.get("scene", []) for f in _items(session, "flow")}
    out = []
    for s in _items(session, "scenario"):
        view = localise({**s, "scene": scenes.get(s["code"], [])}, lang)
        view["sop"] = sop_templates(session, lang, [s["sop_template"]])
        out.append(view)
    return out


def list_channels(session: Session, *, actor: Actor) -> dict:
    """The six acquisition channels and the pass-rate benchmark they are judged by."""
    require_role(actor, *READERS, action="playbook.read")
    rate = session.exec(select(Rate).where(Rate.code == "pass_rate")).first()
    benchmark = None if rate is None else {
        "low": rate.benchmark_low, "high": rate.benchmark_high, "fail_below": rate.fail_below,
        "description": rate.description_en if actor.language == "en" else rate.description_zh}
    return {"channels": localise(_items(session, "channel"), actor.language), "pass_rate": benchmark}


SEARCH_COLUMNS = ["kind", "package", "package_name", "title", "text"]


def search(session: Session, *, actor: Actor, text: str) -> pd.DataFrame:
    """Packages (name, principle, tactic, materials) and scripts whose text contains `text`
    in either language (plain substring: works for Chinese)."""
    require_role(actor, *READERS, action="playbook.read")
    needle = str(text or "").strip().casefold()[:MAX_QUERY]
    rows: list[dict] = []
    if not needle:
        return pd.DataFrame(rows, columns=SEARCH_COLUMNS)

    def hit(*values: object) -> bool:
        return any(needle in str(v).casefold() for v in values if v)

    lang = actor.language
    sources = [(p, "package") for p in _items(session, "package")] + [(f, "flow") for f in _items(session, "flow")]
    for item, kind in sources:
        view = localise(item, lang)
        if kind == "package" and hit(*(item.get(f"{k}_{s}") for k in ("name", "principle", "tactic")
                                       for s in ("zh", "en")), *item["materials_zh"], *item["materials_en"]):
            rows.append({"kind": "package", "package": item["code"], "package_name": view["name"],
                         "title": view["name"], "text": view["tactic"]})
        for script, shown in zip(item.get("script", []), view.get("script", []), strict=True):
            if hit(script["title_zh"], script["title_en"], script["text_zh"], script["text_en"]):
                rows.append({"kind": "script", "package": item["code"], "package_name": view["name"],
                             "title": shown["title"], "text": shown["text"]})
    return pd.DataFrame(rows, columns=SEARCH_COLUMNS)


def adopt_package(session: Session, *, actor: Actor, pilot_id: int, package_code: str) -> dict:
    """Adopt a package into a pilot: set its package, create/update its KPI targets and hand
    the SOP templates to the checklist service. Idempotent; audited."""
    pilot = require_pilot(session, actor, pilot_id, roles=ADOPTERS, action="playbook.adopt", lock=True)
    package = _one(_items(session, "package"), package_code, "playbook.err_package")
    if pilot.phase in (Phase.closed, Phase.stopped):
        raise ValidationFailed("playbook.err_closed")
    before = audit.snapshot(pilot)
    if (pilot.goal, pilot.segment) != (package["goal"], package["segment"]):
        if pilot.phase != Phase.planning:
            names = options(session, actor=actor)
            raise ValidationFailed("playbook.err_mismatch", package=localise(package, actor.language)["name"],
                                   goal=names["goal"].get(pilot.goal, pilot.goal),
                                   segment=names["segment"].get(pilot.segment, pilot.segment))
        subs = {s["code"] for s in _items(session, "sub_segment", package["segment"])}
        pilot.goal, pilot.segment = package["goal"], package["segment"]
        pilot.sub_segment = pilot.sub_segment if pilot.sub_segment in subs else ""
    pilot.package_code = package["code"]
    session.add(pilot)
    session.flush()
    flow = _flow_for(session, pilot.wecom_status)
    counts = targets.apply_package_kpis(session, actor=actor, pilot_id=pilot_id, kpis=package["kpi"])
    codes = template_codes(package, flow)
    created = sop.instantiate(session, actor=actor, pilot_id=pilot_id, template_codes=codes)
    result = {"package_code": package["code"], "flow_code": flow["code"], "template_codes": codes,
              "targets": counts, "sop_items_created": int(created or 0)}
    audit.record(session, actor=actor, action="playbook.adopt", entity="pilot", entity_id=pilot_id,
                 before=before, after={**audit.snapshot(pilot), **result})
    return result


def _checklist(session: Session, lang: str, pilot_id: int) -> list[dict]:
    """The pilot's actual SOP checklist (instantiated by the SOP service), by due date."""
    items = session.exec(select(ChecklistItem).where(ChecklistItem.pilot_id == pilot_id)
                         .order_by(ChecklistItem.due_date, ChecklistItem.sort_order, ChecklistItem.id)).all()
    return [{**localise(i.model_dump(include={
        "template_code", "step", "step_name_zh", "step_name_en", "title_zh", "title_en", "detail_zh", "detail_en",
        "day_offset", "owner_role", "evidence_required", "status"}), lang), "due_date": i.due_date}
        for i in items]


def _template_rows(session: Session, lang: str, codes: list[str]) -> list[dict]:
    return [{"template_code": t["code"], **i, "due_date": None, "status": ""}
            for t in sop_templates(session, lang, codes) for i in t["items"]]


def pack(session: Session, *, actor: Actor, package_code: str | None = None, pilot_id: int | None = None) -> dict:
    """Everything the playbook pack export needs: for a pilot its actual configuration (package,
    flow, checklist with dates, targets); otherwise one package (or all) with both flows and the
    SOP templates. Actual results stay None until the reports feature provides them."""
    require_role(actor, *READERS, action="playbook.read")
    lang = actor.language
    if pilot_id is not None:
        pilot = require_pilot(session, actor, pilot_id, roles=(Role.hq, Role.coach, Role.branch_lead),
                              action="playbook.pack")
        if not pilot.package_code:
            raise ValidationFailed("playbook.err_not_adopted")
        package = _one(_items(session, "package"), pilot.package_code, "playbook.err_package")
        flows = [_flow_for(session, pilot.wecom_status)]
        names = options(session, actor=actor)
        info = {"id": pilot.id, "name": pilot.name, "branch": session.get(Branch, pilot.branch_id).name,
                "start_date": pilot.start_date, "end_date": pilot.end_date,
                "phase": pilot.phase, "wecom_status": names["wecom_status"].get(pilot.wecom_status, ""),
                "goal": names["goal"].get(pilot.goal, ""), "segment": names["segment"].get(pilot.segment, ""),
                "sub_segment": names["sub_segment"].get(pilot.segment, {}).get(pilot.sub_segment, "")}
        df = targets.list_targets(session, actor=actor, pilot_id=pilot_id)
        kpi_rows = [{"package": package["code"], **r, "basis": "week" if r["week"] else "pilot", "actual": None}
                    for r in df.to_dict("records")]
        sop_rows = _checklist(session, lang, pilot_id) or _template_rows(session, lang, template_codes(
            package, flows[0]))
        packages = [package_view(session, lang, package, pilot.sub_segment)]
        flows = localise(flows, lang)
        for step in (s for view in (*packages, *flows) for s in view.get("step", [])):
            step["date"] = pilot.start_date + timedelta(days=step["day_offset"])
    else:
        found = _items(session, "package")
        raw = [_one(found, package_code, "playbook.err_package")] if package_code else found
        info, flows = None, _items(session, "flow")
        packages = [package_view(session, lang, p) for p in raw]
        kpi_rows = [{"package": p["code"], **k, "week": None, "value": k["target"], "source": "package",
                     "actual": None} for p in packages for k in p["kpis"]]
        sop_rows = _template_rows(session, lang, [*BASE_TEMPLATES, *(p["sop_template"] for p in raw),
                                                  *(f["sop_template"] for f in flows)])
        flows = localise(flows, lang)
    return {"pilot": info, "packages": packages, "flows": flows, "sop": sop_rows,
            "kpis": kpi_rows, "language": lang}
