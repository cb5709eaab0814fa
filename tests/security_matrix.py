"""The access matrix: what each role may do with data of its own branch and of another branch.

One row per action (a service function, a page, an export or a CLI command); per role two
letters, for the target in the actor's own scope and for a target of another branch:

    A  allowed: the call succeeds (and, for lists, shows the target)
    H  hidden:  the call succeeds but the target is not in the result
    D  denied:  PermissionDenied (audited as "denied"), nothing changes; for pages: not in the
               navigation, `switch_page` refuses it and running the script directly is refused

The actors (tests/test_security_access.py builds them): hq; the coach of the pilot at branch
A; the branch lead of branch A; a staff member of an outlet of branch A. "own" targets are
the pilot / contest / branch / Q&A entry of branch A, "other" ones those of branch B (whose
pilot has another coach). For pages the "other" actor is a user of the same role without any
scope over the demo's main pilot; "H" then means the page renders but shows none of the main
pilot's data (its name, its contest, its people), shared leaderboard cache included.

The command line runs on the server with the operator's rights (portal.access.CLI_ACTOR, an
HQ actor audited as "cli"): whoever can run it can read the database file anyway. CLI rows
therefore have one cell, "operator".

`python -m tests.security_matrix --count` prints the figures for the README.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

ROLES = ("hq", "coach", "branch_lead", "staff")
SIDES = ("own", "other")
ALLOW, HIDE, DENY = "allow", "hide", "deny"
_LETTER = {"A": ALLOW, "H": HIDE, "D": DENY}


@dataclass(frozen=True)
class Row:
    key: str
    kind: str  # service | page | export | cli
    rules: dict[str, str] = field(default_factory=dict)  # role → two letters (own, other)
    write: bool = False
    note: str = ""

    def expect(self, role: str, side: str) -> str:
        return _LETTER[self.rules[role][SIDES.index(side)]]


def _row(kind: str, key: str, hq: str, coach: str, lead: str, staff: str, *, write: bool = False,
         note: str = "") -> Row:
    rules = {"hq": hq, "coach": coach, "branch_lead": lead, "staff": staff}
    assert all(len(v) == 2 and set(v) <= set(_LETTER) for v in rules.values()), key
    return Row(key, kind, rules, write, note)


def svc(key: str, hq: str, coach: str, lead: str, staff: str, **kw) -> Row:
    return _row("service", key, hq, coach, lead, staff, **kw)


def page(key: str, hq: str, coach: str, lead: str, staff: str, **kw) -> Row:
    return _row("page", key, hq, coach, lead, staff, **kw)


def export(key: str, hq: str, coach: str, lead: str, staff: str, **kw) -> Row:
    return _row("export", key, hq, coach, lead, staff, **kw)


def cli(key: str, *, write: bool = False, note: str = "") -> Row:
    return Row(key, "cli", {"operator": "A"}, write, note)


W = {"write": True}
TABLE: tuple[Row, ...] = (
    # ------------------------------------------------------------ pilots, users, org, audit
    #    action                      hq    coach lead  staff
    svc("pilots.create",             "AA", "DD", "DD", "DD", **W),
    svc("pilots.update",             "AA", "DD", "DD", "DD", **W),
    svc("pilots.get",                "AA", "AD", "AD", "DD"),
    svc("pilots.list",               "AA", "AH", "AH", "DD"),
    svc("pilots.coach_options",      "AA", "DD", "DD", "DD"),
    svc("users.create",              "AA", "DD", "DD", "DD", **W),
    svc("users.update",              "AA", "DD", "DD", "DD", **W),
    svc("users.reset_password",      "AA", "DD", "DD", "DD", **W),
    svc("users.list",                "AA", "DD", "DD", "DD"),
    svc("account.language",          "AA", "AA", "AA", "AA", **W, note="own account only, whatever the side"),
    svc("profile.my_profile",        "AA", "AA", "AA", "AA", note="own profile only"),
    svc("org.branch_options",        "AA", "AA", "AH", "DD", note="coaches may pick any branch name"),
    svc("org.branch_table",          "AA", "DD", "DD", "DD"),
    svc("org.staff_table",           "AA", "DD", "AH", "DD"),
    svc("audit.search",              "AA", "DD", "DD", "DD"),
    # ------------------------------------------------------------ playbook, targets, Q&A
    svc("playbook.read",             "AA", "AA", "AA", "AA", note="the library is shared content"),
    svc("playbook.adopt",            "AA", "AD", "DD", "DD", **W),
    svc("playbook.pack",             "AA", "AD", "AD", "DD", note="a pilot's configuration"),
    svc("targets.set",               "AA", "AD", "DD", "DD", **W),
    svc("targets.list",              "AA", "AD", "AD", "DD"),
    svc("kpis.progress",             "AA", "AD", "AD", "DD"),
    svc("qa.create",                 "AA", "AD", "DD", "DD", **W, note="source pilot in scope"),
    svc("qa.update",                 "AA", "AA", "DD", "DD", **W, note="the manual is shared: any coach edits"),
    svc("qa.publish",                "AA", "AA", "DD", "DD", **W),
    svc("qa.search",                 "AA", "AH", "AH", "HH", note="source pilot named only in scope"),
    svc("qa.get_entry",              "AA", "AA", "AA", "AA", note="published entries"),
    # ------------------------------------------------------------ SOP checklists
    svc("sop.instantiate",           "AA", "AD", "DD", "DD", **W),
    svc("sop.complete",              "AA", "AD", "AD", "DD", **W, note="a lead: items assigned to them"),
    svc("sop.add",                   "AA", "AD", "DD", "DD", **W),
    svc("sop.update",                "AA", "AD", "DD", "DD", **W),
    svc("sop.checklist",             "AA", "AD", "AD", "DD"),
    svc("sop.completion",            "AA", "AD", "AD", "DD"),
    svc("sop.items_due",             "AA", "AD", "AD", "DD"),
    svc("sop.agenda",                "AA", "AH", "AH", "DD"),
    # ------------------------------------------------------------ daily reports and metrics
    svc("reports.load",              "AA", "AD", "AD", "DD"),
    svc("reports.check",             "AA", "AD", "AD", "DD"),
    svc("reports.save",              "AA", "AD", "DD", "DD", **W),
    svc("reports.import",            "AA", "AD", "DD", "DD", **W),
    svc("reports.blocker_draft",     "AA", "AD", "DD", "DD", **W),
    svc("metrics.totals",            "AA", "AD", "AD", "DD"),
    svc("metrics.rates",             "AA", "AD", "AD", "DD"),
    svc("metrics.trend",             "AA", "AD", "AD", "DD"),
    svc("metrics.missing_reports",   "AA", "AD", "AD", "DD"),
    svc("metrics.visible",           "AA", "AH", "AH", "DD", note="totals of every visible pilot"),
    # ------------------------------------------------------------ contests and leaderboards
    svc("contests.create",           "AA", "AD", "DD", "DD", **W),
    svc("contests.update",           "AA", "AD", "DD", "DD", **W),
    svc("contests.webhook",          "AA", "AD", "DD", "DD", **W),
    svc("contests.award",            "AA", "AD", "DD", "DD", **W),
    svc("contests.decide",           "AA", "DD", "DD", "DD", **W, note="never one's own request"),
    svc("contests.reverse",          "AA", "AD", "DD", "DD", **W),
    svc("contests.resync",           "AA", "AD", "DD", "DD", **W),
    svc("contests.pairs",            "AA", "AD", "DD", "DD", **W),
    svc("contests.push",             "AA", "AD", "DD", "DD", note="robot.prepare: URL + text"),
    svc("contests.info",             "AA", "AD", "AD", "AD", note="staff: contests they take part in"),
    svc("contests.list",             "AA", "AH", "AH", "AH"),
    svc("contests.pending",          "AA", "AH", "DD", "DD"),
    svc("leaderboard.board",         "AA", "AD", "AD", "AD"),
    svc("leaderboard.team",          "AA", "AD", "AD", "AD"),
    svc("leaderboard.breakdown",     "AA", "AD", "AD", "AD"),
    svc("leaderboard.pairs",         "AA", "AD", "AD", "AD"),
    svc("leaderboard.my_standing",   "DD", "DD", "DD", "AD"),
    svc("leaderboard.my_contests",   "DD", "DD", "DD", "AH"),
    # ------------------------------------------------------------ budget
    svc("budget.add",                "AA", "AD", "AD", "DD", **W),
    svc("budget.update",             "AA", "AD", "AD", "DD", **W),
    svc("budget.advance",            "AA", "AD", "AD", "DD", **W),
    svc("budget.cancel",             "AA", "AD", "AD", "DD", **W),
    svc("budget.override",           "AA", "DD", "DD", "DD", **W),
    svc("budget.template",           "AA", "AD", "DD", "DD", **W),
    svc("budget.overview",           "AA", "AD", "AD", "DD"),
    svc("budget.summary",            "AA", "AH", "AH", "DD"),
    svc("budget.lines_changed",      "AA", "AH", "AH", "DD"),
    # ------------------------------------------------------------ head office programme
    svc("lifecycle.transition",      "AA", "DD", "DD", "DD", **W),
    svc("lifecycle.measure",         "AA", "DD", "DD", "DD", **W),
    svc("lifecycle.scorecard",       "AA", "AD", "AD", "DD"),
    svc("lifecycle.decisions",       "AA", "AD", "AD", "DD"),
    svc("maturity.assess",           "AA", "AD", "AD", "DD"),
    svc("maturity.confirm",          "AA", "DD", "DD", "DD", **W),
    svc("maturity.tune",             "AA", "DD", "DD", "DD", **W),
    svc("scaleout.sources",          "AA", "DD", "DD", "DD"),
    svc("scaleout.candidates",       "AA", "DD", "DD", "DD"),
    svc("scaleout.create",           "AA", "DD", "DD", "DD", **W),
    svc("scaleout.waves",            "AA", "DD", "DD", "DD"),
    svc("capability.record",         "AA", "DD", "AD", "DD", **W),
    svc("capability.history",        "AA", "DD", "AD", "DD"),
    svc("portfolio.portfolio",       "AA", "AH", "AH", "DD"),
    svc("portfolio.notes",           "AA", "AD", "AD", "DD"),
    # ------------------------------------------------------------ pages (portal.navigation.PAGES)
    page("portfolio",                "AA", "AH", "AH", "DD"),
    page("home",                     "AA", "AH", "AH", "AH"),
    page("pilot_overview",           "AA", "AH", "AH", "DD"),
    page("today",                    "DD", "AH", "DD", "DD"),
    page("checklist",                "AA", "AH", "AH", "DD"),
    page("daily_report",             "AA", "AH", "AH", "DD"),
    page("pilots",                   "AA", "AH", "AH", "DD"),
    page("budget",                   "AA", "AH", "AH", "DD"),
    page("my_ranking",               "DD", "DD", "DD", "AH"),
    page("contests",                 "AA", "AH", "AH", "DD"),
    page("contest_tv",               "AA", "AH", "AH", "DD"),
    page("playbook",                 "AA", "AH", "AH", "AH"),
    page("qa",                       "AA", "AH", "AH", "AH"),
    page("scaleout",                 "AA", "DD", "DD", "DD"),
    page("capability",               "AA", "DD", "AH", "DD"),
    page("org",                      "AA", "DD", "DD", "DD"),
    page("users",                    "AA", "DD", "DD", "DD"),
    page("audit_log",                "AA", "DD", "DD", "DD"),
    page("account",                  "AA", "AH", "AH", "AH"),
    # ------------------------------------------------------------ exports and downloads
    export("playbook_pilot_pack",    "AA", "AD", "AD", "DD", note="xlsx + md of a pilot's set-up"),
    export("playbook_package",       "AA", "AA", "AA", "AA", note="library content"),
    export("qa_manual",              "AA", "AH", "AH", "HH", note="source pilot named only in scope"),
    export("report_template",        "AA", "AD", "AD", "DD", note="the page's deferred download too"),
    export("weekly_review",          "AA", "AD", "AD", "DD", note="the workbook for one pilot's week"),
    # ------------------------------------------------------------ command line (operator)
    cli("init", write=True, note="creates no accounts"),
    cli("demo", write=True, note="demo accounts only here"),
    cli("serve", note="production Streamlit flags"),
    cli("backup"),
    cli("user add", write=True),
    cli("user passwd", write=True),
    cli("user disable", write=True),
    cli("user enable", write=True),
    cli("user list"),
    cli("import reports", write=True),
    cli("export playbook"),
    cli("export qa"),
    cli("export weekly"),
    cli("push ranking", note="audited as cli; URL never printed"),
)


def rows(kind: str | None = None) -> list[Row]:
    return [r for r in TABLE if kind is None or r.kind == kind]


def cells(kind: str) -> list[tuple[str, str, str, str]]:
    """(action key, role, side, expected outcome) for every cell of one kind."""
    return [(r.key, role, side, r.expect(role, side)) for r in rows(kind) for role in ROLES for side in SIDES]


def count_cells() -> dict[str, int]:
    out = {kind: len(cells(kind)) for kind in ("service", "page", "export")}
    out["cli"] = len(rows("cli"))
    out["total"] = sum(out.values())
    return out


def figures() -> dict[str, int]:
    """The README figure: access cells, bad-input kinds and fault scenarios."""
    from tests import test_security_durability, test_security_input

    return {"access_cells": count_cells()["total"], "bad_input_kinds": len(test_security_input.KINDS),
            "fault_scenarios": len(test_security_durability.SCENARIOS)}


if __name__ == "__main__":
    if "--count" in sys.argv:
        detail = count_cells()
        fig = figures()
        print(f"access cells: {fig['access_cells']} (services {detail['service']}, pages {detail['page']}, "
              f"exports {detail['export']}, CLI {detail['cli']})")
        print(f"bad-input kinds: {fig['bad_input_kinds']}")
        print(f"fault scenarios: {fig['fault_scenarios']}")
    else:
        for r in TABLE:
            print(f"{r.kind:8} {r.key:28} " + " ".join(f"{k}={v}" for k, v in r.rules.items()))
