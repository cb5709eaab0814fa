"""SOP checklist services on SQLite and PostgreSQL: instantiation, re-dating, life-cycle,
evidence, permissions, audit, and the completion / due-item tables."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from models.audit import AuditLog
from models.playbook import SopTemplateItem
from models.sop import ChecklistItem
from portal import clock, db, pilots, sop, sop_items, sop_views
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from tests import factories

START = date(2026, 3, 2)
BASE = ["rhythm", "service_plan"]


@pytest.fixture
def world(engine):
    ids = factories.org(engine)
    a, b = ids["subs"]
    coach = factories.user(engine, "coach")
    other_coach = factories.user(engine, "coach")
    hq = factories.user(engine, "hq", branch_ids=[ids["head"]])
    lead_a = factories.user(engine, "branch_lead", branch_ids=[a])
    lead_b = factories.user(engine, "branch_lead", branch_ids=[b])
    staff = factories.user(engine, "staff", staff_no="A00")
    pa = factories.pilot(engine, a, coaches=[coach], start=START)
    pb = factories.pilot(engine, b, coaches=[other_coach], start=START)
    return {"coach": coach, "other_coach": other_coach, "hq": hq, "lead_a": lead_a, "lead_b": lead_b,
            "staff": staff, "pa": pa, "pb": pb, "engine": engine}


def run(w, fn, actor, **kw):
    return db.run(fn, engine=w["engine"], actor=w[actor] if isinstance(actor, str) else actor, **kw)


def items(engine, pilot_id: int) -> dict[str, ChecklistItem]:
    with Session(engine) as s:
        rows = s.exec(select(ChecklistItem).where(ChecklistItem.pilot_id == pilot_id)).all()
    return {r.template_item_code or f"adhoc{r.id}": r for r in rows}


def audits(engine, action: str) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def instantiated(w, templates=BASE) -> dict[str, ChecklistItem]:
    run(w, sop.instantiate, "coach", pilot_id=w["pa"], template_codes=list(templates))
    return items(w["engine"], w["pa"])


def first(w, *, evidence: bool, owner: str | None = None) -> ChecklistItem:
    return next(i for i in sorted(items(w["engine"], w["pa"]).values(), key=lambda i: (i.due_date, i.id))
                if i.evidence_required == evidence and (owner is None or i.owner_role == owner))


# ---------------------------------------------------------------- instantiation


def test_instantiate_dates_owners_and_steps_come_from_the_templates(world):
    w = world
    created = run(w, sop.instantiate, "coach", pilot_id=w["pa"], template_codes=BASE + ["scenario_aum"])
    with Session(w["engine"]) as s:
        templates = {t.code: t for t in s.exec(select(SopTemplateItem).where(
            col(SopTemplateItem.template_code).in_(BASE + ["scenario_aum"])))}
    got = items(w["engine"], w["pa"])
    assert created == len(templates) == len(got)
    for code, ti in templates.items():
        item = got[code]
        assert item.due_date == START + timedelta(days=ti.day_offset)
        assert (item.owner_role, item.evidence_required, item.title_zh, item.title_en) == \
               (ti.owner_role, ti.evidence_required, ti.title_zh, ti.title_en)
        assert item.status == "todo" and item.done_by is None
        assert item.step == (ti.step if ti.template_code == "rhythm" else 0)
    assert got["rhythm.s1.interviews"].due_date == START - timedelta(days=10)
    assert {i.step for i in got.values() if i.template_code == "rhythm"} == {1, 2, 3, 4, 5, 6}
    [row] = audits(w["engine"], "sop.instantiate")
    assert row.actor_username == w["coach"].username and len(row.after["created"]) == created


def test_instantiate_is_idempotent_and_adds_only_new_templates(world):
    w = world
    first_count = len(instantiated(w))
    assert run(w, sop.instantiate, "hq", pilot_id=w["pa"], template_codes=BASE) == 0
    assert len(items(w["engine"], w["pa"])) == first_count
    added = run(w, sop.instantiate, "hq", pilot_id=w["pa"], template_codes=BASE + ["scenario_reactivate"])
    assert added > 0 and len(items(w["engine"], w["pa"])) == first_count + added
    assert len(audits(w["engine"], "sop.instantiate")) == 2  # the no-op wrote nothing


def test_instantiate_refuses_unknown_or_missing_templates(world):
    for codes in (["nope"], [], ["  "]):
        with pytest.raises(ValidationFailed):
            run(world, sop.instantiate, "hq", pilot_id=world["pa"], template_codes=codes)
    assert items(world["engine"], world["pa"]) == {}


def test_redating_moves_open_items_only_and_keeps_manual_offsets(world):
    w = world
    got = instantiated(w)
    done = got["rhythm.s1.interviews"]
    skipped = got["rhythm.s1.segment_scene"]
    edited = got["rhythm.s2.account_check"]
    run(w, sop_items.complete, "coach", item_id=done.id, evidence_note="访谈纪要已归档")
    run(w, sop_items.set_status, "hq", item_id=skipped.id, status="skipped", reason="分行已统一完成")
    run(w, sop_items.update_item, "coach", item_id=edited.id, due_date=edited.due_date + timedelta(days=2),
        assignee_user_id=None)
    run(w, pilots.update_pilot, "hq", pilot_id=w["pa"], start_date=START + timedelta(days=7),
        end_date=START + timedelta(days=34))
    assert run(w, sop.instantiate, "coach", pilot_id=w["pa"], template_codes=BASE) == 0
    after = items(w["engine"], w["pa"])
    assert len(after) == len(got)
    assert after[done.template_item_code].due_date == done.due_date
    assert after[done.template_item_code].status == "done"
    assert after[skipped.template_item_code].due_date == skipped.due_date
    assert after[edited.template_item_code].due_date == edited.due_date + timedelta(days=9)
    for code, item in after.items():
        if code not in (done.template_item_code, skipped.template_item_code, edited.template_item_code):
            assert item.due_date == got[code].due_date + timedelta(days=7), code
    # Moving the pilot re-dated the open items at once; instantiating again had nothing to move.
    assert not audits(w["engine"], "sop.instantiate")[-1].after.get("redated")


def test_refresh_reuses_the_templates_in_use(world):
    w = world
    got = instantiated(w, BASE + ["scenario_add"])
    run(w, pilots.update_pilot, "hq", pilot_id=w["pa"], start_date=START - timedelta(days=1),
        end_date=START + timedelta(days=26))
    assert run(w, sop.refresh, "coach", pilot_id=w["pa"]) == 0
    after = items(w["engine"], w["pa"])
    assert set(after) == set(got)
    assert all(after[c].due_date == got[c].due_date - timedelta(days=1) for c in got)


# ---------------------------------------------------------------- life-cycle


def test_lifecycle_todo_doing_done_records_who_and_when(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    assert run(w, sop_items.set_status, "coach", item_id=item.id, status="doing")["changed"]
    result = run(w, sop_items.complete, "coach", item_id=item.id)
    assert result == {"id": item.id, "status": "done", "changed": True}
    done = items(w["engine"], w["pa"])[item.template_item_code]
    assert done.done_by == w["coach"].user_id and done.done_at is not None and done.version == 3
    assert [a.action for a in audits(w["engine"], "sop.start") + audits(w["engine"], "sop.complete")] == \
           ["sop.start", "sop.complete"]
    row = audits(w["engine"], "sop.complete")[0]
    assert (row.before["status"], row.after["status"], row.entity_id) == ("doing", "done", str(item.id))
    # reopening clears the completion
    run(w, sop_items.set_status, "coach", item_id=item.id, status="doing")
    reopened = items(w["engine"], w["pa"])[item.template_item_code]
    assert reopened.done_by is None and reopened.done_at is None
    assert audits(w["engine"], "sop.reopen")


def test_illegal_moves_are_refused(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    run(w, sop_items.set_status, "coach", item_id=item.id, status="blocked", reason="物料未到")
    with pytest.raises(ValidationFailed) as exc:
        run(w, sop_items.complete, "coach", item_id=item.id)
    assert exc.value.key == "sop.err_move"
    run(w, sop_items.set_status, "coach", item_id=item.id, status="doing")
    assert items(w["engine"], w["pa"])[item.template_item_code].reason == ""
    run(w, sop_items.complete, "coach", item_id=item.id)
    for target in ("blocked", "todo", "bogus"):
        with pytest.raises(ValidationFailed):
            run(w, sop_items.set_status, "hq", item_id=item.id, status=target, reason="x")


def test_blocked_and_skipped_need_a_reason(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    with pytest.raises(ValidationFailed) as exc:
        run(w, sop_items.set_status, "coach", item_id=item.id, status="blocked", reason="   ")
    assert exc.value.key == "sop.err_reason"
    with pytest.raises(ValidationFailed):
        run(w, sop_items.set_status, "hq", item_id=item.id, status="skipped")
    run(w, sop_items.set_status, "coach", item_id=item.id, status="blocked", reason="等待分行审批")
    assert items(w["engine"], w["pa"])[item.template_item_code].reason == "等待分行审批"


def test_skip_is_head_office_only(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    with pytest.raises(PermissionDenied):
        run(w, sop_items.set_status, "coach", item_id=item.id, status="skipped", reason="不需要")
    run(w, sop_items.set_status, "hq", item_id=item.id, status="skipped", reason="分行已统一完成")
    with pytest.raises(PermissionDenied):  # un-skipping too
        run(w, sop_items.set_status, "coach", item_id=item.id, status="todo")
    assert [a.outcome for a in audits(w["engine"], "sop.skip")] == ["denied", "ok"]
    run(w, sop_items.set_status, "hq", item_id=item.id, status="todo")
    assert items(w["engine"], w["pa"])[item.template_item_code].status == "todo"


def test_evidence_required_items_need_a_note_and_links_must_be_http(world):
    w = world
    instantiated(w)
    item = first(w, evidence=True)
    with pytest.raises(ValidationFailed) as exc:
        run(w, sop_items.complete, "coach", item_id=item.id, evidence_note="  ")
    assert exc.value.key == "sop.err_evidence"
    for bad in ("javascript:alert(1)", "ftp://x.example.com/a", "http://", "https://a b.com", "x" * 600):
        with pytest.raises(ValidationFailed):
            run(w, sop_items.complete, "coach", item_id=item.id, evidence_note="纪要", evidence_link=bad)
    with pytest.raises(ValidationFailed):
        run(w, sop_items.complete, "coach", item_id=item.id, evidence_note="长" * 2001)
    assert items(w["engine"], w["pa"])[item.template_item_code].status == "todo"
    note = "<script>alert('x')</script> 访谈 5 人，纪要已归档"
    run(w, sop_items.complete, "coach", item_id=item.id, evidence_note=note,
        evidence_link="https://pan.example.com/a?b=1")
    done = items(w["engine"], w["pa"])[item.template_item_code]
    assert (done.status, done.evidence_note, done.evidence_link) == ("done", note, "https://pan.example.com/a?b=1")


def test_completing_twice_leaves_one_completion(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    run(w, sop_items.complete, "coach", item_id=item.id)
    stamp = items(w["engine"], w["pa"])[item.template_item_code].done_at
    again = run(w, sop_items.complete, "hq", item_id=item.id)
    assert again == {"id": item.id, "status": "done", "changed": False}
    after = items(w["engine"], w["pa"])[item.template_item_code]
    assert after.done_at == stamp and after.done_by == w["coach"].user_id
    assert len(audits(w["engine"], "sop.complete")) == 1


def test_concurrent_completions_of_one_item_make_one_completion(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    results, errors = [], []

    def click():
        try:
            results.append(run(w, sop_items.complete, "coach", item_id=item.id))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r["changed"] for r in results) == [False, False, False, True]
    assert len(audits(w["engine"], "sop.complete")) == 1


# ---------------------------------------------------------------- permissions


def test_out_of_scope_users_are_refused(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    for actor in ("other_coach", "lead_b", "staff"):
        with pytest.raises(PermissionDenied):
            run(w, sop_items.complete, actor, item_id=item.id)
        with pytest.raises(PermissionDenied):
            run(w, sop_views.pilot_checklist, actor, pilot_id=w["pa"])
        with pytest.raises(PermissionDenied):
            run(w, sop_views.completion, actor, pilot_ids=[w["pa"]])
    for actor in ("other_coach", "lead_a", "staff"):
        with pytest.raises(PermissionDenied):
            run(w, sop.instantiate, actor, pilot_id=w["pa"], template_codes=BASE)
        with pytest.raises(PermissionDenied):
            run(w, sop_items.add_item, actor, pilot_id=w["pa"], title="x", due_date=START, owner_role="coach")
    assert items(w["engine"], w["pa"])[item.template_item_code].status == "todo"
    denied = [a for a in audits(w["engine"], "sop.complete") if a.outcome == "denied"]
    assert {d.actor_username for d in denied} == {w["other_coach"].username, w["lead_b"].username,
                                                   w["staff"].username}


def test_branch_lead_reads_and_completes_only_items_assigned_to_them(world):
    w = world
    instantiated(w)
    lead = w["lead_a"]
    mine = first(w, evidence=False, owner="branch_lead")
    other = next(i for i in items(w["engine"], w["pa"]).values() if i.id != mine.id and not i.evidence_required)
    view = run(w, sop_views.pilot_checklist, "lead_a", pilot_id=w["pa"])
    assert len(view["items"]) == len(items(w["engine"], w["pa"])) and not view["can_edit"]
    assert not view["items"]["can_act"].any()
    with pytest.raises(PermissionDenied):
        run(w, sop_items.complete, "lead_a", item_id=mine.id)
    run(w, sop_items.update_item, "coach", item_id=mine.id, due_date=mine.due_date, assignee_user_id=lead.user_id)
    view = run(w, sop_views.pilot_checklist, "lead_a", pilot_id=w["pa"])
    assert view["items"].loc[view["items"]["can_act"], "id"].tolist() == [mine.id]
    run(w, sop_items.complete, "lead_a", item_id=mine.id)
    assert items(w["engine"], w["pa"])[mine.template_item_code].done_by == lead.user_id
    with pytest.raises(PermissionDenied):
        run(w, sop_items.complete, "lead_a", item_id=other.id)
    with pytest.raises(PermissionDenied):
        run(w, sop_items.update_item, "lead_a", item_id=mine.id, due_date=START, assignee_user_id=None)


def test_assignee_must_be_able_to_see_the_pilot(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    for outsider in ("other_coach", "lead_b", "staff"):
        with pytest.raises(ValidationFailed) as exc:
            run(w, sop_items.update_item, "coach", item_id=item.id, due_date=item.due_date,
                assignee_user_id=w[outsider].user_id)
        assert exc.value.key == "sop.err_assignee"
    options = run(w, sop_views.assignee_options, "coach", pilot_id=w["pa"])
    assert {w["coach"].user_id, w["hq"].user_id, w["lead_a"].user_id} <= set(options)
    assert not {w["other_coach"].user_id, w["lead_b"].user_id, w["staff"].user_id} & set(options)


# ---------------------------------------------------------------- ad-hoc items and edits


def test_ad_hoc_items_warn_outside_the_pilot_window(world):
    w = world
    inside = run(w, sop_items.add_item, "coach", pilot_id=w["pa"], title="补充培训：反诈话术", due_date=START + timedelta(days=5),
                 owner_role="coach", step=4, assignee_user_id=w["lead_a"].user_id, evidence_required=True)
    assert inside["warnings"] == []
    late = run(w, sop_items.add_item, "hq", pilot_id=w["pa"], title="结项后回访", due_date=START + timedelta(days=40),
               owner_role="hq")
    assert [x["key"] for x in late["warnings"]] == ["sop.warn_after_end"]
    early = run(w, sop_items.add_item, "coach", pilot_id=w["pa"], title="预沟通", due_date=START - timedelta(days=3),
                owner_role="coach")
    assert [x["key"] for x in early["warnings"]] == ["sop.warn_before_start"]
    with pytest.raises(ValidationFailed):
        run(w, sop_items.add_item, "coach", pilot_id=w["pa"], title="x", due_date=date(2062, 1, 1), owner_role="coach")
    for bad in ({"title": " "}, {"owner_role": "staff"}, {"step": 7}, {"due_date": "2026-03-05"}):
        with pytest.raises(ValidationFailed):
            run(w, sop_items.add_item, "coach", **{"pilot_id": w["pa"], "title": "x", "due_date": START,
                                                    "owner_role": "coach", **bad})
    got = items(w["engine"], w["pa"])
    added = got[f"adhoc{inside['id']}"]
    with Session(w["engine"]) as s:
        step4 = s.exec(select(SopTemplateItem.step_name_zh).where(SopTemplateItem.template_code == "rhythm",
                                                                  SopTemplateItem.step == 4)).first()
    assert (added.step, added.step_name_zh, added.evidence_required) == (4, step4, True)
    assert added.template_item_code is None and added.assignee_user_id == w["lead_a"].user_id
    assert len(audits(w["engine"], "sop.add")) == 3


def test_update_item_warns_refuses_stale_and_closed(world):
    w = world
    instantiated(w)
    item = first(w, evidence=False)
    result = run(w, sop_items.update_item, "coach", item_id=item.id, due_date=START + timedelta(days=30),
                 assignee_user_id=w["coach"].user_id, version=item.version)
    assert result["changed"] and [x["key"] for x in result["warnings"]] == ["sop.warn_after_end"]
    with pytest.raises(Conflict):
        run(w, sop_items.update_item, "coach", item_id=item.id, due_date=START, assignee_user_id=None,
            version=item.version)
    row = audits(w["engine"], "sop.update")[-1]
    assert row.before["assignee_user_id"] is None and row.after["assignee_user_id"] == w["coach"].user_id
    run(w, sop_items.complete, "coach", item_id=item.id)
    with pytest.raises(ValidationFailed):
        run(w, sop_items.update_item, "coach", item_id=item.id, due_date=START, assignee_user_id=None)


# ---------------------------------------------------------------- reads for other features


def test_completion_counts_overdue_and_rate(world):
    w = world
    instantiated(w)
    on = START + timedelta(days=8)
    all_items = sorted(items(w["engine"], w["pa"]).values(), key=lambda i: (i.due_date, i.id))
    due_by_on = [i for i in all_items if i.due_date < on]
    plain = [i for i in due_by_on if not i.evidence_required]
    run(w, sop_items.set_status, "hq", item_id=plain[1].id, status="skipped", reason="不适用")
    with clock.frozen(datetime(2026, 3, 9, 2, tzinfo=UTC)):  # completed the day before `on`
        run(w, sop_items.complete, "coach", item_id=plain[0].id)
    df = run(w, sop_views.completion, "hq", pilot_ids=[w["pa"], w["pb"]], on=on)
    assert list(df.columns) == ["pilot_id", "total", "done", "skipped", "overdue", "completion_rate"]
    a = df.set_index("pilot_id").loc[w["pa"]]
    assert (a["total"], a["done"], a["skipped"]) == (len(all_items), 1, 1)
    assert a["overdue"] == len(due_by_on) - 2
    assert a["completion_rate"] == pytest.approx(1 / (len(all_items) - 1), abs=1e-4)
    b = df.set_index("pilot_id").loc[w["pb"]]
    assert (b["total"], b["completion_rate"]) == (0, 0.0)
    # as of a day before the completion happened, the item counts as open
    past = run(w, sop_views.completion, "hq", pilot_ids=[w["pa"]], on=date(2026, 3, 8))
    assert past["done"].tolist() == [0]
    coach_view = run(w, sop_views.completion, "coach")
    assert coach_view["pilot_id"].tolist() == [w["pa"]]


def test_items_due_lists_the_range_plus_older_open_items(world):
    w = world
    instantiated(w)
    start, end = START + timedelta(days=7), START + timedelta(days=13)
    all_items = items(w["engine"], w["pa"]).values()
    older = sorted((i for i in all_items if i.due_date < start), key=lambda i: i.id)
    run(w, sop_items.complete, "coach", item_id=next(i for i in older if not i.evidence_required).id)
    df = run(w, sop_views.items_due, "coach", pilot_ids=[w["pa"]], start=start, end=end, on=end)
    in_range = {i.id for i in all_items if start <= i.due_date <= end}
    assert set(df["id"]) == in_range | {i.id for i in older} - {next(i for i in older if not i.evidence_required).id}
    assert {"owner_role", "assignee", "status", "overdue"} <= set(df.columns)
    assert df.loc[df["id"].isin([i.id for i in older]), "overdue"].all()
    with pytest.raises(PermissionDenied):
        run(w, sop_views.items_due, "coach", pilot_ids=[w["pb"]], start=start, end=end)


def test_agenda_buckets_and_progress(world):
    w = world
    instantiated(w)
    on = START + timedelta(days=1)
    data = run(w, sop_views.agenda, "coach", on=on, days=3)
    df = data["items"]
    assert set(df["bucket"]) == {"overdue", "today", "soon"}
    assert (df.loc[df["bucket"] == "today", "due_date"] == on).all()
    assert (df.loc[df["bucket"] == "soon", "due_date"] <= on + timedelta(days=3)).all()
    assert data["counts"]["overdue"] == sum(1 for i in items(w["engine"], w["pa"]).values() if i.due_date < on)
    target = df[(df["bucket"] != "overdue") & ~df["evidence_required"]].iloc[0]
    run(w, sop_items.complete, "coach", item_id=int(target["id"]))
    after = run(w, sop_views.agenda, "coach", on=on, days=3)
    assert after["counts"][target["bucket"]] == data["counts"][target["bucket"]] - 1
    assert after["done"] == data["done"] + 1 and after["rate"] > data["rate"]
    assert run(w, sop_views.agenda, "other_coach", on=on)["items"].empty


def test_pilot_checklist_groups_progress_and_timeline(world):
    w = world
    instantiated(w)
    on = START + timedelta(days=10)
    view = run(w, sop_views.pilot_checklist, "coach", pilot_id=w["pa"], on=on)
    groups = view["groups"]
    assert groups["group_key"].tolist()[:6] == [f"step{n}" for n in range(1, 7)]
    assert groups["group_key"].tolist()[6:] == ["tpl:service_plan"]
    assert groups["total"].sum() == view["overall"]["total"]
    tl = view["timeline"]
    assert tl["planned"].iloc[-1] == view["overall"]["total"]
    assert tl["date"].iloc[0] == START - timedelta(days=10)
    assert tl.loc[tl["date"] > on, "done"].isna().all()
