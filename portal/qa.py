"""The Q&A manual: search and read (everyone; staff and branch leads see published entries
only), write and publish (coaches and HQ). Seed entries edited here are flagged `edited` so
the content loader never overwrites them."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.org import Role, User
from models.pilot import Pilot
from models.playbook import ContentItem, QaEntry
from portal import audit, clock
from portal import text as text_rule
from portal.access import Actor, require_pilot, require_role, visible_pilot_ids
from portal.errors import NotFound, ValidationFailed

# Blockers, WeCom operations, compliance, and one per scenario (named after its SOP template).
CATEGORIES = ("unwilling", "unable", "no_use_case", "operations", "compliance", "scenario_add",
              "scenario_reactivate", "scenario_new_accounts", "scenario_product", "scenario_aum")
STATUSES = ("draft", "published")
EDITORS = (Role.hq, Role.coach)
READERS = (Role.hq, Role.coach, Role.branch_lead, Role.staff)
MAX_QUESTION, MAX_ANSWER, MAX_TAGS, MAX_TAG = 500, 5000, 10, 20
TAG_SEP = "、"


def clean_text(value: object, *, field: str, max_len: int, min_len: int = 0, multiline: bool = False) -> str:
    """The portal's text rule (portal.text) with the manual's per-field length messages."""
    return text_rule.clean(value, max_len=max_len, min_len=min_len, multiline=multiline,
                           key=f"qa.err_length.{field}")


def clean_tags(tags: object) -> str:
    """At most MAX_TAGS short tags, de-duplicated, stored "、"-separated."""
    if isinstance(tags, str):
        tags = tags.replace(",", TAG_SEP).replace("，", TAG_SEP).split(TAG_SEP)
    out: list[str] = []
    for tag in tags or ():
        text = clean_text(tag, field="tags", max_len=MAX_TAG)
        if TAG_SEP in text:
            raise ValidationFailed("qa.err_tags", max=MAX_TAGS, len=MAX_TAG)
        if text and text not in out:
            out.append(text)
    if len(out) > MAX_TAGS:
        raise ValidationFailed("qa.err_tags", max=MAX_TAGS, len=MAX_TAG)
    return TAG_SEP.join(out)


def _check_choice(value: str, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ValidationFailed(key, value=str(value)[:40])
    return value


def _source(session: Session, actor: Actor, pilot_id: int | None, source_date: date | None
            ) -> tuple[int | None, date | None]:
    """A source pilot the actor may write for (a coach: only their own pilots)."""
    if source_date is not None and not isinstance(source_date, date):
        raise ValidationFailed("qa.err_date")
    if pilot_id is None:
        return None, source_date
    if isinstance(pilot_id, bool) or not isinstance(pilot_id, int):
        raise ValidationFailed("qa.err_source")
    require_pilot(session, actor, int(pilot_id), roles=EDITORS, action="qa.source")
    return int(pilot_id), source_date or clock.today()


def _fields(*, category: str, question_zh: str, answer_zh: str, tags: object, status: str,
            question_en: str, answer_en: str) -> dict:
    values = {
        "category": _check_choice(category, CATEGORIES, "qa.err_category"),
        "question_zh": clean_text(question_zh, field="question_zh", min_len=1, max_len=MAX_QUESTION),
        "answer_zh": clean_text(answer_zh, field="answer_zh", max_len=MAX_ANSWER, multiline=True),
        "question_en": clean_text(question_en, field="question_en", max_len=MAX_QUESTION),
        "answer_en": clean_text(answer_en, field="answer_en", max_len=MAX_ANSWER, multiline=True),
        "tags": clean_tags(tags),
        "status": _check_choice(status, STATUSES, "qa.err_status"),
    }
    if values["status"] == "published" and not values["answer_zh"]:
        raise ValidationFailed("qa.err_publish_empty")
    return values


def create_entry(session: Session, *, actor: Actor, category: str, question_zh: str, answer_zh: str = "",
                 tags: tuple[str, ...] | list[str] = (), status: str = "draft",
                 source_pilot_id: int | None = None, source_date: date | None = None,
                 question_en: str = "", answer_en: str = "") -> int:
    """A new entry written in the portal (coaches and HQ). Returns its id."""
    require_role(actor, *EDITORS, action="qa.create")
    values = _fields(category=category, question_zh=question_zh, answer_zh=answer_zh, tags=tags,
                     status=status, question_en=question_en, answer_en=answer_en)
    pilot_id, on = _source(session, actor, source_pilot_id, source_date)
    now = clock.now_utc()
    entry = QaEntry(**values, source_pilot_id=pilot_id, source_date=on, author_user_id=actor.user_id,
                    created_at=now, updated_at=now)
    session.add(entry)
    session.flush()
    audit.record(session, actor=actor, action="qa.create", entity="qa_entry", entity_id=entry.id,
                 after=entry)
    return entry.id


def _editable(session: Session, actor: Actor, entry_id: int, action: str) -> QaEntry:
    require_role(actor, *EDITORS, action=action)
    stmt = select(QaEntry).where(QaEntry.id == entry_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    entry = session.exec(stmt).first()
    if entry is None:
        raise NotFound("err.not_found", entity="qa_entry", id=entry_id)
    return entry


def update_entry(session: Session, *, actor: Actor, entry_id: int, **changes: object) -> None:
    """Change any of category, question/answer (zh/en), tags, status, source pilot/date.
    A seed entry becomes `edited`, so reloading the content files keeps this version."""
    entry = _editable(session, actor, entry_id, "qa.update")
    unknown = set(changes) - {"category", "question_zh", "answer_zh", "question_en", "answer_en", "tags",
                              "status", "source_pilot_id", "source_date"}
    if unknown:
        raise ValidationFailed("qa.err_text")
    before = audit.snapshot(entry)
    current = {k: getattr(entry, k) for k in ("category", "question_zh", "answer_zh", "question_en",
                                              "answer_en", "tags", "status")}
    values = _fields(**{**current, **{k: v for k, v in changes.items() if k in current}})
    if "source_pilot_id" in changes or "source_date" in changes:
        pid = changes.get("source_pilot_id", entry.source_pilot_id)
        if pid != entry.source_pilot_id or "source_date" in changes:
            values["source_pilot_id"], values["source_date"] = _source(
                session, actor, pid, changes.get("source_date", entry.source_date))
    if all(getattr(entry, k) == v for k, v in values.items()):
        return
    for key, value in values.items():
        setattr(entry, key, value)
    entry.edited = entry.edited or entry.code is not None
    entry.updated_at = clock.now_utc()
    session.add(entry)
    session.flush()
    audit.record(session, actor=actor, action="qa.update", entity="qa_entry", entity_id=entry.id,
                 before=before, after=entry)


def set_status(session: Session, *, actor: Actor, entry_id: int, status: str) -> None:
    """Publish or take back to draft."""
    update_entry(session, actor=actor, entry_id=entry_id, status=status)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _scenario_category(session: Session, scenario: str) -> str:
    item = session.exec(select(ContentItem).where(ContentItem.kind == "scenario",
                                                  ContentItem.code == scenario)).first()
    if item is None:
        raise ValidationFailed("qa.err_scenario", value=str(scenario)[:40])
    return item.data.get("sop_template", "")


SEARCH_COLUMNS = ["id", "code", "category", "question", "answer", "tags", "status", "source_pilot",
                  "source_date", "author", "edited", "updated_at"]


def search(session: Session, *, actor: Actor, text: str = "", category: str | None = None,
           scenario: str | None = None, status: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Entries matching `text` in question, answer (both languages) or tags (substring, also
    Chinese), optionally of one category or scenario. Readers who are not editors get
    published entries only, whatever `status` they ask for."""
    require_role(actor, *READERS, action="qa.search")
    text = clean_text(text, field="text", max_len=100)
    stmt = select(QaEntry, Pilot.name, User.display_name).outerjoin(
        Pilot, Pilot.id == QaEntry.source_pilot_id).outerjoin(User, User.id == QaEntry.author_user_id)
    if actor.role not in EDITORS:
        stmt = stmt.where(QaEntry.status == "published")
    elif status:
        stmt = stmt.where(QaEntry.status == _check_choice(status, STATUSES, "qa.err_status"))
    if category:
        stmt = stmt.where(QaEntry.category == _check_choice(category, CATEGORIES, "qa.err_category"))
    if scenario:
        stmt = stmt.where(QaEntry.category == _scenario_category(session, scenario))
    if text:
        like = _like(text)
        stmt = stmt.where(or_(*(col(c).ilike(like, escape="\\") for c in (
            QaEntry.question_zh, QaEntry.answer_zh, QaEntry.question_en, QaEntry.answer_en, QaEntry.tags))))
    stmt = stmt.order_by(QaEntry.category, QaEntry.id).limit(max(1, min(int(limit), 5000)))
    visible = visible_pilot_ids(session, actor)
    en = actor.language == "en"
    rows = []
    for entry, pilot_name, author in session.exec(stmt).all():
        shown = visible is None or entry.source_pilot_id in visible
        rows.append({
            "id": entry.id, "code": entry.code or "", "category": entry.category,
            "question": (entry.question_en if en and entry.question_en else entry.question_zh),
            "answer": (entry.answer_en if en and entry.answer_en else entry.answer_zh),
            "tags": entry.tags, "status": entry.status,
            "source_pilot": (pilot_name or "") if shown else "",
            "source_date": entry.source_date, "author": author or "", "edited": entry.edited,
            "updated_at": entry.updated_at,
        })
    return pd.DataFrame(rows, columns=SEARCH_COLUMNS)


def get_entry(session: Session, *, actor: Actor, entry_id: int) -> dict:
    """One entry with both languages, for the edit form (editors) or reading (published)."""
    require_role(actor, *READERS, action="qa.view")
    entry = session.get(QaEntry, entry_id)
    if entry is None or (actor.role not in EDITORS and entry.status != "published"):
        raise NotFound("err.not_found", entity="qa_entry", id=entry_id)
    view = audit.snapshot(entry)
    view["tag_list"] = [t for t in entry.tags.split(TAG_SEP) if t]
    return view


def manual(session: Session, *, actor: Actor, category: str | None = None) -> list[dict]:
    """The published manual in category order, for the printable export."""
    df = search(session, actor=actor, category=category, status="published", limit=5000)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    rows = df.to_dict("records")
    return sorted(rows, key=lambda r: (order.get(r["category"], len(order)), r["id"]))


def scenario_options(session: Session, *, actor: Actor) -> dict[str, str]:
    """{scenario code: name} for the scenario filter."""
    require_role(actor, *READERS, action="qa.search")
    items = session.exec(select(ContentItem).where(ContentItem.kind == "scenario").order_by(ContentItem.sort_order))
    return {i.code: (i.data.get("name_en") if actor.language == "en" else None) or i.data.get("name_zh", i.code)
            for i in items}
