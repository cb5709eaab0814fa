"""Which pages exist, who may open them, and each role's home page. The single place that
decides what the UI offers a role (services check again, for real)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pages

PAGES_DIR = Path(pages.__file__).resolve().parent
ALL_ROLES = frozenset({"hq", "coach", "branch_lead", "staff"})


@dataclass(frozen=True)
class PageSpec:
    key: str
    roles: frozenset[str]
    section: str
    icon: str

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.key}.py"

    @property
    def title_key(self) -> str:
        return f"nav.{self.key}"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("portfolio", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/dashboard:"),
    PageSpec("home", ALL_ROLES, "nav.sec.work", ":material/home:"),
    PageSpec("pilot_overview", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/insights:"),
    PageSpec("today", frozenset({"coach"}), "nav.sec.work", ":material/today:"),
    PageSpec("checklist", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/checklist:"),
    PageSpec("daily_report", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/edit_note:"),
    PageSpec("pilots", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/flag:"),
    PageSpec("budget", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/payments:"),
    PageSpec("my_ranking", frozenset({"staff"}), "nav.sec.work", ":material/leaderboard:"),
    PageSpec("contests", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/emoji_events:"),
    PageSpec("contest_tv", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/tv:"),
    PageSpec("playbook", ALL_ROLES, "nav.sec.playbook", ":material/menu_book:"),
    PageSpec("qa", ALL_ROLES, "nav.sec.playbook", ":material/quiz:"),
    PageSpec("scaleout", frozenset({"hq"}), "nav.sec.admin", ":material/rocket_launch:"),
    PageSpec("capability", frozenset({"hq", "branch_lead"}), "nav.sec.admin", ":material/radar:"),
    PageSpec("org", frozenset({"hq"}), "nav.sec.admin", ":material/account_tree:"),
    PageSpec("users", frozenset({"hq"}), "nav.sec.admin", ":material/group:"),
    PageSpec("audit_log", frozenset({"hq"}), "nav.sec.admin", ":material/policy:"),
    PageSpec("account", ALL_ROLES, "nav.sec.me", ":material/person:"),
)
HOME = {"hq": "portfolio", "coach": "today", "branch_lead": "pilot_overview", "staff": "my_ranking"}
# The phone ranking page beside the Streamlit pages (portal/quick_ranking.py serves it).
PHONE_RANKING_PATH = "/m/ranking"


def pages_for(role: str) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]


def spec(key: str) -> PageSpec:
    return next(p for p in PAGES if p.key == key)


def allowed(role: str, key: str) -> bool:
    return any(p.key == key and role in p.roles for p in PAGES)
