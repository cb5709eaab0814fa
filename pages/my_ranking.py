"""Staff home, phone first (readable at 390 px): my rank, points, gap to the next place."""

import streamlit as st

from portal import board_cache, clock, leaderboard, web

actor = web.page("my_ranking")
choices = web.load(leaderboard.my_contests)
if not choices:
    st.info(web.t("contests.none_for_me"))
    st.stop()
contest_id = st.selectbox(web.t("contests.contest"), list(choices), format_func=choices.get) \
    if len(choices) > 1 else next(iter(choices))
today = clock.today()
week, last_monday = board_cache.current_week(contest_id, today)
showing_last_week = last_monday is not None
today_board = board_cache.board(contest_id, "today", None, today)
me = web.load(leaderboard.my_standing, contest_id=contest_id, week=week, today=today_board,
              keyed_by=(contest_id, today, board_cache.stamp(week, today_board)))
st.caption(web.plain(me["contest"]))
if showing_last_week:
    st.info(web.t("contests.last_week_shown"))

c1, c2 = st.columns(2)
arrow = "▲" if me["move"] > 0 else ("▼" if me["move"] < 0 else "")
c1.metric(web.t("contests.my_rank"), web.t("contests.rank_of", rank=me["rank"], n=me["participants"]),
          delta=f"{arrow}{abs(me['move'])}" if me["move"] else None)
c2.metric(web.t("contests.points_last_week" if showing_last_week else "contests.points_week"),
          f"{me['points_week']:g}")
c3, c4 = st.columns(2)
c3.metric(web.t("contests.points_today"), f"{me['points_today']:g}")
c4.metric(web.t("contests.gap_to_next"), f"{me['gap_to_next']:g}" if me["rank"] > 1 else web.t("contests.leading"))

st.subheader(web.t("contests.board_last_week" if showing_last_week else "contests.board_week"))
board = me["board"].assign(move=lambda d: d["move"].map(lambda m: f"▲{m}" if m > 0 else (f"▼{-m}" if m < 0 else "")))
board = board.assign(me=board["staff_id"] == actor.staff_id)
st.dataframe(board[["rank", "name", "points", "move", "me"]], hide_index=True, width="stretch",
             column_config={"rank": web.t("contests.col.rank"), "name": web.t("contests.col.name"),
                            "points": st.column_config.NumberColumn(web.t("contests.col.points"), format="%g"),
                            "move": web.t("contests.col.move"), "me": web.t("contests.col.me")})

if me["team"]:
    st.write(web.t("contests.my_team", team=web.plain(me["team"]["team"]), rank=int(me["team"]["rank"]), n=me["teams"],
                   per=me["team"]["per_member"]))
if me["opponent"]:
    st.write(web.t("contests.my_opponent", name=web.plain(me["opponent"]["name"]), points=me["opponent"]["points"]))
if me["badges"]:
    st.write(web.t("contests.my_badges"))
    st.write("  ".join(f"🏅 {web.label(b['name_zh'], b['name_en'])}{' ' + b['period'] if b['period'] else ''}"
                       for b in me["badges"]))
with st.expander(web.t("contests.my_breakdown")):
    detail = web.load(leaderboard.breakdown, contest_id=contest_id, staff_id=actor.staff_id)
    detail = detail.assign(rule=[web.label(zh, en) for zh, en in zip(detail["name_zh"], detail["name_en"],
                                                                     strict=True)])
    st.dataframe(detail[["rule", "quantity", "points"]], hide_index=True, width="stretch",
                 column_config={"rule": web.t("contests.col.rule"), "quantity": web.t("contests.col.quantity"),
                                "points": web.t("contests.col.points")})
st.caption(web.t("contests.fair_play"))
