"""Contest leaderboards (individual, team, head-to-head) and, for HQ and the pilot's coaches,
set-up, manual awards, approvals and the group-robot push."""

import datetime as dt

import streamlit as st

from portal import board_cache, clock, contests, leaderboard, pilots, points, robot, web
from portal.errors import PortalError

actor = web.page("contests")
choices = web.load(contests.contest_choices)


def create_form() -> None:
    pilot_opts = web.load(pilots.pilot_choices)
    if not pilot_opts:
        return
    with st.form("create_contest"):
        st.subheader(web.t("contests.create"))
        pilot_id = st.selectbox(web.t("contests.pilot"), list(pilot_opts), format_func=pilot_opts.get)
        name = st.text_input(web.t("contests.name"), value=web.t("contests.default_name"), max_chars=100)
        kind = st.selectbox(web.t("contests.kind"), list(contests.KINDS), format_func=web.fmt("contests.kinds"))
        c1, c2 = st.columns(2)
        start = c1.date_input(web.t("contests.start"), value=clock.today())
        end = c2.date_input(web.t("contests.end"), value=clock.today() + dt.timedelta(days=27))
        st.caption(web.t("contests.default_rules"))
        if st.form_submit_button(web.t("contests.create"), type="primary"):
            if web.save(contests.create_contest, name=name, pilot_id=pilot_id, kind=kind, start_date=start,
                        end_date=end, success=web.t("contests.created")):
                board_cache.board.clear()
                st.rerun()


if actor.role in ("hq", "coach"):
    with st.expander(web.t("contests.create"), icon=":material/add:", expanded=not choices):
        create_form()
if not choices:
    st.info(web.t("contests.none"))
    st.stop()

contest_id = st.selectbox(web.t("contests.contest"), list(choices), format_func=choices.get)
info = web.load(contests.contest_info, contest_id=contest_id)
st.caption(web.plain(info["description"]))


def tab_board() -> None:
    c1, c2, c3 = st.columns(3)
    view = c1.radio(web.t("contests.view"), ["individual", "team", "head_to_head"], horizontal=True,
                    format_func=web.fmt("contests.kinds"))
    period = c2.selectbox(web.t("contests.period"), list(leaderboard.PERIODS), index=1,
                          format_func=web.fmt("contests.periods"))
    week_of = c3.date_input(web.t("contests.week_of"), value=clock.today()) if period == "chosen_week" else None
    if view == "head_to_head":
        pairs = web.load(leaderboard.pairs_board, contest_id=contest_id, week_of=week_of)
        if pairs.empty:
            st.info(web.t("contests.no_pairs"))
        st.dataframe(pairs.drop(columns=["staff_a", "staff_b"]), hide_index=True, width="stretch",
                     column_config={c: web.t(f"contests.col.{c}") for c in pairs.columns})
    else:
        if period == "week":
            shared, last_monday = board_cache.current_week(contest_id, clock.today())
            if last_monday is not None:  # the breakdown and team view follow the week shown
                st.info(web.t("contests.last_week_shown"))
                period, week_of = "chosen_week", last_monday
        else:
            shared = board_cache.board(contest_id, period, week_of, clock.today())
        people = leaderboard.hide_names(shared, info["show_names_top"], actor)
        if view == "team":
            teams = web.load(leaderboard.team_board, contest_id=contest_id, period=period, week_of=week_of)
            st.dataframe(teams.drop(columns=["team_id"]), hide_index=True, width="stretch",
                         column_config={c: web.t(f"contests.col.{c}") for c in teams.columns})
        else:
            shown = people.assign(move=people["move"].map(lambda m: f"▲{m}" if m > 0 else (f"▼{-m}" if m < 0 else "")))
            cols = ["rank", "employee_no", "name", "points", "move"]
            event = st.dataframe(shown[cols], hide_index=True, width="stretch", on_select="rerun",
                                 selection_mode="single-row",
                                 column_config={c: web.t(f"contests.col.{c}") for c in cols})
            rows = event.selection.rows if event else []
            if rows:
                staff_id = int(people.iloc[rows[0]]["staff_id"])
                detail = web.load(leaderboard.breakdown, contest_id=contest_id, staff_id=staff_id, period=period,
                                  week_of=week_of)
                st.write(web.t("contests.breakdown_of", name=web.plain(people.iloc[rows[0]]["name"])))
                detail = detail.assign(rule=[web.label(zh, en) for zh, en in
                                             zip(detail["name_zh"], detail["name_en"], strict=True)])
                st.dataframe(detail[["rule", "quantity", "points"]], hide_index=True, width="stretch",
                             column_config={c: web.t(f"contests.col.{c}") for c in ("rule", "quantity", "points")})
            else:
                st.caption(web.t("contests.click_for_breakdown"))


def tab_rules() -> None:
    st.write(web.t("contests.rules_summary", cap=info["person_daily_cap"], threshold=info["approval_threshold"]))
    for rule in info["rules"]:
        st.write(web.t("contests.rule_line", metric=web.label(rule["metric_zh"], rule["metric_en"]),
                       unit=rule["unit_size"], points=rule["points_per_unit"],
                       cap=rule["daily_cap"] or web.t("contests.no_cap")))


def tab_manage() -> None:
    if not info["can_manage"]:
        st.info(web.t("contests.read_only"))
        return
    roster = board_cache.board(contest_id, "contest", None, clock.today())
    names = dict(zip(roster["staff_id"], roster["name"] + " " + roster["employee_no"], strict=True))
    with st.form("award", clear_on_submit=True):
        st.subheader(web.t("contests.award"))
        staff_id = st.selectbox(web.t("contests.col.name"), list(names), format_func=names.get)
        pts = st.text_input(web.t("contests.award_points"), max_chars=10)
        reason = st.text_input(web.t("contests.award_reason"), max_chars=300)
        st.caption(web.t("contests.award_hint", threshold=info["approval_threshold"]))
        if st.form_submit_button(web.t("contests.award_submit")):
            result = web.save(points.request_award, contest_id=contest_id, staff_id=staff_id, points=pts,
                              reason=reason)
            if result:
                st.success(web.t(f"contests.award_{result['status']}"))
                board_cache.board.clear()
    pending = web.load(points.pending_awards, contest_id=contest_id)
    st.subheader(web.t("contests.pending"))
    if pending.empty:
        st.caption(web.t("contests.no_pending"))
    for row in pending.itertuples():
        st.write(web.t("contests.pending_line", staff=web.plain(row.staff), points=row.points, reason=web.plain(row.reason)))
        if actor.is_hq:
            a, b = st.columns(2)
            if a.button(web.t("contests.approve"), key=f"ok{row.id}"):
                if web.save(points.decide_award, award_id=row.id, approve=True):
                    board_cache.board.clear()
                    st.rerun()
            if b.button(web.t("contests.reject"), key=f"no{row.id}"):
                if web.save(points.decide_award, award_id=row.id, approve=False):
                    st.rerun()
    st.subheader(web.t("contests.tools"))
    c1, c2 = st.columns(2)
    if c1.button(web.t("contests.make_pairs")):
        if web.save(leaderboard.make_pairs, contest_id=contest_id, success=web.t("contests.pairs_made")):
            st.rerun()
    if c2.button(web.t("contests.resync")):
        web.save(points.resync_contest, contest_id=contest_id, success=web.t("contests.resynced"))
        board_cache.board.clear()
    if actor.is_hq:
        top = st.number_input(web.t("contests.show_top"), min_value=0, max_value=1000, value=info["show_names_top"])
        if top != info["show_names_top"] and st.button(web.t("common.save"), key="save_top"):
            web.save(contests.update_contest, contest_id=contest_id, show_names_top=int(top),
                     success=web.t("contests.saved"))
    st.subheader(web.t("contests.robot"))
    st.caption(web.t("contests.robot_current", url=info["webhook"] or web.t("contests.robot_none")))
    with st.form("webhook", clear_on_submit=True):
        url = st.text_input(web.t("contests.robot_url"), type="password", max_chars=500)
        if st.form_submit_button(web.t("common.save")):
            web.save(contests.set_webhook, contest_id=contest_id, url=url, success=web.t("contests.saved"))
    if info["webhook"] and st.button(web.t("contests.push")):
        with st.spinner(web.t("contests.pushing")):
            try:
                robot.push_ranking(actor=actor, contest_id=contest_id)
                st.success(web.t("contests.pushed"))
            except PortalError as exc:
                st.error(web.error_text(exc))


web.tab_bodies("ct_tab", {web.t("contests.tab_board"): tab_board, web.t("contests.tab_rules"): tab_rules,
                          web.t("contests.tab_manage"): tab_manage})
