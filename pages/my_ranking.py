"""Staff home, phone first (readable at 390 px): my rank, points, gap to the next place."""

import streamlit as st

from portal import board_cache, clock, leaderboard, navigation, ranking_card, web

actor = web.page("my_ranking")
choices = web.load(leaderboard.my_contests)
if not choices:
    st.info(web.t("contests.none_for_me"))
    st.stop()
contest_id = st.selectbox(web.t("contests.contest"), list(choices), format_func=choices.get) \
    if len(choices) > 1 else next(iter(choices))
today = clock.today()
boards, showing_last_week = board_cache.standing_boards(contest_id, today)
me = web.load(leaderboard.my_standing, contest_id=contest_id, **boards,
              keyed_by=(contest_id, today, board_cache.stamp(boards["week"], boards["today"])))
view = ranking_card.card(me, lang=web.lang(), last_week=showing_last_week, inert=web.plain)
st.caption(view["contest"])
if view["last_week_note"]:
    st.info(view["last_week_note"])

c1, c2 = st.columns(2)
c1.metric(view["rank_label"], view["rank"], delta=view["move"] or None)
c2.metric(view["points_label"], view["points"])
c3, c4 = st.columns(2)
c3.metric(view["today_label"], view["today"])
c4.metric(view["gap_label"], view["gap"])

st.subheader(view["board_title"])
st.dataframe(ranking_card.board_rows(me, actor.staff_id), hide_index=True, width="stretch",
             column_config={"rank": web.t("contests.col.rank"), "name": web.t("contests.col.name"),
                            "points": st.column_config.NumberColumn(web.t("contests.col.points"), format="%g"),
                            "move": web.t("contests.col.move"), "me": web.t("contests.col.me")})

for line in (view["team"], view["opponent"]):
    if line:
        st.write(line)
if view["badges"]:
    st.write(view["badges_label"])
    st.write("  ".join(view["badges"]))
with st.expander(web.t("contests.my_breakdown")):
    detail = web.load(leaderboard.breakdown, contest_id=contest_id, staff_id=actor.staff_id)
    detail = detail.assign(rule=[web.label(zh, en) for zh, en in zip(detail["name_zh"], detail["name_en"],
                                                                     strict=True)])
    st.dataframe(detail[["rule", "quantity", "points"]], hide_index=True, width="stretch",
                 column_config={"rule": web.t("contests.col.rule"), "quantity": web.t("contests.col.quantity"),
                                "points": web.t("contests.col.points")})
st.caption(view["fair_play"])
st.link_button(web.t("quick.open"), f"{navigation.PHONE_RANKING_PATH}?contest={contest_id}")
