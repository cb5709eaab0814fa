"""Validation of daily-report input at the service boundary: every cell is parsed, every rule
checked, and all problems are collected (with the staff row and metric they belong to) before
anything is written. The report service raises `ReportInvalid` when any problem is found, so
rejected input changes no row.

Rules (one home each):
- counts: non-negative integers up to the metric's maximum (portal.numbers.parse_count);
- money: non-negative yuan with at most two decimals up to the maximum, stored in fen
  (portal.numbers.parse_money_fen); scores (NPS): whole numbers within the metric's min..max;
- NaN, inf and text are rejected; full-width digits and well-placed thousands separators are
  accepted; a blank cell (None or empty text) means "not reported" and stores nothing;
- pairs from the catalogue (`Metric.le_code`): a value may not exceed its partner in the same
  staff row (valid_adds ≤ wecom_adds, accepted_adds ≤ add_requests); a blank partner counts 0;
- channel split: when any channel is filled, the channels (blanks = 0) must add up to the day's
  staff total of the channel-split metric (wecom_adds);
- staff counts (staff_active) cannot exceed the active staff of the pilot's branch;
- texts: multi-line, at most 2,000 characters, by the portal's text rule (portal.text:
  control characters and direction overrides refused).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace

from sqlmodel import Session, select

from models.playbook import ContentItem, Metric
from models.reports import TEXT_MAX
from portal import text as text_rule
from portal.errors import ValidationFailed
from portal.i18n import label, translate
from portal.numbers import parse_count, parse_money_fen

TEXT_FIELDS = ("highlights", "blockers", "next_steps")
STAFF_COUNT_METRICS = ("staff_active",)  # branch metrics that count staff: ≤ active staff


@dataclass(frozen=True)
class MetricSpec:
    code: str
    kind: str  # count | money | score
    level: str  # staff | branch
    min_value: int
    max_value: int  # money in yuan
    le_code: str | None
    channel_split: bool
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str

    def name(self, lang: str) -> str:
        return label(lang, self.name_zh, self.name_en)

    def header(self, lang: str) -> str:
        unit = label(lang, self.unit_zh, self.unit_en)
        return f"{self.name(lang)}（{unit}）" if lang == "zh" else f"{self.name(lang)} ({unit})"


@dataclass(frozen=True)
class Catalogue:
    staff: tuple[MetricSpec, ...]
    branch: tuple[MetricSpec, ...]
    channels: tuple[tuple[str, str, str], ...]  # (code, name_zh, name_en) in display order

    @property
    def by_code(self) -> dict[str, MetricSpec]:
        return {m.code: m for m in (*self.staff, *self.branch)}

    @property
    def split_metric(self) -> str | None:
        return next((m.code for m in self.staff if m.channel_split), None)

    def channel_name(self, code: str, lang: str) -> str:
        return next((label(lang, zh, en) for c, zh, en in self.channels if c == code), code)


def load_catalogue(session: Session) -> Catalogue:
    rows = session.exec(select(Metric).order_by(Metric.sort_order, Metric.code)).all()
    specs = [MetricSpec(m.code, m.kind, m.level, int(m.min_value), int(m.max_value), m.le_code,
                        m.channel_split, m.name_zh, m.name_en, m.unit_zh, m.unit_en) for m in rows]
    channels = session.exec(select(ContentItem).where(ContentItem.kind == "channel")
                            .order_by(ContentItem.sort_order)).all()
    return Catalogue(staff=tuple(s for s in specs if s.level == "staff"),
                     branch=tuple(s for s in specs if s.level == "branch"),
                     channels=tuple((c.code, c.data.get("name_zh", c.code), c.data.get("name_en", c.code))
                                    for c in channels))


def channel_spec(cat: Catalogue, staff_count: int) -> MetricSpec | None:
    """The bounds of one channel's branch total: the split metric's per-person maximum times
    the staff on duty (the sum rule ties the channels to the staff total anyway)."""
    split = cat.by_code.get(cat.split_metric or "")
    return replace(split, max_value=split.max_value * max(1, staff_count)) if split else None


@dataclass(frozen=True)
class Problem:
    key: str
    params: dict
    staff_id: int | None = None  # the grid row, if the problem belongs to one
    field: str = ""  # metric code, "channel:<code>" or a text field

    def message(self, lang: str) -> str:
        return translate(lang, self.key, **self.params)


class ReportInvalid(ValidationFailed):
    """Input refused; carries every problem. Its own key/params are the first problem's."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].key, **problems[0].params)
        self.problems = problems


@dataclass
class Content:
    """A report's parsed values: what is (or would be) stored."""

    staff: dict[int, dict[str, int]] = field(default_factory=dict)
    branch: dict[str, int] = field(default_factory=dict)
    channels: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=lambda: dict.fromkeys(TEXT_FIELDS, ""))

    def cells(self) -> dict[str, int | str]:
        """Flat view for comparing and auditing: 'staff:<id>:<metric>', 'branch:<metric>',
        'channel:<code>', 'text:<field>'."""
        out: dict[str, int | str] = {}
        for sid, row in self.staff.items():
            out.update({f"staff:{sid}:{code}": v for code, v in row.items()})
        out.update({f"branch:{code}": v for code, v in self.branch.items()})
        out.update({f"channel:{code}": v for code, v in self.channels.items()})
        out.update({f"text:{k}": v for k, v in self.texts.items() if v})
        return out

    def is_empty(self) -> bool:
        return not self.cells()


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _parse_score(raw: object, *, field: str, spec: MetricSpec) -> int:
    negative = False
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw < 0:
        negative, raw = True, -raw
    elif isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip()
        if text.startswith("-"):
            negative, raw = True, text[1:]
    value = parse_count(raw, field=field)
    value = -value if negative else value
    if not spec.min_value <= value <= spec.max_value:
        raise ValidationFailed("reports.err_range", field=field, minimum=spec.min_value, maximum=spec.max_value)
    return value


def parse_value(spec: MetricSpec, raw: object, *, field: str) -> int | None:
    """One cell → stored integer (fen for money), None when blank; ValidationFailed otherwise."""
    if _blank(raw):
        return None
    if spec.kind == "money":
        return parse_money_fen(raw, field=field, maximum_yuan=spec.max_value)
    if spec.kind == "score":
        return _parse_score(raw, field=field, spec=spec)
    return parse_count(raw, field=field, maximum=spec.max_value)


def clean_text(raw: object, *, field: str) -> str:
    """A report text by the portal's rule (portal.text): multi-line, at most TEXT_MAX characters.
    Numbers and dates typed into a text column of the Excel template are taken as text."""
    value = raw if raw is None or isinstance(raw, str) else str(raw)
    return text_rule.clean(value, max_len=TEXT_MAX, multiline=True, key="reports.err_text_long", field=field,
                           maximum=TEXT_MAX)


@dataclass
class Parsed:
    """Parsed input; a section left None (or a text absent) is "not given": stored values stay."""

    staff: dict[int, dict[str, int]] = field(default_factory=dict)
    branch: dict[str, int] | None = None
    channels: dict[str, int] | None = None
    texts: dict[str, str] | None = None
    problems: list[Problem] = field(default_factory=list)


def _cell(parsed: Parsed, spec: MetricSpec, raw: object, *, field: str, staff_id: int | None,
          code: str) -> int | None:
    try:
        return parse_value(spec, raw, field=field)
    except ValidationFailed as exc:
        parsed.problems.append(Problem(exc.key, exc.params, staff_id, code))
        return None


def parse_input(cat: Catalogue, *, lang: str, roster: dict[int, str],
                staff_values: dict[int, dict[str, object]] | None,
                branch_values: dict[str, object] | None, channel_values: dict[str, object] | None,
                texts: dict[str, object] | None) -> Parsed:
    """Parse raw cells. `roster` is {staff_id: name} of the staff who may be reported."""
    parsed = Parsed()
    specs = {m.code: m for m in cat.staff}
    for sid, row in (staff_values or {}).items():
        if sid not in roster:
            parsed.problems.append(Problem("reports.err_staff_unknown", {"staff": sid}, None, "staff"))
            continue
        values: dict[str, int] = {}
        for code, raw in row.items():
            spec = specs.get(code)
            if spec is None:
                parsed.problems.append(Problem("reports.err_metric_unknown", {"metric": code}, sid, code))
                continue
            value = _cell(parsed, spec, raw, field=f"{roster[sid]} · {spec.name(lang)}", staff_id=sid, code=code)
            if value is not None:
                values[code] = value
        parsed.staff[sid] = values
    if branch_values is not None:
        bspecs = {m.code: m for m in cat.branch}
        parsed.branch = {}
        for code, raw in branch_values.items():
            spec = bspecs.get(code)
            if spec is None:
                parsed.problems.append(Problem("reports.err_metric_unknown", {"metric": code}, None, code))
                continue
            value = _cell(parsed, spec, raw, field=spec.name(lang), staff_id=None, code=code)
            if value is not None:
                parsed.branch[code] = value
    if channel_values is not None:
        split = channel_spec(cat, len(roster))
        known = {c for c, _, _ in cat.channels}
        parsed.channels = {}
        for code, raw in channel_values.items():
            if split is None or code not in known:
                parsed.problems.append(Problem("reports.err_channel_unknown", {"channel": code}, None,
                                               f"channel:{code}"))
                continue
            name = f"{split.name(lang)} · {cat.channel_name(code, lang)}"
            value = _cell(parsed, split, raw, field=name, staff_id=None, code=f"channel:{code}")
            if value is not None:
                parsed.channels[code] = value
    if texts is not None:
        parsed.texts = {}
        for key in (k for k in TEXT_FIELDS if k in texts):
            try:
                parsed.texts[key] = clean_text(texts[key], field=translate(lang, f"reports.{key}"))
            except ValidationFailed as exc:
                parsed.problems.append(Problem(exc.key, exc.params, None, key))
    return parsed


def merge(current: Content, parsed: Parsed) -> Content:
    """The content after applying `parsed`: given staff rows replace theirs, given sections
    (branch metrics, channel split, each text) replace theirs, everything else stays."""
    return Content(
        staff={**current.staff, **parsed.staff},
        branch=dict(current.branch if parsed.branch is None else parsed.branch),
        channels=dict(current.channels if parsed.channels is None else parsed.channels),
        texts={**current.texts, **(parsed.texts or {})},
    )


def check(cat: Catalogue, parsed: Parsed, content: Content, *, lang: str, names: dict[int, str],
          active_staff: int) -> list[Problem]:
    """Every problem of an input: its cell problems, then the cross-cell rules on the merged
    content — leaving out rule problems that only echo a cell already refused (a refused
    cell reads as blank)."""
    refused_rows = {p.staff_id for p in parsed.problems if p.staff_id is not None}
    refused_split = any(p.field == cat.split_metric or p.field.startswith("channel:") for p in parsed.problems)
    rules = [p for p in check_rules(cat, content, lang=lang, names=names, active_staff=active_staff)
             if p.staff_id not in refused_rows and not (p.field == "channels" and refused_split)]
    return parsed.problems + rules


def check_rules(cat: Catalogue, content: Content, *, lang: str, names: dict[int, str],
                active_staff: int) -> list[Problem]:
    """Rules across cells of the whole (merged) report."""
    problems: list[Problem] = []
    by_code = cat.by_code
    pairs = [m for m in cat.staff if m.le_code and m.le_code in by_code]
    for sid, row in content.staff.items():
        for spec in pairs:
            value, limit = row.get(spec.code), row.get(spec.le_code, 0)
            if value is not None and value > limit:
                problems.append(Problem("reports.err_le", {
                    "field": f"{names.get(sid, sid)} · {spec.name(lang)}", "value": value,
                    "other": by_code[spec.le_code].name(lang), "limit": limit}, sid, spec.code))
    split = cat.split_metric
    if content.channels and split:
        total = sum(row.get(split, 0) for row in content.staff.values())
        channels = sum(content.channels.values())
        if channels != total:
            problems.append(Problem("reports.err_channel_sum", {
                "channels": channels, "total": total, "metric": by_code[split].name(lang)}, None, "channels"))
    for code in STAFF_COUNT_METRICS:
        value = content.branch.get(code)
        if value is not None and value > active_staff:
            problems.append(Problem("reports.err_staff_count", {
                "field": by_code[code].name(lang) if code in by_code else code, "value": value,
                "limit": active_staff}, None, code))
    return problems
