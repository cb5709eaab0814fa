"""A staff member's standing as display text, shared by the portal's 我的排名 page and the
phone page (/m/ranking), so both read the same figures the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from portal.i18n import label, translate


def move_text(move: int) -> str:
    """Places gained (▲) or lost (▼) since yesterday; nothing when unchanged."""
    return f"▲{move}" if move > 0 else (f"▼{-move}" if move < 0 else "")


def points_text(points: float) -> str:
    return f"{points:g}"


def board_rows(me: dict, staff_id: int | None) -> pd.DataFrame:
    """Top N plus the places around me: rank, name, points, movement text, whether it is me."""
    board = me["board"]
    return pd.DataFrame({"rank": board["rank"].to_numpy(), "name": board["name"].to_numpy(),
                         "points": board["points"].to_numpy(),
                         "move": [move_text(int(m)) for m in board["move"]],
                         "me": (board["staff_id"] == staff_id).to_numpy()})


def card(me: dict, *, lang: str, last_week: bool, inert: Callable[[object], str] = str) -> dict[str, Any]:
    """Every sentence and figure of leaderboard.my_standing's result in `lang`. `inert` makes
    user text (contest, team and colleague names) safe for where it is shown: Markdown
    escaping on Streamlit; the phone page's template escapes HTML itself."""
    def t(key: str, **params: object) -> str:
        return translate(lang, key, **params)

    team, opponent = me["team"], me["opponent"]
    return {
        "contest": inert(me["contest"]),
        "last_week_note": t("contests.last_week_shown") if last_week else None,
        "rank_label": t("contests.my_rank"),
        "rank": t("contests.rank_of", rank=me["rank"], n=me["participants"]),
        "move": move_text(me["move"]),
        "points_label": t("contests.points_last_week" if last_week else "contests.points_week"),
        "points": points_text(me["points_week"]),
        "today_label": t("contests.points_today"),
        "today": points_text(me["points_today"]),
        "gap_label": t("contests.gap_to_next"),
        "gap": points_text(me["gap_to_next"]) if me["rank"] > 1 else t("contests.leading"),
        "board_title": t("contests.board_last_week" if last_week else "contests.board_week"),
        "team": t("contests.my_team", team=inert(team["team"]), rank=int(team["rank"]), n=me["teams"],
                  per=team["per_member"]) if team else None,
        "opponent": t("contests.my_opponent", name=inert(opponent["name"]), points=opponent["points"])
        if opponent else None,
        "badges_label": t("contests.my_badges"),
        "badges": [f"🏅 {label(lang, b['name_zh'], b['name_en'])}{' ' + b['period'] if b['period'] else ''}"
                   for b in me["badges"]],
        "fair_play": t("contests.fair_play"),
    }
