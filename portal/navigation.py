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
    PageSpec("home", ALL_ROLES, "nav.sec.work", ":material/home:"),
    PageSpec("pilots", frozenset({"hq", "coach", "branch_lead"}), "nav.sec.work", ":material/flag:"),
    PageSpec("org", frozenset({"hq"}), "nav.sec.admin", ":material/account_tree:"),
    PageSpec("users", frozenset({"hq"}), "nav.sec.admin", ":material/group:"),
    PageSpec("audit_log", frozenset({"hq"}), "nav.sec.admin", ":material/policy:"),
    PageSpec("account", ALL_ROLES, "nav.sec.me", ":material/person:"),
)
HOME = {"hq": "home", "coach": "home", "branch_lead": "home", "staff": "home"}
SECTION_ORDER = ("nav.sec.work", "nav.sec.playbook", "nav.sec.admin", "nav.sec.me")


def pages_for(role: str) -> list[PageSpec]:
    return [p for p in PAGES if role in p.roles]


def spec(key: str) -> PageSpec:
    return next(p for p in PAGES if p.key == key)


def allowed(role: str, key: str) -> bool:
    return any(p.key == key and role in p.roles for p in PAGES)
