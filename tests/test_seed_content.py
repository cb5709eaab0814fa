"""Consistency tests for the declarative playbook content in seed/content/*.toml.

These check real cross-file properties (every referenced code exists, codes are unique,
the 9-cell activity library is complete, budgets fit the MVP envelope, texts are
bilingual) so that a broken edit of the seed content fails here, not in the app.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CONTENT = Path(__file__).resolve().parents[1] / "seed" / "content"
FILES = [
    "metrics",
    "channels",
    "stages",
    "sop_templates",
    "playbook",
    "scenarios",
    "capabilities",
    "qa",
    "badges",
    "contest_rules",
]

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")

STAFF_METRICS = {
    "wecom_adds", "valid_adds", "outbound_calls", "add_requests", "accepted_adds",
    "touches_1v1", "group_sends", "moments_posts", "reactivated", "new_accounts",
    "product_sales", "aum_increase", "card_bindings", "campaign_participants",
    "live_viewers", "camp_checkins",
}
BRANCH_METRICS = {"staff_active", "wecom_customers_total", "nps"}
MONEY_METRICS = {"product_sales", "aum_increase"}
REQUIRED_RATES = {
    "pass_rate", "valid_add_rate", "usage_rate", "coverage_rate", "touches_per_customer_week",
}
SPECIAL_DENOMINATORS = {"active_staff", "customer_base"}
CHANNELS = {
    "app_banner", "official_account", "desk_card", "enterprise_visit",
    "wechat_migration", "outbound_add",
}
STAGES = ["mindset", "tools", "batch", "personalised"]
BLOCKERS = {"unwilling", "unable", "no_use_case"}
GOALS = {
    "new_accounts": "scenario_new_accounts",
    "product_marketing": "scenario_product",
    "aum_growth": "scenario_aum",
}
SEGMENTS = {
    "payroll": {"white_collar", "blue_collar", "professional"},
    "elderly": {"active", "wellness", "senior"},
    "rural": {"farming", "migrant_work", "self_employed"},
}
SCENARIO_TEMPLATES = {
    "scenario_add", "scenario_reactivate", "scenario_new_accounts",
    "scenario_product", "scenario_aum",
}
QA_CATEGORIES = BLOCKERS | {
    "operations", "compliance", "scenario_add", "scenario_reactivate",
    "scenario_new_accounts", "scenario_product", "scenario_aum",
}
BUDGET_CATEGORIES = {"materials", "training", "incentives", "travel", "tools", "other"}
ROLES = {"coach", "branch_lead", "hq"}


def _load(name: str) -> dict[str, Any]:
    with open(CONTENT / f"{name}.toml", "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, Any]]:
    return {name: _load(name) for name in FILES}


@pytest.fixture(scope="module")
def metric_codes(data) -> set[str]:
    return {m["code"] for m in data["metrics"]["metric"]}


@pytest.fixture(scope="module")
def rate_codes(data) -> set[str]:
    return {r["code"] for r in data["metrics"]["rate"]}


@pytest.fixture(scope="module")
def sop_item_codes(data) -> set[str]:
    return {i["code"] for t in data["sop_templates"]["template"] for i in t["item"]}


@pytest.fixture(scope="module")
def template_codes(data) -> set[str]:
    return {t["code"] for t in data["sop_templates"]["template"]}


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every table (dict) in a parsed TOML document with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("name", FILES)
def test_file_parses_and_is_not_empty(name):
    doc = _load(name)
    assert doc, f"{name}.toml is empty"


# ---------------------------------------------------------------- bilingual text


@pytest.mark.parametrize("name", FILES)
def test_every_zh_field_has_cjk_and_an_en_twin(name):
    doc = _load(name)
    checked = 0
    for path, table in _walk(doc):
        for key, value in table.items():
            if key.endswith("_zh"):
                twin = key[:-3] + "_en"
                assert twin in table, f"{name}:{path}.{key} has no {twin}"
                zh_items = _strings(value)
                en_items = _strings(table[twin])
                assert zh_items, f"{name}:{path}.{key} is empty"
                assert len(zh_items) == len(en_items), f"{name}:{path}.{key} / {twin} lengths differ"
                for s in zh_items:
                    assert isinstance(s, str) and s.strip(), f"{name}:{path}.{key} has an empty entry"
                    assert CJK.search(s), f"{name}:{path}.{key} has no Chinese: {s!r}"
                for s in en_items:
                    assert isinstance(s, str) and s.strip(), f"{name}:{path}.{twin} has an empty entry"
                    assert not CJK.search(s), f"{name}:{path}.{twin} contains Chinese: {s!r}"
                checked += 1
            elif key.endswith("_en"):
                # sub_segment_notes / sub_segment_notes_en: the Chinese table has no suffix
                base = key[:-3]
                assert base + "_zh" in table or base in table, f"{name}:{path}.{key} has no _zh twin"
    assert checked > 0


@pytest.mark.parametrize("name", FILES)
def test_codes_are_lowercase_ascii(name):
    doc = _load(name)
    for path, table in _walk(doc):
        code = table.get("code")
        if code is not None:
            assert isinstance(code, str) and CODE_RE.match(code), f"{name}:{path} bad code {code!r}"


# ---------------------------------------------------------------- metrics and rates


def test_metric_codes_exact(data, metric_codes):
    metrics = data["metrics"]["metric"]
    assert len(metrics) == len(metric_codes), "duplicate metric code"
    assert metric_codes == STAFF_METRICS | BRANCH_METRICS


def test_metric_fields(data, metric_codes):
    orders = []
    for m in data["metrics"]["metric"]:
        code = m["code"]
        assert m["kind"] in {"count", "money", "score"}, code
        assert m["direction"] in {"higher", "lower"}, code
        assert m["level"] == ("staff" if code in STAFF_METRICS else "branch"), code
        assert isinstance(m["channel_split"], bool)
        assert m["channel_split"] is (code == "wecom_adds"), code
        assert m["min"] < m["max"], code
        assert (m["kind"] == "money") is (code in MONEY_METRICS), code
        assert isinstance(m["order"], int)
        orders.append(m["order"])
        if "le" in m:
            assert m["le"] in metric_codes, f"{code}.le -> {m['le']}"
            assert m["le"] != code
        if m["level"] == "staff" and m["kind"] == "count":
            assert m["max"] <= 5000, f"{code} daily max implausible"
    assert len(orders) == len(set(orders)), "metric orders must be unique"
    by_code = {m["code"]: m for m in data["metrics"]["metric"]}
    assert by_code["valid_adds"]["le"] == "wecom_adds"
    assert by_code["accepted_adds"]["le"] == "add_requests"
    assert by_code["wecom_adds"]["max"] == 500
    assert by_code["outbound_calls"]["max"] == 1000
    assert (by_code["nps"]["kind"], by_code["nps"]["min"], by_code["nps"]["max"]) == ("score", -100, 100)
    for code in MONEY_METRICS:
        assert by_code[code]["max"] >= 1_000_000, "money is in yuan, max must be large"
    assert by_code["wecom_customers_total"]["max"] > by_code["wecom_adds"]["max"]


def test_rates_reference_existing_metrics(data, metric_codes, rate_codes):
    rates = data["metrics"]["rate"]
    assert len(rates) == len(rate_codes), "duplicate rate code"
    assert REQUIRED_RATES <= rate_codes
    assert not (rate_codes & metric_codes), "rate and metric codes must not collide"
    for r in rates:
        assert r["numerator"] in metric_codes, r["code"]
        assert r["denominator"] in metric_codes | SPECIAL_DENOMINATORS, r["code"]
        assert isinstance(r["per_week"], bool)
        assert r["benchmark_low"] <= r["benchmark_high"], r["code"]
        if "fail_below" in r:
            assert r["fail_below"] <= r["benchmark_low"], r["code"]
    by_code = {r["code"]: r for r in rates}
    pr = by_code["pass_rate"]
    assert (pr["numerator"], pr["denominator"]) == ("accepted_adds", "add_requests")
    assert (pr["benchmark_low"], pr["benchmark_high"], pr["fail_below"]) == (0.6, 0.8, 0.5)
    assert "5%" in pr["description_zh"] and "10%" in pr["description_zh"]
    assert by_code["usage_rate"]["denominator"] == "active_staff"
    assert by_code["coverage_rate"]["denominator"] == "customer_base"
    t = by_code["touches_per_customer_week"]
    assert t["per_week"] is True and t["numerator"] == "touches_1v1"
    assert 1.5 <= t["target"] <= 2.5
    for code in REQUIRED_RATES - {"touches_per_customer_week"}:
        assert by_code[code]["benchmark_high"] <= 1.0, f"{code} benchmarks must be fractions"


# ---------------------------------------------------------------- channels


def test_six_channels(data):
    channels = data["channels"]["channel"]
    codes = [c["code"] for c in channels]
    assert len(codes) == 6 and set(codes) == CHANNELS
    assert sorted(c["order"] for c in channels) == list(range(1, 7))
    by_code = {c["code"]: c for c in channels}
    assert "500" in by_code["enterprise_visit"]["benchmark_text_zh"]
    assert "2万" in by_code["wechat_migration"]["benchmark_text_zh"]
    outbound = by_code["outbound_add"]["benchmark_text_zh"]
    for figure in ("5%", "10%", "60%", "80%", "50%"):
        assert figure in outbound


# ---------------------------------------------------------------- SOP templates


def test_sop_templates_present(data, template_codes):
    assert {"rhythm", "service_plan"} | SCENARIO_TEMPLATES <= template_codes
    kinds = {t["code"]: t["kind"] for t in data["sop_templates"]["template"]}
    assert kinds["rhythm"] == "rhythm" and kinds["service_plan"] == "service_plan"
    assert all(kinds[c] == "scenario" for c in SCENARIO_TEMPLATES)


def test_sop_item_codes_unique_and_prefixed(data):
    codes = [i["code"] for t in data["sop_templates"]["template"] for i in t["item"]]
    dupes = [c for c, n in Counter(codes).items() if n > 1]
    assert not dupes, f"duplicate SOP item codes: {dupes}"
    for t in data["sop_templates"]["template"]:
        for item in t["item"]:
            assert item["code"].startswith(t["code"] + "."), item["code"]


def test_sop_item_fields(data):
    for t in data["sop_templates"]["template"]:
        orders = [i["order"] for i in t["item"]]
        assert len(orders) == len(set(orders)), f"{t['code']}: duplicate order"
        for item in t["item"]:
            assert -14 <= item["day_offset"] <= 27, item["code"]
            assert item["owner_role"] in ROLES, item["code"]
            assert isinstance(item["evidence_required"], bool), item["code"]
            assert isinstance(item["step"], int), item["code"]


def test_rhythm_has_six_steps_over_four_weeks(data):
    rhythm = next(t for t in data["sop_templates"]["template"] if t["code"] == "rhythm")
    items = rhythm["item"]
    assert 16 <= len(items) <= 22
    assert {i["step"] for i in items} == set(range(1, 7))
    steps_in_order = [i["step"] for i in sorted(items, key=lambda i: i["order"])]
    assert steps_in_order == sorted(steps_in_order), "rhythm steps must follow order"
    assert min(i["day_offset"] for i in items) < 0, "step 1 happens before the start"
    assert max(i["day_offset"] for i in items) >= 21, "items spread over the 4 weeks"
    assert any(i["evidence_required"] for i in items)


def test_service_plan_shape(data):
    plan = next(t for t in data["sop_templates"]["template"] if t["code"] == "service_plan")
    items = plan["item"]
    visits = [i for i in items if "visit" in i["code"]]
    assert len(visits) == 2
    assert sorted(i["day_offset"] for i in visits)[0] <= 2
    assert any(12 <= i["day_offset"] <= 16 for i in visits)
    assert len([i for i in items if "training" in i["code"]]) == 2
    assert {i["day_offset"] for i in items if "review" in i["code"]} >= {7, 14, 21}
    assert any("contest_launch" in i["code"] for i in items)
    assert any("contest_final" in i["code"] for i in items)


def test_scenario_templates_have_4_to_6_items(data):
    for t in data["sop_templates"]["template"]:
        if t["code"] in SCENARIO_TEMPLATES:
            assert 4 <= len(t["item"]) <= 6, t["code"]


def test_product_scenario_touches_on_days_1_3_7(data):
    t = next(t for t in data["sop_templates"]["template"] if t["code"] == "scenario_product")
    assert {1, 3, 7} <= {i["day_offset"] for i in t["item"]}


# ---------------------------------------------------------------- stages


def test_stages_and_criteria(data, metric_codes, rate_codes, sop_item_codes):
    stages = data["stages"]["stage"]
    assert [s["code"] for s in sorted(stages, key=lambda s: s["order"])] == STAGES
    assert [s["order"] for s in sorted(stages, key=lambda s: s["order"])] == [1, 2, 3, 4]
    criterion_codes = []
    for s in stages:
        assert s["blocker"] in BLOCKERS | {""}, s["code"]
        crits = s["criterion"]
        assert 2 <= len(crits) <= 4, s["code"]
        assert {c["kind"] for c in crits} == {"evidence", "metric"}, f"{s['code']} must mix kinds"
        for c in crits:
            criterion_codes.append(c["code"])
            if c["kind"] == "evidence":
                assert c["sop_items"], c["code"]
                missing = set(c["sop_items"]) - sop_item_codes
                assert not missing, f"{c['code']} references unknown SOP items {missing}"
            else:
                assert c["metric"] in metric_codes | rate_codes, c["code"]
                assert c["op"] in {">=", "<="}, c["code"]
                assert isinstance(c["window_days"], int) and c["window_days"] > 0
                if c["metric"] in rate_codes and c["metric"] != "touches_per_customer_week":
                    assert 0 < c["threshold"] <= 1, f"{c['code']}: rates are fractions"
    assert len(criterion_codes) == len(set(criterion_codes)), "criterion codes must be unique"
    blockers = [s["blocker"] for s in stages if s["blocker"]]
    assert sorted(blockers) == sorted(BLOCKERS)
    thresholds = {c["metric"]: c["threshold"] for s in stages for c in s["criterion"] if c["kind"] == "metric"}
    assert thresholds.get("usage_rate") == 0.8
    assert thresholds.get("coverage_rate") == 0.3
    assert thresholds.get("nps") == 70


def test_blockers(data):
    blockers = data["stages"]["blocker"]
    assert {b["code"] for b in blockers} == BLOCKERS
    assert len(blockers) == 3


# ---------------------------------------------------------------- playbook


def test_matcher_steps(data, template_codes):
    pb = data["playbook"]
    status = {s["code"]: s["flow_code"] for s in pb["wecom_status"]}
    assert status == {"none": "add", "has_customers": "reactivate"}
    assert {g["code"]: g["sop_template"] for g in pb["goal"]} == GOALS
    assert {s["code"]: {x["code"] for x in s["sub"]} for s in pb["segment"]} == SEGMENTS
    flows = {f["code"]: f for f in pb["flow"]}
    assert set(flows) == {"add", "reactivate"}
    assert flows["add"]["sop_template"] == "scenario_add"
    assert flows["reactivate"]["sop_template"] == "scenario_reactivate"
    for f in flows.values():
        assert f["sop_template"] in template_codes
        assert f["step"] and f["script"]
        for step in f["step"]:
            assert -14 <= step["day_offset"] <= 27
    scenes = {s["code"] for s in flows["reactivate"]["scene"]}
    assert scenes == {"care", "tag_product", "behaviour_lead", "after_sales", "lapsed_campaign"}


def test_nine_packages_cover_the_grid(data):
    packages = data["playbook"]["package"]
    assert len(packages) == 9
    cells = Counter((p["segment"], p["goal"]) for p in packages)
    expected = set(itertools.product(SEGMENTS, GOALS))
    assert set(cells) == expected and all(n == 1 for n in cells.values())
    for p in packages:
        assert p["code"] == f"{p['segment']}_{p['goal']}"
        assert p["sop_template"] == GOALS[p["goal"]], p["code"]


def test_package_contents(data, metric_codes, rate_codes):
    for p in data["playbook"]["package"]:
        code = p["code"]
        subs = SEGMENTS[p["segment"]]
        assert set(p["sub_segment_notes"]) == subs, code
        assert set(p["sub_segment_notes_en"]) == subs, code
        for sub in subs:
            assert CJK.search(p["sub_segment_notes"][sub]), f"{code}.{sub}"
            assert not CJK.search(p["sub_segment_notes_en"][sub]), f"{code}.{sub}"
        assert 5 <= len(p["step"]) <= 8, code
        for step in p["step"]:
            assert 0 <= step["day_offset"] <= 27, code
        assert p["materials_zh"] and len(p["materials_zh"]) == len(p["materials_en"]), code
        assert p["kpi"], code
        for kpi in p["kpi"]:
            assert kpi["metric"] in metric_codes | rate_codes, f"{code} KPI {kpi['metric']}"
            assert kpi["basis"] in {"week", "pilot"}, code
            assert kpi["target"] > 0, code
            if kpi["metric"] in rate_codes and kpi["metric"] != "touches_per_customer_week":
                assert kpi["target"] <= 1, f"{code}: rate KPI must be a fraction"
        budget = p["budget"]
        assert budget, code
        for line in budget:
            assert line["category"] in BUDGET_CATEGORIES, code
            assert isinstance(line["amount_yuan"], int) and line["amount_yuan"] > 0, code
        assert sum(line["amount_yuan"] for line in budget) < 100_000, f"{code} budget over the MVP cap"


def test_package_scripts_have_placeholders(data):
    pb = data["playbook"]
    declared_zh = {p["token_zh"] for p in pb["placeholder"]}
    declared_en = {p["token_en"] for p in pb["placeholder"]}
    assert {"{客户称呼}", "{网点名称}", "{客户经理}"} <= declared_zh
    assert {"{customer_name}", "{outlet_name}", "{manager_name}"} <= declared_en
    scripts = [s for f in pb["flow"] for s in f["script"]]
    for p in pb["package"]:
        assert len(p["script"]) >= 3, p["code"]
        for s in p["script"]:
            assert s["code"].startswith(p["code"] + "."), s["code"]
        scripts.extend(p["script"])
    for s in scripts:
        zh = {"{" + t + "}" for t in PLACEHOLDER.findall(s["text_zh"])}
        en = {"{" + t + "}" for t in PLACEHOLDER.findall(s["text_en"])}
        assert zh, f"{s['code']}: text_zh has no placeholder"
        assert en, f"{s['code']}: text_en has no placeholder"
        assert zh <= declared_zh, f"{s['code']}: undeclared {zh - declared_zh}"
        assert en <= declared_en, f"{s['code']}: undeclared {en - declared_en}"
        assert len(zh) == len(en), f"{s['code']}: zh/en use different placeholders"


def test_script_codes_unique(data):
    pb = data["playbook"]
    codes = [s["code"] for f in pb["flow"] for s in f["script"]]
    codes += [s["code"] for p in pb["package"] for s in p["script"]]
    dupes = [c for c, n in Counter(codes).items() if n > 1]
    assert not dupes, f"duplicate script codes: {dupes}"


# ---------------------------------------------------------------- scenarios


def test_scenarios(data, template_codes):
    scenarios = data["scenarios"]["scenario"]
    codes = {s["code"] for s in scenarios}
    assert len(scenarios) == 5
    assert codes == {"add", "reactivate", "new_accounts", "product_marketing", "aum_growth"}
    for s in scenarios:
        assert s["sop_template"] in template_codes, s["code"]
        assert s["phase"], s["code"]
        assert re.search(r"^1\.", s["logic_zh"], re.M) and re.search(r"^2\.", s["logic_zh"], re.M)


# ---------------------------------------------------------------- capabilities


def test_capabilities(data):
    layers = data["capabilities"]["layer"]
    assert [layer["code"] for layer in layers] == ["front", "middle", "back"]
    caps = [c["code"] for layer in layers for c in layer["capability"]]
    assert len(caps) == 10 and len(set(caps)) == 10
    assert all(layer["capability"] for layer in layers)
    pms = {p["code"]: p for p in data["capabilities"]["process_metric"]}
    assert set(pms) == {"mau", "repurchase", "nps", "churn", "satisfaction", "clv"}
    assert pms["nps"]["target"] == 70 and pms["nps"]["op"] == ">"


# ---------------------------------------------------------------- Q&A


def test_qa_counts_and_categories(data):
    qa = data["qa"]["qa"]
    assert len(qa) >= 36
    codes = [q["code"] for q in qa]
    assert len(codes) == len(set(codes)), "duplicate Q&A code"
    counts = Counter(q["category"] for q in qa)
    assert set(counts) <= QA_CATEGORIES, set(counts) - QA_CATEGORIES
    for cat in BLOCKERS:
        assert counts[cat] >= 3, cat
    for cat in QA_CATEGORIES - BLOCKERS - {"operations", "compliance"}:
        assert counts[cat] >= 2, cat
    for q in qa:
        assert q["code"].startswith(f"qa_{q['category']}_"), q["code"]
        assert q["tags"] and all(CJK.search(t) for t in q["tags"]), q["code"]
        sentences = [s for s in re.split(r"[。！？]", q["answer_zh"]) if s.strip()]
        assert 2 <= len(sentences) <= 6, f"{q['code']}: answer should be 2-5 sentences"
    questions = [q["question_zh"] for q in qa]
    assert len(questions) == len(set(questions)), "duplicate question"


# ---------------------------------------------------------------- badges and contest


def test_badges(data, metric_codes):
    badges = data["badges"]["badge"]
    codes = [b["code"] for b in badges]
    assert len(codes) == len(set(codes))
    assert {
        "first_10_valid_adds", "valid_adds_100", "streak_5_days",
        "weekly_champion", "top_team", "first_new_account",
    } <= set(codes)
    for b in badges:
        assert b["kind"] in {"threshold", "streak", "weekly_champion", "top_team"}, b["code"]
        if "metric" in b:
            assert b["metric"] in metric_codes, b["code"]
        if b["kind"] == "threshold":
            assert b["metric"] in metric_codes and isinstance(b["threshold"], int) and b["threshold"] > 0
        if b["kind"] == "streak":
            assert isinstance(b["days"], int) and b["days"] >= 2, b["code"]
    by_code = {b["code"]: b for b in badges}
    assert by_code["first_10_valid_adds"]["threshold"] == 10
    assert by_code["valid_adds_100"]["threshold"] == 100
    assert by_code["streak_5_days"]["days"] == 5
    assert by_code["first_new_account"]["metric"] == "new_accounts"


def test_contest_rules(data, metric_codes):
    doc = data["contest_rules"]
    assert doc["person_daily_cap"] == 200
    assert doc["manual_award_approval_threshold"] == 20
    assert doc["contest"]["name_zh"]
    rules = doc["rule"]
    metrics = [r["metric"] for r in rules]
    assert len(metrics) == len(set(metrics)), "one rule per metric"
    for r in rules:
        assert r["metric"] in metric_codes, r["metric"]
        assert r["points_per_unit"] > 0
        assert isinstance(r["unit_size"], int) and r["unit_size"] >= 1
        assert isinstance(r["daily_cap_points"], int) and 0 <= r["daily_cap_points"] <= doc["person_daily_cap"]
        assert isinstance(r["valid_only"], bool)
    by_metric = {r["metric"]: r for r in rules}
    assert by_metric["valid_adds"]["valid_only"] is True
    assert by_metric["valid_adds"]["daily_cap_points"] == 50
    assert "wecom_adds" not in by_metric, "raw adds must not score; only valid adds"
    assert by_metric["aum_increase"]["unit_size"] == 10000


# ---------------------------------------------------------------- global references


def test_every_referenced_metric_exists(data, metric_codes, rate_codes):
    known = metric_codes | rate_codes
    refs: list[tuple[str, str]] = []
    for s in data["stages"]["stage"]:
        refs += [("stage", c["metric"]) for c in s["criterion"] if c["kind"] == "metric"]
    for p in data["playbook"]["package"]:
        refs += [(p["code"], k["metric"]) for k in p["kpi"]]
    for r in data["metrics"]["rate"]:
        refs += [(r["code"], r["numerator"])]
        if r["denominator"] not in SPECIAL_DENOMINATORS:
            refs += [(r["code"], r["denominator"])]
    refs += [(b["code"], b["metric"]) for b in data["badges"]["badge"] if "metric" in b]
    refs += [("contest", r["metric"]) for r in data["contest_rules"]["rule"]]
    missing = [(where, code) for where, code in refs if code not in known]
    assert not missing, f"unknown metric/rate codes: {missing}"
    assert len(refs) > 20


def test_all_sop_template_references_exist(data, template_codes):
    refs = [g["sop_template"] for g in data["playbook"]["goal"]]
    refs += [f["sop_template"] for f in data["playbook"]["flow"]]
    refs += [p["sop_template"] for p in data["playbook"]["package"]]
    refs += [s["sop_template"] for s in data["scenarios"]["scenario"]]
    assert set(refs) <= template_codes, set(refs) - template_codes


# ---------------------------------------------------------------- own words


SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds not available")
def test_no_long_verbatim_runs_from_the_source_documents():
    """Content must be written in our own words: no 16-character Chinese run copied."""
    source = "".join(CJK.findall("".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))))
    window = 16
    shingles = {source[i:i + window] for i in range(len(source) - window + 1)}
    copied = []
    for name in FILES:
        text = (CONTENT / f"{name}.toml").read_text(encoding="utf-8")
        for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]+", text):
            for i in range(len(run) - window + 1):
                if run[i:i + window] in shingles:
                    copied.append((name, run[i:i + window]))
                    break
    assert not copied, f"verbatim runs from the source documents: {copied[:5]}"
