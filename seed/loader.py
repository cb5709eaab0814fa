"""Loads the declarative content in seed/content/ into the database, idempotently, by stable
codes. A file whose SHA-256 matches the last load is skipped; a changed file updates its rows
in place without touching what users added (their Q&A entries, tuned thresholds, adoptions)."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, delete, select

from models.playbook import (
    Badge,
    ContentItem,
    Metric,
    QaEntry,
    Rate,
    SeedFile,
    SopTemplate,
    SopTemplateItem,
    Stage,
    StageCriterion,
)
from portal import clock

CONTENT_DIR = Path(__file__).resolve().parent / "content"


@lru_cache(maxsize=32)
def read(name: str) -> dict:
    """Parsed content file (cached: the files ship with the package)."""
    return tomllib.loads((CONTENT_DIR / f"{name}.toml").read_text(encoding="utf-8"))


def _upsert(session: Session, model: type[SQLModel], values: dict[str, Any], *,
            key: tuple[str, ...] = ("code",), keep: Callable[[SQLModel], set[str]] | None = None) -> SQLModel:
    """Insert, or update changed fields of the row with the same key (minus fields `keep`
    says belong to users now)."""
    row = session.exec(select(model).where(*(getattr(model, k) == values[k] for k in key))).first()
    if row is None:
        row = model(**values)
        session.add(row)
        return row
    protected = keep(row) if keep else set()
    for field, value in values.items():
        if field not in protected and getattr(row, field) != value:
            setattr(row, field, value)
    session.add(row)
    return row


def _pick(item: dict, *fields: str) -> dict:
    return {f: item[f] for f in fields if f in item}


BILINGUAL = ("name_zh", "name_en", "description_zh", "description_en")


def load_metrics(session: Session, data: dict) -> None:
    for m in data["metric"]:
        _upsert(session, Metric, {
            **_pick(m, "code", "name_zh", "name_en", "unit_zh", "unit_en", "kind", "direction", "level",
                    "channel_split", "description_zh", "description_en"),
            "sort_order": m.get("order", 0), "min_value": m["min"], "max_value": m["max"],
            "le_code": m.get("le"),
        })
    for r in data["rate"]:
        _upsert(session, Rate, _pick(r, "code", "name_zh", "name_en", "numerator", "denominator", "per_week",
                                     "benchmark_low", "benchmark_high", "fail_below", "target",
                                     "description_zh", "description_en"))


def load_stages(session: Session, data: dict) -> None:
    for stage in data["stage"]:
        _upsert(session, Stage, {**_pick(stage, "code", "order", "blocker", *BILINGUAL)})
        for i, c in enumerate(stage["criterion"]):
            _upsert(session, StageCriterion, {
                **_pick(c, "code", "kind", "name_zh", "name_en", "metric", "op", "window_days"),
                "stage_code": stage["code"], "sort_order": i, "sop_items": c.get("sop_items"),
                "default_threshold": c.get("threshold"), "threshold": c.get("threshold"),
            }, keep=lambda row: {"threshold"} if row.tuned else set())
    _replace_items(session, "blocker", data.get("blocker", []))


def load_sop_templates(session: Session, data: dict) -> None:
    for t in data["template"]:
        _upsert(session, SopTemplate, _pick(t, "code", "kind", *BILINGUAL))
        for item in t["item"]:
            _upsert(session, SopTemplateItem, {
                **_pick(item, "code", "step", "step_name_zh", "step_name_en", "title_zh", "title_en",
                        "detail_zh", "detail_en", "day_offset", "owner_role", "evidence_required"),
                "template_code": t["code"], "sort_order": item.get("order", 0),
            })


def load_badges(session: Session, data: dict) -> None:
    for b in data["badge"]:
        _upsert(session, Badge, _pick(b, "code", "kind", "metric", "threshold", "days", *BILINGUAL))


def load_qa(session: Session, data: dict) -> None:
    now = clock.now_utc()
    for q in data["qa"]:
        values = {**_pick(q, "code", "category", "question_zh", "answer_zh", "question_en", "answer_en"),
                  "tags": "、".join(q.get("tags", [])), "status": "published"}
        row = session.exec(select(QaEntry).where(QaEntry.code == q["code"])).first()
        if row is None:
            session.add(QaEntry(**values, created_at=now, updated_at=now))
        elif not row.edited and any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
            session.add(row)


def _replace_items(session: Session, kind: str, items: list[dict], *, parent: str = "") -> None:
    codes = []
    for i, item in enumerate(items):
        code = item.get("code") or item.get("token_zh") or str(i)
        codes.append(code)
        _upsert(session, ContentItem, {"kind": kind, "code": code, "parent_code": parent, "sort_order": i,
                                       "data": item}, key=("kind", "code"))
    stale = delete(ContentItem).where(ContentItem.kind == kind, ContentItem.parent_code == parent)
    session.exec(stale.where(col(ContentItem.code).not_in(codes or ["-"])))


def load_playbook(session: Session, data: dict) -> None:
    _replace_items(session, "placeholder", data.get("placeholder", []))
    _replace_items(session, "wecom_status", data["wecom_status"])
    _replace_items(session, "goal", data["goal"])
    _replace_items(session, "segment", [{k: v for k, v in s.items() if k != "sub"} for s in data["segment"]])
    for s in data["segment"]:
        _replace_items(session, "sub_segment", s["sub"], parent=s["code"])
    _replace_items(session, "flow", data["flow"])
    _replace_items(session, "package", data["package"])


def load_simple(kind: str, key: str) -> Callable[[Session, dict], None]:
    def loader(session: Session, data: dict) -> None:
        _replace_items(session, kind, data[key])
    return loader


def load_capabilities(session: Session, data: dict) -> None:
    _replace_items(session, "capability_layer",
                   [{k: v for k, v in layer.items() if k != "capability"} for layer in data["layer"]])
    caps = [{**c, "layer": layer["code"]} for layer in data["layer"] for c in layer["capability"]]
    _replace_items(session, "capability", caps)
    _replace_items(session, "process_metric", data["process_metric"])


def load_contest_rules(session: Session, data: dict) -> None:
    _replace_items(session, "contest_template", [{"code": "default", **data}])


# Order matters only for readability: nothing here has foreign keys between files.
FILES: dict[str, Callable[[Session, dict], None]] = {
    "metrics": load_metrics,
    "stages": load_stages,
    "sop_templates": load_sop_templates,
    "channels": load_simple("channel", "channel"),
    "playbook": load_playbook,
    "scenarios": load_simple("scenario", "scenario"),
    "capabilities": load_capabilities,
    "badges": load_badges,
    "contest_rules": load_contest_rules,
    "qa": load_qa,
}


def load_all(engine: Engine) -> list[str]:
    """Load every changed content file; returns the names that were (re)loaded."""
    loaded = []
    with Session(engine) as session:
        for name, loader in FILES.items():
            raw = (CONTENT_DIR / f"{name}.toml").read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            seen = session.get(SeedFile, name)
            if seen is not None and seen.sha256 == digest:
                continue
            loader(session, tomllib.loads(raw.decode("utf-8")))
            session.merge(SeedFile(name=name, sha256=digest, loaded_at=clock.now_utc()))
            loaded.append(name)
        session.commit()
    return loaded
