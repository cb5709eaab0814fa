"""The Q&A manual service (search, roles, validation, audit, seed protection) and its page."""

from datetime import date

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.playbook import QaEntry
from portal import db, qa
from portal.access import CLI_ACTOR
from portal.errors import NotFound, PermissionDenied, ValidationFailed
from tests.apptest import goto, open_as, raw_keys
from tests.test_playbook import make_world, read


@pytest.fixture
def world(engine):
    return make_world(engine)


def create(engine, actor, **kw):
    values = {"category": "unable", "question_zh": "怎么给客户打标签？", "answer_zh": "按客群、渠道、兴趣三类打。", **kw}
    return db.run(qa.create_entry, engine=engine, actor=actor, **values)


def test_create_records_author_source_and_audit(engine, world):
    eid = create(engine, world["coach"], tags=("标签", " 操作 ", "标签"), source_pilot_id=world["pilot"],
                 question_zh="  企微里怎么批量打标签？  ")
    with Session(engine) as s:
        entry = s.get(QaEntry, eid)
        log = s.exec(select(AuditLog).where(AuditLog.action == "qa.create")).one()
    assert entry.question_zh == "企微里怎么批量打标签？" and entry.tags == "标签、操作"
    assert entry.status == "draft" and entry.author_user_id == world["coach"].user_id
    assert entry.source_pilot_id == world["pilot"] and entry.source_date is not None
    assert log.entity_id == str(eid) and log.after["question_zh"] == entry.question_zh


def test_coach_cannot_attach_someone_elses_pilot(engine, world):
    with pytest.raises(PermissionDenied):
        create(engine, world["other"], source_pilot_id=world["pilot"])
    with Session(engine) as s:
        assert s.exec(select(QaEntry).where(QaEntry.code.is_(None))).all() == []
    assert create(engine, CLI_ACTOR, source_pilot_id=world["pilot"], source_date=date(2026, 11, 5))


@pytest.mark.parametrize("bad", [
    {"question_zh": ""}, {"question_zh": "   "}, {"question_zh": "问" * 501}, {"answer_zh": "答" * 5001},
    {"category": "gossip"}, {"status": "archived"}, {"tags": [f"标签{i}" for i in range(11)]},
    {"tags": ["这是一个超过二十个字的非常非常非常长的标签名称"]}, {"question_zh": "问题\x00"},
    {"question_zh": "第一行\n第二行"}, {"answer_zh": "答案\x1b[31m"}, {"question_zh": "\u202e反向文字"},
    {"status": "published", "answer_zh": ""}, {"question_en": "Q" * 501}, {"source_date": "2026-11-05"},
    {"source_pilot_id": "1; drop"}, {"tags": "，".join(f"t{i}" for i in range(11))},
])
def test_invalid_input_is_refused(engine, world, bad):
    with pytest.raises(ValidationFailed):
        create(engine, world["coach"], **bad)


def test_staff_and_leads_cannot_write(engine, world):
    eid = create(engine, world["coach"], status="published")
    for actor in (world["staff"], world["lead"]):
        with pytest.raises(PermissionDenied):
            create(engine, actor)
        with pytest.raises(PermissionDenied):
            db.run(qa.update_entry, engine=engine, actor=actor, entry_id=eid, answer_zh="改掉")
        with pytest.raises(PermissionDenied):
            db.run(qa.set_status, engine=engine, actor=actor, entry_id=eid, status="draft")
    with Session(engine) as s:
        assert s.get(QaEntry, eid).answer_zh == "按客群、渠道、兴趣三类打。"


def test_readers_see_published_only_editors_see_drafts(engine, world):
    draft = create(engine, world["coach"], question_zh="草稿：代发客户怎么约训练营？")
    pub = create(engine, world["coach"], question_zh="已发布：代发客户怎么约训练营？", status="published")
    for actor in (world["staff"], world["lead"]):
        ids = set(read(engine, qa.search, actor=actor, text="训练营", status="draft")["id"])
        assert pub in ids and draft not in ids
        with pytest.raises(NotFound):
            read(engine, qa.get_entry, actor=actor, entry_id=draft)
    assert {draft, pub} <= set(read(engine, qa.search, actor=world["other"], text="训练营")["id"])
    assert set(read(engine, qa.search, actor=world["coach"], text="训练营", status="draft")["id"]) >= {draft}
    assert pub not in set(read(engine, qa.search, actor=world["coach"], text="训练营", status="draft")["id"])


def test_search_chinese_substrings_tags_and_wildcards_are_literal(engine, world):
    eid = create(engine, world["coach"], question_zh="外呼加微通过率只有30%怎么办？", answer_zh="先复盘名单。",
                 tags=["通过率_低"], status="published", question_en="Pass rate only 30% for VIP calls?")
    assert eid in set(read(engine, qa.search, actor=world["staff"], text="vip CALLS")["id"])  # any case
    assert eid in set(read(engine, qa.search, actor=world["staff"], text="加微通过")["id"])
    assert eid in set(read(engine, qa.search, actor=world["staff"], text="通过率_低")["id"])  # tag
    percent = set(read(engine, qa.search, actor=world["staff"], text="30%")["id"])
    assert eid in percent
    assert read(engine, qa.search, actor=world["staff"], text="%%%").empty  # % is not a wildcard
    assert read(engine, qa.search, actor=world["staff"], text="_").shape[0] == 1  # only the tag with "_"
    seeded = read(engine, qa.search, actor=world["staff"])
    assert len(seeded) >= 37 and set(seeded["category"]) <= set(qa.CATEGORIES)


def test_filter_by_category_and_scenario(engine, world):
    aum = read(engine, qa.search, actor=world["staff"], scenario="aum_growth")
    assert len(aum) >= 2 and set(aum["category"]) == {"scenario_aum"}
    compliance = read(engine, qa.search, actor=world["staff"], category="compliance")
    assert len(compliance) >= 1 and set(compliance["category"]) == {"compliance"}
    with pytest.raises(ValidationFailed):
        read(engine, qa.search, actor=world["staff"], scenario="moon")
    with pytest.raises(ValidationFailed):
        read(engine, qa.search, actor=world["staff"], category="moon")


def test_editing_a_seed_entry_is_audited_and_marks_it_edited(engine, world):
    with Session(engine) as s:
        seed = s.exec(select(QaEntry).where(QaEntry.code == "qa_unable_01")).one()
    db.run(qa.update_entry, engine=engine, actor=world["coach"], entry_id=seed.id,
           answer_zh="按行内标签模板打三类标签：客群、来源渠道、兴趣需求。", tags="标签、模板")
    db.run(qa.set_status, engine=engine, actor=world["coach"], entry_id=seed.id, status="draft")
    with Session(engine) as s:
        row = s.get(QaEntry, seed.id)
        logs = s.exec(select(AuditLog).where(AuditLog.action == "qa.update")).all()
    assert row.edited and row.status == "draft" and row.tags == "标签、模板"
    assert logs[0].before["answer_zh"] == seed.answer_zh and logs[0].after["answer_zh"].startswith("按行内")
    assert logs[1].before["status"] == "published" and logs[1].after["status"] == "draft"
    db.run(qa.update_entry, engine=engine, actor=world["coach"], entry_id=seed.id, tags="标签、模板")
    with Session(engine) as s:
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "qa.update")).all()) == 2  # no-op not logged
    with pytest.raises(NotFound):
        db.run(qa.update_entry, engine=engine, actor=world["coach"], entry_id=999999, answer_zh="x")


def test_manual_is_published_only_in_category_order(engine, world):
    create(engine, world["coach"], category="unwilling", question_zh="草稿不进手册")
    rows = read(engine, qa.manual, actor=world["coach"])
    assert rows and all("草稿不进手册" != r["question"] for r in rows)
    order = [qa.CATEGORIES.index(r["category"]) for r in rows]
    assert order == sorted(order)


# ---------------------------------------------------------------- page


def test_staff_view_has_no_edit_form_and_no_drafts(demo_db):
    at = goto(open_as("staff_demo"), "qa")
    assert not at.exception and not raw_keys(at)
    assert not at.text_area and not at.radio, "staff get no create/edit form"
    first_page = [t.value for t in at.text]
    shown = " ".join(first_page)
    pager = at.get("pagination")[0]
    assert pager.num_pages > 1 and len([t for t in first_page if t.startswith("问：")]) == 15
    for page_no in range(2, pager.num_pages + 1):  # every page, by the page buttons
        at.get("pagination")[0].set_value(page_no).run()
        assert not at.exception
        shown += " ".join(t.value for t in at.text)
    assert "训练营第二天打卡" in shown  # a published entry from the demo pilot
    assert "是否保本" not in shown and "能不能保本" not in shown  # the demo draft stays hidden
    at.text_input(key="qa_query").input("企业专属群").run()
    assert not at.exception and "企业专属群" in " ".join(t.value for t in at.text)


def test_coach_creates_an_entry_from_the_page(demo_db):
    at = goto(open_as("coach_li"), "qa")
    assert not at.exception and not at.text_area  # the form is drawn once its section is opened
    at.session_state["qa_create_box"] = True
    at.run()
    assert at.text_area
    at.text_area[0].input("客户问企微能不能转账，怎么回答？")
    at.text_area[1].input("企微只用于沟通和服务，转账请在手机银行或网点办理。")
    at.text_input[1].input("转账、安全")
    next(b for b in at.button if "FormSubmitter:qa_create" in b.id).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at = goto(open_as("coach_li"), "qa")
    at.text_input(key="qa_query").input("能不能转账").run()
    assert "客户问企微能不能转账" in " ".join(t.value for t in at.text)
