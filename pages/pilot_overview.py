"""Everything about one pilot on one screen: targets vs actuals, maturity stage, checklist,
budget, contest top 5, blockers and Q&A; for HQ the validation scorecard and decisions."""

import datetime as dt

import streamlit as st

from portal import (
    board_cache,
    budget_charts,
    budget_views,
    clock,
    contests,
    kpis,
    lifecycle,
    maturity,
    metrics,
    pilots,
    portfolio,
    programme_charts,
    sop_views,
    targets,
    web,
    weekly_ui,
)

actor = web.page("pilot_overview")
choices = web.load(pilots.pilot_choices)
if not choices:
    st.info(web.t("home.no_pilots"))
    st.stop()
ids = list(choices)
preferred = st.session_state.get("pilot_id")
pilot_id = st.selectbox(web.t("programme.pilot"), ids, format_func=choices.get,
                        index=ids.index(preferred) if preferred in ids else 0)
st.session_state["pilot_id"] = pilot_id
info = web.load(pilots.get_pilot, pilot_id=pilot_id)
today = clock.today()
start, end = dt.date.fromisoformat(info["start_date"]), dt.date.fromisoformat(info["end_date"])
progress = web.load(kpis.pilot_progress, pilot_id=pilot_id)
money = web.load(budget_views.overview, pilot_id=pilot_id)
checklist = web.load(sop_views.pilot_checklist, pilot_id=pilot_id)

m1, m2, m3, m4, m5 = st.columns(5)
m1.metric(web.t("programme.col.phase"), web.t(f"phase.{info['phase']}"))
m2.metric(web.t("programme.col.day"), f"{info['day']}/{(end - start).days + 1}")
m3.metric(web.t("programme.col.kpi"), programme_charts.LIGHTS[kpis.summary_light(progress)])
m4.metric(web.t("programme.col.budget_used_pct"), f"{money['used_pct']:.0f}%")
m5.metric(web.t("programme.col.sop_completion"), f"{checklist['overall']['rate']:.0%}")
weekly_ui.download_control(actor, pilot_ids=[pilot_id], key="weekly_pilot")


def tab_targets() -> None:
    shown = progress.assign(light=progress["light"].map(programme_charts.LIGHTS),
                            name=[web.label(zh, en) for zh, en in zip(progress["name_zh"], progress["name_en"],
                                                                      strict=True)])
    cols = ["light", "name", "target", "actual", "ratio"]
    st.dataframe(shown[cols], hide_index=True, width="stretch",
                 column_config={**{c: web.t(f"programme.col.{c}") for c in cols},
                                "ratio": st.column_config.NumberColumn(web.t("programme.col.ratio"),
                                                                       format="percent")})
    codes = list(progress["metric"])
    if codes and today >= start:
        series = web.load(metrics.trend, pilot_id=pilot_id, codes=codes, start=start, end=min(today, end),
                          freq="pilot_week")
        if not series.empty:
            st.plotly_chart(web.memo(programme_charts.trend_figure, series, web.load(metrics.labels)),
                            width="stretch")
    if actor.role in ("hq", "coach"):
        with st.form("target_form"):
            st.caption(web.t("programme.edit_target"))
            catalogue = web.load(kpis.target_choices)
            c1, c2, c3 = st.columns(3)
            metric = c1.selectbox(web.t("programme.col.name"), list(catalogue), format_func=catalogue.get)
            week = c2.number_input(web.t("programme.week"), min_value=0, max_value=52, value=0,
                                   help=web.t("programme.week_help"))
            value = c3.text_input(web.t("programme.col.target"), max_chars=20)
            if st.form_submit_button(web.t("common.save")):
                if web.save(targets.set_target, pilot_id=pilot_id, metric=metric, week=int(week), value=value,
                            success=web.t("programme.saved")):
                    st.rerun()


def tab_stage() -> None:
    result = web.load(maturity.assess, branch_id=info["branch_id"])
    stage_names = {s["order"]: web.label(s["name_zh"], s["name_en"]) for s in result["stages"]}
    st.write(web.t("programme.suggested", stage=stage_names[result["suggested"]],
                   current=stage_names.get(result["current"], "—")))
    for stage in result["stages"]:
        with st.expander(f"{'✅' if stage['met'] else '⬜'} {stage_names[stage['order']]}"):
            for c in stage["criteria"]:
                value = c["value"] if c["value"] is not None else "—"
                target = f" {c['op']} {c['threshold']:g}" if c["kind"] == "metric" else ""
                reason = f" · {web.t('programme.reason.' + c['reason'])}" if c["reason"] else ""
                st.write(f"{'✅' if c['met'] else '❌'} {web.label(c['name_zh'], c['name_en'])}：{value}{target}{reason}")
    if not result["history"].empty:
        st.plotly_chart(web.memo(programme_charts.timeline_figure, result["history"], stage_names, web.t),
                        width="stretch")
        st.dataframe(result["history"], hide_index=True, width="stretch",
                     column_config={c: web.t(f"programme.col.{c}") for c in result["history"].columns})
    if actor.is_hq:
        with st.form("confirm_stage"):
            stage = st.selectbox(web.t("programme.confirm_stage"), list(stage_names), format_func=stage_names.get,
                                 index=result["suggested"] - 1)
            note = st.text_input(web.t("programme.override_note"), max_chars=1000)
            if st.form_submit_button(web.t("programme.confirm")):
                if web.save(maturity.confirm, branch_id=info["branch_id"], stage=int(stage), note=note,
                            success=web.t("programme.saved")):
                    st.rerun()


def tab_checklist() -> None:
    overall = checklist["overall"]
    st.progress(min(1.0, overall["rate"]), text=web.t("programme.checklist_line", done=overall["done"],
                                                      total=overall["total"], overdue=overall["overdue"]))
    for g in checklist["groups"].itertuples():
        st.progress(min(1.0, g.rate), text=f"{g.group_name} · {g.done}/{g.total}")


def tab_budget() -> None:
    st.write(web.t("programme.budget_line", used=money["used_text"], limit=money["limit_text"],
                   remaining=money["remaining_text"]))
    st.plotly_chart(web.memo(budget_charts.burn_figure, web.load(budget_views.burn, pilot_id=pilot_id), web.t),
                    width="stretch")


def tab_contest() -> None:
    contest_ids = [cid for cid, _ in web.load(contests.contest_choices).items()
                   if web.load(contests.contest_info, contest_id=cid)["pilot_id"] == pilot_id]
    if not contest_ids:
        st.caption(web.t("contests.none"))
    for cid in contest_ids:
        top = board_cache.board(cid, "week", None, today).head(5)
        st.dataframe(top[["rank", "name", "points"]], hide_index=True, width="stretch",
                     column_config={c: web.t(f"contests.col.{c}") for c in ("rank", "name", "points")})


def tab_notes() -> None:
    notes = web.load(portfolio.pilot_notes, pilot_id=pilot_id)
    st.subheader(web.t("programme.blockers"))
    for b in notes["blockers"] or [{"date": "", "text": web.t("programme.none")}]:
        st.text(f"{b['date']}  {b['text']}")
    st.subheader(web.t("programme.qa"))
    for q in notes["qa"] or [{"question_zh": web.t("programme.none"), "question_en": web.t("programme.none"),
                              "status": ""}]:
        st.text(f"{web.label(q['question_zh'], q['question_en'])}  {q['status'] and web.t('qa.st.' + q['status'])}")


def tab_decisions() -> None:
    history = web.load(lifecycle.decisions, pilot_id=pilot_id)
    if info["phase"] in ("validating", "scaling", "closed") or actor.is_hq:
        card = web.load(lifecycle.scorecard, pilot_id=pilot_id)
        marks = {"pass": "✅", "fail": "❌", "no_data": "⚪"}
        st.subheader(web.t("programme.scorecard", rec=web.t(f"programme.rec.{card['recommendation']}")))
        for row in card["criteria"]:
            value = "—" if row["value"] is None else row["value"]
            st.write(f"{marks[row['status']]} {web.t('programme.crit.' + row['criterion'])}："
                     f"{value}（{web.t('programme.threshold')} {row['threshold']}）")
    if not history.empty:
        st.dataframe(history.assign(from_phase=history["from_phase"].map(web.fmt("phase")),
                                    to_phase=history["to_phase"].map(web.fmt("phase"))),
                     hide_index=True, width="stretch",
                     column_config={c: web.t(f"programme.col.{c}") for c in history.columns})
    if actor.is_hq:
        with st.form("measure", clear_on_submit=True):
            st.caption(web.t("programme.measure_help"))
            c1, c2 = st.columns(2)
            code = c1.selectbox(web.t("programme.measure"), list(lifecycle.MEASUREMENTS),
                                format_func=web.fmt("programme.measures"))
            value = c2.text_input(web.t("programme.value"), max_chars=10)
            if st.form_submit_button(web.t("common.save")):
                web.save(lifecycle.record_measurement, pilot_id=pilot_id, code=code, value=value,
                         success=web.t("programme.saved"))
        moves = sorted(lifecycle.TRANSITIONS[info["phase"]])
        if moves:
            with st.form("transition"):
                target = st.selectbox(web.t("programme.move_to"), moves, format_func=web.fmt("phase"))
                why = st.text_area(web.t("programme.rationale"), max_chars=2000)
                sure = st.checkbox(web.t("programme.confirm_move"))
                if st.form_submit_button(web.t("programme.move"), type="primary"):
                    if not sure:
                        st.warning(web.t("common.confirm_first"))
                    elif web.save(lifecycle.transition, pilot_id=pilot_id, to_phase=target, rationale=why,
                                  success=web.t("programme.moved")):
                        st.rerun()


TABS = {"targets": tab_targets, "stage": tab_stage, "checklist": tab_checklist, "budget": tab_budget,
        "contest": tab_contest, "notes": tab_notes, "decisions": tab_decisions}
web.tab_bodies("po_tab", {web.t(f"programme.tab.{k}"): body for k, body in TABS.items()})
