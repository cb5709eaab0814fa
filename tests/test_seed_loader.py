"""Loading the guide's content: idempotent on both databases; an edited content file updates
its rows without losing what users added (their Q&A entries, seed entries edited in the
portal, tuned thresholds, adopted packages); every code the content references exists."""

import shutil

from sqlmodel import Session, select

from models.pilot import Pilot
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
from portal import db, playbook, qa
from portal.access import CLI_ACTOR
from seed import loader
from tests import factories

CONTENT_TABLES = (Metric, Rate, Stage, StageCriterion, SopTemplate, SopTemplateItem, Badge, ContentItem, QaEntry)


def snapshot(engine) -> dict[str, list]:
    with Session(engine) as s:
        out = {}
        for model in CONTENT_TABLES:
            rows = s.exec(select(model)).all()
            out[model.__name__] = sorted(
                repr(sorted((k, v) for k, v in r.model_dump().items() if k not in {"created_at", "updated_at"}))
                 for r in rows)
        return out


def test_loading_again_changes_nothing(engine):
    before = snapshot(engine)
    assert loader.load_all(engine) == []  # same files: skipped by their hash
    with Session(engine) as s:  # forget the hashes: every file is applied again, row by row
        for row in s.exec(select(SeedFile)).all():
            s.delete(row)
        s.commit()
    assert len(loader.load_all(engine)) == len(loader.FILES)
    assert snapshot(engine) == before
    assert all(before[m.__name__] for m in CONTENT_TABLES)


def test_every_referenced_metric_and_sop_item_exists_in_the_database(engine):
    with Session(engine) as s:
        codes = set(s.exec(select(Metric.code)).all()) | set(s.exec(select(Rate.code)).all())
        items = set(s.exec(select(SopTemplateItem.code)).all())
        templates = set(s.exec(select(SopTemplate.code)).all())
        packages = [p.data for p in s.exec(select(ContentItem).where(ContentItem.kind == "package"))]
        criteria = s.exec(select(StageCriterion)).all()
    assert len(packages) == 9 and len(criteria) >= 8
    kpis = [(p["code"], k["metric"]) for p in packages for k in p["kpi"]]
    assert kpis and [k for k in kpis if k[1] not in codes] == []
    for c in criteria:
        if c.kind == "metric":
            assert c.metric in codes, c.code
        else:
            assert c.sop_items and set(c.sop_items) <= items, c.code
    assert {p["sop_template"] for p in packages} <= templates


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_edited_content_updates_rows_and_keeps_user_data(engine, tmp_path, monkeypatch):
    ids = factories.org(engine)
    coach = factories.user(engine, "coach")
    pid = factories.pilot(engine, ids["subs"][0], coaches=[coach], wecom_status="has_customers",
                          goal="aum_growth", segment="payroll")
    db.run(playbook.adopt_package, engine=engine, actor=coach, pilot_id=pid, package_code="payroll_aum_growth")
    mine = db.run(qa.create_entry, engine=engine, actor=coach, category="operations", question_zh="试点中写的问题",
                  answer_zh="试点中写的答案。", status="published", source_pilot_id=pid)
    with Session(engine) as s:
        improved = s.exec(select(QaEntry).where(QaEntry.code == "qa_unable_01")).one().id
    db.run(qa.update_entry, engine=engine, actor=coach, entry_id=improved, answer_zh="教练改进过的答案。")
    with Session(engine) as s:  # HQ tuned one stage threshold (the tuning service belongs to issue 8)
        crit = s.exec(select(StageCriterion).where(StageCriterion.code == "tools_usage_rate")).one()
        crit.threshold, crit.tuned = 0.7, True
        s.add(crit)
        s.commit()

    content = tmp_path / "content"
    shutil.copytree(loader.CONTENT_DIR, content)
    monkeypatch.setattr(loader, "CONTENT_DIR", content)
    _edit(content / "stages.toml", "threshold = 0.8\n", "threshold = 0.85\n")  # tools_usage_rate (tuned)
    _edit(content / "stages.toml", "threshold = 0.6\n", "threshold = 0.65\n")  # tools_pass_rate (not tuned)
    _edit(content / "qa.toml", 'question_zh = "客户标签怎么打？要打哪些？"', 'question_zh = "客户标签怎么打？（新版）"')
    _edit(content / "qa.toml", 'question_zh = "群发任务怎么发？为什么有的客户说没收到？"',
          'question_zh = "群发任务怎么发？客户为什么没收到？（新版）"')
    _edit(content / "playbook.toml", 'name_zh = "代发客群·工资定投计划"', 'name_zh = "代发客群·工资定投计划（新版）"')
    with (content / "qa.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[qa]]\ncode = "qa_operations_new"\ncategory = "operations"\nquestion_zh = "新增的问题？"\n'
                 'answer_zh = "新增的答案。第二句。"\nquestion_en = "A new question?"\n'
                 'answer_en = "A new answer."\ntags = ["新增"]\n')

    assert set(loader.load_all(engine)) == {"stages", "qa", "playbook"}
    with Session(engine) as s:
        crits = {c.code: c for c in s.exec(select(StageCriterion))}
        entries = {e.code: e for e in s.exec(select(QaEntry))}
        package = s.exec(select(ContentItem).where(ContentItem.kind == "package",
                                                   ContentItem.code == "payroll_aum_growth")).one()
        pilot = s.get(Pilot, pid)
        own = s.get(QaEntry, mine)
    assert (crits["tools_usage_rate"].threshold, crits["tools_usage_rate"].default_threshold) == (0.7, 0.85)
    assert crits["tools_pass_rate"].threshold == 0.65
    assert entries["qa_unable_01"].answer_zh == "教练改进过的答案。"  # edited in the portal: kept
    assert entries["qa_unable_01"].question_zh == "客户标签怎么打？要打哪些？"
    assert entries["qa_unable_02"].question_zh.endswith("（新版）")  # untouched seed entry: updated
    assert entries["qa_operations_new"].status == "published"
    assert own.question_zh == "试点中写的问题" and own.source_pilot_id == pid
    assert package.data["name_zh"].endswith("（新版）")
    assert pilot.package_code == "payroll_aum_growth"
    pack = db.run(playbook.pack, engine=engine, write=False, actor=CLI_ACTOR, pilot_id=pid)
    assert pack["packages"][0]["name"].endswith("（新版）") and pack["kpis"]
    assert loader.load_all(engine) == []

