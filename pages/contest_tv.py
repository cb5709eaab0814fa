"""Big-screen leaderboard for the branch lobby: refreshes itself every 30 seconds."""

import streamlit as st

from portal import board_cache, clock, contests, web

actor = web.page("contest_tv")
choices = web.load(contests.contest_choices)
if not choices:
    st.info(web.t("contests.none"))
    st.stop()
contest_id = st.selectbox(web.t("contests.contest"), list(choices), format_func=choices.get)
info = web.load(contests.contest_info, contest_id=contest_id)
top = st.slider(web.t("contests.tv_top"), min_value=5, max_value=30, value=10)


@st.fragment(run_every=board_cache.TTL_SECONDS)
def live_board() -> None:
    board, last_monday = board_cache.current_week(contest_id, clock.today())
    board = board.head(top)
    st.header(web.plain(info["name"]))
    if last_monday is not None:
        st.info(web.t("contests.last_week_shown"))
    st.caption(web.t("contests.tv_updated", time=clock.to_local(clock.now_utc()).strftime("%H:%M:%S")))
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    for row in board.itertuples():
        c1, c2, c3 = st.columns([1, 4, 2])
        c1.subheader(medals.get(int(row.rank), str(int(row.rank))))
        c2.subheader(web.plain(row.name))
        move = f"▲{row.move}" if row.move > 0 else (f"▼{-row.move}" if row.move < 0 else "")
        c3.subheader(f"{row.points:g} {move}")


live_board()
